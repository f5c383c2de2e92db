/*
 * common/format.c: which format an input is in, and one reader that hands
 * out records in any of them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "read_text.h"

static const char *const from_names[] = {
	[MARC_FROM_ISO2709] = "iso2709",
	[MARC_FROM_MARCXML] = "marcxml",
	[MARC_FROM_MARCJSON] = "marcjson",
	[MARC_FROM_MRK] = "mrk",
};

/* An input format by its --from name (the writers' aliases too). */
int
marc_from_parse(const char *name)
{
	if (strcmp(name, "iso2709") == 0 || strcmp(name, "marc") == 0)
		return MARC_FROM_ISO2709;
	if (strcmp(name, "marcxml") == 0 || strcmp(name, "xml") == 0)
		return MARC_FROM_MARCXML;
	if (strcmp(name, "marcjson") == 0 || strcmp(name, "json") == 0)
		return MARC_FROM_MARCJSON;
	if (strcmp(name, "mrk") == 0)
		return MARC_FROM_MRK;
	return MARC_FROM_UNKNOWN;
}

/* The name people use for a format. */
const char *
marc_from_name(int from)
{
	if (from < 0 || from > MARC_FROM_MRK)
		return "unknown";
	return from_names[from];
}

/* The first bytes decide; a file name never does. */
int
marc_from_detect(const uint8_t *buf, size_t len)
{
	size_t	i = 0, j;

	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && (text_is_space(buf[i]) || buf[i] == 0))
		i++;
	if (i == len)
		return MARC_FROM_ISO2709;
	switch (buf[i]) {
	case '<':
		return MARC_FROM_MARCXML;
	case '{':
	case '[':
		return MARC_FROM_MARCJSON;
	case '=':
		/* =LDR, or another =TAG line (read, and reported). */
		return len - i >= 5 && buf[i + 4] == ' ' ?
		    MARC_FROM_MRK : MARC_FROM_UNKNOWN;
	}
	for (j = 0; j < 5 && i + j < len; j++)
		if ((unsigned)buf[i + j] - '0' > 9)
			return MARC_FROM_UNKNOWN;
	return MARC_FROM_ISO2709;
}

/* Where the next record of a format starts at or after pos. */
size_t
marc_from_boundary(int from, const uint8_t *buf, size_t len, size_t pos)
{
	switch (from) {
	case MARC_FROM_MARCXML:
		return xml_boundary(buf, len, pos);
	case MARC_FROM_MARCJSON:
		return json_boundary(buf, len, pos);
	case MARC_FROM_MRK:
		return mrk_boundary(buf, len, pos);
	}
	return marc_next_boundary(buf, len, pos);
}

/* The records of a format that begin in a range: ISO 2709 by its own rule,
 * the text formats from the first record start at or after each end. */
void
marc_from_range_bounds(int from, const uint8_t *buf, size_t len, uint64_t off,
    uint64_t length, size_t *start, size_t *end)
{
	size_t	from_off, to;

	if (from == MARC_FROM_ISO2709) {
		marc_range_bounds(buf, len, off, length, start, end);
		return;
	}
	from_off = off < len ? (size_t)off : len;
	to = length < len - from_off ? from_off + (size_t)length : len;
	if (from == MARC_FROM_UNKNOWN) {
		*start = from_off == 0 ? 0 : to;
		*end = from_off == 0 ? len : to;
		return;
	}
	*start = from_off == 0 ? 0 : marc_from_boundary(from, buf, len,
	    from_off);
	if (*start >= to) {
		*start = *end = to;
		return;
	}
	*end = to == len ? len : marc_from_boundary(from, buf, len, to);
}

/* Point the reader at a range; the state of the last format is dropped. */
int
marc_freader_init_range(struct marc_freader *fr, int from, const void *buf,
    size_t start, size_t end, size_t total, int charset, uint32_t recno0)
{
	if (fr->from != from) {
		xml_close(fr);
		json_close(fr);
	}
	fr->from = from;
	fr->total = total;
	if (from == MARC_FROM_ISO2709) {
		/* The whole input, stopping at end: records never run over
		 * a boundary, so the range reads as the whole input does. */
		marc_reader_reset(&fr->r, buf, total, charset, 0, recno0);
		fr->r.stop = end;
		if (start < end)
			marc_reader_seek(&fr->r, start);
		else
			fr->r.pos = total;
		return 0;
	}
	marc_reader_reset(&fr->r, buf, end, charset, 0, recno0);
	fr->r.pos = start;
	switch (from) {
	case MARC_FROM_MARCXML:
		return xml_open(fr);
	case MARC_FROM_MARCJSON:
		return json_open(fr);
	}
	return 0;
}

/* The next record or skipped stretch, whatever the format. */
int
marc_freader_next(struct marc_freader *fr, struct marc_record *rec)
{
	int rc;

	if (fr->from == MARC_FROM_ISO2709)
		return marc_reader_next(&fr->r, rec);
	fr->r.errors.n = fr->r.errors.lost = 0;
	memset(rec, 0, sizeof(*rec));
	rec->errors = &fr->r.errors;
	switch (fr->from) {
	case MARC_FROM_UNKNOWN:
		/* Nothing is read from an input in no known format. */
		if (fr->r.pos >= fr->r.len)
			return MARC_NEXT_END;
		rc = fr->r.pos == 0 ? MARC_NEXT_SKIPPED : MARC_NEXT_END;
		if (rc == MARC_NEXT_SKIPPED)
			marc_errlist_add(&fr->r.errors, MARC_E_UNKNOWN_FORMAT,
			    fr->r.recno + 1, 0);
		rec->recno = fr->r.recno + 1;
		fr->r.pos = fr->r.len;
		break;
	case MARC_FROM_MARCXML:
		rc = xml_next(fr, rec);
		break;
	case MARC_FROM_MARCJSON:
		rc = json_next(fr, rec);
		break;
	default:
		rc = mrk_next(fr, rec);
		break;
	}
	rec->errors = &fr->r.errors;
	return rc;
}

/* Free the tables and parsers. */
void
marc_freader_free(struct marc_freader *fr)
{
	xml_close(fr);
	json_close(fr);
	marc_reader_free(&fr->r);
	marc_build_free(&fr->b);
	mbuf_free(&fr->tmp);
}

/* The one walk from record to record that every text reader shares. */
int
text_next_span(struct marc_freader *fr, struct marc_record *rec,
    int (*between)(uint8_t),
    size_t (*boundary)(const uint8_t *, size_t, size_t),
    uint32_t code, size_t *sp, size_t *ep)
{
	struct marc_reader	*r = &fr->r;
	const uint8_t		*buf = r->buf;
	size_t			 pos = r->pos, len = r->len, s, e;
	uint32_t		 recno;

	if (pos == 0 && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len && between(buf[pos]))
		pos++;
	if (pos == len) {
		r->pos = len;
		return MARC_NEXT_END;
	}
	recno = r->recno + 1;
	rec->recno = recno;
	if ((s = boundary(buf, fr->total, pos)) > len)
		s = len;
	if (s != pos) {
		/* Text that holds no record here. */
		r->pos = s;
		rec->offset = pos;
		text_error(fr, code, recno, pos);
		return MARC_NEXT_SKIPPED;
	}
	if ((e = boundary(buf, fr->total, s + 1)) > len)
		e = len;
	r->pos = e;
	r->recno = recno;
	rec->offset = s;
	*sp = s;
	*ep = e;
	return MARC_NEXT_RECORD;
}
