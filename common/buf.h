/* common/buf.h: growable byte buffer used by decoders and writers. */
#ifndef MARCD_BUF_H
#define MARCD_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct mbuf {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};

/* Grow so that n more bytes fit; returns 0, or -1 when out of memory. */
int	mbuf_grow(struct mbuf *, size_t n);
/* Release the storage and zero the struct. */
void	mbuf_free(struct mbuf *);

/* v as width decimal digits, as ISO 2709 writes lengths and offsets; zeros
 * when it does not fit (the writers' rule for oversized records). */
static inline void
buf_digits(uint8_t *p, size_t v, int width)
{
	size_t	max = 1;
	int	i;

	for (i = 0; i < width; i++)
		max *= 10;
	if (v >= max)
		v = 0;
	for (i = width - 1; i >= 0; i--) {
		p[i] = (uint8_t)('0' + v % 10);
		v /= 10;
	}
}

/* Make room for n more bytes; the hot path is one compare. */
static inline int
mbuf_reserve(struct mbuf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return 0;
	return mbuf_grow(b, n);
}

/* Append n bytes. */
static inline int
mbuf_add(struct mbuf *b, const void *src, size_t n)
{
	if (mbuf_reserve(b, n) != 0)
		return -1;
	if (n != 0)
		memcpy(b->p + b->len, src, n);
	b->len += n;
	return 0;
}

/* Append one byte. */
static inline int
mbuf_addc(struct mbuf *b, uint8_t c)
{
	if (mbuf_reserve(b, 1) != 0)
		return -1;
	b->p[b->len++] = c;
	return 0;
}

/* Append a NUL-terminated string (without the NUL). */
static inline int
mbuf_adds(struct mbuf *b, const char *s)
{
	return mbuf_add(b, s, strlen(s));
}

#endif
