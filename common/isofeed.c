/*
 * common/isofeed.c: ISO 2709 from a stream in bounded memory.
 *
 * Slice k of a whole file ends at the first record boundary at or after
 * (k + 1) * slice (marc_range_bounds).  The feed finds the same boundary in
 * the stream: it keeps the slice being cut, and the byte before it, in the
 * window, scans for the boundary as bytes arrive (a candidate needs a
 * leader's worth of bytes after it, so the last 23 bytes are looked at
 * again once more has come), then hands the reader [start, boundary) as it
 * would be read from the whole file.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "isofeed.h"

/* Start at offset 0 with a window for a slice and a bit. */
int
iso_feed_init(struct iso_feed *f, struct decomp *src, size_t slice,
    size_t max)
{
	memset(f, 0, sizeof(*f));
	f->slice = slice;
	return window_init(&f->w, src, slice * 2 < max ? slice * 2 : max, max);
}

/* Free what the feed holds. */
void
iso_feed_free(struct iso_feed *f)
{
	window_free(&f->w);
}

/* The stream ended badly: one bad-compression error where good data ends. */
static int
iso_feed_end(struct iso_feed *f, const struct marc_reader *r)
{
	struct window	*w = &f->w;
	uint64_t	 end = w->base + w->len;
	uint8_t		 c;
	uint32_t	 recno = r->recno + 1;

	f->ended = 1;
	if (w->err == DECOMP_E_NONE)
		return ISO_FEED_END;
	if (w->err == DECOMP_E_IO || w->err == DECOMP_E_NOMEM) {
		errno = w->err == DECOMP_E_IO ? w->src->errnum : ENOMEM;
		return -1;
	}
	/* Data cut inside a record: that record, reported truncated. */
	if (w->len > 0) {
		c = w->buf[w->len - 1];
		if (c != MARC_RT && c != '\n' && c != '\r' && c != ' ' &&
		    c != '\t' && c != 0 && c != 0x1A && r->recno > 0)
			recno = r->recno;
	}
	f->errs.n = f->errs.lost = 0;
	marc_errlist_add(&f->errs, MARC_E_BAD_COMPRESSION, recno, end);
	return ISO_FEED_ERRORS;
}

/* Cut the next slice out of the stream and point the reader at it. */
int
iso_feed_next(struct iso_feed *f, struct marc_reader *r, int charset)
{
	struct window	*w = &f->w;
	uint64_t	 target, scan, e;
	size_t		 q;
	int		 rc, skipped = 0;

	if (f->ended)
		return ISO_FEED_END;
	f->errs.n = f->errs.lost = 0;
	for (;;) {
		window_drop(w, f->s ? f->s - 1 : 0);
		if (w->eof && f->s >= w->base + w->len)
			return iso_feed_end(f, r);
		target = (f->s / f->slice + 1) * f->slice;
		scan = target;
		for (;;) {
			rc = window_fill(w, scan > w->base ? (size_t)(scan -
			    w->base) + MARC_LEADER_LEN : MARC_LEADER_LEN);
			if (rc < 0)
				return -1;
			q = scan - w->base <= w->len ? marc_next_boundary(
			    w->buf, w->len, (size_t)(scan - w->base)) : w->len;
			if (q < w->len || w->eof)
				break;
			if (w->base + w->len - (MARC_LEADER_LEN - 1) > scan)
				scan = w->base + w->len - (MARC_LEADER_LEN - 1);
			if (rc == 0 && (rc = window_more(w)) < 0)
				return -1;
			if (rc == 1) {
				/* The slice outgrew the window: skip it. */
				if (!skipped)
					marc_errlist_add(&f->errs,
					    MARC_E_TOO_LARGE, r->recno + 1,
					    f->s);
				skipped = 1;
				window_drop(w, scan - 1);
			}
		}
		e = w->base + q;
		if (skipped) {
			r->recno++;
			f->s = e;
			return ISO_FEED_ERRORS;
		}
		if (e > f->s)
			break;
	}
	marc_reader_reset(r, w->buf, q, charset, w->base, r->recno);
	r->pos = (size_t)(f->s - w->base);
	f->s = e;
	return ISO_FEED_SLICE;
}
