/*
 * common/textfeed.c: a text format from a stream, slice by slice.
 *
 * The window keeps the slice being cut and the byte before it; the next
 * boundary is looked for as bytes arrive.  A MARCXML slice after the first
 * goes with a copy of the document's head (everything before its first
 * record: the declaration, the namespace prefixes), as a range of the
 * whole file is read.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "isofeed.h"
#include "marcd/marc.h"
#include "textfeed.h"

/* Start cutting at offset 0. */
void
text_feed_init(struct text_feed *f, struct window *w, int from)
{
	memset(f, 0, sizeof(*f));
	f->w = w;
	f->from = from;
	/* Decompressed in the same pieces wherever the stream is read, so
	 * that corrupt data ends at the same byte offline and in the daemon. */
	w->piece = 1 << 16;
}

/* Free the head copy. */
void
text_feed_free(struct text_feed *f)
{
	free(f->head);
	f->head = NULL;
	f->hlen = 0;
}

/*
 * The first record start at or after stream offset target, or the end of
 * the stream; reading on as needed.  0, 1 when the window is full first,
 * -1 when out of memory.
 */
static int
text_feed_boundary(struct window *w, int from, uint64_t target, uint64_t *e)
{
	size_t	q;
	int	rc;

	for (;;) {
		rc = window_fill(w, target >= w->base ? (size_t)(target -
		    w->base) + 1 : 1);
		if (rc < 0)
			return -1;
		if (target < w->base + w->len) {
			q = marc_from_boundary(from, w->buf, w->len,
			    (size_t)(target - w->base));
			if (q < w->len || w->eof) {
				*e = w->base + q;
				return 0;
			}
		} else if (w->eof) {
			*e = w->base + w->len;
			return 0;
		}
		if ((rc = window_more(w)) != 0)
			return rc;
	}
}

/* Cut the next slice. */
int
text_feed_next(struct text_feed *f, struct text_slice *sl)
{
	struct window	*w = f->w;
	uint64_t	 s = f->s, e;
	size_t		 q, after, a;
	int		 rc;

	window_drop(w, s ? s - 1 : 0);
	if (w->eof && s >= w->base + w->len)
		return TEXT_FEED_END;
	rc = text_feed_boundary(w, f->from, (s / MARC_SLICE_SIZE + 1) *
	    MARC_SLICE_SIZE, &e);
	if (rc < 0)
		return TEXT_FEED_NOMEM;
	if (rc > 0)
		return TEXT_FEED_TOO_LARGE;
	q = (size_t)(e - w->base);
	after = w->len - q < TEXT_FEED_AFTER ? w->len - q : TEXT_FEED_AFTER;
	memset(sl, 0, sizeof(*sl));
	if (s == 0 && f->from == MARC_FROM_MARCXML) {
		/* The head: everything before the first record. */
		f->hlen = marc_from_boundary(f->from, w->buf, w->len, 0);
		if (f->hlen > q)
			f->hlen = q;
		if (f->hlen > ISO_FEED_MAX)
			return TEXT_FEED_TOO_LARGE;
		if (f->hlen && (f->head = malloc(f->hlen)) == NULL)
			return TEXT_FEED_NOMEM;
		if (f->hlen)
			memcpy(f->head, w->buf, f->hlen);
	}
	if (s != 0 && f->from == MARC_FROM_MARCXML) {
		a = (size_t)(s - w->base);
		sl->a = f->head;
		sl->alen = f->hlen;
		sl->b = w->buf + a;
		sl->blen = q + after - a;
		sl->pos = f->hlen;
		sl->end = f->hlen + q - a;
		sl->delta = s - f->hlen;
	} else {
		sl->a = w->buf;
		sl->alen = q + after;
		sl->pos = (size_t)(s - w->base);
		sl->end = q;
		sl->delta = w->base;
	}
	f->s = e;
	return TEXT_FEED_SLICE;
}
