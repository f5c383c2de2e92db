/*
 * common/write_mrk.c: the MARC line format MarcEdit reads and writes.
 *
 *   =LDR  00714cam\a2200205\a\4500
 *   =001  ocm\12345
 *   =245  10$aTitle :$bsub {dollar}5.
 *   (empty line after each record)
 *
 * Blanks in the leader, control fields and indicators are written as `\`;
 * subfield data escapes `$ { } \` by name; control characters are {XX}
 * everywhere.  tests/golden/gen-golden.pl writes the same format.
 */
#include "config.h"

#include "write_int.h"

/* Leader, control field data, indicators: positions, so blanks show. */
static const uint8_t mrk_pos_cls[256] = {
	WR_C0(1),
	[' '] = 1, [0x7F] = 1,
};

/* Tags and subfield codes: only control characters are escaped. */
static const uint8_t mrk_ctl_cls[256] = {
	WR_C0(1),
	[0x7F] = 1,
};

/* Subfield data: the characters of the line syntax are named. */
static const uint8_t mrk_data_cls[256] = {
	WR_C0(1),
	['$'] = 1, ['\\'] = 1, ['{'] = 1, ['}'] = 1, [0x7F] = 1,
};

/* MarcEdit's mnemonics for syntax characters, {XX} for controls. */
static uint8_t *
mrk_esc(uint8_t *w, const uint8_t **pp, const uint8_t *end)
{
	static const char	hex[] = "0123456789ABCDEF";
	uint8_t			c = *(*pp)++;
	const char		*s;

	switch (c) {
	case ' ':
		*w++ = '\\';
		return w;
	case '$':
		s = "{dollar}";
		break;
	case '{':
		s = "{lcub}";
		break;
	case '}':
		s = "{rcub}";
		break;
	case '\\':
		s = "{bsol}";
		break;
	default:
		*w++ = '{';
		*w++ = (uint8_t)hex[c >> 4];
		*w++ = (uint8_t)hex[c & 0xF];
		*w++ = '}';
		return w;
	}
	memcpy(w, s, strlen(s));
	return w + strlen(s);
}

static const struct wr_escaper mrk_pos = {
	mrk_pos_cls, 8, mrk_esc, 0x20, 0, 2, { ' ', 0x7F },
};
static const struct wr_escaper mrk_ctl = {
	mrk_ctl_cls, 8, mrk_esc, 0x20, 0, 1, { 0x7F },
};
static const struct wr_escaper mrk_data = {
	mrk_data_cls, 8, mrk_esc, 0x20, 0, 5, { '$', '\\', '{', '}', 0x7F },
};

/* The start of a field's line: `=TAG  `. */
static int
mrk_tag(struct mbuf *out, const struct marc_field *f)
{
	uint8_t	*o;

	if ((o = wr_room(out, 3, &mrk_ctl, 3)) == NULL)
		return -1;
	*o++ = '=';
	o = wr_tag_to(o, &mrk_ctl, f->tag);
	WR_PUT(o, "  ");
	wr_done(out, o);
	return 0;
}

/* A data field's line after the tag: indicators, then `$` code data... */
static int
mrk_datafield(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, const uint8_t *d, size_t len,
    struct marc_errlist *errs)
{
	struct wr_sfiter	si;
	struct marc_subfield	sf;
	struct marc_text	t;
	uint8_t			*o;
	int			 r;

	if ((o = wr_room(out, 2, &mrk_pos, 0)) == NULL)
		return -1;
	o = wr_byte_to(o, &mrk_pos, marc_field_ind(d, len, 0));
	o = wr_byte_to(o, &mrk_pos, marc_field_ind(d, len, 1));
	wr_done(out, o);
	wr_sf_begin(&si, rec, d, len, &mrk_data);
	while ((r = wr_sf_next(w, rec, &si, &sf, &t, errs)) == 1) {
		if ((o = wr_room(out, t.len + 1, &mrk_data, 1)) == NULL)
			return -1;
		*o++ = '$';
		o = wr_byte_to(o, &mrk_ctl, sf.code);
		o = wr_sf_text_to(o, &si, &t);
		wr_done(out, o);
	}
	return r;
}

/* One record: a line per leader and field, then an empty line. */
int
write_mrk_record(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, struct marc_errlist *errs)
{
	const struct marc_field	*f;
	const uint8_t		*d;
	uint8_t			 ld[MARC_LEADER_LEN];
	size_t			 len;
	uint32_t		 i;

	wr_leader(rec, ld);
	if (WR_LIT(out, "=LDR  ") != 0 ||
	    wr_raw(w, out, ld, sizeof ld, &mrk_pos) != 0 ||
	    mbuf_addc(out, '\n') != 0)
		return -1;
	for (i = 0; i < rec->nfields; i++) {
		f = &rec->fields[i];
		len = wr_field(rec, f, &d);
		if (mrk_tag(out, f) != 0)
			return -1;
		if (marc_field_is_control(f)) {
			if (wr_text(w, out, rec, d, len, &mrk_pos, errs) != 0)
				return -1;
		} else if (mrk_datafield(w, out, rec, d, len, errs) != 0)
			return -1;
		if (mbuf_addc(out, '\n') != 0)
			return -1;
	}
	return mbuf_addc(out, '\n');
}
