/*
 * common/marc8_enc.c: UTF-8 to MARC-8, for systems that load only MARC-8.
 *
 * Text is decomposed (NFD) so that accents become combining marks, which
 * MARC-8 writes before their base character (ANSEL diacritics).  Sets are
 * switched only when a character needs it: G0 holds Basic Latin, Hebrew,
 * Cyrillic, Arabic, Greek or EACC (ESC ( F, ESC $ 1), or a technique-1
 * alternate (ESC g, ESC b, ESC p; ESC s returns), G1 Extended Latin or an
 * extended Cyrillic/Arabic set (ESC ) F); ASCII punctuation and digits that
 * the current G0 set holds at the same byte need no escape.  Each run ends
 * in the default state (G0 Basic Latin, G1 Extended Latin).  A character
 * with no MARC-8 encoding becomes an &#xXXXX; reference, as MARC::Charset
 * and yaz write them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "marc8.h"
#include "marc8_tables.h"

#define MARKS_MAX	16	/* marks held for one base; more flush early */

static const uint8_t set_final[M8_SET_EACC + 1] = {
	0x42, 0x45, 0x67, 0x62, 0x70, 0x32, 0x4E, 0x51, 0x33, 0x34, 0x53, 0x31,
};

struct enc {
	struct mbuf		*out;
	int			 g0, g1;
	int			 unmapped;
	uint8_t			 right;		/* right half due before the next base */
	uint32_t		 base;		/* UINT32_MAX: none yet */
	const struct marc8_rev	*marks[MARKS_MAX];
	int			 nmarks;
};

/* Sets used as G1 (the high half); the others go to G0. */
static int
set_is_g1(int s)
{
	return s == 1 || s == 7 || s == 9;
}

/* Technique-1 alternates of Basic Latin: Greek symbols, sub- and superscripts. */
static int
set_is_tech1(int s)
{
	return s >= 2 && s <= 4;
}

/* Find a code point's encoding. */
static const struct marc8_rev *
rev_find(uint32_t cp)
{
	size_t lo = 0, hi = marc8_nrev, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (marc8_rev[mid].cp < cp)
			lo = mid + 1;
		else if (marc8_rev[mid].cp > cp)
			hi = mid;
		else
			return &marc8_rev[mid];
	}
	return NULL;
}

/* Find a code point's canonical decomposition into mappable parts. */
static const struct marc8_decomp *
nfd_find(uint32_t cp)
{
	size_t lo = 0, hi = marc8_nnfd, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (marc8_nfd[mid].cp < cp)
			lo = mid + 1;
		else if (marc8_nfd[mid].cp > cp)
			hi = mid;
		else
			return &marc8_nfd[mid];
	}
	return NULL;
}

/* Put set s in G0, writing the escape when it is not there already. */
static int
enc_g0(struct enc *e, int s)
{
	char esc[4];

	if (e->g0 == s)
		return 0;
	if (s == M8_SET_ASCII)
		snprintf(esc, sizeof(esc), "%s", set_is_tech1(e->g0) ? "\x1bs" :
		    "\x1b(B");
	else if (set_is_tech1(s))
		snprintf(esc, sizeof(esc), "\x1b%c", set_final[s]);
	else if (s == M8_SET_EACC)
		snprintf(esc, sizeof(esc), "%s", "\x1b$1");
	else
		snprintf(esc, sizeof(esc), "\x1b(%c", set_final[s]);
	e->g0 = s;
	return mbuf_adds(e->out, esc);
}

/* Put set s in G1. */
static int
enc_g1(struct enc *e, int s)
{
	char esc[4];

	if (e->g1 == s)
		return 0;
	snprintf(esc, sizeof(esc), "\x1b)%c", set_final[s]);
	e->g1 = s;
	return mbuf_adds(e->out, esc);
}

/* One printable ASCII byte: as is if the G0 set holds it there, else in ASCII. */
static int
enc_ascii(struct enc *e, uint8_t c)
{
	if (c != ' ' && e->g0 != M8_SET_ASCII && (e->g0 == M8_SET_EACC ||
	    (marc8_sb[e->g0][c - 0x21] & M8_CP_MASK) != c) &&
	    enc_g0(e, M8_SET_ASCII) != 0)
		return -1;
	return mbuf_addc(e->out, c);
}

/* The bytes of one mapped character, with the escape it needs. */
static int
enc_char(struct enc *e, const struct marc8_rev *r)
{
	if (r->set == M8_SET_ASCII)
		return enc_ascii(e, r->b[0]);
	if (r->set == M8_SET_EACC)
		return enc_g0(e, M8_SET_EACC) != 0 ? -1 :
		    mbuf_add(e->out, r->b, 3);
	if (set_is_g1(r->set))
		return enc_g1(e, r->set) != 0 ? -1 :
		    mbuf_addc(e->out, r->b[0] | 0x80);
	return enc_g0(e, r->set) != 0 ? -1 : mbuf_addc(e->out, r->b[0]);
}

/* A character MARC-8 cannot hold, as a numeric character reference. */
static int
enc_ref(struct enc *e, uint32_t cp)
{
	char	ref[16];
	int	i, n;

	e->unmapped++;
	n = snprintf(ref, sizeof(ref), "&#x%04X;", (unsigned)cp);
	for (i = 0; i < n; i++)
		if (enc_ascii(e, (uint8_t)ref[i]) != 0)
			return -1;
	return 0;
}

/* Write the held base with its marks first, as MARC-8 orders them. */
static int
enc_flush(struct enc *e)
{
	const struct marc8_rev	*r;
	uint8_t			 right = e->right;
	int			 i;

	if (e->base == UINT32_MAX && e->nmarks == 0)
		return 0;
	e->right = 0;
	if (right) {
		/* The right half of a double diacritic, before this base. */
		if (enc_g1(e, M8_SET_ANSEL) != 0 ||
		    mbuf_addc(e->out, right | 0x80) != 0)
			return -1;
	}
	for (i = 0; i < e->nmarks; i++) {
		if (enc_char(e, e->marks[i]) != 0)
			return -1;
		if (e->marks[i]->right)
			e->right = e->marks[i]->right;
	}
	e->nmarks = 0;
	if (e->base == UINT32_MAX)
		return 0;
	if (e->base >= 0x20 && e->base < 0x7F) {
		if (enc_ascii(e, (uint8_t)e->base) != 0)
			return -1;
	} else if (e->base < 0x20 || e->base == 0x7F) {
		if (mbuf_addc(e->out, (uint8_t)e->base) != 0)
			return -1;
	} else if ((r = rev_find(e->base)) != NULL) {
		if (enc_char(e, r) != 0)
			return -1;
	} else if (enc_ref(e, e->base) != 0)
		return -1;
	e->base = UINT32_MAX;
	return 0;
}

/* One code point after decomposition: a mark joins the base, else flush. */
static int
enc_cp(struct enc *e, uint32_t cp)
{
	const struct marc8_rev *r;

	if (cp >= 0x80 && (r = rev_find(cp)) != NULL && r->comb) {
		if (e->nmarks == MARKS_MAX && enc_flush(e) != 0)
			return -1;
		e->marks[e->nmarks++] = r;
		return 0;
	}
	if (enc_flush(e) != 0)
		return -1;
	e->base = cp;
	return 0;
}

/* Next code point of UTF-8 text; an invalid sequence gives U+FFFD. */
static uint32_t
utf8_next(const uint8_t *p, size_t n, size_t *i)
{
	uint32_t	cp, min;
	size_t		len, k;
	uint8_t		c = p[*i];

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xE0) == 0xC0) {
		len = 2;
		cp = c & 0x1F;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3;
		cp = c & 0x0F;
		min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		(*i)++;
		return 0xFFFD;
	}
	if (n - *i < len) {
		(*i)++;
		return 0xFFFD;
	}
	for (k = 1; k < len; k++) {
		if ((p[*i + k] & 0xC0) != 0x80) {
			(*i)++;
			return 0xFFFD;
		}
		cp = cp << 6 | (p[*i + k] & 0x3F);
	}
	*i += len;
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0xFFFD;
	return cp;
}

/* Convert one run (a subfield's text, a control field) to MARC-8. */
int
marc8_from_utf8(struct mbuf *out, const uint8_t *in, size_t n)
{
	struct enc			 e;
	const struct marc8_decomp	*d;
	size_t				 i = 0;
	uint32_t			 cp;
	int				 k;

	memset(&e, 0, sizeof(e));
	e.out = out;
	e.g0 = M8_SET_ASCII;
	e.g1 = M8_SET_ANSEL;
	e.base = UINT32_MAX;
	while (i < n) {
		/* ASCII between ASCII bases needs no decoding at all. */
		if (in[i] < 0x80 && e.nmarks == 0 && e.right == 0 &&
		    e.base == UINT32_MAX && e.g0 == M8_SET_ASCII &&
		    (i + 1 == n || in[i + 1] < 0x80)) {
			if (mbuf_addc(out, in[i++]) != 0)
				return -1;
			continue;
		}
		cp = utf8_next(in, n, &i);
		if (cp >= 0xC0 && (d = nfd_find(cp)) != NULL) {
			for (k = 0; k < M8_DECOMP_MAX && d->d[k]; k++)
				if (enc_cp(&e, d->d[k]) != 0)
					return -1;
		} else if (enc_cp(&e, cp) != 0)
			return -1;
	}
	if (enc_flush(&e) != 0)
		return -1;
	if (e.right && (enc_g1(&e, M8_SET_ANSEL) != 0 ||
	    mbuf_addc(out, e.right | 0x80) != 0))
		return -1;
	if (enc_g0(&e, M8_SET_ASCII) != 0 || enc_g1(&e, M8_SET_ANSEL) != 0)
		return -1;
	return e.unmapped;
}
