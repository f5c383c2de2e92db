/*
 * common/textfeed.h: a text format (MARCXML, MARC-in-JSON, .mrk) from a
 * stream (compressed or a pipe) in bounded memory.
 *
 * The stream is cut where marc_from_range_bounds cuts the whole input: at
 * the first record start at or after each multiple of MARC_SLICE_SIZE.  A
 * boundary found inside the window is final (the boundary functions look
 * no further than the record they accept), so each slice, read by the
 * ordinary text reader, gives the records, errors and offsets of reading
 * the decompressed input whole.  marcctl reads streams this way offline
 * and the daemon's decompressor (daemon/unzip.c) stages the same slices.
 */
#ifndef MARCD_TEXTFEED_H
#define MARCD_TEXTFEED_H

#include "window.h"

/* Bytes after a slice's end handed on with it, as the whole input would
 * show them to the reader. */
#define TEXT_FEED_AFTER	4096

enum text_feed_rc {
	TEXT_FEED_NOMEM = -1,
	TEXT_FEED_END = 0,
	TEXT_FEED_SLICE = 1,
	TEXT_FEED_TOO_LARGE = 2,	/* a slice (or MARCXML's head) over the
					 * window's maximum, at f->s: the
					 * stream cannot be read past it */
};

/*
 * One slice: data a[0..alen) then b[0..blen) (b: only for MARCXML after
 * its first slice, a being the document's head, which every range of it
 * reads), the slice being [pos, end) of the data, and a data offset plus
 * delta its offset in the stream.  Valid until the next call.
 */
struct text_slice {
	const uint8_t	*a;
	size_t		 alen;
	const uint8_t	*b;
	size_t		 blen;
	size_t		 pos;
	size_t		 end;
	uint64_t	 delta;
};

struct text_feed {
	struct window	*w;
	int		 from;		/* enum marc_from */
	uint64_t	 s;		/* where the next slice starts */
	uint8_t		*head;		/* MARCXML: bytes before the first
					 * record */
	size_t		 hlen;
};

/* Cut the stream in w (filled with its first bytes) as format `from`. */
void	text_feed_init(struct text_feed *, struct window *w, int from);
/* The next slice into *sl: enum text_feed_rc. */
int	text_feed_next(struct text_feed *, struct text_slice *sl);
void	text_feed_free(struct text_feed *);

#endif
