/*
 * common/read_mrk.c: MarcEdit mnemonic text (.mrk, MARCMaker), as MarcEdit
 * and `marcctl dump --format mrk` write it:
 *
 *   =LDR  00714cam\a2200205\a\4500
 *   =001  ocm\12345
 *   =245  10$aTitle :$bsub {dollar}5.
 *
 * A record starts at a line `=LDR` and runs to the next one.  `\` is a
 * blank in the leader, control fields and indicators.  Mnemonics in braces
 * are the MARCMaker character names ({dollar}, {lcub}, {acute}, ...; the
 * Library of Congress MARCMaker table) or two hex digits ({1B}): in a
 * record whose leader/09 is not `a` they become MARC-8 bytes, converted
 * later with the rest of the record; in a UTF-8 record, UTF-8.  An unknown
 * name stays as written.
 */
#include "config.h"

#include <string.h>

#include "marc8.h"
#include "read_text.h"

struct mnemonic {
	const char	*name;
	uint8_t		 marc8;
};

/* MARCMaker names and their MARC-8 bytes (ASCII ones are ASCII). */
static const struct mnemonic mnemonics[] = {
	{ "dollar", 0x24 }, { "lcub", 0x7B }, { "rcub", 0x7D },
	{ "bsol", 0x5C }, { "verbar", 0x7C }, { "esc", 0x1B },
	{ "joiner", 0x8D }, { "zwj", 0x8D }, { "nonjoin", 0x8E },
	{ "zwnj", 0x8E }, { "nsb", 0x88 }, { "nse", 0x89 },
	{ "Lstrok", 0xA1 }, { "Ostrok", 0xA2 }, { "Dstrok", 0xA3 },
	{ "THORN", 0xA4 }, { "AElig", 0xA5 }, { "OElig", 0xA6 },
	{ "softsign", 0xA7 }, { "middot", 0xA8 }, { "flat", 0xA9 },
	{ "reg", 0xAA }, { "plusmn", 0xAB }, { "Ohorn", 0xAC },
	{ "Uhorn", 0xAD }, { "mlrhring", 0xAE }, { "mllhring", 0xB0 },
	{ "lstrok", 0xB1 }, { "ostrok", 0xB2 }, { "dstrok", 0xB3 },
	{ "thorn", 0xB4 }, { "aelig", 0xB5 }, { "oelig", 0xB6 },
	{ "hardsign", 0xB7 }, { "inodot", 0xB8 }, { "pound", 0xB9 },
	{ "eth", 0xBA }, { "ohorn", 0xBC }, { "uhorn", 0xBD },
	{ "deg", 0xC0 }, { "scriptl", 0xC1 }, { "phono", 0xC2 },
	{ "copy", 0xC3 }, { "sharp", 0xC4 }, { "iquest", 0xC5 },
	{ "iexcl", 0xC6 }, { "eszett", 0xC7 }, { "euro", 0xC8 },
	{ "hooka", 0xE0 }, { "grave", 0xE1 }, { "acute", 0xE2 },
	{ "circ", 0xE3 }, { "tilde", 0xE4 }, { "macr", 0xE5 },
	{ "breve", 0xE6 }, { "dot", 0xE7 }, { "uml", 0xE8 },
	{ "diaer", 0xE8 }, { "caron", 0xE9 }, { "ring", 0xEA },
	{ "llig", 0xEB }, { "rlig", 0xEC }, { "rcommaa", 0xED },
	{ "dblac", 0xEE }, { "candra", 0xEF }, { "cedil", 0xF0 },
	{ "ogon", 0xF1 }, { "dotb", 0xF2 }, { "dbldotb", 0xF3 },
	{ "ringb", 0xF4 }, { "dblunder", 0xF5 }, { "under", 0xF6 },
	{ "commab", 0xF7 }, { "rcedil", 0xF8 }, { "breveb", 0xF9 },
	{ "ldbltil", 0xFA }, { "rdbltil", 0xFB }, { "commaa", 0xFE },
};

/* Value of a hex digit, or -1. */
static int
mrk_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The byte a mnemonic {name} stands for, or -1 if none. */
static int
mrk_mnemonic(const uint8_t *name, size_t n)
{
	size_t	i;
	int	h, l;

	if (n == 2 && (h = mrk_hex(name[0])) >= 0 && (l = mrk_hex(name[1])) >= 0)
		return h * 16 + l;
	for (i = 0; i < sizeof mnemonics / sizeof mnemonics[0]; i++)
		if (strlen(mnemonics[i].name) == n &&
		    memcmp(mnemonics[i].name, name, n) == 0)
			return mnemonics[i].marc8;
	return -1;
}

struct mrk_dec {
	struct marc_build	*b;
	int			 utf8;		/* the record is UTF-8 */
	int			 blanks;	/* `\` is a blank */
	struct mbuf		*tmp;
};

/*
 * Append p[0..n) decoded to the open field.  Returns the number of
 * structure bytes replaced, or -1.
 */
static int
mrk_decode(struct mrk_dec *d, const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n, *q, *c;
	uint8_t		 byte;
	int		 v, bad = 0, r;

	while (p < end) {
		for (q = p; q < end && *q != '{' && !(d->blanks && *q == '\\');
		    q++)
			;
		if ((r = marc_build_text(d->b, p, (size_t)(q - p))) < 0)
			return -1;
		bad += r;
		if (q == end)
			break;
		if (*q == '\\') {
			if (marc_build_raw(d->b, (const uint8_t *)" ", 1) != 0)
				return -1;
			p = q + 1;
			continue;
		}
		c = memchr(q + 1, '}', (size_t)(end - q - 1));
		if (c == NULL || c - q > 16 ||
		    (v = mrk_mnemonic(q + 1, (size_t)(c - q - 1))) < 0) {
			if (marc_build_raw(d->b, q, 1) != 0)
				return -1;
			p = q + 1;
			continue;
		}
		byte = (uint8_t)v;
		p = c + 1;
		if (!d->utf8 || byte < 0x80) {
			if ((r = marc_build_text(d->b, &byte, 1)) < 0)
				return -1;
			bad += r;
		} else {
			d->tmp->len = 0;
			if (marc8_to_utf8(d->tmp, &byte, 1, NULL, 0) < 0 ||
			    marc_build_raw(d->b, d->tmp->p, d->tmp->len) != 0)
				return -1;
		}
	}
	return bad;
}

/* One unit of a position (indicator, subfield code): `\`, {name} or a byte. */
static size_t
mrk_unit(const uint8_t *p, const uint8_t *end, uint8_t *out)
{
	const uint8_t	*c;
	int		 v;

	if (p >= end) {
		*out = ' ';
		return 0;
	}
	if (*p == '\\') {
		*out = ' ';
		return 1;
	}
	if (*p == '{' && (c = memchr(p + 1, '}', (size_t)(end - p - 1))) !=
	    NULL && c - p <= 16 &&
	    (v = mrk_mnemonic(p + 1, (size_t)(c - p - 1))) >= 0 && v < 0x80) {
		*out = (uint8_t)v;
		return (size_t)(c - p) + 1;
	}
	*out = *p;
	return 1;
}

/* Offset of the next `=LDR` line at or after pos. */
size_t
mrk_boundary(const uint8_t *buf, size_t len, size_t pos)
{
	const uint8_t *p;

	while (pos < len) {
		if ((pos == 0 || buf[pos - 1] == '\n') && len - pos >= 4 &&
		    memcmp(buf + pos, "=LDR", 4) == 0)
			return pos;
		p = memchr(buf + pos, '\n', len - pos);
		if (p == NULL)
			return len;
		pos = (size_t)(p - buf) + 1;
	}
	return len;
}

/* A data field's line after the tag: indicators, then $code data... */
static int
mrk_datafield(struct marc_freader *fr, struct mrk_dec *d, const uint8_t *p,
    const uint8_t *end)
{
	const uint8_t	*q;
	uint8_t		 c;
	int		 i, r, bad = 0;

	for (i = 0; i < 2; i++) {
		p += mrk_unit(p, end, &c);
		marc_build_ind(d->b, i, c);
	}
	d->blanks = 0;
	while (p < end) {
		q = memchr(p, '$', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (*p == '$') {
			p++;
			p += mrk_unit(p, end, &c);
			if (marc_build_subfield(d->b, c) != 0)
				return -1;
			q = memchr(p, '$', (size_t)(end - p));
			if (q == NULL)
				q = end;
		}
		if ((r = mrk_decode(d, p, (size_t)(q - p))) < 0)
			return -1;
		bad += r;
		p = q;
	}
	return bad;
}

/* One line of a record: the leader, a control field or a data field. */
static int
mrk_line(struct marc_freader *fr, struct mrk_dec *d, const uint8_t *p,
    const uint8_t *end, size_t at, uint32_t recno)
{
	const uint8_t	*tag;
	int		 r;

	if (*p != '=' || end - p < 4) {
		/* A continuation (a line break inside a field) or garbage:
		 * the text is kept in the open field. */
		text_error(fr, MARC_E_BAD_MRK, recno, at);
		if (!d->b->open)
			return 0;
		d->blanks = 0;
		return mrk_decode(d, p, (size_t)(end - p)) < 0 ? -1 : 0;
	}
	tag = p + 1;
	p += 4;
	if (p < end && *p == ' ')
		p++;
	if (p < end && *p == ' ')
		p++;
	if (memcmp(tag, "LDR", 3) == 0) {
		/* `=LDR` and two spaces, always: with one, the leader is
		 * read as it stands and the line reported (as MarcEdit and
		 * pymarc refuse it). */
		if (p - tag != 5 && p < end)
			text_error(fr, MARC_E_BAD_MRK, recno, at);
		if (d->b->have_leader) {
			text_error(fr, MARC_E_BAD_MRK, recno, at);
			return 0;
		}
		/* The leader is decoded in a field of its own, then moved. */
		if (marc_build_field(d->b, (const uint8_t *)"LDR", 3) != 0)
			return -1;
		d->blanks = 1;
		if (mrk_decode(d, p, (size_t)(end - p)) < 0)
			return -1;
		if (marc_build_leader(d->b, d->b->data.len > d->b->fstart ?
		    d->b->data.p + d->b->fstart : (const uint8_t *)"",
		    d->b->data.len - d->b->fstart) != 0)
			text_error(fr, MARC_E_BAD_MRK, recno, at);
		d->b->data.len = d->b->fstart;
		d->b->open = 0;
		d->utf8 = fr->r.charset == MARC_CS_UTF8 ||
		    (fr->r.charset == MARC_CS_AUTO && d->b->leader[9] == 'a');
		d->b->marc8 = !d->utf8;
		return 0;
	}
	if (tag[0] == '0' && tag[1] == '0') {
		if (marc_build_field(d->b, tag, 3) != 0)
			return -1;
		d->blanks = 1;
		r = mrk_decode(d, p, (size_t)(end - p));
	} else {
		if (marc_build_datafield(d->b, tag, 3) != 0)
			return -1;
		r = mrk_datafield(fr, d, p, end);
	}
	if (r > 0)
		text_error(fr, MARC_E_BAD_MRK, recno, at);
	return r < 0 ? -1 : 0;
}

/* White space between records. */
static int
mrk_between(uint8_t c)
{
	return text_is_space(c);
}

/* The next record: from an `=LDR` line to the next one. */
int
mrk_next(struct marc_freader *fr, struct marc_record *rec)
{
	struct marc_reader	*r = &fr->r;
	const uint8_t		*buf = r->buf, *p, *nl, *end;
	size_t			 s, e;
	struct mrk_dec		 d;
	uint32_t		 recno;
	int			 rc;

	if ((rc = text_next_span(fr, rec, mrk_between, mrk_boundary,
	    MARC_E_BAD_MRK, &s, &e)) != MARC_NEXT_RECORD)
		return rc;
	recno = rec->recno;
	memset(&d, 0, sizeof d);
	d.b = &fr->b;
	d.tmp = &fr->tmp;
	marc_build_begin(&fr->b);
	for (p = buf + s; p < buf + e; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + e - p));
		if (nl == NULL)
			nl = buf + e;
		end = nl;
		if (end > p && end[-1] == '\r')
			end--;
		while (end > p && text_is_space(end[-1]))
			end--;
		if (end == p)
			continue;
		end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (mrk_line(fr, &d, p, end, (size_t)(p - buf), recno) != 0)
			return -1;
		if (nl == buf + e)
			break;
	}
	if (marc_build_finish(&fr->b, rec, r->charset, d.utf8) != 0)
		return -1;
	rec->offset = s;
	rec->recno = recno;
	return MARC_NEXT_RECORD;
}
