/*
 * common/text.c: UTF-8 validation, repair, and decoding of record data.
 *
 * Writers turn every run of field data into valid UTF-8 through
 * marc_text_decode: valid UTF-8 is handed back as is (no copy), anything
 * else is converted into a scratch buffer and each problem is reported with
 * its byte offset in the whole input.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "marc8.h"
#include "scan.h"
#include "text.h"

#define ASCII_MASK	0x8080808080808080ULL
#define ONES		0x0101010101010101ULL

static const uint8_t	utf8_fffd[3] = { 0xEF, 0xBF, 0xBD };

/*
 * Classify the sequence at p[0..n), n >= 1, per Unicode table 3-7: its
 * length when valid, else minus the length of its maximal subpart (the
 * bytes one U+FFFD replaces, as Python's 'replace' handler counts them).
 */
static int
utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t	c = p[0], lo = 0x80, hi = 0xBF;
	int	need, i;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return -1;
	if (c < 0xE0)
		need = 1;
	else if (c < 0xF0) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;	/* overlong */
		else if (c == 0xED)
			hi = 0x9F;	/* surrogates */
	} else if (c < 0xF5) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;	/* overlong */
		else if (c == 0xF4)
			hi = 0x8F;	/* above U+10FFFF */
	} else
		return -1;
	for (i = 1; i <= need; i++) {
		if ((size_t)i >= n || p[i] < lo || p[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

/*
 * Base letter of U+0080..U+024F once decomposed (NFKD) and stripped of what
 * is not ASCII, as pymarc finds a subfield code; '*' where nothing is left.
 */
static const char code_base[] =
	"********************************"	/* U+0080 */
	" ******* *a**** **23 *** 1o*113*"	/* U+00A0 */
	"AAAAAA*CEEEEIIII*NOOOOO**UUUUY**"	/* U+00C0 */
	"aaaaaa*ceeeeiiii*nooooo**uuuuy*y"	/* U+00E0 */
	"AaAaAaCcCcCcCcDd**EeEeEeEeEeGgGg"	/* U+0100 */
	"GgGgHh**IiIiIiIiI*IiJjKk*LlLlLlL"	/* U+0120 */
	"l**NnNnNnn**OoOoOo**RrRrRrSsSsSs"	/* U+0140 */
	"SsTtTt**UuUuUuUuUuUuWwYyYZzZzZzs"	/* U+0160 */
	"********************************"	/* U+0180 */
	"Oo*************Uu***************"	/* U+01A0 */
	"****DDdLLlNNnAaIiOoUuUuUuUuUu*Aa"	/* U+01C0 */
	"Aa****GgKkOoOo**jDDdGg**NnAa****"	/* U+01E0 */
	"AaAaEeEeIiIiOoOoRrRrUuUuSsTt**Hh"	/* U+0200 */
	"******AaEeOoOoOoOoYy************"	/* U+0220 */
	"****************"	/* U+0240 */;

/* One character: a valid UTF-8 sequence, else one byte read as Latin-1. */
static size_t
code_char(const uint8_t *p, size_t n, uint32_t *cp)
{
	int	k = utf8_seq(p, n), i;

	if (k <= 1) {
		*cp = p[0];
		return 1;
	}
	*cp = p[0] & (0x7F >> k);
	for (i = 1; i < k; i++)
		*cp = (*cp << 6) | (p[i] & 0x3F);
	return (size_t)k;
}

/* The ASCII letter a code point comes down to, 0 when none. */
static uint8_t
code_ascii(uint32_t cp)
{
	if (cp < 0x80)
		return (uint8_t)cp;
	if (cp < 0x80 + sizeof code_base - 1 && code_base[cp - 0x80] != '*')
		return (uint8_t)code_base[cp - 0x80];
	return 0;
}

/*
 * A subfield whose code byte is not ASCII gets a usable code the way pymarc
 * normalises it: the first character of p[0..n) (n >= 1) decomposed to its
 * ASCII letter, or, when it has none, the first later one that has.
 */
size_t
marc_code_normalize(const uint8_t *p, size_t n, uint8_t *code)
{
	uint32_t	cp;
	size_t		skip, i, k;

	skip = code_char(p, n, &cp);
	*code = ' ';
	for (i = 0; i < n; i += k) {
		k = code_char(p + i, n - i, &cp);
		if (code_ascii(cp) != 0) {
			*code = code_ascii(cp);
			break;
		}
	}
	return skip;
}

/* Most record text is ASCII, so skip it eight bytes at a time. */
size_t
utf8_valid_len(const uint8_t *p, size_t n)
{
	uint64_t	w;
	size_t		i = 0;
	int		k;

	while (i < n) {
		while (n - i >= 8) {
			memcpy(&w, p + i, 8);
			if (w & ASCII_MASK)
				break;
			i += 8;
		}
		if (i == n)
			break;
		/* A short tail: one look at the last eight bytes. */
		if (n - i < 8 && n >= 8) {
			memcpy(&w, p + n - 8, 8);
			if ((w & ASCII_MASK) == 0)
				break;
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_seq(p + i, n - i)) < 0)
			return i;
		i += (size_t)k;
	}
	return n;
}

/*
 * Valid UTF-8 as a whole with no sequence right after a subfield delimiter
 * (a code that is not ASCII): one pass, sixteen ASCII bytes a step, where
 * three passes did (ASCII, UTF-8, delimiters).  2 if it is all ASCII, 1 if
 * valid with other characters, 0 if not.
 */
static int
utf8_record_ok(const uint8_t *p, size_t n)
{
	size_t	i = 0;
	int	k, r = 2;

	while (i < n) {
#ifdef __SSE2__
		while (n - i >= 16 && _mm_movemask_epi8(_mm_loadu_si128(
		    (const __m128i *)(const void *)(p + i))) == 0)
			i += 16;
#endif
		{
			uint64_t w;

			while (n - i >= 8) {
				memcpy(&w, p + i, 8);
				if (w & ASCII_MASK)
					break;
				i += 8;
			}
		}
		for (; i < n && p[i] < 0x80; i++)
			;
		if (i == n)
			break;
		if (i > 0 && p[i - 1] == MARC_SD)
			return 0;
		if ((k = utf8_seq(p + i, n - i)) < 0)
			return 0;
		i += (size_t)k;
		r = 1;
	}
	return r;
}

/* Repair text the way Python's errors='replace' does, so outputs agree. */
int
utf8_sanitize(struct mbuf *out, const uint8_t *p, size_t n,
    size_t *first_bad)
{
	size_t	i = 0, run;
	int	nrep = 0;

	if (first_bad != NULL)
		*first_bad = n;
	while (i < n) {
		run = utf8_valid_len(p + i, n - i);
		if (mbuf_add(out, p + i, run) != 0)
			return -1;
		i += run;
		if (i == n)
			break;
		if (nrep == 0 && first_bad != NULL)
			*first_bad = i;
		if (nrep < INT_MAX)
			nrep++;
		if (mbuf_add(out, utf8_fffd, sizeof utf8_fffd) != 0)
			return -1;
		i += (size_t)-utf8_seq(p + i, n - i);
	}
	return nrep;
}

/* Callers may pass no error list when they only want the text. */
static void
text_error(struct marc_errlist *errs, uint32_t code, uint32_t recno,
    uint64_t offset)
{
	if (errs != NULL)
		marc_errlist_add(errs, code, recno, offset);
}

/* Length of the prefix MARC-8 leaves unchanged: ASCII without ESC. */
static size_t
marc8_plain_len(const uint8_t *p, size_t n)
{
	uint64_t	w, x;
	size_t		i = 0;

	for (; n - i >= 8; i += 8) {
		memcpy(&w, p + i, 8);
		x = w ^ (ONES * 0x1B);
		if ((w & ASCII_MASK) || ((x - ONES) & ~x & ASCII_MASK))
			break;
	}
	for (; i < n; i++)
		if (p[i] >= 0x80 || p[i] == 0x1B)
			break;
	return i;
}

/* MARC-8 data: convert unless it is plain ASCII, mapping error positions. */
static int
text_decode_marc8(const struct marc_record *rec, const uint8_t *p, size_t n,
    uint64_t at, struct mbuf *scratch, struct marc_text *out,
    struct marc_errlist *errs)
{
	struct marc8_err	e[MARC_MAX_ERRORS];
	size_t			start = scratch->len;
	int			r, i;

	if (marc8_plain_len(p, n) == n) {
		out->p = p;
		out->len = n;
		return 0;
	}
	r = marc8_to_utf8(scratch, p, n, e, MARC_MAX_ERRORS);
	if (r < 0)
		return -1;
	for (i = 0; i < r && i < MARC_MAX_ERRORS; i++)
		text_error(errs, e[i].code, rec->recno, at + e[i].pos);
	if (r > MARC_MAX_ERRORS && errs != NULL)
		errs->lost += (uint32_t)(r - MARC_MAX_ERRORS);
	out->p = scratch->p + start;
	out->len = scratch->len - start;
	return 0;
}

/* One entry point for writers: valid UTF-8 out, whatever the record holds. */
int
marc_text_decode(const struct marc_record *rec, const uint8_t *p,
    size_t n, struct mbuf *scratch, struct marc_text *out,
    struct marc_errlist *errs)
{
	uint64_t	at = rec->offset + (uint64_t)(p - rec->data);
	size_t		start, valid, bad;

	if (rec->charset == MARC_CS_MARC8)
		return text_decode_marc8(rec, p, n, at, scratch, out, errs);
	valid = utf8_valid_len(p, n);
	if (valid == n) {
		out->p = p;
		out->len = n;
		return 0;
	}
	start = scratch->len;
	if (mbuf_add(scratch, p, valid) != 0 ||
	    utf8_sanitize(scratch, p + valid, n - valid, &bad) < 0)
		return -1;
	text_error(errs, MARC_E_UTF8, rec->recno, at + valid + bad);
	out->p = scratch->p + start;
	out->len = scratch->len - start;
	return 0;
}

/*
 * Give a subfield whose code byte is not ASCII its normalised code, its data
 * starting after the code's character, and the record a bad-subfield-code.
 */
void
marc_subfield_fix_code(const struct marc_record *rec,
    struct marc_subfield *sf, struct marc_errlist *errs)
{
	const uint8_t	*p = sf->data - 1;
	size_t		 skip;

	if (sf->code < 0x80)
		return;
	skip = marc_code_normalize(p, sf->len + 1, &sf->code);
	text_error(errs, MARC_E_SUBFIELD_CODE, rec->recno,
	    rec->offset + (uint64_t)(p - rec->data));
	sf->data = p + skip;
	sf->len = sf->len + 1 - skip;
}

/* A field's bytes, clipped to the record so hand-built views stay safe. */
static size_t
text_field(const struct marc_record *rec, const struct marc_field *f,
    const uint8_t **data)
{
	size_t	off = f->off, len = f->len;

	if (off > rec->len)
		off = rec->len;
	if (len > rec->len - off)
		len = rec->len - off;
	*data = rec->data + off;
	return len;
}

/* Report encoding problems without writing anything (marcctl check). */
int
marc_record_check_text(const struct marc_record *rec,
    struct mbuf *scratch, struct marc_errlist *errs)
{
	const struct marc_field		*f;
	struct marc_subfield_iter	 it;
	struct marc_subfield		 sf;
	struct marc_text		 t;
	const uint8_t			*d;
	size_t				 len;
	uint32_t			 i;
	int				 ok;

	/*
	 * Most records are plain ASCII (no ESC for MARC-8): nothing in them can
	 * fail to decode, so one word-at-a-time scan settles them.
	 */
	if (rec->charset == MARC_CS_MARC8 && scan_plain(rec->data, rec->len, 1))
		return 0;
	/*
	 * UTF-8 that is valid as a whole is valid in every piece the writers
	 * decode, unless a piece starts inside a sequence: after a non-ASCII
	 * subfield code, or at a field start the directory put there.  (Plain
	 * ASCII is the common case of this.)
	 */
	if (rec->charset == MARC_CS_UTF8 &&
	    (ok = utf8_record_ok(rec->data, rec->len)) != 0) {
		if (ok == 2)
			return 0;
		for (i = 0; i < rec->nfields; i++) {
			len = text_field(rec, &rec->fields[i], &d);
			if (len && (d[0] & 0xC0) == 0x80)
				break;
		}
		if (i == rec->nfields)
			return 0;
	}
	for (i = 0; i < rec->nfields; i++) {
		f = &rec->fields[i];
		len = text_field(rec, f, &d);
		scratch->len = 0;
		if (marc_field_is_control(f)) {
			if (marc_text_decode(rec, d, len, scratch, &t,
			    errs) != 0)
				return -1;
			continue;
		}
		marc_subfields_begin(&it, d, len);
		while (marc_subfields_next(&it, &sf)) {
			marc_subfield_fix_code(rec, &sf, errs);
			if (marc_text_decode(rec, sf.data, sf.len, scratch, &t,
			    errs) != 0)
				return -1;
		}
	}
	scratch->len = 0;
	return 0;
}
