/*
 * daemon/wstage.c: a worker's side of a compressed batch's task.  The input
 * is the batch's stage (daemon/stage.c), mapped read-only like any batch; the
 * slot holds one slice the decompressor cut exactly as marcctl cuts the
 * decompressed stream offline, so the chunk is the one a plain file gives.
 * Offsets are moved from the slot to the decompressed stream.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "chunk.h"
#include "daemon.h"
#include "format.h"

/* The last chunk of a staged batch: empty, or the one error that ends it. */
static void
wstage_final(struct chunk_writer *cw, uint8_t *blk, uint32_t size,
    const struct wtask *t, struct wresult *res)
{
	struct marc_errlist	errs;
	struct marc_record	rec;

	chunk_begin(cw, blk, size, t->batch_id, t->seq, t->start);
	if (t->err_code != 0) {
		memset(&errs, 0, sizeof(errs));
		memset(&rec, 0, sizeof(rec));
		marc_errlist_add(&errs, t->err_code, t->err_recno, t->start);
		rec.errors = &errs;
		rec.offset = t->start;
		if (chunk_add(cw, MARC_NEXT_SKIPPED, &rec) != 0)
			_exit(WORKER_EXIT_TASK);
	}
	/* The stretch a too-large error skips takes a record number. */
	chunk_finish(cw, t->start, t->err_code == MARC_E_TOO_LARGE, 0);
	res->status = WRES_DONE;
	res->start = res->end = res->slice_end = t->start;
	res->recnos = t->err_code == MARC_E_TOO_LARGE;
	res->nrecords = cw->nrec;
	res->nerrors = cw->nerr;
}

/* Shift a text reader's offsets (slot offsets) into the stream. */
static void
wstage_shift(struct marc_freader *r, struct marc_record *rec, uint64_t delta)
{
	uint32_t i;

	rec->offset += delta;
	for (i = 0; i < r->r.errors.n; i++)
		r->r.errors.e[i].offset += delta;
}

/*
 * Read the slice in the task's slot into its block.  The slot was written
 * by another process: its header is copied out and checked before use, and
 * a bad one ends this worker (the task is retried, then chunk-failed).
 */
void
wstage_run(struct marcd *m, struct chunk_writer *cw, const uint8_t *p,
    size_t len, const struct wtask *t, struct wresult *res)
{
	struct stage_hdr	 h;
	struct marc_freader	 r;
	struct marc_record	 rec;
	struct marc_errlist	 pre;
	const uint8_t		*data;
	uint8_t			*blk;
	uint32_t		 size, recno0 = 0;
	size_t			 s;

	if (t->tenant >= (uint32_t)m->ntenants ||
	    (blk = arena_block(&m->tenants[t->tenant].arena, t->block)) ==
	    NULL) {
		res->status = WRES_IOERR;
		return;
	}
	size = m->tenants[t->tenant].arena.block_size;
	if (t->flags & TASK_FINAL) {
		wstage_final(cw, blk, size, t, res);
		return;
	}
	if (t->stage_off > len || len - t->stage_off < STAGE_SLOT_SIZE)
		_exit(WORKER_EXIT_TASK);
	memcpy(&h, p + t->stage_off, sizeof(h));
	if (h.magic != STAGE_MAGIC || h.seq != t->seq ||
	    h.from < MARC_FROM_UNKNOWN || h.from > MARC_FROM_MRK ||
	    h.total > STAGE_DATA_MAX || h.end > h.total || h.pos > h.end)
		_exit(WORKER_EXIT_TASK);
	data = p + t->stage_off + STAGE_HDR;
	s = (size_t)h.pos;
	if (t->flags & TASK_EXACT) {
		/* The rest of a slice whose block filled. */
		if (t->start < h.delta + h.pos || t->start > h.delta + h.end)
			_exit(WORKER_EXIT_TASK);
		s = (size_t)(t->start - h.delta);
	}
	chunk_begin(cw, blk, size, t->batch_id, t->seq, s + h.delta);
	if (h.err_code != 0 && !(t->flags & TASK_EXACT)) {
		/* A stretch too large to stage, skipped before this slice. */
		memset(&pre, 0, sizeof(pre));
		memset(&rec, 0, sizeof(rec));
		marc_errlist_add(&pre, h.err_code, 1, h.err_off);
		rec.errors = &pre;
		rec.offset = h.err_off;
		if (chunk_add(cw, MARC_NEXT_SKIPPED, &rec) != 0)
			_exit(WORKER_EXIT_TASK);
		recno0 = 1;
	}
	memset(&r, 0, sizeof(r));
	if (h.from == MARC_FROM_ISO2709) {
		/* As common/isofeed.c hands a slice to the reader. */
		r.from = MARC_FROM_ISO2709;
		marc_reader_reset(&r.r, data, (size_t)h.end, t->charset,
		    h.delta, recno0);
		r.r.pos = s;
	} else if (marc_freader_init_range(&r, h.from, data, s,
	    (size_t)h.end, (size_t)h.total, t->charset, recno0) != 0)
		_exit(WORKER_EXIT_TASK);
	worker_fill(cw, &r, s, (size_t)h.end, h.delta,
	    h.from != MARC_FROM_ISO2709 ? wstage_shift : NULL, res);
}
