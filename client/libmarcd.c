/*
 * client/libmarcd.c: the C client of marcd.
 *
 * Requests go over the socket; records come back through the tenant's
 * arena, mapped read-only: the client sleeps on the count of its own
 * ring (a memfd only it and the daemon map), takes a descriptor, checks it
 * against what came before (chunk numbers of a batch must not repeat or
 * skip), checks the block it names and hands out record views into it.
 * Nothing read from shared memory is used before it is bounds-checked.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "chunk.h"
#include "marcd/marcd.h"
#include "proto.h"
#include "ring.h"

#define REQ_TIMEOUT_MS	30000	/* a reply the daemon owes us */
#define WAIT_SLICE_MS	200	/* how often a sleeper checks the socket */

/* What the client knows of one batch it submitted. */
struct cbatch {
	uint64_t		 id;
	int			 ordered;
	int			 finished;
	uint32_t		 total;		/* chunks, once LAST is seen */
	uint32_t		 pieces_done;	/* pieces without CHUNK_MORE */
	uint64_t		 recno_base;	/* records before the next chunk */
	uint64_t		 bytes;		/* input size: chunks < bytes + 1 */
	uint32_t		 next_seq;	/* ordered: the chunk due next */
	uint32_t		 max_seq;	/* highest chunk number seen + 1 */
	uint64_t		*seen;		/* per chunk: SEEN_* or last piece's
					 * src_off + 1 */
	uint32_t		 nseen;
	struct chunk_desc	*q;		/* taken from the ring, not yet handed out */
	uint32_t		 nq, qhead, capq;
};

struct marcd_chunk {
	struct marcd_chunk	*next;		/* free list */
	struct chunk_view	 v;
	uint32_t		 block;		/* NO block when failed/empty */
	int			 ordered;
	uint64_t		 first_recno;
	uint64_t		 fail_off;
	int			 failed;
	int			 aborted;	/* the batch input changed */
	struct marc_field	*fields;
	uint32_t		 fields_cap;
};

struct marcd_client {
	int			 fd;
	struct proto_rx		 rx;
	struct arena		 arena;
	struct ring_map		 rmap;
	uint32_t		 max_frame;
	int			 closed;
	struct cbatch		*batches;
	uint32_t		 nbatches, capbatches;
	struct marcd_chunk	*free_chunks;
	uint32_t		 nqueued;	/* blocks queued for batches */
	uint32_t		 nout;		/* blocks handed out, not released */
	char			 err[256];
};

static const char *const err_text[] = {
	[0] = "success",
	[1] = "system error",
	[2] = "cannot connect to the marcd daemon",
	[3] = "protocol error talking to the daemon",
	[4] = "the daemon refused the request",
	[5] = "shared memory failed a consistency check",
	[6] = "out of memory",
	[7] = "the daemon went away or is stopping",
	[8] = "timed out",
	[9] = "invalid argument",
	[10] = "no such batch",
	[11] = "batches of one connection come in submission order: read the "
	    "earlier one first",
};

/* Text for an error code, for messages and exceptions. */
const char *
marcd_strerror(int err)
{
	if (err > 0 || -err >= (int)(sizeof(err_text) / sizeof(err_text[0])))
		return "unknown error";
	return err_text[-err];
}

/* Why the last marcd_connect of this thread failed (there is no client). */
static _Thread_local char connect_err[256];

/* The daemon's own words about the last failure. */
const char *
marcd_last_error(const marcd_client *c)
{
	return c != NULL ? c->err : connect_err;
}

/* Remember why something failed and return the code. */
static int
fail(marcd_client *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c != NULL) {
		va_start(ap, fmt);
		vsnprintf(c->err, sizeof(c->err), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Close the fds a frame brought that nobody takes. */
static void
close_fds(const int *fds, int n)
{
	while (n-- > 0)
		close(fds[n]);
}

/*
 * Wait for a reply of the wanted type; an Error frame becomes SERVICE.
 * The fds that came with it go to fdp[0..PROTO_MAX_FDS), -1 for none (or
 * are closed when fdp is NULL).
 */
static int
await(marcd_client *c, uint8_t want, void **msg, int *fdp)
{
	const uint8_t	*payload;
	uint32_t	 len;
	uint8_t		 type;
	int		 rc, fd[PROTO_MAX_FDS], nfd, i;
	Marcd__Error	*e;

	for (;;) {
		rc = proto_recv_fds(c->fd, &c->rx, &type, &payload, &len, fd,
		    PROTO_MAX_FDS, &nfd, REQ_TIMEOUT_MS);
		if (rc == 0 || (rc < 0 && errno != ETIMEDOUT && errno != EPROTO)) {
			c->closed = 1;
			return fail(c, MARCD_E_CLOSED, "the daemon closed "
			    "the connection");
		}
		if (rc < 0)
			return fail(c, errno == ETIMEDOUT ? MARCD_E_TIMEOUT :
			    MARCD_E_PROTOCOL, "%s", strerror(errno));
		if (type == PROTO_ERROR) {
			close_fds(fd, nfd);
			e = proto_unpack(&marcd__error__descriptor, payload,
			    len, PROTO_BUDGET(len));
			rc = fail(c, e && e->code == PROTO_E_NO_SUCH_BATCH ?
			    MARCD_E_NOBATCH : e && e->code ==
			    PROTO_E_SHUTTING_DOWN ? MARCD_E_CLOSED :
			    MARCD_E_SERVICE, "%s", e ? e->text : "error");
			if (e != NULL)
				proto_free_unpacked(e);
			return rc;
		}
		if (type != want) {
			close_fds(fd, nfd);
			return fail(c, MARCD_E_PROTOCOL,
			    "unexpected %s frame", proto_type_name(type));
		}
		*msg = proto_unpack(proto_descriptor(type), payload, len,
		    (size_t)len * 64 + 65536);
		if (*msg == NULL) {
			close_fds(fd, nfd);
			return fail(c, MARCD_E_PROTOCOL, "bad %s message",
			    proto_type_name(type));
		}
		if (fdp == NULL)
			close_fds(fd, nfd);
		else
			for (i = 0; i < PROTO_MAX_FDS; i++)
				fdp[i] = i < nfd ? fd[i] : -1;
		return 0;
	}
}

/* Send a request frame. */
static int
request(marcd_client *c, uint8_t type, const ProtobufCMessage *msg, int fd)
{
	if (c->closed)
		return fail(c, MARCD_E_CLOSED, "connection closed");
	if (proto_send(c->fd, type, msg, fd) != 0) {
		c->closed = 1;
		return fail(c, MARCD_E_CLOSED, "send: %s", strerror(errno));
	}
	return 0;
}

/* Connect, say Hello, and map the arena and the ring that come with
 * Welcome. */
int
marcd_connect(const char *path, const char *tenant, marcd_client **out)
{
	Marcd__Hello		 h = MARCD__HELLO__INIT;
	Marcd__Welcome		*w = NULL;
	struct sockaddr_un	 sun;
	marcd_client		*c;
	int			 rc, i, afd[PROTO_MAX_FDS] = { -1, -1 };

	*out = NULL;
	connect_err[0] = '\0';
	if (path == NULL)
		path = marcd_default_socket();
	if (strlen(path) >= sizeof(sun.sun_path))
		return MARCD_E_INVALID;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return MARCD_E_NOMEM;
	c->arena.fd = -1;
	c->rmap.fd = -1;
	proto_rx_init(&c->rx, PROTO_MAX_FRAME);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		rc = MARCD_E_CONNECT;
		goto bad;
	}
	h.protocol = PROTO_VERSION;
	h.tenant = (char *)(tenant ? tenant : "");
	h.client_name = (char *)"libmarcd";
	if ((rc = request(c, PROTO_HELLO, &h.base, -1)) != 0 ||
	    (rc = await(c, PROTO_WELCOME, (void **)&w, afd)) != 0)
		goto bad;
	if (w->protocol != PROTO_VERSION ||
	    w->layout_version != MARCD_LAYOUT_VERSION || afd[0] < 0 ||
	    afd[1] < 0) {
		rc = MARCD_E_PROTOCOL;
		goto bad;
	}
	if (arena_attach(&c->arena, afd[0]) != 0) {
		rc = MARCD_E_CORRUPT;
		goto bad;
	}
	afd[0] = -1;
	/* The ring's size is ours, from the checked read-only header. */
	if (ring_attach(&c->rmap, afd[1], c->arena.ring_slots) != 0) {
		rc = MARCD_E_CORRUPT;
		goto bad;
	}
	close(afd[1]);
	afd[1] = -1;
	c->max_frame = w->max_frame ? w->max_frame : PROTO_MAX_FRAME;
	proto_free_unpacked(w);
	*out = c;
	return 0;
bad:
	for (i = 0; i < PROTO_MAX_FDS; i++)
		if (afd[i] >= 0)
			close(afd[i]);
	if (w != NULL)
		proto_free_unpacked(w);
	snprintf(connect_err, sizeof(connect_err), "%s", c->err[0] ? c->err :
	    rc == MARCD_E_CONNECT ? strerror(errno) : "");
	marcd_close(c);
	return rc;
}

/* Drop the connection; the daemon takes back whatever we still held. */
void
marcd_close(marcd_client *c)
{
	struct marcd_chunk	*k;
	uint32_t		 i;

	if (c == NULL)
		return;
	if (c->arena.base != NULL)
		arena_close(&c->arena);
	ring_unmap(&c->rmap);
	if (c->fd >= 0)
		close(c->fd);
	proto_rx_free(&c->rx);
	for (i = 0; i < c->nbatches; i++) {
		free(c->batches[i].q);
		free(c->batches[i].seen);
	}
	free(c->batches);
	while ((k = c->free_chunks) != NULL) {
		c->free_chunks = k->next;
		free(k->fields);
		free(k);
	}
	free(c);
}

/* The batch table entry for an id, or NULL. */
static struct cbatch *
batch_find(marcd_client *c, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < c->nbatches; i++)
		if (c->batches[i].id == id)
			return &c->batches[i];
	return NULL;
}

/* Remember a batch we submitted. */
static int
batch_add(marcd_client *c, uint64_t id, int ordered, uint64_t bytes)
{
	struct cbatch *nb;

	if (c->nbatches == c->capbatches) {
		uint32_t cap = c->capbatches ? c->capbatches * 2 : 8;
		if ((nb = realloc(c->batches, cap * sizeof(*nb))) == NULL)
			return MARCD_E_NOMEM;
		c->batches = nb;
		c->capbatches = cap;
	}
	memset(&c->batches[c->nbatches], 0, sizeof(*nb));
	c->batches[c->nbatches].id = id;
	c->batches[c->nbatches].ordered = ordered;
	c->batches[c->nbatches].bytes = bytes;
	c->nbatches++;
	return 0;
}

/* Submit: one frame, with the fd or the inline bytes, and a range of
 * them (length 0: to the end). */
static int
submit(marcd_client *c, int fd, const void *buf, size_t len,
    const struct marcd_submit_opts *o, uint64_t off, uint64_t length,
    uint64_t *id)
{
	Marcd__Submit	 s = MARCD__SUBMIT__INIT;
	Marcd__Accepted	*a = NULL;
	uint64_t	 bytes;
	int		 rc, ordered = o ? o->ordered : 1;

	if (o != NULL && (o->from < MARCD_FROM_DETECT ||
	    o->from > MARCD_FROM_MRK))
		return fail(c, MARCD_E_INVALID, "unknown input format %d",
		    o->from);
	s.charset = o ? (uint32_t)o->charset : 0;
	s.ordered = ordered;
	s.name = (char *)(o && o->name ? o->name : "");
	s.from = o ? (uint32_t)o->from : 0;
	s.range_offset = off;
	s.range_length = length;
	if (fd < 0) {
		s.inline_data.data = (uint8_t *)buf;
		s.inline_data.len = len;
	}
	if ((rc = request(c, PROTO_SUBMIT, &s.base, fd)) != 0 ||
	    (rc = await(c, PROTO_ACCEPTED, (void **)&a, NULL)) != 0)
		return rc;
	*id = a->batch_id;
	bytes = a->bytes;
	proto_free_unpacked(a);
	return batch_add(c, *id, ordered, bytes);
}

/* Submit an open file or memfd. */
int
marcd_submit_fd(marcd_client *c, int fd, const struct marcd_submit_opts *o,
    uint64_t *id)
{
	if (c == NULL || fd < 0 || id == NULL)
		return MARCD_E_INVALID;
	return submit(c, fd, NULL, 0, o, 0, 0, id);
}

/* Submit a byte range of an open file or memfd. */
int
marcd_submit_range(marcd_client *c, int fd, uint64_t off, uint64_t length,
    const struct marcd_submit_opts *o, uint64_t *id)
{
	if (c == NULL || fd < 0 || id == NULL)
		return MARCD_E_INVALID;
	return submit(c, fd, NULL, 0, o, off, length, id);
}

/* Submit a file by path: opened here, so the daemon never opens paths. */
int
marcd_submit_file(marcd_client *c, const char *path,
    const struct marcd_submit_opts *o, uint64_t *id)
{
	struct marcd_submit_opts	oo;
	int				fd, rc;

	if (c == NULL || path == NULL || id == NULL)
		return MARCD_E_INVALID;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(c, MARCD_E_SYSTEM, "%s: %s", path, strerror(errno));
	if (o == NULL || o->name == NULL) {
		memset(&oo, 0, sizeof(oo));
		if (o != NULL)
			oo = *o;
		else
			oo.ordered = 1;
		oo.name = path;
		o = &oo;
	}
	rc = submit(c, fd, NULL, 0, o, 0, 0, id);
	close(fd);
	return rc;
}

/* Submit bytes: inline when they fit a frame, else through a memfd. */
int
marcd_submit_buffer(marcd_client *c, const void *buf, size_t len,
    const struct marcd_submit_opts *o, uint64_t *id)
{
	size_t	off = 0;
	ssize_t	n;
	int	fd, rc;

	if (c == NULL || (buf == NULL && len) || id == NULL)
		return MARCD_E_INVALID;
	if (len + 1024 <= c->max_frame)
		return submit(c, -1, buf, len, o, 0, 0, id);
	if ((fd = memfd_create("marcd-submit", MFD_CLOEXEC)) < 0)
		return fail(c, MARCD_E_SYSTEM, "memfd: %s", strerror(errno));
	while (off < len) {
		n = write(fd, (const uint8_t *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return fail(c, MARCD_E_SYSTEM, "memfd: %s",
			    strerror(errno));
		}
		off += (size_t)n;
	}
	rc = submit(c, fd, NULL, 0, o, 0, 0, id);
	close(fd);
	return rc;
}

/* Tell the daemon a block is free again. */
static void
release_block(marcd_client *c, uint32_t block)
{
	Marcd__Release	r = MARCD__RELEASE__INIT;

	r.n_blocks = 1;
	r.blocks = &block;
	(void)request(c, PROTO_RELEASE, &r.base, -1);
}

/* Queue a descriptor for a batch other than the one being waited on. */
static int
batch_queue(marcd_client *c, struct cbatch *b, const struct chunk_desc *d)
{
	struct chunk_desc *nq;

	if (b->qhead != 0 && b->qhead == b->nq)
		b->qhead = b->nq = 0;
	if (b->nq == b->capq) {
		uint32_t cap = b->capq ? b->capq * 2 : 16;
		if ((nq = realloc(b->q, cap * sizeof(*nq))) == NULL)
			return MARCD_E_NOMEM;
		b->q = nq;
		b->capq = cap;
	}
	b->q[b->nq++] = *d;
	if (!(d->flags & CHUNK_EMPTY))
		c->nqueued++;
	return 0;
}

/* A descriptor for a batch other than the one waited on: queued for it,
 * or its block given back if nobody will read it.  -1 on ENOMEM. */
static int
desc_route(marcd_client *c, const struct chunk_desc *d)
{
	struct cbatch *o;

	if ((o = batch_find(c, d->batch_id)) == NULL || o->finished) {
		if (!(d->flags & CHUNK_EMPTY))
			release_block(c, d->block);
		return 0;
	}
	return batch_queue(c, o, d) != 0 ? -1 : 0;
}

/*
 * Give back the blocks of a finished batch without waiting: those queued
 * for it and those on the ring (the daemon publishes nothing of a batch
 * once it has confirmed the cancel).  Other batches' chunks met on the way
 * are queued for them.
 */
static int
batch_drain(marcd_client *c, struct cbatch *b)
{
	struct chunk_desc	 d;
	uint32_t		 i;

	if (b != NULL) {
		for (i = b->qhead; i < b->nq; i++)
			if (!(b->q[i].flags & CHUNK_EMPTY)) {
				release_block(c, b->q[i].block);
				c->nqueued--;
			}
		b->qhead = b->nq = 0;
	}
	/* An error here (the daemon stopping) is the next wait's to report. */
	while (ring_pop(c->rmap.r, c->rmap.slots, &d, 0,
	    &c->arena.hdr->state) > 0)
		if (desc_route(c, &d) != 0)
			return MARCD_E_NOMEM;
	return 0;
}

/* Is the daemon still there?  Called when a wait slice passes quietly. */
static int
check_alive(marcd_client *c)
{
	struct pollfd	pfd = { .fd = c->fd, .events = POLLIN };
	char		b;

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ||
	    (pfd.revents & (POLLHUP | POLLERR))) {
		c->closed = 1;
		return fail(c, MARCD_E_CLOSED, "the daemon went away");
	}
	return 0;
}

#define SEEN_DONE	UINT64_MAX	/* the chunk's last piece came */

/*
 * Check a descriptor against those before it of its batch.  The daemon
 * publishes every piece of every chunk once, the pieces of a chunk in input
 * order and, for an ordered batch, the chunks in order; a chunk number
 * repeated or skipped means the ring was written by someone else than the
 * daemon, and records would be lost or read twice.  A batch's abort ends
 * it wherever it was, so it is only checked for range.
 */
static int
desc_check(marcd_client *c, struct cbatch *b, const struct chunk_desc *d)
{
	uint64_t	*ns, v, cap;

	/* Every chunk holds a byte of input at least (one, if none). */
	if ((uint64_t)d->seq > b->bytes || d->seq == UINT32_MAX)
		goto bad;
	if (d->flags & CHUNK_ABORT)
		return 0;
	if ((b->total && d->seq >= b->total) ||
	    (b->ordered && d->seq != b->next_seq))
		goto bad;
	if (d->seq >= b->nseen) {
		for (cap = b->nseen ? b->nseen : 16; cap <= d->seq; cap *= 2)
			continue;
		if (cap > UINT32_MAX)
			cap = UINT32_MAX;
		if ((ns = realloc(b->seen, cap * sizeof(*ns))) == NULL)
			return fail(c, MARCD_E_NOMEM, "out of memory");
		memset(ns + b->nseen, 0, (cap - b->nseen) * sizeof(*ns));
		b->seen = ns;
		b->nseen = (uint32_t)cap;
	}
	v = b->seen[d->seq];
	if (v == SEEN_DONE || (v != 0 && d->src_off < v))
		goto bad;
	b->seen[d->seq] = d->flags & CHUNK_MORE ? d->src_off + 1 : SEEN_DONE;
	if (d->seq >= b->max_seq)
		b->max_seq = d->seq + 1;
	if ((d->flags & CHUNK_LAST) && b->max_seq > d->seq + 1)
		goto bad;
	if (b->ordered && !(d->flags & CHUNK_MORE))
		b->next_seq++;
	return 0;
bad:
	return fail(c, MARCD_E_CORRUPT, "batch %llu: chunk %u came out of "
	    "sequence (repeated or skipped)", (unsigned long long)b->id,
	    d->seq);
}

/*
 * Waiting for a batch while every block of the arena is with this client:
 * queued for other batches (those submitted before it, which the daemon
 * works on first), or handed out and not released.  The daemon parses
 * only into free blocks, so nothing can ever come: say which batch holds
 * them.
 */
static int
order_fail(marcd_client *c, uint64_t id)
{
	uint32_t	i;

	for (i = 0; i < c->nbatches; i++)
		if (c->batches[i].qhead < c->batches[i].nq)
			break;
	return fail(c, MARCD_E_ORDER, "waiting for batch %llu, but the "
	    "arena's %u blocks are all held by this connection (%u queued for "
	    "other batches, first batch %llu; %u not released): read batches "
	    "in the order they were submitted, release chunks, or cancel the "
	    "batches not read",
	    (unsigned long long)id, c->arena.nblocks, c->nqueued,
	    (unsigned long long)(i < c->nbatches ? c->batches[i].id : 0),
	    c->nout);
}

/* Get a chunk object from the free list. */
static struct marcd_chunk *
chunk_alloc(marcd_client *c)
{
	struct marcd_chunk *k = c->free_chunks;

	if (k != NULL) {
		c->free_chunks = k->next;
		return k;
	}
	return calloc(1, sizeof(*k));
}

/* Next chunk of a batch: from its queue, or from the ring. */
int
marcd_next_chunk(marcd_client *c, uint64_t id, int timeout_ms,
    marcd_chunk **out)
{
	struct cbatch		*b;
	struct chunk_desc	 d;
	struct marcd_chunk	*k;
	uint8_t			*blk;
	int			 rc, left = timeout_ms, slice;

	*out = NULL;
	if (c == NULL || (b = batch_find(c, id)) == NULL)
		return MARCD_E_NOBATCH;
	for (;;) {
		if (b->qhead < b->nq) {
			d = b->q[b->qhead++];
			if (!(d.flags & CHUNK_EMPTY))
				c->nqueued--;
		} else if (b->finished) {
			return 0;
		} else {
			if (c->closed)
				return fail(c, MARCD_E_CLOSED, "connection closed");
			slice = left < 0 || left > WAIT_SLICE_MS ?
			    WAIT_SLICE_MS : left;
			rc = ring_pop(c->rmap.r, c->rmap.slots, &d, slice,
			    &c->arena.hdr->state);
			if (rc < 0)
				return errno == ECANCELED ? fail(c,
				    MARCD_E_CLOSED, "the daemon is stopping") :
				    fail(c, MARCD_E_CORRUPT, "ring: %s",
				    strerror(errno));
			if (rc == 0) {
				if ((rc = check_alive(c)) != 0)
					return rc;
				if (c->nqueued > 0 &&
				    c->nqueued + c->nout >= c->arena.nblocks)
					return order_fail(c, id);
				if (left >= 0 && (left -= slice) <= 0)
					return MARCD_E_TIMEOUT;
				continue;
			}
			if (d.batch_id != id) {
				if (desc_route(c, &d) != 0)
					return MARCD_E_NOMEM;
				continue;
			}
		}

		if ((rc = desc_check(c, b, &d)) != 0)
			return rc;
		if (!(d.flags & CHUNK_MORE))
			b->pieces_done++;
		if (d.flags & CHUNK_LAST)
			b->total = d.seq + 1;
		if ((b->total && b->pieces_done >= b->total) ||
		    (d.flags & CHUNK_ABORT))
			b->finished = 1;
		if ((d.flags & CHUNK_EMPTY) && !(d.flags & CHUNK_FAILED))
			continue;
		if ((k = chunk_alloc(c)) == NULL)
			return MARCD_E_NOMEM;
		memset(&k->v, 0, sizeof(k->v));
		k->ordered = b->ordered;
		k->failed = (d.flags & CHUNK_FAILED) != 0;
		k->aborted = (d.flags & CHUNK_ABORT) != 0;
		k->fail_off = d.src_off;
		k->block = UINT32_MAX;
		k->first_recno = b->recno_base + 1;
		if (!k->failed) {
			blk = arena_block(&c->arena, d.block);
			if (blk == NULL || chunk_open(&k->v, blk,
			    c->arena.block_size) != 0 ||
			    k->v.batch_id != d.batch_id || k->v.seq != d.seq) {
				k->next = c->free_chunks;
				c->free_chunks = k;
				return fail(c, MARCD_E_CORRUPT,
				    "block %u failed its checks", d.block);
			}
			k->block = d.block;
			c->nout++;
			if (b->ordered)
				b->recno_base += k->v.recnos;
		}
		*out = k;
		return 1;
	}
}

/* Hand the block back and keep the chunk object for reuse. */
void
marcd_chunk_release(marcd_client *c, marcd_chunk *k)
{
	if (c == NULL || k == NULL)
		return;
	if (k->block != UINT32_MAX) {
		release_block(c, k->block);
		c->nout--;
	}
	k->next = c->free_chunks;
	c->free_chunks = k;
}

/* Records in the chunk. */
uint32_t
marcd_chunk_records(const marcd_chunk *k)
{
	return k->failed ? 0 : k->v.nrecords;
}

/* Record i as a view, its number counted from the batch start. */
int
marcd_chunk_record(marcd_chunk *k, uint32_t i, struct marc_record *rec)
{
	struct chunk_rec_errs re;

	if (k->failed || chunk_record(&k->v, i, rec, &k->fields,
	    &k->fields_cap, &re) != 0)
		return MARCD_E_CORRUPT;
	rec->recno = k->ordered ? rec->recno + (uint32_t)k->first_recno - 1 : 0;
	return 0;
}

/* The leader alone: no field table copied or checked. */
const uint8_t *
marcd_chunk_leader(const marcd_chunk *k, uint32_t i)
{
	return k == NULL || k->failed ? NULL : chunk_leader(&k->v, i);
}

/* Which of the chunk's errors belong to record i. */
int
marcd_chunk_record_errors(marcd_chunk *k, uint32_t i, uint32_t *first,
    uint32_t *n, uint32_t *lost)
{
	struct marc_record	rec;
	struct chunk_rec_errs	re;

	if (k->failed || chunk_record(&k->v, i, &rec, &k->fields,
	    &k->fields_cap, &re) != 0)
		return MARCD_E_CORRUPT;
	*first = re.first;
	*n = re.n;
	*lost = re.lost;
	return 0;
}

/* Errors in the chunk (a failed chunk has one: the chunk itself). */
uint32_t
marcd_chunk_nerrors(const marcd_chunk *k)
{
	return k->failed ? 1 : k->v.nerrors;
}

/* Error j, with its record number counted from the batch start. */
int
marcd_chunk_error(const marcd_chunk *k, uint32_t j, struct marc_error *e)
{
	if (k->failed) {
		if (j != 0)
			return MARCD_E_INVALID;
		e->code = k->aborted ? MARC_E_INPUT_CHANGED : MARC_E_WORKER;
		e->recno = k->ordered ? (uint32_t)k->first_recno : 0;
		e->offset = k->fail_off;
		return 0;
	}
	if (chunk_error(&k->v, j, e) != 0)
		return MARCD_E_INVALID;
	e->recno = k->ordered ? e->recno + (uint32_t)k->first_recno - 1 : 0;
	return 0;
}

/* The block itself, for readers that parse it in place. */
const uint8_t *
marcd_chunk_block(const marcd_chunk *k, uint32_t *size)
{
	if (size != NULL)
		*size = k->failed ? 0 : k->v.size;
	return k->failed ? NULL : k->v.blk;
}

/* The input range the chunk came from, for progress. */
int
marcd_chunk_source(const marcd_chunk *k, uint64_t *off, uint64_t *len)
{
	*off = k->failed ? k->fail_off : k->v.src_off;
	*len = k->failed ? 0 : k->v.src_len;
	return 0;
}

/* Number of the chunk's first record in the batch. */
uint64_t
marcd_chunk_first_recno(const marcd_chunk *k)
{
	return k->first_recno;
}

/* Ask the daemon how a batch is doing. */
int
marcd_batch_status(marcd_client *c, uint64_t id, struct marcd_batch_status *st)
{
	Marcd__StatusRequest	 r = MARCD__STATUS_REQUEST__INIT;
	Marcd__BatchStatus	*s = NULL;
	int			 rc;

	if (c == NULL || st == NULL)
		return MARCD_E_INVALID;
	r.batch_id = id;
	if ((rc = request(c, PROTO_STATUS_REQUEST, &r.base, -1)) != 0 ||
	    (rc = await(c, PROTO_BATCH_STATUS, (void **)&s, NULL)) != 0)
		return rc;
	memset(st, 0, sizeof(*st));
	st->batch_id = s->batch_id;
	st->state = s->state;
	st->bytes_total = s->bytes_total;
	st->bytes_done = s->bytes_done;
	st->slices_total = s->slices_total;
	st->slices_done = s->slices_done;
	st->slices_failed = s->slices_failed;
	st->records = s->records;
	st->errors = s->errors;
	snprintf(st->error, sizeof(st->error), "%s", s->error ? s->error : "");
	proto_free_unpacked(s);
	return 0;
}

/* Cancel a batch; chunks already delivered stay valid until released. */
int
marcd_cancel(marcd_client *c, uint64_t id)
{
	Marcd__Cancel		 r = MARCD__CANCEL__INIT;
	Marcd__BatchStatus	*s = NULL;
	struct cbatch		*b;
	int			 rc;

	if (c == NULL)
		return MARCD_E_INVALID;
	r.batch_id = id;
	if ((rc = request(c, PROTO_CANCEL, &r.base, -1)) != 0 ||
	    (rc = await(c, PROTO_BATCH_STATUS, (void **)&s, NULL)) != 0)
		return rc;
	proto_free_unpacked(s);
	if ((b = batch_find(c, id)) != NULL)
		b->finished = 1;
	return batch_drain(c, b);
}

/* The arena's geometry, from the client's own checked copy. */
int
marcd_arena_info(const marcd_client *c, uint64_t *size, uint32_t *block_size,
    uint32_t *nblocks)
{
	if (c == NULL || c->arena.base == NULL)
		return MARCD_E_INVALID;
	if (size != NULL)
		*size = c->arena.size;
	if (block_size != NULL)
		*block_size = c->arena.block_size;
	if (nblocks != NULL)
		*nblocks = c->arena.nblocks;
	return 0;
}

/* Append printf output to a growing string. */
static int
jprintf(struct mbuf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || mbuf_reserve(b, (size_t)n + 1) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* Write a JSON string; names come from config and the daemon, escape them. */
static void
jstring(struct mbuf *b, const char *s)
{
	mbuf_addc(b, '"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\') {
			mbuf_addc(b, '\\');
			mbuf_addc(b, (uint8_t)*s);
		} else if ((uint8_t)*s < 0x20)
			jprintf(b, "\\u%04x", (unsigned)(uint8_t)*s);
		else
			mbuf_addc(b, (uint8_t)*s);
	}
	mbuf_addc(b, '"');
}

/* The daemon's statistics, copied out of the reply. */
int
marcd_stats(marcd_client *c, struct marcd_stats **out)
{
	Marcd__StatsRequest	 r = MARCD__STATS_REQUEST__INIT;
	Marcd__Stats		*s = NULL;
	struct marcd_stats	*st;
	size_t			 i;
	int			 rc;

	if (c == NULL || out == NULL)
		return MARCD_E_INVALID;
	if ((rc = request(c, PROTO_STATS_REQUEST, &r.base, -1)) != 0 ||
	    (rc = await(c, PROTO_STATS, (void **)&s, NULL)) != 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (st != NULL) {
		st->workers = calloc(s->n_workers + 1, sizeof(*st->workers));
		st->tenants = calloc(s->n_tenants + 1, sizeof(*st->tenants));
	}
	if (st == NULL || st->workers == NULL || st->tenants == NULL) {
		marcd_stats_free(st);
		proto_free_unpacked(s);
		return MARCD_E_NOMEM;
	}
	st->uptime_ms = s->uptime_ms;
	st->nworkers = (uint32_t)s->n_workers;
	st->ntenants = (uint32_t)s->n_tenants;
	for (i = 0; i < s->n_workers; i++) {
		Marcd__WorkerStats *w = s->workers[i];
		st->workers[i] = (struct marcd_worker_stats){ w->id, w->pid,
		    w->chunks, w->records, w->bytes, w->errors, w->restarts,
		    w->busy };
	}
	for (i = 0; i < s->n_tenants; i++) {
		Marcd__TenantStats	*t = s->tenants[i];
		struct marcd_tenant_stats *o = &st->tenants[i];
		snprintf(o->name, sizeof(o->name), "%s", t->name);
		o->batches = t->batches;
		o->records = t->records;
		o->bytes = t->bytes;
		o->errors = t->errors;
		o->arena_size = t->arena_size;
		o->arena_used = t->arena_used;
		o->queue_depth = t->queue_depth;
		o->clients = t->clients;
		o->records_per_sec = t->records_per_sec;
	}
	proto_free_unpacked(s);
	*out = st;
	return 0;
}

/* Free what marcd_stats returned. */
void
marcd_stats_free(struct marcd_stats *st)
{
	if (st == NULL)
		return;
	free(st->workers);
	free(st->tenants);
	free(st);
}

/* The statistics as JSON, for tools and the Python package. */
int
marcd_stats_json(marcd_client *c, char **json)
{
	struct marcd_stats	*s;
	struct mbuf		 b = { 0 };
	uint32_t		 i;
	int			 rc;

	if (json == NULL)
		return MARCD_E_INVALID;
	if ((rc = marcd_stats(c, &s)) != 0)
		return rc;
	jprintf(&b, "{\"uptime_ms\":%llu,\"workers\":[",
	    (unsigned long long)s->uptime_ms);
	for (i = 0; i < s->nworkers; i++) {
		struct marcd_worker_stats *w = &s->workers[i];
		jprintf(&b, "%s{\"id\":%u,\"pid\":%d,\"chunks\":%llu,"
		    "\"records\":%llu,\"bytes\":%llu,\"errors\":%llu,"
		    "\"restarts\":%u,\"busy\":%s}", i ? "," : "", w->id, w->pid,
		    (unsigned long long)w->chunks,
		    (unsigned long long)w->records,
		    (unsigned long long)w->bytes, (unsigned long long)w->errors,
		    w->restarts, w->busy ? "true" : "false");
	}
	jprintf(&b, "],\"tenants\":[");
	for (i = 0; i < s->ntenants; i++) {
		struct marcd_tenant_stats *t = &s->tenants[i];
		jprintf(&b, "%s{\"name\":", i ? "," : "");
		jstring(&b, t->name);
		jprintf(&b, ",\"batches\":%llu,\"records\":%llu,\"bytes\":%llu,"
		    "\"errors\":%llu,\"arena_size\":%llu,\"arena_used\":%llu,"
		    "\"queue_depth\":%u,\"clients\":%u,\"records_per_sec\":%.1f}",
		    (unsigned long long)t->batches,
		    (unsigned long long)t->records,
		    (unsigned long long)t->bytes,
		    (unsigned long long)t->errors,
		    (unsigned long long)t->arena_size,
		    (unsigned long long)t->arena_used, t->queue_depth,
		    t->clients, t->records_per_sec);
	}
	jprintf(&b, "]}");
	marcd_stats_free(s);
	if (mbuf_addc(&b, 0) != 0) {
		mbuf_free(&b);
		return MARCD_E_NOMEM;
	}
	*json = (char *)b.p;
	return 0;
}

/* First field with a tag at or after from. */
int
marcd_record_find(const struct marc_record *rec, const char *tag,
    uint32_t from)
{
	uint32_t i;

	if (rec == NULL || tag == NULL || strlen(tag) != 3)
		return -1;
	for (i = from; i < rec->nfields; i++)
		if (memcmp(rec->fields[i].tag, tag, 3) == 0)
			return (int)i;
	return -1;
}

/* Data of field i. */
int
marcd_record_field(const struct marc_record *rec, uint32_t i,
    const uint8_t **data, size_t *len)
{
	if (rec == NULL || i >= rec->nfields)
		return MARCD_E_INVALID;
	*data = rec->data + rec->fields[i].off;
	*len = rec->fields[i].len;
	return 0;
}

/* The record's ISO 2709 bytes. */
int
marcd_record_raw(const struct marc_record *rec, const uint8_t **data,
    size_t *len)
{
	if (rec == NULL)
		return MARCD_E_INVALID;
	*data = rec->data;
	*len = rec->len;
	return 0;
}
