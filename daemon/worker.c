/*
 * daemon/worker.c: a reader worker process, the child's side (the pool that
 * forks it is daemon/pool.c).  It takes a task (a slice of a batch and a
 * block), parses the slice straight into the block, and answers.
 * It holds no state the supervisor needs: killing it loses nothing.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk.h"
#include "format.h"
#include "daemon.h"
#include "fdpass.h"

/* The batch input last mapped: slices of one batch come in runs. */
struct wmap {
	uint64_t	 batch_id;
	const uint8_t	*p;
	size_t		 len;
};

/* Receive a task and the batch fd that travels with it. */
static int
worker_recv(int sock, struct wtask *t, int *fd)
{
	ssize_t		 n;
	int		 nfds, cut;

	*fd = -1;
	n = fdpass_recv(sock, t, sizeof(*t), 0, fd, 1, &nfds, &cut);
	if (n != (ssize_t)sizeof(*t) || t->magic != WMSG_MAGIC || cut) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

/* A worker idle this long lets go of the batch input it mapped. */
#define WORKER_IDLE_MS	30000

/* Unmap the batch input: a cancelled or finished batch must not stay
 * mapped (and its memfd alive) in an idle worker. */
static void
worker_unmap(struct wmap *wm)
{
	if (wm->p != NULL && wm->len)
		munmap((void *)wm->p, wm->len);
	wm->p = NULL;
	wm->len = 0;
	wm->batch_id = 0;
}

/* Wait for the next task; let go of the input when none comes soon. */
static void
worker_wait(int sock, struct wmap *wm)
{
	struct pollfd	pfd;
	int		n;

	if (wm->p == NULL)
		return;
	pfd.fd = sock;
	pfd.events = POLLIN;
	do
		n = poll(&pfd, 1, WORKER_IDLE_MS);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		worker_unmap(wm);
}

/* Map the batch input unless it is the one already mapped. */
static int
worker_map(struct wmap *wm, const struct wtask *t, int fd)
{
	struct stat	 st;
	void		*p;
	size_t		 len;

	if (wm->p != NULL && wm->batch_id == t->batch_id)
		return 0;
	worker_unmap(wm);
	/* A file that shrank since it was submitted would lose records
	 * silently (or fault): fail the batch instead. */
	if (fd < 0 || fstat(fd, &st) != 0 ||
	    (uint64_t)st.st_size < t->file_size)
		return -1;
	len = (size_t)st.st_size < t->file_size ? (size_t)st.st_size :
	    (size_t)t->file_size;
	if (len == 0) {
		wm->p = (const uint8_t *)"";
		wm->batch_id = t->batch_id;
		return 0;
	}
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	(void)madvise(p, len, MADV_SEQUENTIAL);
	wm->p = p;
	wm->len = len;
	wm->batch_id = t->batch_id;
	return 0;
}

/* Parse one slice (or the rest of one) into its block: one chunk. */
static void
worker_run(struct marcd *m, struct chunk_writer *cw, const struct wmap *wm,
    const struct wtask *t, struct wresult *res)
{
	struct marc_freader	 r;
	uint8_t			*blk;
	uint64_t		 off, len;
	size_t			 s, e;
	int			 from;

	if (t->tenant >= (uint32_t)m->ntenants ||
	    (blk = arena_block(&m->tenants[t->tenant].arena, t->block)) ==
	    NULL) {
		res->status = WRES_IOERR;
		return;
	}
	/* The format given, else by the input's first bytes (not the
	 * range's), as marcctl decides it offline. */
	from = t->from >= 0 ? t->from : marc_from_detect(wm->p, wm->len);
	batch_slice(t->range_off, t->range_end, t->seq, &off, &len);
	marc_from_range_bounds(from, wm->p, wm->len, off, len, &s, &e);
	if (from == MARC_FROM_UNKNOWN) {
		/* No record can be found: the range's first slice says why
		 * (the reader's unknown-format error at offset 0). */
		s = 0;
		e = t->seq == 0 ? wm->len : 0;
	}
	if ((t->flags & TASK_EXACT) && s < e)
		s = t->start < e ? (size_t)t->start : e;
	chunk_begin(cw, blk, m->tenants[t->tenant].arena.block_size, t->batch_id,
	    t->seq, s);
	memset(&r, 0, sizeof(r));
	if (marc_freader_init_range(&r, from, wm->p, s, e, wm->len, t->charset,
	    0) != 0)
		_exit(WORKER_EXIT_TASK);
	worker_fill(cw, &r, s, e, 0, NULL, res);
}

/*
 * Records of the reader into the block, up to the slice's end e or until
 * the block fills, then the chunk closed and the result filled in; offsets
 * moved on by delta (a staged slice's place in its stream), and each record
 * by shift first when the reader's own offsets need it.  For plain and
 * staged slices alike.
 */
void
worker_fill(struct chunk_writer *cw, struct marc_freader *r, size_t s,
    size_t e, uint64_t delta,
    void (*shift)(struct marc_freader *, struct marc_record *, uint64_t),
    struct wresult *res)
{
	struct marc_record	rec;
	size_t			prev;
	int			rc, a;

	res->status = WRES_DONE;
	for (;;) {
		prev = r->r.pos;
		rc = marc_freader_next(r, &rec);
		if (rc == MARC_NEXT_END)
			break;
		if (rc < 0)
			_exit(WORKER_EXIT_TASK);
		if (shift != NULL)
			shift(r, &rec, delta);
		a = chunk_add(cw, rc, &rec);
		if (a < 0)
			_exit(WORKER_EXIT_TASK);
		if (a > 0) {
			res->status = WRES_PARTIAL;
			r->r.recno = rec.recno - 1;
			break;
		}
	}
	if (res->status == WRES_DONE)
		prev = e;
	chunk_finish(cw, prev + delta, r->r.recno, 0);
	res->recnos = r->r.recno;
	marc_freader_free(r);
	res->start = s + delta;
	res->end = prev + delta;
	res->slice_end = e + delta;
	res->nrecords = cw->nrec;
	res->nerrors = cw->nerr;
}

/* The worker's loop: one task in, one result out, until the socket closes. */
void
worker_main(struct marcd *m, int sock)
{
	struct chunk_writer	cw;
	struct wmap		wm;
	struct wtask		t;
	struct wresult		res;
	int			fd;

	memset(&wm, 0, sizeof(wm));
	chunk_writer_init(&cw);
	for (;;) {
		worker_wait(sock, &wm);
		if (worker_recv(sock, &t, &fd) != 0)
			_exit(WORKER_EXIT_DONE);
		sandbox_probe(t.file_size);
		memset(&res, 0, sizeof(res));
		res.magic = WMSG_MAGIC;
		res.batch_id = t.batch_id;
		res.seq = t.seq;
		res.block = t.block;
		if (worker_map(&wm, &t, fd) != 0)
			res.status = WRES_IOERR;
		else if (t.flags & TASK_STAGED)
			wstage_run(m, &cw, wm.p, wm.len, &t, &res);
		else
			worker_run(m, &cw, &wm, &t, &res);
		if (fd >= 0)
			close(fd);
		if (send(sock, &res, sizeof(res), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(res))
			_exit(WORKER_EXIT_DONE);
		/* The input pages read leave this process (they stay in the
		 * page cache): a worker must not grow with the batch. */
		if (wm.len != 0)
			(void)madvise((void *)wm.p, wm.len, MADV_DONTNEED);
	}
}
