/*
 * common/write_iso2709.c: ISO 2709 records in UTF-8 (leader/09 'a').
 *
 * The record is built in place in the output: room for the leader and
 * directory is reserved first, the fields follow, and each directory entry
 * is filled in once its field's decoded length is known.  Lengths or
 * offsets too large for their digits are written as zeros, as marc4j does.
 */
#include "config.h"

#include "write_int.h"

/* Terminators and delimiters inside text would break the structure. */
static const uint8_t iso_cls[256] = {
	[MARC_SD] = 1, [MARC_FT] = 1, [MARC_RT] = 1,
};

/* Replace a structural byte in text with U+FFFD. */
static uint8_t *
iso_esc(uint8_t *w, const uint8_t **pp, const uint8_t *end)
{
	(*pp)++;
	*w++ = 0xEF;
	*w++ = 0xBF;
	*w++ = 0xBD;
	return w;
}

static const struct wr_escaper iso_text = {
	iso_cls, 3, iso_esc, 0x20, 0, 0, { 0 },
};

/*
 * Transport mode keeps text as read, terminators inside a field too: the
 * daemon's copy carries its own field table, and the client's writers
 * then treat those bytes as the offline writers do.  Only a record too
 * long for its length digits, which the next 0x1D ends, loses its inner
 * record terminators (iso_rt_text).
 */
static const uint8_t iso_keep_cls[256] = { 0 };

static const struct wr_escaper iso_keep_text = {
	iso_keep_cls, 1, iso_esc, 0, 0, 0, { 0 },
};

static const uint8_t iso_rt_cls[256] = {
	[MARC_RT] = 1,
};

static const struct wr_escaper iso_rt_text = {
	iso_rt_cls, 3, iso_esc, 0x20, 0, 0, { 0 },
};

/*
 * Single-byte positions (leader, tags, indicators, codes) must stay one
 * printable ASCII byte; anything else becomes a blank.  In transport mode
 * (te is not iso_text) they stay as read, but for the record terminators
 * that iso_rt_text takes out.
 */
static uint8_t
iso_byte(const struct wr_escaper *te, uint8_t c)
{
	if (te == &iso_keep_text || (te == &iso_rt_text && c != MARC_RT))
		return c;
	if (te == &iso_rt_text)
		return ' ';
	return c >= 0x20 && c < 0x7F ? c : ' ';
}

#ifdef __SSE2__
/* Bit per byte of v that is ESC, FT, RT or >= 0x80; sd gets the delimiters. */
static inline unsigned
iso_vec_bad(__m128i v, unsigned *sd)
{
	__m128i	bad = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x1B)),
		    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(MARC_FT)),
		    _mm_cmpeq_epi8(v, _mm_set1_epi8(MARC_RT))));

	*sd = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8(MARC_SD)));
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(bad, v));
}
#endif

/*
 * Whether a field would come out of the transport writer byte for byte as
 * it went in: ASCII without ESC (the same in MARC-8 and UTF-8, nothing to
 * decode), no terminator inside, and for a data field nothing the subfield
 * walk drops (bytes before the first delimiter, empty subfields, a lone
 * delimiter at the end).  Conservative: a "no" only costs the slow path.
 */
static int
iso_field_plain(const uint8_t *d, size_t len, int data)
{
	size_t		i = 0;
	unsigned	carry = 0;

	if (data && (len < 2 || (len > 2 && (d[2] != MARC_SD ||
	    d[len - 1] == MARC_SD))))
		return 0;
#ifdef __SSE2__
	{
		uint8_t		pad[16];
		unsigned	sd;

		if (len < 16) {
			/* Zero padding is none of the refused bytes. */
			memset(pad, 0, sizeof(pad));
			memcpy(pad, d, len);
			return iso_vec_bad(_mm_loadu_si128((const __m128i *)
			    (const void *)pad), &sd) == 0 &&
			    (!data || (sd & (sd << 1)) == 0);
		}
		for (; len - i >= 16; i += 16) {
			if (iso_vec_bad(_mm_loadu_si128((const __m128i *)
			    (const void *)(d + i)), &sd) != 0 ||
			    (data && (((sd << 1) | carry) & sd) != 0))
				return 0;
			carry = (sd >> 15) & 1;
		}
		/* The last sixteen bytes again, overlapping: they hold the
		 * tail and the byte before it, so no pair is missed. */
		if (i < len && (iso_vec_bad(_mm_loadu_si128((const __m128i *)
		    (const void *)(d + len - 16)), &sd) != 0 ||
		    (data && (sd & (sd << 1)) != 0)))
			return 0;
		return 1;
	}
#else
	for (; i < len; i++) {
		if (d[i] >= 0x80 || d[i] == 0x1B || d[i] == MARC_FT ||
		    d[i] == MARC_RT)
			return 0;
		if (data && carry && d[i] == MARC_SD)
			return 0;
		carry = d[i] == MARC_SD;
	}
	return 1;
#endif
}

/* A data field's bytes: indicators, then 0x1F code data per subfield. */
static int
iso_datafield(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, const uint8_t *d, size_t len,
    const struct wr_escaper *te, struct marc_errlist *errs)
{
	struct wr_sfiter	si;
	struct marc_subfield	sf;
	struct marc_text	t;
	uint8_t			*o;
	int			 r;

	if ((o = wr_room(out, 0, te, 2)) == NULL)
		return -1;
	*o++ = iso_byte(te, marc_field_ind(d, len, 0));
	*o++ = iso_byte(te, marc_field_ind(d, len, 1));
	wr_done(out, o);
	wr_sf_begin(&si, rec, d, len, te);
	while ((r = wr_sf_next(w, rec, &si, &sf, &t, errs)) == 1) {
		if ((o = wr_room(out, t.len, te, 2)) == NULL)
			return -1;
		*o++ = MARC_SD;
		*o++ = iso_byte(te, sf.code);
		o = wr_sf_text_to(o, &si, &t);
		wr_done(out, o);
	}
	return r;
}

/* One record, appended to out with lengths and directory recomputed. */
static int
iso_record(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, const struct wr_escaper *te,
    struct marc_errlist *errs)
{
	const struct marc_field	*f;
	const uint8_t		*d;
	uint8_t			*ld, *ent;
	size_t			 start = out->len, base, data, fstart;
	size_t			 len, i;

	/* No overflow: each field had a 12-byte directory entry as input. */
	base = MARC_LEADER_LEN + (size_t)rec->nfields * MARC_DIRENT_LEN + 1;
	if (mbuf_reserve(out, base) != 0)
		return -1;
	out->len += base;
	data = out->len;
	for (i = 0; i < rec->nfields; i++) {
		f = &rec->fields[i];
		len = wr_field(rec, f, &d);
		fstart = out->len;
		if (w->transport &&
		    iso_field_plain(d, len, !marc_field_is_control(f))) {
			if (mbuf_add(out, d, len) != 0)
				return -1;
		} else if (marc_field_is_control(f)) {
			if (wr_text(w, out, rec, d, len, te, errs) != 0)
				return -1;
		} else if (iso_datafield(w, out, rec, d, len, te, errs) != 0)
			return -1;
		if (mbuf_addc(out, MARC_FT) != 0)
			return -1;
		ent = out->p + start + MARC_LEADER_LEN + i * MARC_DIRENT_LEN;
		ent[0] = iso_byte(te, (uint8_t)f->tag[0]);
		ent[1] = iso_byte(te, (uint8_t)f->tag[1]);
		ent[2] = iso_byte(te, (uint8_t)f->tag[2]);
		buf_digits(ent + 3, out->len - fstart, 4);
		buf_digits(ent + 7, fstart - data, 5);
	}
	if (mbuf_addc(out, MARC_RT) != 0)
		return -1;

	ld = out->p + start;
	wr_leader(rec, ld);
	for (i = 0; i < MARC_LEADER_LEN; i++)
		ld[i] = iso_byte(te, ld[i]);
	buf_digits(ld, out->len - start, 5);
	ld[10] = '2';
	ld[11] = '2';
	buf_digits(ld + 12, base, 5);
	memcpy(ld + 20, "4500", 4);
	out->p[data - 1] = MARC_FT;
	return 0;
}

/* The record in the writer's mode (see iso_keep_text for transport). */
int
write_iso2709_record(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, struct marc_errlist *errs)
{
	size_t		start = out->len, n;
	uint32_t	nerr = 0, lost = 0;

	if (!w->transport)
		return iso_record(w, out, rec, &iso_text, errs);
	if (errs != NULL) {
		nerr = errs->n;
		lost = errs->lost;
	}
	if (iso_record(w, out, rec, &iso_keep_text, errs) != 0)
		return -1;
	n = out->len - start;
	if (n <= 99999 || memchr(out->p + start + MARC_LEADER_LEN, MARC_RT,
	    n - MARC_LEADER_LEN - 1) == NULL)
		return 0;
	out->len = start;
	if (errs != NULL) {
		errs->n = nerr;
		errs->lost = lost;
	}
	return iso_record(w, out, rec, &iso_rt_text, errs);
}
