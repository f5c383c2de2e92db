/*
 * daemon/sched.c: batches, their tasks and the delivery of their chunks.
 *
 * A batch is cut into slices of MARC_SLICE_SIZE nominal bytes; a task is made
 * for the next slice only when a worker and a free block are both there, so
 * a 10 GB batch costs no more memory than a small one and a full arena holds
 * the workers back.  Finished chunks are published on the client's ring, in
 * file order when the batch asked for it.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "ring.h"

/* Whether a chunk is the one its batch publishes next (every chunk of an
 * unordered batch is): only such a chunk may take a tenant's last free
 * block, or chunks held for their turn could fill the arena while the
 * chunk they wait for gets none, and the batch would never finish. */
static int
chunk_is_next(const struct batch *b, uint32_t seq, uint32_t part)
{
	return !b->ordered || (seq == b->pub_seq && part == b->pub_part);
}

/* A free block for chunk (slice seq, part) of batch b, keeping the last
 * one of the tenant for a chunk that is next. */
static uint32_t
block_get_for(struct tenant *t, const struct batch *b, uint32_t seq,
    uint32_t part)
{
	if (t->nfree == 1 && !chunk_is_next(b, seq, part))
		return NO_BLOCK;
	return tenant_block_take(t);
}

/* A batch with no slice left to cut leaves the tenant's ready list. */
static void
batch_unready(struct batch *b)
{
	if (!b->ready)
		return;
	TAILQ_REMOVE(&b->tenant->ready, b, ready_entry);
	b->ready = 0;
}

/*
 * A batch the workers can read: not larger than MARCD_INPUT_MAX (its slice
 * count fits the tasks' 32 bits with room to spare), and with no holes.  A
 * hole reads as zeros but costs a page of memory when mapped, paid by the
 * daemon and kept while the file lives: a sparse memfd of terabytes is cheap
 * for a client.  -1 with errno EFBIG or ENXIO.
 */
static int
batch_readable(int fd, uint64_t size)
{
	off_t	at, hole;

	if (size > MARCD_INPUT_MAX) {
		errno = EFBIG;
		return -1;
	}
	/* The offset is shared with the client's descriptor: put it back. */
	if (size == 0 || (at = lseek(fd, 0, SEEK_CUR)) < 0)
		return 0;
	hole = lseek(fd, 0, SEEK_HOLE);
	(void)lseek(fd, at, SEEK_SET);
	if (hole >= 0 && (uint64_t)hole < size) {
		errno = ENXIO;
		return -1;
	}
	return 0;
}

/* Accept a batch: it waits for workers in submission order. */
struct batch *
sched_submit(struct marcd *m, struct conn *c, const struct batch_input *in,
    int charset, int ordered)
{
	struct tenant	*t = c->tenant;
	struct batch	*b;

	if (batch_readable(in->fd, in->size) != 0)
		return NULL;
	if (t->active >= t->conf->max_batches) {
		errno = EBUSY;
		return NULL;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->tenant = t;
	b->conn = c;
	b->id = batch_next_id(m);
	b->fd = in->fd;
	b->size = in->size;
	b->range_off = in->range_off;
	b->range_end = in->range_end;
	b->from = in->from;
	b->charset = charset;
	b->ordered = ordered;
	b->state = BATCH_QUEUED;
	b->nslices = batch_nslices(b->range_off, b->range_end);
	b->t_start = now_ms();
	/* A compressed batch gets its tasks from its decompressor. */
	if (stage_detect(in->fd, in->size)) {
		if (stage_start(m, b) != 0) {
			free(b);
			return NULL;
		}
	} else {
		TAILQ_INSERT_TAIL(&t->ready, b, ready_entry);
		b->ready = 1;
	}
	TAILQ_INSERT_TAIL(&c->batches, b, conn_entry);
	batch_insert(m, b);
	t->nbatches++;
	t->active++;
	return b;
}

/* Put a task at the front of the queue: retries and continuations first. */
static void
queue_front(struct marcd *m, struct task *t)
{
	t->next = m->queue;
	if (m->queue == NULL)
		m->queue_tail = &t->next;
	m->queue = t;
}

/* Take the first queued task that has (or can get) a block. */
static struct task *
queue_take(struct marcd *m)
{
	struct task	*t, **pp;

	for (pp = &m->queue; (t = *pp) != NULL; pp = &t->next) {
		if (t->block == NO_BLOCK && (t->block = block_get_for(
		    t->batch->tenant, t->batch, t->seq, t->part)) == NO_BLOCK)
			continue;
		*pp = t->next;
		if (*pp == NULL)
			m->queue_tail = pp;
		t->next = NULL;
		return t;
	}
	return NULL;
}

/* The tenant's batch whose next slice goes next: the oldest with slices
 * left whose client keeps up (no backlog on its ring).  Only batches with
 * slices left are on the list, so this does not walk finished ones. */
static struct batch *
next_batch(struct tenant *t)
{
	struct batch *b;

	TAILQ_FOREACH(b, &t->ready, ready_entry) {
		if (b->conn == NULL || b->conn->nbacklog != 0)
			continue;
		return b;
	}
	return NULL;
}

/*
 * Make the task for the next slice of the tenant whose turn it is, with a
 * block of its arena.  Tenants with work and a free block compete by smooth
 * weighted round-robin (each gains its weight, the richest goes and pays the
 * total), so shares follow the weights and no tenant waits long for a turn;
 * a tenant whose arena is full (its quota) simply sits out.
 */
static struct task *
task_new(struct marcd *m)
{
	struct tenant	*tn, *best = NULL;
	struct batch	*b, *bb = NULL;
	struct task	*t;
	uint32_t	 blk;
	uint64_t	 len;
	int64_t		 total = 0;
	int		 i;

	for (i = 0; i < m->ntenants; i++) {
		tn = &m->tenants[i];
		if (tn->nfree == 0 || (b = next_batch(tn)) == NULL ||
		    (tn->nfree == 1 && !chunk_is_next(b, b->next_slice, 0)))
			continue;
		tn->wrr += tn->conf->weight;
		total += tn->conf->weight;
		if (best == NULL || tn->wrr > best->wrr) {
			best = tn;
			bb = b;
		}
	}
	if (best == NULL)
		return NULL;
	best->wrr -= total;
	b = bb;
	if ((blk = tenant_block_take(best)) == NO_BLOCK)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		tenant_block_put(best, blk);
		return NULL;
	}
	t->batch = b;
	t->seq = b->next_slice++;
	if (b->next_slice >= b->nslices)
		batch_unready(b);
	batch_slice(b->range_off, b->range_end, t->seq, &t->start, &len);
	t->block = blk;
	b->in_flight++;
	b->state = BATCH_RUNNING;
	return t;
}

/* Give idle workers work while there are tasks and free blocks. */
void
sched_dispatch(struct marcd *m)
{
	struct worker	*w;
	struct task	*t;
	struct batch	*b;
	int		 i;

	for (i = 0; i < m->nworkers; i++) {
		w = &m->workers[i];
		if (w->pid <= 0 || w->sock < 0 || w->task != NULL)
			continue;
		if ((t = queue_take(m)) == NULL && (t = task_new(m)) == NULL)
			return;
		if (!sched_input_ok(m, t->batch, t->start)) {
			b = t->batch;
			tenant_block_put(b->tenant, t->block);
			b->in_flight--;
			free(t);
			sched_maybe_free(m, b);
			i--;
			continue;
		}
		if (pool_send(m, w, t) != 0)
			queue_front(m, t);
	}
}

/*
 * Free a batch once nothing refers to it any more: its client is gone, or
 * it has ended (done, failed, cancelled) with no task left, so every chunk
 * of it is on the client's ring or backlog, which hold ids, not the batch.
 * Its status stays answerable from the client's short list of recent ones.
 */
void
sched_maybe_free(struct marcd *m, struct batch *b)
{
	struct conn	*c = b->conn;
	struct done	*d;

	if (b->in_flight != 0)
		return;
	if (c != NULL && (b->state == BATCH_QUEUED ||
	    b->state == BATCH_RUNNING))
		return;
	batch_unready(b);
	batch_remove(m, b);
	if (c != NULL) {
		struct batch *r = &c->recent[c->nrecent++ % MARCD_RECENT];

		TAILQ_REMOVE(&c->batches, b, conn_entry);
		*r = *b;
		r->conn = NULL;
		r->held = NULL;
		r->hnext = NULL;
		r->fd = -1;
		r->stage = NULL;
	}
	if (b->stage != NULL)
		stage_free(m, b);
	while ((d = b->held) != NULL) {
		b->held = d->next;
		if (!(d->d.flags & CHUNK_EMPTY))
			tenant_block_put(b->tenant, d->d.block);
		free(d);
	}
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

/* Hand a descriptor to the client: its ring, or its backlog if full. */
static void
deliver(struct marcd *m, struct batch *b, const struct chunk_desc *d)
{
	struct conn		*c = b->conn;
	struct tenant		*t = b->tenant;
	struct chunk_desc	*nb;
	struct ring_hdr		*r;

	if (c == NULL || c->dead || b->state == BATCH_CANCELLED ||
	    (b->state == BATCH_FAILED && !(d->flags & CHUNK_ABORT))) {
		if (!(d->flags & CHUNK_EMPTY))
			tenant_block_put(t, d->block);
		return;
	}
	if (!(d->flags & CHUNK_EMPTY)) {
		tenant_block_lend(t, d->block);
		c->hpos[d->block] = c->nheld;
		c->held[c->nheld++] = d->block;
	}
	r = c->rmap.r;
	if (c->nbacklog == 0 && r != NULL &&
	    ring_push(r, c->rmap.slots, d) == 0)
		return;
	if (c->nbacklog == c->backlog_cap) {
		uint32_t cap = c->backlog_cap ? c->backlog_cap * 2 : 64;
		nb = realloc(c->backlog, cap * sizeof(*nb));
		if (nb == NULL) {
			log_warn("out of memory: client %d loses a chunk",
			    c->fd);
			c->dead = 1;
			return;
		}
		c->backlog = nb;
		c->backlog_cap = cap;
	}
	c->backlog[c->nbacklog++] = *d;
}

/* Push what waited for room on the ring, in order. */
void
sched_flush_backlog(struct marcd *m, struct conn *c)
{
	struct ring_hdr	*r;
	uint32_t	 i = 0;

	if (c->tenant == NULL || (r = c->rmap.r) == NULL)
		return;
	while (i < c->nbacklog && ring_push(r, c->rmap.slots,
	    &c->backlog[i]) == 0)
		i++;
	if (i == 0)
		return;
	memmove(c->backlog, c->backlog + i,
	    (c->nbacklog - i) * sizeof(*c->backlog));
	c->nbacklog -= i;
}

/* Publish a finished chunk; ordered batches wait for their turn. */
static void
publish(struct marcd *m, struct batch *b, uint32_t seq, uint32_t part,
    const struct chunk_desc *d)
{
	struct done	*h, **pp;
	int		 more = (d->flags & CHUNK_MORE) != 0;

	if (!b->ordered) {
		deliver(m, b, d);
		return;
	}
	if (seq != b->pub_seq || part != b->pub_part) {
		if ((h = calloc(1, sizeof(*h))) == NULL) {
			log_warn("out of memory holding a chunk");
			deliver(m, b, d);
			return;
		}
		h->seq = seq;
		h->part = part;
		h->more = more;
		h->d = *d;
		h->next = b->held;
		b->held = h;
		return;
	}
	deliver(m, b, d);
	for (;;) {
		if (more)
			b->pub_part++;
		else {
			b->pub_seq++;
			b->pub_part = 0;
		}
		for (pp = &b->held; (h = *pp) != NULL; pp = &h->next)
			if (h->seq == b->pub_seq && h->part == b->pub_part)
				break;
		if (h == NULL)
			return;
		*pp = h->next;
		more = h->more;
		deliver(m, b, &h->d);
		free(h);
	}
}

/* The batch no longer counts against the tenant's max_batches. */
static void
batch_inactive(struct batch *b)
{
	if (b->counted)
		return;
	b->counted = 1;
	b->tenant->active--;
}

/* Note that a slice is complete and whether the batch is. */
static void
slice_complete(struct batch *b)
{
	b->slices_done++;
	if (b->slices_done >= b->nslices && b->state == BATCH_RUNNING) {
		b->state = BATCH_DONE;
		batch_inactive(b);
	}
}

/* A worker finished its task: publish, or queue the rest of the slice. */
void
sched_done(struct marcd *m, struct worker *w, const struct wresult *res)
{
	struct task		*t = w->task;
	struct batch		*b;
	struct chunk_desc	 d;
	struct task		*cont;
	uint64_t		 end;

	if (t == NULL)
		return;
	w->task = NULL;
	b = t->batch;
	b->in_flight--;
	memset(&d, 0, sizeof(d));
	d.batch_id = b->id;
	d.seq = t->seq;
	d.block = t->block;
	d.src_off = res->start;
	d.nrecords = res->nrecords;

	if (res->status == WRES_IOERR) {
		tenant_block_put(b->tenant, t->block);
		sched_input_failed(m, b, t->start);
		free(t);
		sched_maybe_free(m, b);
		return;
	}

	w->chunks++;
	w->records += res->nrecords;
	w->errors += res->nerrors;
	w->bytes += res->end - res->start;
	b->records += res->nrecords;
	b->errors += res->nerrors;
	b->tenant->records += res->nrecords;
	b->tenant->errors += res->nerrors;
	b->tenant->bytes += res->end - res->start;
	/* Progress within the range: a slice reads on past its end. */
	end = res->end < b->range_end ? res->end : b->range_end;
	if (end > b->range_off && end - b->range_off > b->bytes_done)
		b->bytes_done = end - b->range_off;

	if (res->status == WRES_PARTIAL && res->end < res->slice_end &&
	    (cont = calloc(1, sizeof(*cont))) != NULL) {
		d.flags |= CHUNK_MORE;
		cont->batch = b;
		cont->seq = t->seq;
		cont->part = t->part + 1;
		cont->start = res->end;
		cont->flags = TASK_EXACT | (t->flags & TASK_STAGED);
		cont->block = NO_BLOCK;
		b->in_flight++;
		queue_front(m, cont);
		if (b->stage != NULL)
			stage_part_done(m, b, t->seq, res->recnos, 0);
	} else {
		if (t->seq + 1 == b->nslices)
			d.flags |= CHUNK_LAST;
		slice_complete(b);
		if (b->stage != NULL)
			stage_part_done(m, b, t->seq, res->recnos, 1);
	}
	if (res->nrecords == 0 && res->nerrors == 0) {
		tenant_block_put(b->tenant, t->block);
		d.block = NO_BLOCK;
		d.flags |= CHUNK_EMPTY;
	}
	publish(m, b, t->seq, t->part, &d);
	free(t);
	sched_maybe_free(m, b);
}

/* A worker died holding a task: run it again, or give up after twice. */
void
sched_worker_died(struct marcd *m, struct worker *w)
{
	struct task		*t = w->task;
	struct batch		*b;

	if (t == NULL)
		return;
	w->task = NULL;
	b = t->batch;
	if (b->state == BATCH_RUNNING && b->conn != NULL)
		(void)sched_input_ok(m, b, t->start);
	if (b->state != BATCH_RUNNING || b->conn == NULL) {
		/* Stopped, failed or orphaned: nothing to retry or report. */
		tenant_block_put(b->tenant, t->block);
		b->in_flight--;
		free(t);
		sched_maybe_free(m, b);
		return;
	}
	if (++t->attempts < 2) {
		queue_front(m, t);
		return;
	}
	log_warn("batch %llu slice %u at offset %llu killed workers twice; "
	    "failing it", (unsigned long long)b->id, t->seq,
	    (unsigned long long)t->start);
	tenant_block_put(b->tenant, t->block);
	b->in_flight--;
	sched_slice_failed(m, b, t->seq, t->part, t->start);
	if (b->stage != NULL)
		stage_part_done(m, b, t->seq, 0, 1);
	free(t);
	sched_maybe_free(m, b);
}

/* A slice (or the rest of one) that cannot be read: one chunk-failed
 * error in its place, and the batch goes on. */
void
sched_slice_failed(struct marcd *m, struct batch *b, uint32_t seq,
    uint32_t part, uint64_t off)
{
	struct chunk_desc d;

	b->slices_failed++;
	b->errors++;
	memset(&d, 0, sizeof(d));
	d.batch_id = b->id;
	d.seq = seq;
	d.block = NO_BLOCK;
	d.src_off = off;
	d.flags = CHUNK_EMPTY | CHUNK_FAILED;
	if (seq + 1 == b->nslices)
		d.flags |= CHUNK_LAST;
	slice_complete(b);
	publish(m, b, seq, part, &d);
}

/* The client is done with a block: back to the free stack, in O(1).  A
 * block it does not hold is the client's bug or malice: the complaint is
 * logged at a bounded rate per uid. */
void
sched_release(struct marcd *m, struct conn *c, uint32_t block)
{
	uint32_t i, last;

	if (block < c->tenant->arena.nblocks &&
	    (i = c->hpos[block]) != NO_BLOCK) {
		last = c->held[--c->nheld];
		c->held[i] = last;
		c->hpos[last] = i;
		c->hpos[block] = NO_BLOCK;
		tenant_block_put(c->tenant, block);
		return;
	}
	if (log_allow(LOGR_RELEASE, (uint32_t)c->uid, "bad releases"))
		log_warn("client %d (uid %ld) released block %u it does not "
		    "hold", c->fd, (long)c->uid, block);
}

/* Drop the queued tasks of a batch that stopped. */
static void
queue_purge(struct marcd *m, struct batch *b)
{
	struct task	*t, **pp;

	for (pp = &m->queue; (t = *pp) != NULL;) {
		if (t->batch != b) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		if (t->block != NO_BLOCK)
			tenant_block_put(b->tenant, t->block);
		b->in_flight--;
		free(t);
	}
	m->queue_tail = pp;
}

/*
 * The batch input cannot be read as submitted (it shrank, or a worker
 * could not map it): the batch fails with one input-changed error at
 * offset off, nothing more of it is published or parsed, and the chunks
 * held for their turn go back.
 */
void
sched_input_failed(struct marcd *m, struct batch *b, uint64_t off)
{
	struct chunk_desc	 d;
	struct done		*h;

	if (b->state != BATCH_RUNNING && b->state != BATCH_QUEUED)
		return;
	b->state = BATCH_FAILED;
	batch_inactive(b);
	snprintf(b->error, sizeof(b->error), "input-changed: the daemon "
	    "could not read the batch input as submitted (did the file "
	    "shrink?)");
	log_warn("batch %llu: its input cannot be read as submitted (%llu "
	    "bytes); failing it at offset %llu", (unsigned long long)b->id,
	    (unsigned long long)b->size, (unsigned long long)off);
	while ((h = b->held) != NULL) {
		b->held = h->next;
		if (!(h->d.flags & CHUNK_EMPTY))
			tenant_block_put(b->tenant, h->d.block);
		free(h);
	}
	b->next_slice = b->nslices;
	batch_unready(b);
	queue_purge(m, b);
	memset(&d, 0, sizeof(d));
	d.batch_id = b->id;
	d.block = NO_BLOCK;
	d.src_off = off;
	d.flags = CHUNK_EMPTY | CHUNK_FAILED | CHUNK_LAST | CHUNK_ABORT;
	deliver(m, b, &d);
}

/* Whether the batch input is still as long as submitted: checked before
 * each task and after a worker died, since a worker reading past a new
 * end of file dies of SIGBUS and would be blamed on the slice. */
int
sched_input_ok(struct marcd *m, struct batch *b, uint64_t off)
{
	struct stat st;

	if (fstat(b->fd, &st) == 0 && (uint64_t)st.st_size >= b->size)
		return 1;
	sched_input_failed(m, b, off);
	return 0;
}

/* Stop a batch: no new tasks; running ones are dropped when they end. */
void
sched_cancel(struct marcd *m, struct batch *b)
{
	struct conn	*c;
	uint32_t	 i, j;

	if (b->state == BATCH_DONE || b->state == BATCH_FAILED ||
	    b->state == BATCH_CANCELLED)
		return;
	b->state = BATCH_CANCELLED;
	batch_inactive(b);
	b->next_slice = b->nslices;
	batch_unready(b);
	/* Nothing of it may reach the ring after the client is told it is
	 * cancelled: what waits in the backlog comes back now. */
	if ((c = b->conn) != NULL) {
		for (i = j = 0; i < c->nbacklog; i++) {
			if (c->backlog[i].batch_id != b->id)
				c->backlog[j++] = c->backlog[i];
			else if (!(c->backlog[i].flags & CHUNK_EMPTY))
				sched_release(m, c, c->backlog[i].block);
		}
		c->nbacklog = j;
	}
	queue_purge(m, b);
}

/* A client went away (closed, or died): take back everything it held. */
void
sched_conn_gone(struct marcd *m, struct conn *c)
{
	struct tenant	*t = c->tenant;
	struct batch	*b;
	uint32_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < c->nheld; i++) {
		tenant_block_put(t, c->held[i]);
		c->hpos[c->held[i]] = NO_BLOCK;
	}
	c->nheld = 0;
	while ((b = TAILQ_FIRST(&c->batches)) != NULL) {
		TAILQ_REMOVE(&c->batches, b, conn_entry);
		sched_cancel(m, b);
		b->conn = NULL;
		sched_maybe_free(m, b);
	}
	if (c->ring != NO_BLOCK && c->ring < MARCD_MAX_CLIENTS &&
	    t->ring_owner[c->ring] == c)
		t->ring_owner[c->ring] = NULL;
	ring_unmap(&c->rmap);
}
