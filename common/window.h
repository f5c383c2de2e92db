/*
 * common/window.h: a bounded window over a decompressed stream.
 *
 * The window holds stream bytes [base, base + len) in one contiguous buffer
 * that grows on demand up to `max` and no further, so a reader of any input
 * size uses bounded memory.  Readers look at buf, drop what they are done
 * with (window_drop moves the rest to the front) and ask for more.
 */
#ifndef MARCD_WINDOW_H
#define MARCD_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "decomp.h"

struct window {
	uint8_t		*buf;
	size_t		 len;		/* valid bytes in buf */
	size_t		 cap;		/* allocated */
	size_t		 max;		/* cap never grows past this */
	uint64_t	 base;		/* stream offset of buf[0] */
	int		 eof;		/* no more bytes will come */
	int		 err;		/* enum decomp_err when it ended badly */
	size_t		 piece;		/* > 0: decompress this much a call (as
					 * marcctl gathers a stream), so that
					 * corrupt data ends at the same byte */
	struct decomp	*src;
};

/* Window over src; starts at `initial` bytes, may grow to max.  -1 ENOMEM. */
int	window_init(struct window *, struct decomp *src, size_t initial,
	    size_t max);
/*
 * Have at least `want` bytes in buf (reading ahead as far as the buffer
 * allows).  0: there are, or the stream ended first (see eof, err);
 * 1: want is over max; -1: out of memory.
 */
int	window_fill(struct window *, size_t want);
/* Have at least one more byte than now, unless the stream ended. */
int	window_more(struct window *);
/* Forget the bytes before stream offset off (off <= base + len). */
void	window_drop(struct window *, uint64_t off);
/* Free the buffer (not the source). */
void	window_free(struct window *);

#endif
