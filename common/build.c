/*
 * common/build.c: lay out one ISO 2709 record from the parts a text reader
 * found.  All buffers are kept from record to record.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "scan.h"
#include "text.h"

/* Start a new record in the buffers of the last one. */
void
marc_build_begin(struct marc_build *b)
{
	b->data.len = 0;
	b->nfields = 0;
	b->open = 0;
	b->have_leader = 0;
	b->marc8 = 0;
	memset(b->leader, ' ', sizeof b->leader);
}

/*
 * Keep the leader as given, 24 characters, padded with blanks or cut.  A
 * character beyond ASCII takes one byte that is not UTF-8 (so writers show
 * U+FFFD, as they do for such a byte read from ISO 2709) and is a problem
 * unless it is U+FFFD already.  Returns 0, or 1 on a problem.
 */
int
marc_build_leader(struct marc_build *b, const uint8_t *p, size_t n)
{
	size_t	i = 0, k = 0, v;
	int	bad = 0;

	memset(b->leader, ' ', sizeof b->leader);
	b->have_leader = 1;
	while (i < n) {
		if (p[i] < 0x80) {
			v = 1;
			if (k < MARC_LEADER_LEN)
				b->leader[k] = p[i];
		} else {
			v = p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : 2;
			if (v > n - i || utf8_valid_len(p + i, v) != v)
				v = 1;
			if (v == 3 && memcmp(p + i, "\xEF\xBF\xBD", 3) == 0)
				;
			else
				bad = 1;
			if (k < MARC_LEADER_LEN)
				b->leader[k] = 0xFF;
		}
		i += v;
		k++;
	}
	return bad || k != MARC_LEADER_LEN;
}

/* Room for one more field; grows geometrically. */
static int
build_fields_reserve(struct marc_build *b)
{
	struct marc_field	*f;
	uint32_t		 cap;

	if (b->nfields < b->fields_cap)
		return 0;
	cap = b->fields_cap ? b->fields_cap * 2 : 64;
	if (cap < b->fields_cap ||
	    (f = realloc(b->fields, (size_t)cap * sizeof(*f))) == NULL)
		return -1;
	b->fields = f;
	b->fields_cap = cap;
	return 0;
}

/* Open a field; the previous one, if open, is closed first. */
int
marc_build_field(struct marc_build *b, const uint8_t *tag, size_t n)
{
	struct marc_field *f;

	if (marc_build_end_field(b) != 0 || build_fields_reserve(b) != 0)
		return -1;
	f = &b->fields[b->nfields];
	memset(f->tag, ' ', sizeof f->tag);
	if (n != 0)
		memcpy(f->tag, tag, n < 3 ? n : 3);
	f->flags = 0;
	b->fstart = b->data.len;
	b->open = 1;
	b->isdata = 0;
	return 0;
}

/* A data field starts with its two indicators, blank until set. */
int
marc_build_datafield(struct marc_build *b, const uint8_t *tag, size_t n)
{
	if (marc_build_field(b, tag, n) != 0)
		return -1;
	return marc_build_make_data(b);
}

/* Indicators first, then subfields. */
int
marc_build_make_data(struct marc_build *b)
{
	b->isdata = 1;
	return mbuf_add(&b->data, "  ", 2);
}

/* Indicators may come after the subfields (JSON key order): set in place. */
void
marc_build_ind(struct marc_build *b, int i, uint8_t c)
{
	if (b->open && b->data.len >= b->fstart + 2)
		b->data.p[b->fstart + i] = c;
}

/* A subfield delimiter and its code. */
int
marc_build_subfield(struct marc_build *b, uint8_t c)
{
	uint8_t sd[2] = { MARC_SD, c };

	if (c == MARC_SD || c == MARC_FT || c == MARC_RT)
		sd[1] = ' ';
	return mbuf_add(&b->data, sd, 2);
}

/* Text; in a data field a subfield delimiter made harmless (U+FFFD). */
int
marc_build_text(struct marc_build *b, const uint8_t *p, size_t n)
{
	static const uint8_t	 fffd[4] = { 0xEF, 0xBF, 0xBD, 0xFF };
	const uint8_t		*q, *end = p + n;
	int			 bad = 0;

	if (!b->isdata)
		return mbuf_add(&b->data, p, n);
	while (p < end) {
		q = memchr(p, MARC_SD, (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (mbuf_add(&b->data, p, (size_t)(q - p)) != 0)
			return -1;
		if (q == end)
			break;
		if (mbuf_add(&b->data, b->marc8 ? fffd + 3 : fffd,
		    b->marc8 ? 1 : sizeof fffd) != 0)
			return -1;
		bad++;
		p = q + 1;
	}
	return bad;
}

/* Bytes appended unchanged. */
int
marc_build_raw(struct marc_build *b, const uint8_t *p, size_t n)
{
	return mbuf_add(&b->data, p, n);
}

/* A field ends with a field terminator in the data area. */
int
marc_build_end_field(struct marc_build *b)
{
	struct marc_field *f;

	if (!b->open)
		return 0;
	f = &b->fields[b->nfields++];
	f->off = (uint32_t)b->fstart;
	f->len = (uint32_t)(b->data.len - b->fstart);
	b->open = 0;
	return mbuf_addc(&b->data, MARC_FT);
}

/* Decide the charset as the ISO 2709 reader would for these bytes. */
static int
build_charset(const uint8_t *rec, size_t len, int charset)
{
	if (charset == MARC_CS_MARC8 || charset == MARC_CS_UTF8)
		return charset;
	if (rec[9] == 'a')
		return MARC_CS_UTF8;
	if (scan_high(rec, len) && memchr(rec, 0x1B, len) == NULL &&
	    utf8_valid_len(rec, len) == len)
		return MARC_CS_UTF8;
	return MARC_CS_MARC8;
}

/* Leader, directory, data, terminator; the field table points into it. */
int
marc_build_finish(struct marc_build *b, struct marc_record *rec, int charset,
    int utf8_leader)
{
	uint8_t		*ld, *ent;
	size_t		 base, total, i;

	if (marc_build_end_field(b) != 0)
		return -1;
	base = MARC_LEADER_LEN + (size_t)b->nfields * MARC_DIRENT_LEN + 1;
	total = base + b->data.len + 1;
	b->rec.len = 0;
	if (mbuf_reserve(&b->rec, total) != 0)
		return -1;
	ld = b->rec.p;
	memcpy(ld, b->leader, MARC_LEADER_LEN);
	for (i = 0; i < MARC_LEADER_LEN; i++)
		if (ld[i] < 0x20 || ld[i] > 0x7E)
			ld[i] = ' ';
	buf_digits(ld, total, 5);
	buf_digits(ld + 12, base, 5);
	if (utf8_leader)
		ld[9] = 'a';
	for (i = 0; i < b->nfields; i++) {
		ent = ld + MARC_LEADER_LEN + i * MARC_DIRENT_LEN;
		memcpy(ent, b->fields[i].tag, 3);
		buf_digits(ent + 3, (size_t)b->fields[i].len + 1, 4);
		buf_digits(ent + 7, b->fields[i].off, 5);
		b->fields[i].off += (uint32_t)base;
	}
	ld[base - 1] = MARC_FT;
	if (b->data.len != 0)
		memcpy(ld + base, b->data.p, b->data.len);
	ld[total - 1] = MARC_RT;
	b->rec.len = total;
	rec->data = ld;
	rec->leader = b->leader;
	rec->len = total;
	rec->nfields = b->nfields;
	rec->fields = b->fields;
	rec->charset = build_charset(ld, total, charset);
	return 0;
}

/* Release what the builder holds. */
void
marc_build_free(struct marc_build *b)
{
	mbuf_free(&b->data);
	mbuf_free(&b->rec);
	free(b->fields);
	b->fields = NULL;
	b->fields_cap = b->nfields = 0;
}
