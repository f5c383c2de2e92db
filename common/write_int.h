/*
 * common/write_int.h: what the record writers share, kept in one place:
 * table-driven escaping, decoding of text and structural bytes, the leader.
 */
#ifndef MARCD_WRITE_INT_H
#define MARCD_WRITE_INT_H

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "text.h"
#include "write.h"

/*
 * How a format escapes text.  cls has 256 entries: bytes whose class is 0
 * are copied as they are, others go to esc, which writes their escape at w,
 * moves *pp past the bytes it consumed (at least one) and returns the new w.
 * grow (at most 8) bounds the output bytes per input byte, so space is
 * reserved once.
 *
 * The rest lets runs be skipped eight bytes at a time: every byte with a
 * non-zero class must be below `below`, at or above 0x80 when `high` is
 * set, or one of spec[0..nspec).  (It may cover more; cls decides.)  The
 * delimiter 0x1F, if special, must be covered by `below`, not by spec.
 */
struct wr_escaper {
	const uint8_t	 *cls;
	size_t		  grow;
	uint8_t		*(*esc)(uint8_t *w, const uint8_t **pp,
			    const uint8_t *end);
	uint8_t		  below;
	uint8_t		  high;
	uint8_t		  nspec;
	uint8_t		  spec[6];
};

#define WR_ONES		0x0101010101010101ULL
#define WR_HIGHS	0x8080808080808080ULL

/*
 * Whether any of the eight bytes at p may need escaping (never a false
 * "no").  With sd set, the subfield delimiter 0x1F does not count.
 */
static inline int
wr_word_special(const struct wr_escaper *e, const uint8_t *p, int sd)
{
	uint64_t	w, x, m;
	uint8_t		below = e->below;
	int		i;

	memcpy(&w, p, 8);
	if (!sd && below > MARC_SD)
		below = MARC_SD;
	m = (w - WR_ONES * below) & ~w;		/* bytes below `below` */
	if (e->high)
		m |= w;
	for (i = 0; i < e->nspec; i++) {
		x = w ^ (WR_ONES * e->spec[i]);
		m |= (x - WR_ONES) & ~x;	/* zero bytes: matches */
	}
	return (m & WR_HIGHS) != 0;
}

#ifdef __SSE2__
/* The same test for sixteen bytes: a bit per byte that may need escaping. */
static inline unsigned
wr_vec_special(const struct wr_escaper *e, const uint8_t *p, int sd)
{
	__m128i		v, m, lim;
	uint8_t		below = e->below;
	int		i;

	v = _mm_loadu_si128((const __m128i *)(const void *)p);
	if (!sd && below > MARC_SD)
		below = MARC_SD;
	m = _mm_setzero_si128();
	if (below != 0) {		/* v < below: max(v, below - 1) unchanged */
		lim = _mm_set1_epi8((char)(below - 1));
		m = _mm_cmpeq_epi8(_mm_max_epu8(v, lim), lim);
	}
	if (e->high)
		m = _mm_or_si128(m, v);
	for (i = 0; i < e->nspec; i++)
		m = _mm_or_si128(m, _mm_cmpeq_epi8(v,
		    _mm_set1_epi8((char)e->spec[i])));
	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* Table rows for the ranges every format treats alike. */
#define WR_16(v)	v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
#define WR_C0(v)	WR_16(v), WR_16(v)	/* 0x00-0x1F, from index 0 */

#define WR_LIT(out, s)	mbuf_add((out), (s), sizeof(s) - 1)
#define WR_PUT(w, s)	do {					\
	memcpy((w), (s), sizeof(s) - 1);			\
	(w) += sizeof(s) - 1;					\
} while (0)

/*
 * Escape p[0..n) into w, which has room for n * grow bytes; returns the new
 * end.  Runs that need nothing go out with one memcpy; the run scan looks
 * at sixteen (SSE2) or eight bytes per step.  Hot, so inline.
 */
static inline uint8_t *
wr_escape_to(uint8_t *w, const struct wr_escaper *e, const uint8_t *p,
    size_t n)
{
	const uint8_t	*end = p + n, *s, *cls = e->cls;

	while (p < end) {
		s = p;
#ifdef __SSE2__
		while (end - p >= 16 && wr_vec_special(e, p, 1) == 0)
			p += 16;
#endif
		while (end - p >= 8 && !wr_word_special(e, p, 1))
			p += 8;
		/* A short tail: one look at the last eight bytes. */
		if (end - p < 8 && n >= 8 && !wr_word_special(e, end - 8, 1))
			p = end;
		while (p < end && cls[*p] == 0)
			p++;
		memcpy(w, s, (size_t)(p - s));
		w += p - s;
		if (p < end)
			w = e->esc(w, &p, end);
	}
	return w;
}

/*
 * Room for n bytes of text escaped by e plus extra bytes of markup; returns
 * where to write, NULL when out of memory.  wr_done then sets the length.
 */
static inline uint8_t *
wr_room(struct mbuf *out, size_t n, const struct wr_escaper *e, size_t extra)
{
	/* grow is at most 8 and extra small: no overflow, no division. */
	if (n > SIZE_MAX / 16 || mbuf_reserve(out, n * e->grow + extra) != 0)
		return NULL;
	return out->p + out->len;
}

/* Close a write started with wr_room. */
static inline void
wr_done(struct mbuf *out, const uint8_t *w)
{
	out->len = (size_t)(w - out->p);
}

/* Append p[0..n) escaped. */
static inline int
wr_escape(struct mbuf *out, const struct wr_escaper *e, const uint8_t *p,
    size_t n)
{
	uint8_t	*w;

	if (n == 0)
		return 0;
	if ((w = wr_room(out, n, e, 0)) == NULL)
		return -1;
	wr_done(out, wr_escape_to(w, e, p, n));
	return 0;
}

/*
 * One structural byte (indicator, subfield code) into w, which has room
 * for grow bytes: alone, a byte over 0x7F is never UTF-8, so U+FFFD.
 */
static inline uint8_t *
wr_byte_to(uint8_t *w, const struct wr_escaper *e, uint8_t c)
{
	if (c >= 0x80) {
		*w++ = 0xEF;
		*w++ = 0xBF;
		*w++ = 0xBD;
	} else if (e->cls[c] != 0)
		w = wr_escape_to(w, e, &c, 1);
	else
		*w++ = c;
	return w;
}

/* A tag: three structural bytes, into room for 3 * grow bytes. */
static inline uint8_t *
wr_tag_to(uint8_t *w, const struct wr_escaper *e, const char tag[3])
{
	w = wr_byte_to(w, e, (uint8_t)tag[0]);
	w = wr_byte_to(w, e, (uint8_t)tag[1]);
	return wr_byte_to(w, e, (uint8_t)tag[2]);
}

/* A field's bytes, clipped to the record so hand-built views stay safe. */
static inline size_t
wr_field(const struct marc_record *rec, const struct marc_field *f,
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

#define WR_HIGH		1	/* some byte is 0x80 or above */
#define WR_SPECIAL	2	/* some byte but 0x1F needs escaping */

/* Classify a few bytes one by one (see wr_scan). */
static inline int
wr_scan_bytes(const struct wr_escaper *e, const uint8_t *p, size_t n)
{
	size_t	i;
	int	r = 0;

	for (i = 0; i < n; i++) {
		if (p[i] >= 0x80)
			r |= WR_HIGH;
		if (e->cls[p[i]] != 0 && p[i] != MARC_SD)
			r |= WR_SPECIAL;
	}
	return r;
}

/*
 * One pass over a data field's subfields (p[0..n) after the indicators):
 * are there bytes over 0x7F (then UTF-8 must be checked), and does anything
 * but the delimiters need escaping in the format?  Sixteen or eight bytes
 * at a time.
 */
static inline int
wr_scan(const struct wr_escaper *e, const uint8_t *p, size_t n)
{
	uint64_t	w;
	size_t		i;
	int		r = 0;

	if (n < 8)
		return wr_scan_bytes(e, p, n);
	i = 0;
#ifdef __SSE2__
	for (; n - i >= 16; i += 16) {
		if (_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)
		    (const void *)(p + i))) != 0)
			r |= WR_HIGH;
		if (wr_vec_special(e, p + i, 0) != 0)
			r |= wr_scan_bytes(e, p + i, 16);
	}
#endif
	for (; n - i >= 8; i += 8) {
		memcpy(&w, p + i, 8);
		if (w & WR_HIGHS)
			r |= WR_HIGH;
		if (wr_word_special(e, p + i, 0))
			r |= wr_scan_bytes(e, p + i, 8);
	}
	if (i != n) {
		memcpy(&w, p + n - 8, 8);
		if (w & WR_HIGHS)
			r |= WR_HIGH;
		if (wr_word_special(e, p + n - 8, 0))
			r |= wr_scan_bytes(e, p + n - 8, 8);
	}
	return r;
}

/*
 * Subfields of a data field with their text decoded to UTF-8.  In a UTF-8
 * record, when the field after its indicators is valid UTF-8 as a whole, so
 * are its subfields (unless a code byte splits a character): they are not
 * decoded one by one.  When nothing in it but the delimiters needs escaping
 * in the format, the subfields are copied as they are.
 */
struct wr_sfiter {
	struct marc_subfield_iter	 it;
	const struct wr_escaper		*e;
	int				 valid;
	int				 plain;
};

/* Look at the field once to decide how its subfields go out. */
static inline void
wr_sf_begin(struct wr_sfiter *si, const struct marc_record *rec,
    const uint8_t *d, size_t len, const struct wr_escaper *e)
{
	size_t	n = len > 2 ? len - 2 : 0;
	int	scan;

	marc_subfields_begin(&si->it, d, len);
	si->e = e;
	si->valid = si->plain = 0;
	if (rec->charset == MARC_CS_MARC8)
		return;
	/* Valid as a whole means valid in parts: they split at ASCII bytes. */
	scan = wr_scan(e, d + len - n, n);
	si->valid = !(scan & WR_HIGH) || utf8_valid_len(d + len - n, n) == n;
	si->plain = si->valid && !(scan & WR_SPECIAL);
}

/* The next subfield and its text: 1, 0 at the end, -1 when out of memory. */
static inline int
wr_sf_next(struct marc_writer *w, const struct marc_record *rec,
    struct wr_sfiter *si, struct marc_subfield *sf, struct marc_text *t,
    struct marc_errlist *errs)
{
	if (!marc_subfields_next(&si->it, sf))
		return 0;
	if (sf->code >= 0x80)
		marc_subfield_fix_code(rec, sf, errs);
	else if (si->valid) {
		t->p = sf->data;
		t->len = sf->len;
		return 1;
	}
	if (marc_text_decode(rec, sf->data, sf->len, &w->scratch, t,
	    errs) != 0)
		return -1;
	return 1;
}

/* A subfield's text into room made by wr_room for t->len bytes. */
static inline uint8_t *
wr_sf_text_to(uint8_t *o, const struct wr_sfiter *si,
    const struct marc_text *t)
{
	if (!si->plain)
		return wr_escape_to(o, si->e, t->p, t->len);
	if (t->len != 0)
		memcpy(o, t->p, t->len);
	return o + t->len;
}

void	wr_leader(const struct marc_record *, uint8_t ld[MARC_LEADER_LEN]);
int	wr_raw_utf8(struct marc_writer *, struct mbuf *, const uint8_t *,
	    size_t, const struct wr_escaper *);

/*
 * Bytes that are structure, not text (the leader): never decoded nor an
 * error, but what is not UTF-8 still becomes U+FFFD.
 */
static inline int
wr_raw(struct marc_writer *w, struct mbuf *out, const uint8_t *p, size_t n,
    const struct wr_escaper *e)
{
	size_t	i;

	for (i = 0; i < n && p[i] < 0x80; i++)
		;
	if (i == n)
		return wr_escape(out, e, p, n);
	return wr_raw_utf8(w, out, p, n, e);
}

/* Field data: decode to UTF-8 by the record's charset, then escape. */
static inline int
wr_text(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, const uint8_t *p, size_t n,
    const struct wr_escaper *e, struct marc_errlist *errs)
{
	struct marc_text	t;

	if (marc_text_decode(rec, p, n, &w->scratch, &t, errs) != 0)
		return -1;
	return wr_escape(out, e, t.p, t.len);
}

int	write_json_record(struct marc_writer *, struct mbuf *,
	    const struct marc_record *, struct marc_errlist *);
int	write_xml_begin(struct mbuf *);
int	write_xml_record(struct marc_writer *, struct mbuf *,
	    const struct marc_record *, struct marc_errlist *);
int	write_xml_end(struct mbuf *);
int	write_mrk_record(struct marc_writer *, struct mbuf *,
	    const struct marc_record *, struct marc_errlist *);
int	write_iso2709_record(struct marc_writer *, struct mbuf *,
	    const struct marc_record *, struct marc_errlist *);

#endif
