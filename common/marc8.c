/*
 * common/marc8.c: MARC-8 to UTF-8.
 *
 * Bytes 0x21-0x7E are looked up in the G0 set and 0xA1-0xFE in the G1 set
 * (three bytes a character when the set is EACC); escape sequences change
 * the sets.  MARC-8 combining marks come before their base character: they
 * wait in a stash and are fed after the base.  The resulting code points go
 * through a small streaming NFC: a segment (one starter and the marks after
 * it) is put in canonical order and composed when the next starter comes.
 * Output space is reserved up front per step of input, so the inner loop writes
 * through a bare pointer.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "marcd/marc.h"
#include "marc8.h"
#include "marc8_tables.h"

#define M8_ESC		0x1b
#define M8_FFFD		0xfffdu
#define M8_STASH	32	/* combining marks waiting for their base */
#define M8_SEG		64	/* code points in one NFC segment */
#define M8_STEP	4096	/* input bytes per output reservation */
/* Output that may still be pending when a step starts, in bytes. */
#define M8_PENDING	((M8_SEG + M8_STASH * M8_DECOMP_MAX) * 4 + 4 * M8_EXPAND)

struct m8 {
	uint8_t			*o;		/* next output byte (reserved) */
	struct marc8_err	*errs;
	int			 errmax;
	int			 nerr;
	uint8_t			 g0;		/* set index in G0 */
	uint8_t			 g1;		/* set index in G1 */
	int			 nstash;
	int			 nseg;
	int			 starter;	/* seg[0] is a starter */
	int			 flags;		/* MARC8_HALF_MARKS */
	uint32_t		 stash[M8_STASH];	/* table values */
	uint32_t		 seg[M8_SEG];
	uint8_t			 cc[M8_SEG];	/* combining class of seg[i] */
};

#define M8_ONES		0x0101010101010101ULL
#define M8_HIGH		0x8080808080808080ULL

/* High bit of each byte of w that is >= 0x80 or ESC (and maybe bytes above). */
static inline uint64_t
m8_lanes(uint64_t w)
{
	uint64_t x = w ^ (M8_ONES * M8_ESC);

	return (w | ((x - M8_ONES) & ~x)) & M8_HIGH;
}

/* Whether p[0..n) is plain 7-bit data without ESC: the whole-input fast path. */
static inline int
m8_plain(const uint8_t *p, size_t n)
{
	uint64_t	 w, acc = 0;
	uint32_t	 a, b;
	size_t		 i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&w, p + i, 8);
			if (m8_lanes(w) != 0)
				return 0;
		}
		memcpy(&w, p + n - 8, 8);
		return m8_lanes(w) == 0;
	}
	if (n >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		return m8_lanes(a | (uint64_t)b << 32) == 0;
	}
	for (i = 0; i < n; i++)
		acc |= p[i] >= 0x80 || p[i] == M8_ESC;
	return acc == 0;
}

/* Length of the prefix that is plain 7-bit data without ESC. */
static size_t
m8_ascii_len(const uint8_t *p, size_t n)
{
	uint64_t	 w;
	size_t		 i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (m8_lanes(w) != 0)
			break;
	}
	for (; i < n; i++) {
		if (p[i] >= 0x80 || p[i] == M8_ESC)
			break;
	}
	return i;
}

/* Write one code point as UTF-8; the space was reserved by the caller. */
static inline uint8_t *
m8_put(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80)
		*o++ = (uint8_t)cp;
	else if (cp < 0x800) {
		*o++ = (uint8_t)(0xc0 | cp >> 6);
		*o++ = (uint8_t)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (uint8_t)(0xe0 | cp >> 12);
		*o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (uint8_t)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (uint8_t)(0xf0 | cp >> 18);
		*o++ = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (uint8_t)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* Canonical combining class; only the code points MARC-8 yields are known. */
static int
m8_ccc(uint32_t cp)
{
	size_t	 lo = 0, hi = marc8_nccc, mid;
	uint32_t v;

	if (cp < 0x300)
		return 0;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		v = marc8_ccc[mid] >> 8;
		if (v == cp)
			return marc8_ccc[mid] & 0xff;
		if (v < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Primary composite of a starter and a following character, or 0. */
static uint32_t
m8_compose(uint32_t a, uint32_t b)
{
	uint64_t key = (uint64_t)a << 21 | b;
	size_t	 lo = 0, hi = marc8_ncomp, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (marc8_comp_key[mid] == key)
			return marc8_comp_val[mid];
		if (marc8_comp_key[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Full canonical decomposition of a table character flagged M8_DECOMP. */
static const uint32_t *
m8_decomp(uint32_t cp)
{
	size_t	 lo = 0, hi = marc8_ndecomp, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (marc8_decomp[mid].cp == cp)
			return marc8_decomp[mid].d;
		if (marc8_decomp[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Put the segment in canonical order and compose it (UAX #15). */
static void
m8_seg_normalize(struct m8 *m)
{
	int	 first = m->starter ? 1 : 0, i, j, k;
	uint32_t c, s;
	uint8_t	 cc;

	/* Stable insertion sort of the marks by combining class. */
	for (i = first + 1; i < m->nseg; i++) {
		c = m->seg[i];
		cc = m->cc[i];
		for (j = i; j > first && m->cc[j - 1] > cc; j--) {
			m->seg[j] = m->seg[j - 1];
			m->cc[j] = m->cc[j - 1];
		}
		m->seg[j] = c;
		m->cc[j] = cc;
	}
	if (!m->starter)
		return;
	/* A mark is blocked by an earlier kept mark of equal or higher class. */
	s = m->seg[0];
	for (i = k = 1; i < m->nseg; i++) {
		if ((k == 1 || m->cc[k - 1] < m->cc[i]) &&
		    (c = m8_compose(s, m->seg[i])) != 0) {
			s = c;
			continue;
		}
		m->seg[k] = m->seg[i];
		m->cc[k] = m->cc[i];
		k++;
	}
	m->seg[0] = s;
	m->nseg = k;
}

/* Write out the open segment. */
static void
m8_seg_flush(struct m8 *m)
{
	int	 i;

	if (m->nseg > 1)
		m8_seg_normalize(m);
	for (i = 0; i < m->nseg; i++)
		m->o = m8_put(m->o, m->seg[i]);
	m->nseg = 0;
	m->starter = 0;
}

/* A starter closes the open segment and opens its own. */
static inline void
m8_push_starter(struct m8 *m, uint32_t cp)
{
	if (m->nseg == 1)
		m->o = m8_put(m->o, m->seg[0]);
	else if (m->nseg > 1)
		m8_seg_flush(m);
	m->seg[0] = cp;
	m->cc[0] = 0;
	m->nseg = 1;
	m->starter = 1;
}

/* A non-starter joins the open segment (a runaway one is cut, not lost). */
static void
m8_push_mark(struct m8 *m, uint32_t cp, int cc)
{
	if (m->nseg == M8_SEG)
		m8_seg_flush(m);
	m->seg[m->nseg] = cp;
	m->cc[m->nseg] = (uint8_t)cc;
	m->nseg++;
}

/* Feed one already decomposed code point to the normalizer. */
static void
m8_push(struct m8 *m, uint32_t cp)
{
	int	 cc = m8_ccc(cp);

	if (cc == 0)
		m8_push_starter(m, cp);
	else
		m8_push_mark(m, cp, cc);
}

/* Feed a table value: plain starters go straight, the rest decomposed. */
static void
m8_feed(struct m8 *m, uint32_t v)
{
	const uint32_t	*d;
	int		 i;

	if ((v & M8_NFC) == 0) {
		m8_push_starter(m, v & M8_CP_MASK);
		return;
	}
	if ((v & M8_DECOMP) && (d = m8_decomp(v & M8_CP_MASK)) != NULL) {
		for (i = 0; i < M8_DECOMP_MAX && d[i] != 0; i++)
			m8_push(m, d[i]);
		return;
	}
	m8_push(m, v & M8_CP_MASK);
}

/* A base character: it goes out first, then the marks that preceded it. */
static inline void
m8_base(struct m8 *m, uint32_t v)
{
	int	 i;

	m8_feed(m, v);
	if (m->nstash == 0)
		return;
	for (i = 0; i < m->nstash; i++)
		m8_feed(m, m->stash[i]);
	m->nstash = 0;
}

/* Note a problem and stand U+FFFD in for the bad bytes. */
static void
m8_bad(struct m8 *m, uint32_t code, size_t pos)
{
	if (m->nerr < m->errmax) {
		m->errs[m->nerr].code = code;
		m->errs[m->nerr].pos = (uint32_t)pos;
	}
	if (m->nerr < INT_MAX)
		m->nerr++;
	m8_base(m, M8_FFFD);
}

/* Dispatch a looked-up table value by its flags. */
static inline void
m8_char(struct m8 *m, uint32_t v, size_t pos)
{
	if ((v & (M8_COMB | M8_DROP | M8_NFC)) == 0 && v != 0 &&
	    m->nstash == 0) {
		m8_push_starter(m, v);
		return;
	}
	if (v == 0)
		m8_bad(m, MARC_E_MARC8_CHAR, pos);
	else if (v & M8_DROP)
		return;
	else if (v & M8_COMB) {
		/* Too many marks in a row: let the oldest go without a base. */
		if (m->nstash == M8_STASH) {
			int	 i;

			for (i = 0; i < M8_STASH; i++)
				m8_feed(m, m->stash[i]);
			m->nstash = 0;
		}
		m->stash[m->nstash++] = v;
	} else
		m8_base(m, v);
}

/* The intermediate bytes MARC-8 escape sequences use. */
static inline int
m8_is_intermediate(uint8_t c)
{
	return c == '(' || c == ',' || c == '$' || c == ')' || c == '-' ||
	    c == '!';
}

/*
 * Decode an escape sequence at in[i]: ESC, intermediates from "(,$)-!",
 * one final byte.  Returns the index after it.
 */
static size_t
m8_escape(struct m8 *m, const uint8_t *in, size_t i, size_t n)
{
	const uint8_t	*p = in + i + 1;
	size_t		 j = i + 1, ni;
	int		 f, set, g1;

	while (j < n && j - i <= 3 && m8_is_intermediate(in[j]))
		j++;
	if (j >= n || in[j] < 0x30 || in[j] > 0x7e) {
		m8_bad(m, MARC_E_MARC8_ESCAPE, i);
		return j;
	}
	f = in[j];
	ni = j - i - 1;
	/* Technique 1: ESC g, ESC b, ESC p, and ESC s back to ASCII. */
	if (ni == 0) {
		if (f == 's')
			m->g0 = M8_SET_ASCII;
		else if (f == 'g' || f == 'b' || f == 'p')
			m->g0 = (uint8_t)marc8_set_by_final[f];
		else
			m8_bad(m, MARC_E_MARC8_ESCAPE, i);
		return j + 1;
	}
	/* ANSEL's registered final is "!E"; plain "E" is common too. */
	if (ni >= 2 && p[ni - 1] == '!' && f == 'E')
		ni--;
	if (ni == 1 && (p[0] == '(' || p[0] == ','))
		g1 = 0;
	else if (ni == 1 && (p[0] == ')' || p[0] == '-'))
		g1 = 1;
	else if (p[0] == '$' && (ni == 1 || (ni == 2 && p[1] == ',')))
		g1 = 0;
	else if (p[0] == '$' && ni == 2 && (p[1] == ')' || p[1] == '-'))
		g1 = 1;
	else {
		m8_bad(m, MARC_E_MARC8_ESCAPE, i);
		return j + 1;
	}
	if ((set = marc8_set_by_final[f]) < 0) {
		m8_bad(m, MARC_E_MARC8_ESCAPE, i);
		return j + 1;
	}
	if (g1)
		m->g1 = (uint8_t)set;
	else
		m->g0 = (uint8_t)set;
	return j + 1;
}

/* Bits set in a word, for the rank in an EACC row. */
static inline unsigned
m8_popcount(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
	return (unsigned)__builtin_popcountll(x);
#else
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (unsigned)((x * 0x0101010101010101ULL) >> 56);
#endif
}

/* Look up a 3-byte EACC code (high bits stripped); 0 if unmapped. */
static uint32_t
m8_eacc_lookup(uint8_t b0, uint8_t b1, uint8_t b2)
{
	const struct marc8_eacc_row	*r;
	unsigned			 row, k, rank;
	uint64_t			 lo;

	row = marc8_eacc_rowidx[(b0 - 0x21) * 94 + (b1 - 0x21)];
	if (row == 0)
		return 0;
	r = &marc8_eacc_rows[row - 1];
	k = (unsigned)b2 - 0x20;
	if ((r->bits[k >> 6] >> (k & 63) & 1) == 0)
		return 0;
	lo = k < 64 ? r->bits[0] & ((1ULL << k) - 1) : r->bits[0];
	rank = m8_popcount(lo);
	if (k >= 64)
		rank += m8_popcount(r->bits[1] & ((1ULL << (k - 64)) - 1));
	return marc8_eacc_val[r->base + rank];
}

/* One EACC character at in[i], in G0 or G1 by its first byte. */
static size_t
m8_eacc(struct m8 *m, const uint8_t *in, size_t i, size_t n)
{
	uint8_t	 hi = in[i] & 0x80, c[3];
	size_t	 k;

	c[0] = in[i] & 0x7f;
	for (k = 1; k < 3; k++) {
		if (i + k >= n || (in[i + k] & 0x80) != hi)
			break;
		c[k] = in[i + k] & 0x7f;
		if (c[k] < (k == 2 ? 0x20 : 0x21) || c[k] > 0x7e)
			break;
	}
	if (k < 3) {
		/* Truncated: the bytes that could belong to it go. */
		m8_bad(m, MARC_E_MARC8_CHAR, i);
		return i + k;
	}
	m8_char(m, m8_eacc_lookup(c[0], c[1], c[2]), i);
	return i + 3;
}

/*
 * pymarc's mapping of the double diacritic halves (MARC8_HALF_MARKS): the
 * half marks for Extended Latin EB/EC, FA/FB, else the table's value.
 */
static inline uint32_t
m8_half_mark(uint8_t c, uint32_t v)
{
	switch (c) {
	case 0x6b:
		return M8_COMB | 0xfe20;
	case 0x6c:
		return M8_COMB | 0xfe21;
	case 0x7a:
		return M8_COMB | 0xfe22;
	case 0x7b:
		return M8_COMB | 0xfe23;
	}
	return v;
}

/* Convert from in[i] until at least end; returns where it stopped. */
static size_t
m8_run(struct m8 *m, const uint8_t *in, size_t i, size_t end, size_t n)
{
	size_t	 j;
	uint8_t	 b;
	int	 set;

	while (i < end) {
		b = in[i];
		if (b < 0x80 && b != M8_ESC && m->g0 == M8_SET_ASCII &&
		    m->nstash == 0) {
			/* A plain run: copy it, keep its last byte open. */
			j = i + 1 + m8_ascii_len(in + i + 1, end - i - 1);
			if (m->nseg > 0)
				m8_seg_flush(m);
			memcpy(m->o, in + i, j - i - 1);
			m->o += j - i - 1;
			m8_push_starter(m, in[j - 1]);
			i = j;
			continue;
		}
		if (b == M8_ESC) {
			i = m8_escape(m, in, i, n);
			continue;
		}
		if (b <= 0x20 || b == 0x7f) {
			/* Controls and space are the same in every set. */
			m8_base(m, b);
			i++;
			continue;
		}
		if (b < 0x7f)
			set = m->g0;
		else if (b >= 0xa1 && b <= 0xfe)
			set = m->g1;
		else {
			/* C1 and 0xA0/0xFF: only NSB, NSE, ZWJ, ZWNJ mean anything. */
			m8_char(m, b < 0xa0 ? marc8_c1[b & 0x1f] : 0, i);
			i++;
			continue;
		}
		if (set == M8_SET_EACC) {
			i = m8_eacc(m, in, i, n);
			continue;
		}
		if (set == M8_SET_ANSEL && (m->flags & MARC8_HALF_MARKS))
			m8_char(m, m8_half_mark(b & 0x7f,
			    marc8_sb[set][(b & 0x7f) - 0x21]), i);
		else
			m8_char(m, marc8_sb[set][(b & 0x7f) - 0x21], i);
		i++;
	}
	return i;
}

/*
 * The MARC-8 entry point: a plain prefix is copied, the rest converted step
 * by step with one reservation each.  Marks left without a base at the end
 * are dropped, as MARC::Charset and pymarc do.
 */
int
marc8_to_utf8(struct mbuf *out, const uint8_t *in, size_t n,
    struct marc8_err *errs, int errmax)
{
	return marc8_to_utf8_flags(out, in, n, errs, errmax, 0);
}

/* The same with the choices of MARC8_* flags. */
int
marc8_to_utf8_flags(struct mbuf *out, const uint8_t *in, size_t n,
    struct marc8_err *errs, int errmax, int flags)
{
	struct m8	 m;
	size_t		 i, end;

	if (m8_plain(in, n)) {
		if (mbuf_reserve(out, n) != 0)
			return -1;
		if (n != 0)
			memcpy(out->p + out->len, in, n);
		out->len += n;
		return 0;
	}
	i = m8_ascii_len(in, n);

	m.errs = errs;
	m.errmax = errs != NULL && errmax > 0 ? errmax : 0;
	m.nerr = 0;
	m.g0 = M8_SET_ASCII;
	m.g1 = M8_SET_ANSEL;
	m.nstash = 0;
	m.nseg = 0;
	m.starter = 0;
	m.flags = flags;

	/* The prefix minus its last byte, which a following mark may need. */
	if (i > 0) {
		if (mbuf_add(out, in, i - 1) != 0)
			return -1;
		i--;
	}
	while (i < n) {
		end = n - i > M8_STEP ? i + M8_STEP : n;
		if (mbuf_reserve(out, (end - i) * M8_EXPAND + M8_PENDING) != 0)
			return -1;
		m.o = out->p + out->len;
		i = m8_run(&m, in, i, end, n);
		out->len = (size_t)(m.o - out->p);
	}
	if (mbuf_reserve(out, M8_PENDING) != 0)
		return -1;
	m.o = out->p + out->len;
	m8_seg_flush(&m);
	out->len = (size_t)(m.o - out->p);
	return m.nerr;
}
