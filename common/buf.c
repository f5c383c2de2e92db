/* common/buf.c: growable byte buffer. */
#include <stdlib.h>

#include "buf.h"

/* Double the capacity until n more bytes fit, so appends are amortised O(1). */
int
mbuf_grow(struct mbuf *b, size_t n)
{
	size_t	 cap = b->cap ? b->cap : 4096;
	uint8_t	*p;

	if (n > SIZE_MAX / 2 - b->len)
		return -1;
	while (cap - b->len < n)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Free the storage; the buffer may be reused afterwards. */
void
mbuf_free(struct mbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
