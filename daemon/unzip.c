/*
 * daemon/unzip.c: the decompressor of a compressed batch, the child's side
 * (daemon/stage.c forks it).  It reads the compressed input (by pread, in
 * the pieces marcctl reads it in), decompresses it through a bounded window, cuts the stream into
 * slices exactly as marcctl does offline, and writes each slice into a free
 * slot of the stage for any worker to parse.  With no free slot it waits on
 * its socket for one: the workers and the client set its pace.  It parses
 * nothing and holds nothing the supervisor needs.
 *
 * ISO 2709 is cut by common/isofeed.c, a text format (MARCXML, MARC-in-JSON,
 * mrk) by common/textfeed.c: the slices marcctl reads offline.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "decomp.h"
#include "format.h"
#include "isofeed.h"
#include "textfeed.h"

/* A slot that held more than this gives the rest of its pages back. */
#define UNZIP_KEEP	((size_t)4 << 20)
struct unzip {
	int		 sock;
	uint8_t		*stage;
	uint32_t	 nslots;
	uint32_t	 free_mask;	/* slots that may be written */
	size_t		 used[STAGE_SLOTS];	/* data bytes each last held */
	uint32_t	 seq;		/* the next slice's number */
};

/* Send one message; the supervisor gone is the end. */
static void
unzip_send(struct unzip *z, const struct zmsg *msg)
{
	if (send(z->sock, msg, sizeof(*msg), MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(*msg))
		_exit(WORKER_EXIT_DONE);
}

/* A free slot, waiting on the socket until one is given back. */
static uint32_t
unzip_slot(struct unzip *z)
{
	struct zmsg	msg;
	ssize_t		n;
	uint32_t	i;

	while (z->free_mask == 0) {
		n = recv(z->sock, &msg, sizeof(msg), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(msg) || msg.magic != STAGE_MAGIC ||
		    msg.kind != ZMSG_FREE || msg.slot >= z->nslots)
			_exit(WORKER_EXIT_DONE);
		z->free_mask |= 1u << msg.slot;
	}
	for (i = 0; !(z->free_mask & (1u << i)); i++)
		;
	z->free_mask &= ~(1u << i);
	/* A slot that held a large slice gives its pages back. */
	if (z->used[i] > UNZIP_KEEP)
		(void)madvise(z->stage + (size_t)i * STAGE_SLOT_SIZE +
		    STAGE_HDR + UNZIP_KEEP, z->used[i] - UNZIP_KEEP,
		    MADV_REMOVE);
	z->used[i] = 0;
	return i;
}

/*
 * Stage one slice: data a[0..alen) then b[0..blen), the slice being
 * [pos, end) of it, stream offset = data offset + delta.
 */
static void
unzip_put(struct unzip *z, int from, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, size_t pos, size_t end, uint64_t delta,
    const struct marc_error *pre)
{
	struct stage_hdr	h;
	struct zmsg		msg;
	uint8_t			*slot;
	uint32_t		i;

	i = unzip_slot(z);
	slot = z->stage + (size_t)i * STAGE_SLOT_SIZE;
	memset(&h, 0, sizeof(h));
	h.magic = STAGE_MAGIC;
	h.from = from;
	h.seq = z->seq;
	if (pre != NULL) {
		h.err_code = pre->code;
		h.err_off = pre->offset;
	}
	h.delta = delta;
	h.pos = pos;
	h.end = end;
	h.total = alen + blen;
	if (alen)
		memcpy(slot + STAGE_HDR, a, alen);
	if (blen)
		memcpy(slot + STAGE_HDR + alen, b, blen);
	memcpy(slot, &h, sizeof(h));
	z->used[i] = alen + blen;
	memset(&msg, 0, sizeof(msg));
	msg.magic = STAGE_MAGIC;
	msg.kind = ZMSG_SLICE;
	msg.slot = i;
	msg.seq = z->seq++;
	msg.off = pos + delta;
	msg.len = alen + blen;
	unzip_send(z, &msg);
}

/* The end: clean, or the error that ended the stream at off. */
static void __attribute__((noreturn))
unzip_end(struct unzip *z, uint32_t code, uint64_t off, int cut, int from)
{
	struct zmsg msg;

	memset(&msg, 0, sizeof(msg));
	msg.magic = STAGE_MAGIC;
	msg.kind = ZMSG_END;
	msg.code = code;
	msg.off = off;
	msg.cut = (uint32_t)cut;
	msg.from = from;
	unzip_send(z, &msg);
	_exit(WORKER_EXIT_DONE);
}

/* ISO 2709, slice by slice as common/isofeed.c cuts it offline. */
static void __attribute__((noreturn))
unzip_iso(struct unzip *z, struct iso_feed *f, int charset)
{
	struct marc_reader	r;
	int			rc;

	memset(&r, 0, sizeof(r));
	for (;;) {
		/* Record numbers are the workers'; this one only tells
		 * whether the feed's error took one (1) or not. */
		r.recno = 1;
		rc = iso_feed_next(f, &r, charset);
		if (rc == ISO_FEED_END)
			unzip_end(z, 0, 0, 0, MARC_FROM_ISO2709);
		if (rc < 0)
			unzip_end(z, ZEND_FAILED, f->w.base + f->w.len, 0,
			    MARC_FROM_ISO2709);
		if (rc == ISO_FEED_ERRORS && f->ended)
			/* Corrupt or truncated: iso_feed_end numbers the
			 * error as the last record's when the data stops
			 * inside one. */
			unzip_end(z, f->errs.e[0].code, f->errs.e[0].offset,
			    f->errs.e[0].recno == 1, MARC_FROM_ISO2709);
		if (rc == ISO_FEED_ERRORS)
			unzip_put(z, MARC_FROM_ISO2709, NULL, 0, NULL, 0, 0, 0,
			    0, &f->errs.e[0]);
		else
			unzip_put(z, MARC_FROM_ISO2709, f->w.buf, r.len, NULL,
			    0, r.pos, r.len, f->w.base, NULL);
	}
}

/* A text format: slices cut by common/textfeed.c, as marcctl cuts them. */
static void __attribute__((noreturn))
unzip_text(struct unzip *z, struct window *w, int from)
{
	struct text_feed	tf;
	struct text_slice	sl;
	int			rc;

	text_feed_init(&tf, w, from);
	while ((rc = text_feed_next(&tf, &sl)) == TEXT_FEED_SLICE)
		unzip_put(z, from, sl.a, sl.alen, sl.b, sl.blen, sl.pos, sl.end,
		    sl.delta, NULL);
	if (rc == TEXT_FEED_NOMEM)
		unzip_end(z, ZEND_FAILED, tf.s, 0, from);
	if (rc == TEXT_FEED_TOO_LARGE)
		/* A slice over the window's maximum: the stream ends here
		 * with one record-too-large. */
		unzip_end(z, MARC_E_TOO_LARGE, tf.s, 0, from);
	text_feed_free(&tf);
	/* What ended the stream: offline, the error counts records only. */
	unzip_end(z, w->err != DECOMP_E_NONE ? MARC_E_BAD_COMPRESSION : 0,
	    w->base + w->len, 0, from);
}

/* The decompressor's life: detect the format as marcctl does, then cut. */
void
unzip_main(int sock, int fd, int kind, uint8_t *stage, uint32_t nslots,
    int charset, int given)
{
	struct unzip	z;
	struct decomp	d;
	struct iso_feed	f;
	int		from;

	memset(&z, 0, sizeof(z));
	z.sock = sock;
	z.stage = stage;
	z.nslots = nslots;
	z.free_mask = (1u << nslots) - 1;
	/* Read as marcctl reads the file, in the same pieces, so that
	 * corrupt data ends at the same byte. */
	if (decomp_open_pread(&d, kind, fd) != 0 ||
	    iso_feed_init(&f, &d, MARC_SLICE_SIZE, ISO_FEED_MAX) != 0 ||
	    window_fill(&f.w, 4096) < 0)
		unzip_end(&z, ZEND_FAILED, 0, 0, MARC_FROM_UNKNOWN);
	/* The format the client named, else the stream's first bytes. */
	from = given >= 0 ? given : marc_from_detect(f.w.buf, f.w.len);
	if (from == MARC_FROM_UNKNOWN) {
		/* Read as a plain file in no known format reads: one
		 * unknown-format error, nothing after it. */
		unzip_put(&z, from, f.w.buf, f.w.len, NULL, 0, 0, f.w.len, 0,
		    NULL);
		unzip_end(&z, 0, 0, 0, from);
	}
	if (from == MARC_FROM_ISO2709)
		unzip_iso(&z, &f, charset);
	unzip_text(&z, &f.w, from);
}
