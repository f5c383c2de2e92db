/*
 * common/isofeed.h: ISO 2709 from a stream (compressed or a pipe) in
 * bounded memory.
 *
 * The stream is cut into the same slices marc_range_bounds cuts a whole file
 * into, and each slice is read by the ordinary reader from a window that
 * holds it (plus the byte before it), so the records, errors and offsets are
 * exactly those of reading the decompressed file whole.  Offsets are in the
 * decompressed stream.  Only a slice larger than the window's maximum (one
 * record of that size, or that much data with no record boundary) differs:
 * it is skipped and reported as record-too-large.
 */
#ifndef MARCD_ISOFEED_H
#define MARCD_ISOFEED_H

#include "marcd/marc.h"
#include "window.h"

/* Largest slice held in memory; larger ones are skipped and reported. */
#define ISO_FEED_MAX	(64u << 20)

enum iso_feed_rc {
	ISO_FEED_END = 0,
	ISO_FEED_SLICE = 1,	/* the reader is set to read the next slice */
	ISO_FEED_ERRORS = 2,	/* f->errs: input that gave no slice */
};

struct iso_feed {
	struct window		 w;
	uint64_t		 s;		/* where the next slice starts */
	size_t			 slice;		/* cut size, MARC_SLICE_SIZE */
	int			 ended;
	struct marc_errlist	 errs;
};

/* Read ISO 2709 from src, cut every `slice` bytes, holding at most max. */
int	iso_feed_init(struct iso_feed *, struct decomp *src, size_t slice,
	    size_t max);
/*
 * Set r (initialised or zeroed before the first call) to read the next
 * slice with the given charset, record numbers going on from r->recno.
 * Returns enum iso_feed_rc, or -1 with errno (ENOMEM, or the read error).
 */
int	iso_feed_next(struct iso_feed *, struct marc_reader *r, int charset);
/* Free the window. */
void	iso_feed_free(struct iso_feed *);

#endif
