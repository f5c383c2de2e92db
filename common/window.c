/*
 * common/window.c: a bounded window over a decompressed stream.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "window.h"

/* The buffer is taken once here and grown only for long records. */
int
window_init(struct window *w, struct decomp *src, size_t initial, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->src = src;
	w->max = max;
	w->cap = initial < max ? initial : max;
	if ((w->buf = malloc(w->cap)) == NULL)
		return -1;
	return 0;
}

/* Grow the buffer to hold n bytes, doubling, never past max. */
static int
window_grow(struct window *w, size_t n)
{
	size_t	 cap = w->cap;
	uint8_t	*p;

	if (n <= cap)
		return 0;
	while (cap < n)
		cap = cap > w->max / 2 ? w->max : cap * 2;
	if ((p = realloc(w->buf, cap)) == NULL)
		return -1;
	w->buf = p;
	w->cap = cap;
	return 0;
}

/* Read until want bytes are held or the stream ends. */
int
window_fill(struct window *w, size_t want)
{
	ssize_t	n;
	size_t	asked = want, room;

	if (want > w->max)
		want = w->max;
	while (w->len < want && !w->eof) {
		if ((w->len == w->cap || (w->piece && w->cap - w->len <
		    w->piece)) && window_grow(w, w->piece && w->max - w->len >
		    w->piece ? w->len + w->piece : want) != 0)
			return -1;
		room = w->cap - w->len;
		if (w->piece && room > w->piece)
			room = w->piece;
		n = decomp_read(w->src, w->buf + w->len, room);
		if (n <= 0) {
			w->eof = 1;
			w->err = n < 0 ? w->src->err : 0;
			break;
		}
		w->len += (size_t)n;
	}
	return w->len >= asked || w->eof ? 0 : 1;
}

/* Ask for whatever comes next, growing the buffer if it is full. */
int
window_more(struct window *w)
{
	if (w->len >= w->max)
		return 1;
	return window_fill(w, w->len + 1);
}

/* Keep only what the reader still needs, at the front. */
void
window_drop(struct window *w, uint64_t off)
{
	size_t k;

	if (off <= w->base)
		return;
	k = (size_t)(off - w->base);
	if (k > w->len)
		k = w->len;
	memmove(w->buf, w->buf + k, w->len - k);
	w->len -= k;
	w->base += k;
}

/* Free the window's buffer. */
void
window_free(struct window *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}
