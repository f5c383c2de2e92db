/*
 * common/utf16.c: UTF-16 to UTF-8, as a stream.
 *
 * Written by hand rather than with iconv(3): iconv may load its converters
 * from files (gconv modules) at run time, which the daemon's sandboxed
 * decompressor must not do, and what it reports for an unpaired surrogate
 * differs between C libraries.  The conversion is a loop over whole
 * buffers, two bytes in, one to four out, with no call per character; only
 * a unit cut between two reads, a character cut by a full output buffer
 * and the XML declaration at the start go the slow way, through the stash.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "utf16.h"

#define REPLACEMENT	0xfffd

/* Start after the byte order mark, collecting the declaration first. */
void
utf16_init(struct utf16 *u, int be)
{
	memset(u, 0, sizeof(*u));
	u->be = be;
	u->skip = 2;
	u->head = 1;
}

/* A code point as UTF-8 at o (room for 4): bytes written. */
static inline size_t
utf16_put(uint32_t cp, uint8_t *o)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* One code unit, pairing surrogates: the UTF-8 bytes written at o (room
 * for 4); an unpaired surrogate is written as U+FFFD and marks the stream
 * bad. */
static inline size_t
utf16_unit(struct utf16 *u, uint32_t cu, uint8_t *o)
{
	uint32_t	cp = cu;

	if (u->hi != 0) {
		if (cu >= 0xdc00 && cu <= 0xdfff)
			cp = 0x10000 + ((uint32_t)(u->hi - 0xd800) << 10) +
			    (cu - 0xdc00);
		else {
			cp = REPLACEMENT;
			u->bad = UTF16_CORRUPT;
		}
		u->hi = 0;
	} else if (cu >= 0xd800 && cu <= 0xdbff) {
		u->hi = (uint16_t)cu;
		return 0;
	} else if (cu >= 0xdc00 && cu <= 0xdfff) {
		cp = REPLACEMENT;
		u->bad = UTF16_CORRUPT;
	}
	return utf16_put(cp, o);
}

/* The next code unit, whose first byte may have come in the last call;
 * 0 when the input runs out first (a lone byte is kept). */
static int
utf16_next(struct utf16 *u, const uint8_t **in, size_t *inl, uint32_t *cu)
{
	uint8_t	b;

	if (!u->has_odd) {
		if (*inl == 0)
			return 0;
		u->odd = *(*in)++;
		(*inl)--;
		u->has_odd = 1;
	}
	if (*inl == 0)
		return 0;
	b = *(*in)++;
	(*inl)--;
	u->has_odd = 0;
	*cu = u->be ? (uint32_t)u->odd << 8 | b : (uint32_t)b << 8 | u->odd;
	return 1;
}

/* XML's white space. */
static int
utf16_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An encoding="UTF-16" in the XML declaration at p made to say UTF-8 in
 * as many bytes; anything else is left as it is. */
static void
utf16_decl(uint8_t *p, size_t n)
{
	static const char *const names[] = { "UTF-16", "UTF-16LE",
	    "UTF-16BE", "UCS-2" };
	uint8_t		*e, *q, *v, quote;
	size_t		 i, k;

	if (n < 6 || memcmp(p, "<?xml", 5) != 0 || !utf16_space(p[5]) ||
	    (e = memmem(p, n, "?>", 2)) == NULL ||
	    (q = memmem(p, (size_t)(e - p), "encoding", 8)) == NULL)
		return;
	for (q += 8; q < e && utf16_space(*q); q++)
		;
	if (q == e || *q++ != '=')
		return;
	while (q < e && utf16_space(*q))
		q++;
	if (q == e || (*q != '"' && *q != '\''))
		return;
	quote = *q++;
	for (v = q; q < e && *q != quote; q++)
		;
	if (q == e)
		return;
	k = (size_t)(q - v);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (k != strlen(names[i]) ||
		    strncasecmp((const char *)v, names[i], k) != 0)
			continue;
		memcpy(v, "UTF-8", 5);
		v[5] = quote;
		memset(v + 6, ' ', k - 5);
		return;
	}
}

/* Whether the stash holds all the XML declaration there is to see. */
static int
utf16_head_whole(const struct utf16 *u)
{
	size_t	n = u->slen < 5 ? u->slen : 5;

	if (u->slen == 0)
		return 0;
	if (memcmp(u->stash, "<?xml", n) != 0)
		return 1;
	return u->slen >= 2 && u->stash[u->slen - 2] == '?' &&
	    u->stash[u->slen - 1] == '>';
}

/* The first characters into the stash until the declaration is whole (or
 * cannot be one): 1 while more input is needed. */
static int
utf16_head(struct utf16 *u, const uint8_t **in, size_t *inl, int finish)
{
	uint32_t	cu;

	while (!u->bad && u->slen + 4 <= UTF16_STASH &&
	    !utf16_head_whole(u)) {
		if (!utf16_next(u, in, inl, &cu)) {
			if (!finish)
				return 1;
			break;
		}
		u->slen += utf16_unit(u, cu, u->stash + u->slen);
	}
	utf16_decl(u->stash, u->slen);
	u->head = 0;
	return 0;
}

/* The fast way: whole units straight to the output while it has room for
 * any character. */
static void
utf16_body(struct utf16 *u, const uint8_t **in, size_t *inl, uint8_t **out,
    size_t *outl)
{
	const uint8_t	*i = *in, *ie = i + (*inl & ~(size_t)1);
	uint8_t		*o = *out, *oe = o + *outl;
	uint32_t	 cu;
	int		 h = u->be ? 0 : 1;

	while (i < ie && oe - o >= 4 && !u->bad) {
		cu = (uint32_t)i[h] << 8 | i[h ^ 1];
		i += 2;
		if (cu < 0x80 && u->hi == 0)
			*o++ = (uint8_t)cu;
		else
			o += utf16_unit(u, cu, o);
	}
	*inl -= (size_t)(i - *in);
	*in = i;
	*outl -= (size_t)(o - *out);
	*out = o;
}

/* Move bytes: the stash first, then the head, then the body. */
int
utf16_step(struct utf16 *u, const uint8_t **in, size_t *inl, uint8_t **out,
    size_t *outl, int finish)
{
	uint32_t	cu;
	size_t		n;

	for (;;) {
		for (; u->skip > 0 && *inl > 0; u->skip--) {
			(*in)++;
			(*inl)--;
		}
		if (!u->head && u->spos < u->slen) {
			n = u->slen - u->spos < *outl ? u->slen - u->spos :
			    *outl;
			memcpy(*out, u->stash + u->spos, n);
			*out += n;
			*outl -= n;
			u->spos += n;
			if (u->spos < u->slen)
				return UTF16_OK;
			u->spos = u->slen = 0;
		}
		if (u->head) {
			if (utf16_head(u, in, inl, finish))
				return UTF16_OK;
			continue;
		}
		if (u->bad)
			return u->bad;
		if (*inl == 0) {
			if (!finish)
				return UTF16_OK;
			if (!u->has_odd && u->hi == 0)
				return UTF16_END;
			/* Cut inside a unit or a pair. */
			u->slen = utf16_put(REPLACEMENT, u->stash);
			u->has_odd = 0;
			u->hi = 0;
			u->bad = UTF16_TRUNCATED;
			continue;
		}
		if (*outl == 0)
			return UTF16_OK;
		if (u->has_odd || *inl < 2 || *outl < 4) {
			/* One unit the slow way, through the stash. */
			if (utf16_next(u, in, inl, &cu))
				u->slen = utf16_unit(u, cu, u->stash);
			continue;
		}
		utf16_body(u, in, inl, out, outl);
	}
}
