/*
 * daemon/server.c: the Unix socket, client connections and their messages.
 *
 * Every byte from a client is untrusted: frames are capped before anything
 * is allocated, payloads are unpacked under a budget, and any protocol
 * error gets an Error reply and the connection closed, never more.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "format.h"
#include "ring.h"

#define TX_MAX	(1u << 20)	/* replies a client may leave unread */
#define SUBMIT_NAME_MAX	128	/* characters of a batch name logged */

/* Bind the socket, replacing a stale one but never a live daemon's. */
int
server_listen(struct marcd *m)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(m->socket_path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, m->socket_path);
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			errno = EADDRINUSE;
			return -1;
		}
		close(probe);
	}
	/* Replace a stale socket, never a file that is something else. */
	if (lstat(m->socket_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	(void)unlink(m->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(m->socket_path, 0666) != 0 || listen(fd, 128) != 0) {
		close(fd);
		return -1;
	}
	m->listen_fd = fd;
	return 0;
}

/* How many connections of this uid have not said Hello yet. */
static uint32_t
pending_of(const struct marcd *m, uid_t uid)
{
	const struct conn	*c;
	uint32_t		 n = 0;

	for (c = m->conns; c != NULL; c = c->next)
		if (c->tenant == NULL && !c->dead && c->uid == uid)
			n++;
	return n;
}

/* The peer's supplementary groups, however many: the kernel says how
 * much room it needs when the first guess is too small. */
static void
peer_groups(struct conn *c, int fd)
{
	socklen_t	 len = 64 * sizeof(gid_t);
	gid_t		*g;
	int		 tries;

	for (tries = 0; tries < 3; tries++) {
		if ((g = realloc(c->groups, len ? len : sizeof(gid_t))) == NULL)
			return;
		c->groups = g;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups,
		    &len) == 0) {
			c->ngroups = (int)(len / sizeof(gid_t));
			return;
		}
		if (errno != ERANGE)
			return;
	}
}

/* An Error frame to a connection we will not keep, sent if the socket
 * takes it at once (it is new: its buffer is empty). */
static void
refuse_now(int fd, uint32_t code, const char *text)
{
	Marcd__Error	e = MARCD__ERROR__INIT;
	struct mbuf	out = { 0 };

	e.code = code;
	e.text = (char *)text;
	if (proto_pack(&out, PROTO_ERROR, &e.base) == 0)
		(void)!send(fd, out.p, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	mbuf_free(&out);
}

/* Accept every pending client; each gets a decoder and a block table. */
void
server_accept(struct marcd *m)
{
	struct ucred	 cred;
	socklen_t	 len;
	struct conn	*c;
	int		 fd;

	while ((fd = accept4(m->listen_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			log_warn("out of memory for a client");
			close(fd);
			continue;
		}
		/* Who is at the other end, as the kernel says: never trust
		 * the Hello for that. */
		len = sizeof(cred);
		c->uid = (uid_t)-1;
		c->gid = (gid_t)-1;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			c->uid = cred.uid;
			c->gid = cred.gid;
			c->pid = cred.pid;
		}
		peer_groups(c, fd);
		/* Anyone may connect: a user gets few connections before
		 * Hello, or it could take every fd we have. */
		if (pending_of(m, c->uid) >= MARCD_MAX_PENDING) {
			refuse_now(fd, PROTO_E_BUSY, "too many connections of "
			    "this user are waiting to say Hello");
			if (log_allow(LOGR_PENDING, (uint32_t)c->uid,
			    "connections over the pending limit"))
				log_warn("uid %ld has %d connections without "
				    "Hello; closing more", (long)c->uid,
				    MARCD_MAX_PENDING);
			close(fd);
			free(c->groups);
			free(c);
			continue;
		}
		c->fd = fd;
		c->ring = NO_BLOCK;
		TAILQ_INIT(&c->batches);
		c->t_accept = now_ms();
		c->t_last = c->t_accept;
		m->npending++;
		proto_rx_init(&c->rx, PROTO_MAX_FRAME);
		c->next = m->conns;
		m->conns = c;
	}
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM) {
		/* The listening socket stays readable: without a pause the
		 * loop would spin and fill the log. */
		m->accept_resume = now_ms() + MARCD_ACCEPT_PAUSE_MS;
		if (now_ms() >= m->accept_warned + 10000) {
			m->accept_warned = now_ms();
			log_warn("accept: %s (%u connections have not said "
			    "Hello); pausing", strerror(errno), m->npending);
		}
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
	    errno != ECONNABORTED)
		log_warn("accept: %s", strerror(errno));
}

static void	reply_error(struct marcd *, struct conn *, uint32_t,
		    const char *, int);

/* Whether an attached client has nothing going on: no batch, no block,
 * nothing waiting for its ring or its socket. */
static int
conn_idle(const struct conn *c)
{
	return TAILQ_EMPTY(&c->batches) && c->nheld == 0 &&
	    c->nbacklog == 0 && c->tx.len == 0;
}

/*
 * Drop connections that never said Hello, and attached ones that have
 * held nothing and said nothing for m->idle_ms (each keeps a ring of its
 * tenant); the ms until the next may expire.
 */
int
server_expire(struct marcd *m)
{
	struct conn	*c;
	uint64_t	 now = now_ms(), left;
	int		 next = MARCD_HELLO_MS;

	for (c = m->conns; c != NULL; c = c->next) {
		if (c->dead)
			continue;
		if (c->tenant != NULL) {
			if (!conn_idle(c))
				continue;
			if (now >= c->t_last + m->idle_ms) {
				reply_error(m, c, PROTO_E_BUSY, "idle for too "
				    "long; the daemon closed the connection", 1);
				continue;
			}
			left = c->t_last + m->idle_ms - now;
			if (left < (uint64_t)next)
				next = (int)left;
			continue;
		}
		if (now >= c->t_accept + MARCD_HELLO_MS) {
			c->dead = 1;
			continue;
		}
		left = c->t_accept + MARCD_HELLO_MS - now;
		if (left < (uint64_t)next)
			next = (int)left;
	}
	return next;
}

/* Write what is queued; a client that stops reading is dropped. */
void
server_write(struct marcd *m, struct conn *c)
{
	ssize_t n;

	(void)m;
	while (c->tx.len) {
		n = send(c->fd, c->tx.p, c->tx.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			c->dead = 1;
			return;
		}
		memmove(c->tx.p, c->tx.p + n, c->tx.len - (size_t)n);
		c->tx.len -= (size_t)n;
	}
	if (c->tx.len > TX_MAX)
		c->dead = 1;
}

/* Queue one reply frame and try to send it now. */
static void
reply(struct marcd *m, struct conn *c, uint8_t type, const ProtobufCMessage *msg)
{
	if (proto_pack(&c->tx, type, msg) != 0) {
		c->dead = 1;
		return;
	}
	server_write(m, c);
}

/* An Error reply; fatal ones also close the connection after sending. */
static void
reply_error(struct marcd *m, struct conn *c, uint32_t code, const char *text,
    int fatal)
{
	Marcd__Error e = MARCD__ERROR__INIT;

	e.code = code;
	e.text = (char *)text;
	reply(m, c, PROTO_ERROR, &e.base);
	if (fatal) {
		server_write(m, c);
		c->dead = 1;
	}
}

/*
 * The tenant a Hello asks for, if this peer may have it.  An empty name
 * means the first tenant the peer is allowed in.  Unknown and forbidden
 * names get the same answer, so names of other tenants do not leak.
 */
static struct tenant *
hello_tenant(struct marcd *m, const struct conn *c, const char *name)
{
	struct tenant	*t;
	int		 i;

	for (i = 0; i < m->ntenants; i++) {
		t = &m->tenants[i];
		if (name[0] != '\0' && strcmp(name, t->name) != 0)
			continue;
		if (tenant_allows(t, c->uid, c->gid, c->groups, c->ngroups))
			return t;
		if (name[0] != '\0')
			return NULL;
	}
	return NULL;
}

/* Hello: check the peer's credentials, then give it a ring and the arena. */
static void
on_hello(struct marcd *m, struct conn *c, const Marcd__Hello *h)
{
	Marcd__Welcome	 w = MARCD__WELCOME__INIT;
	struct mbuf	 out = { 0 };
	struct tenant	*t;
	char		 text[160 + LOG_ESCAPED(MARCD_TENANT_NAME)];
	char		 name[LOG_ESCAPED(MARCD_TENANT_NAME)];
	uint32_t	 i, mine;
	ssize_t		 n;
	int		 fds[2];

	if (h->protocol != PROTO_VERSION) {
		snprintf(text, sizeof(text), "this daemon speaks protocol %d",
		    PROTO_VERSION);
		reply_error(m, c, PROTO_E_BAD_VERSION, text, 1);
		return;
	}
	if ((t = hello_tenant(m, c, h->tenant)) == NULL) {
		/* The name is the peer's: escaped, cut, and the refusals of
		 * one uid logged at a bounded rate. */
		log_escape(name, sizeof(name), h->tenant, MARCD_TENANT_NAME);
		snprintf(text, sizeof(text), "uid %ld is not allowed in %s%s%s",
		    (long)c->uid, h->tenant[0] ? "tenant '" : "any tenant",
		    name, h->tenant[0] ? "'" : "");
		if (log_allow(LOGR_REFUSED, (uint32_t)c->uid, "refusals"))
			log_warn("refused pid %ld: %s", (long)c->pid, text);
		reply_error(m, c, PROTO_E_NOT_AUTHORISED, text, 1);
		return;
	}
	if ((c->held = calloc(t->arena.nblocks, sizeof(*c->held))) == NULL ||
	    (c->hpos = calloc(t->arena.nblocks, sizeof(*c->hpos))) == NULL) {
		reply_error(m, c, PROTO_E_INTERNAL, "out of memory", 1);
		return;
	}
	for (i = 0; i < t->arena.nblocks; i++)
		c->hpos[i] = NO_BLOCK;
	for (i = 0, mine = 0; i < MARCD_MAX_CLIENTS; i++)
		if (t->ring_owner[i] != NULL && t->ring_owner[i]->uid == c->uid)
			mine++;
	if (mine >= MARCD_RINGS_PER_UID && c->uid != 0) {
		reply_error(m, c, PROTO_E_BUSY, "this user has its maximum of "
		    "clients attached to this tenant", 1);
		return;
	}
	for (i = 0; i < MARCD_MAX_CLIENTS; i++)
		if (t->ring_owner[i] == NULL)
			break;
	if (i == MARCD_MAX_CLIENTS) {
		reply_error(m, c, PROTO_E_BUSY,
		    "too many clients attached to this tenant", 1);
		return;
	}
	/* The client's own ring, in memory only it and we share. */
	if (ring_create(&c->rmap, t->arena.ring_slots) != 0) {
		reply_error(m, c, PROTO_E_INTERNAL, "cannot set up a ring", 1);
		return;
	}
	t->ring_owner[i] = c;
	c->ring = i;
	c->tenant = t;
	m->npending--;
	w.protocol = PROTO_VERSION;
	w.layout_version = MARCD_LAYOUT_VERSION;
	w.arena_size = t->arena.size;
	w.block_size = t->arena.block_size;
	w.nblocks = t->arena.nblocks;
	w.ring = i;
	w.workers = (uint32_t)m->nworkers;
	w.tenant = t->name;
	w.max_frame = PROTO_MAX_FRAME;
	if (proto_pack(&out, PROTO_WELCOME, &w.base) != 0) {
		c->dead = 1;
		return;
	}
	/* The fds go with the Welcome frame alone; the rest, if any, queued. */
	fds[0] = t->arena.fd;
	fds[1] = c->rmap.fd;
	n = proto_write_fds(c->fd, out.p, out.len, fds, 2);
	close(c->rmap.fd);
	c->rmap.fd = -1;
	if (n < 0) {
		c->dead = 1;
	} else if ((size_t)n < out.len &&
	    mbuf_add(&c->tx, out.p + n, out.len - (size_t)n) != 0)
		c->dead = 1;
	mbuf_free(&out);
}

/* Turn inline bytes into a memfd, so every batch is an fd. */
static int
inline_to_fd(const uint8_t *p, size_t n)
{
	size_t	off = 0;
	ssize_t	w;
	int	fd;

	if ((fd = memfd_create("marcd-batch", MFD_CLOEXEC)) < 0)
		return -1;
	while (off < n) {
		w = write(fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return fd;
}

/* The reader's format for Submit.from, or -2 for a value not in the enum. */
static int
submit_from(uint32_t from)
{
	switch (from) {
	case MARCD__INPUT_FORMAT__FROM_DETECT:
		return MARC_FROM_UNKNOWN;
	case MARCD__INPUT_FORMAT__FROM_ISO2709:
		return MARC_FROM_ISO2709;
	case MARCD__INPUT_FORMAT__FROM_MARCXML:
		return MARC_FROM_MARCXML;
	case MARCD__INPUT_FORMAT__FROM_MARCJSON:
		return MARC_FROM_MARCJSON;
	case MARCD__INPUT_FORMAT__FROM_MRK:
		return MARC_FROM_MRK;
	}
	return -2;
}

/* Submit: take the batch fd (or inline bytes) and queue the batch. */
static void
on_submit(struct marcd *m, struct conn *c, const Marcd__Submit *s, int fd)
{
	Marcd__Accepted	 a = MARCD__ACCEPTED__INIT;
	struct batch	*b;
	struct batch_input in;
	struct stat	 st;
	char		 name[LOG_ESCAPED(SUBMIT_NAME_MAX)], why[96];
	int		 fl;

	if (m->stopping) {
		if (fd >= 0)
			close(fd);
		reply_error(m, c, PROTO_E_SHUTTING_DOWN, "the daemon is stopping",
		    0);
		return;
	}
	if (s->charset > MARC_CS_UTF8) {
		if (fd >= 0)
			close(fd);
		reply_error(m, c, PROTO_E_BAD_MESSAGE, "unknown charset", 0);
		return;
	}
	if ((in.from = submit_from(s->from)) == -2) {
		if (fd >= 0)
			close(fd);
		reply_error(m, c, PROTO_E_BAD_MESSAGE, "unknown input format",
		    0);
		return;
	}
	if (fd < 0 && (fd = inline_to_fd(s->inline_data.data,
	    s->inline_data.len)) < 0) {
		reply_error(m, c, PROTO_E_INTERNAL, strerror(errno), 0);
		return;
	}
	/* The workers map it for reading: an fd open only for writing, or
	 * only as a path, would fail there, as a bad batch, not here. */
	if ((fl = fcntl(fd, F_GETFL)) < 0 || (fl & O_PATH) ||
	    (fl & O_ACCMODE) == O_WRONLY) {
		close(fd);
		reply_error(m, c, PROTO_E_BAD_MESSAGE,
		    "the batch fd must be open for reading", 0);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		reply_error(m, c, PROTO_E_BAD_MESSAGE,
		    "a batch must be a regular file or memfd", 0);
		return;
	}
	/* A range starting past the end is a client's mistake (a stale
	 * size): refused, where offline it would read as no records. */
	if (s->range_offset > (uint64_t)st.st_size) {
		close(fd);
		snprintf(why, sizeof(why), "the range starts at %llu, past the "
		    "end of the input (%llu bytes)",
		    (unsigned long long)s->range_offset,
		    (unsigned long long)st.st_size);
		reply_error(m, c, PROTO_E_BAD_MESSAGE, why, 0);
		return;
	}
	/* A compressed (or UTF-16) batch is read as one stream by its
	 * decompressor. */
	if ((s->range_offset != 0 || s->range_length != 0) &&
	    stage_detect(fd, (uint64_t)st.st_size)) {
		close(fd);
		reply_error(m, c, PROTO_E_BAD_MESSAGE, "a byte range of a "
		    "compressed or UTF-16 input cannot be read: submit the "
		    "whole file", 0);
		return;
	}
	in.fd = fd;
	in.size = (uint64_t)st.st_size;
	in.range_off = s->range_offset;
	in.range_end = s->range_length == 0 ||
	    s->range_length > in.size - in.range_off ? in.size :
	    in.range_off + s->range_length;
	if ((b = sched_submit(m, c, &in, (int)s->charset,
	    s->ordered)) == NULL) {
		close(fd);
		if (errno == EBUSY)
			reply_error(m, c, PROTO_E_BUSY, "the tenant has its "
			    "maximum of batches queued or running", 0);
		else if (errno == EFBIG)
			reply_error(m, c, PROTO_E_TOO_LARGE, "the batch is "
			    "larger than 64 TiB", 0);
		else if (errno == ENXIO)
			reply_error(m, c, PROTO_E_BAD_MESSAGE, "the batch "
			    "file has holes (a sparse file)", 0);
		else
			reply_error(m, c, PROTO_E_INTERNAL, "out of memory", 0);
		return;
	}
	log_info("batch %llu from pid %ld: %s, %llu bytes [%llu, %llu)",
	    (unsigned long long)b->id, (long)c->pid,
	    s->name[0] ? log_escape(name, sizeof(name), s->name,
	    SUBMIT_NAME_MAX) : "(unnamed)", (unsigned long long)b->size,
	    (unsigned long long)b->range_off, (unsigned long long)b->range_end);
	a.batch_id = b->id;
	a.bytes = b->range_end - b->range_off;
	reply(m, c, PROTO_ACCEPTED, &a.base);
}

/* BatchStatus for a batch of this tenant. */
void
server_reply_status(struct marcd *m, struct conn *c, const struct batch *b)
{
	Marcd__BatchStatus s = MARCD__BATCH_STATUS__INIT;

	s.batch_id = b->id;
	s.state = b->state;
	s.bytes_total = b->range_end - b->range_off;
	s.bytes_done = b->state == BATCH_DONE ? s.bytes_total : b->bytes_done;
	s.slices_total = b->nslices;
	s.slices_done = b->slices_done;
	s.records = b->records;
	s.errors = b->errors;
	s.slices_failed = b->slices_failed;
	s.error = (char *)b->error;
	reply(m, c, PROTO_BATCH_STATUS, &s.base);
}

/* Stats: per worker and per tenant counters. */
static void
on_stats(struct marcd *m, struct conn *c)
{
	Marcd__Stats		 s = MARCD__STATS__INIT;
	Marcd__WorkerStats	 ws[MARCD_MAX_WORKERS], *wp[MARCD_MAX_WORKERS];
	Marcd__TenantStats	 ts[MARCD_MAX_TENANTS], *tp[MARCD_MAX_TENANTS];
	struct tenant		*t;
	struct conn		*cc;
	struct task		*q;
	uint64_t		 up = now_ms() - m->t0;
	int			 i, k, nt = 0;

	for (i = 0; i < m->nworkers; i++) {
		marcd__worker_stats__init(&ws[i]);
		ws[i].id = (uint32_t)i;
		ws[i].pid = m->workers[i].pid;
		/* Workers serve every tenant: their counters would tell one
		 * tenant what the others parse, so only root sees them. */
		if (c->uid == 0 || m->ntenants == 1) {
			ws[i].chunks = m->workers[i].chunks;
			ws[i].records = m->workers[i].records;
			ws[i].bytes = m->workers[i].bytes;
			ws[i].errors = m->workers[i].errors;
		}
		ws[i].restarts = m->workers[i].restarts;
		ws[i].busy = m->workers[i].task != NULL;
		wp[i] = &ws[i];
	}
	/* A client sees its own tenant; root sees them all. */
	for (k = 0; k < m->ntenants; k++) {
		t = &m->tenants[k];
		if (t != c->tenant && c->uid != 0)
			continue;
		marcd__tenant_stats__init(&ts[nt]);
		ts[nt].name = t->name;
		ts[nt].batches = t->nbatches;
		ts[nt].records = t->records;
		ts[nt].bytes = t->bytes;
		ts[nt].errors = t->errors;
		ts[nt].arena_size = t->arena.size;
		ts[nt].arena_used = (uint64_t)(t->arena.nblocks - t->nfree) *
		    t->arena.block_size;
		for (q = m->queue; q != NULL; q = q->next)
			if (q->batch->tenant == t)
				ts[nt].queue_depth++;
		for (cc = m->conns; cc != NULL; cc = cc->next)
			if (cc->tenant == t)
				ts[nt].clients++;
		ts[nt].records_per_sec = up ? (double)t->records * 1000.0 /
		    (double)up : 0;
		tp[nt] = &ts[nt];
		nt++;
	}
	s.uptime_ms = up;
	s.n_workers = (size_t)m->nworkers;
	s.workers = wp;
	s.n_tenants = (size_t)nt;
	s.tenants = tp;
	reply(m, c, PROTO_STATS, &s.base);
}

/* Dispatch one frame; anything unexpected ends the connection. */
static void
server_frame(struct marcd *m, struct conn *c, uint8_t type,
    const uint8_t *payload, uint32_t len, int fd)
{
	const ProtobufCMessageDescriptor	*desc = proto_descriptor(type);
	ProtobufCMessage			*msg = NULL;
	struct batch				*b;
	size_t					 i;

	c->t_last = now_ms();
	if (desc == NULL) {
		reply_error(m, c, PROTO_E_UNKNOWN_TYPE, "unknown message type", 1);
		goto out;
	}
	msg = proto_unpack(desc, payload, len, PROTO_BUDGET(len));
	if (msg == NULL) {
		reply_error(m, c, PROTO_E_BAD_MESSAGE, "message does not unpack",
		    1);
		goto out;
	}
	if (c->tenant == NULL && type != PROTO_HELLO) {
		reply_error(m, c, PROTO_E_BAD_FRAME, "say Hello first", 1);
		goto out;
	}
	switch (type) {
	case PROTO_HELLO:
		if (c->tenant != NULL) {
			reply_error(m, c, PROTO_E_BAD_FRAME, "Hello twice", 1);
			break;
		}
		on_hello(m, c, (Marcd__Hello *)msg);
		break;
	case PROTO_SUBMIT:
		on_submit(m, c, (Marcd__Submit *)msg, fd);
		fd = -1;
		break;
	case PROTO_RELEASE: {
		Marcd__Release *r = (Marcd__Release *)msg;
		for (i = 0; i < r->n_blocks; i++)
			sched_release(m, c, r->blocks[i]);
		sched_flush_backlog(m, c);
		break;
	}
	case PROTO_STATUS_REQUEST:
	case PROTO_CANCEL: {
		uint64_t id = type == PROTO_CANCEL ?
		    ((Marcd__Cancel *)msg)->batch_id :
		    ((Marcd__StatusRequest *)msg)->batch_id;
		if ((b = sched_find(m, c->tenant, id)) == NULL) {
			const struct batch *rb = sched_recent(c, id);

			if (rb != NULL)
				server_reply_status(m, c, rb);
			else
				reply_error(m, c, PROTO_E_NO_SUCH_BATCH,
				    "no such batch", 0);
			break;
		}
		if (type == PROTO_CANCEL)
			sched_cancel(m, b);
		server_reply_status(m, c, b);
		sched_maybe_free(m, b);
		break;
	}
	case PROTO_STATS_REQUEST:
		on_stats(m, c);
		break;
	default:
		reply_error(m, c, PROTO_E_UNKNOWN_TYPE,
		    "not a message a client sends", 1);
		break;
	}
out:
	if (fd >= 0)
		close(fd);
	if (msg != NULL)
		proto_free_unpacked(msg);
}

/*
 * Read what the client sent and act on each whole frame, but no more than
 * a share of one loop turn: MARCD_TURN_FRAMES frames and MARCD_TURN_READS
 * reads.  A client that streams frames must not keep the loop from the
 * other clients and the workers; what is left waits for the next turn
 * (c->more), which then polls without sleeping.
 */
void
server_read(struct marcd *m, struct conn *c)
{
	const uint8_t	*payload;
	uint32_t	 len, err;
	uint8_t		 type;
	int		 rc = 0, fd, frames = 0, reads = 0;

	c->more = 0;
	for (;;) {
		while (!c->dead && frames < MARCD_TURN_FRAMES &&
		    (rc = proto_rx_frame(&c->rx, &type, &payload, &len, &fd,
		    &err)) == 1) {
			server_frame(m, c, type, payload, len, fd);
			frames++;
		}
		if (c->dead)
			return;
		if (rc < 0) {
			reply_error(m, c, err, "bad frame", 1);
			return;
		}
		if (frames >= MARCD_TURN_FRAMES || reads >= MARCD_TURN_READS) {
			c->more = 1;
			return;
		}
		rc = proto_rx_read(&c->rx, c->fd);
		reads++;
		if (rc == 0) {
			/* Frames complete before the EOF were answered. */
			c->dead = 1;
			return;
		}
		if (rc < 0) {
			/* All read: an idle client keeps no big buffer. */
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				proto_rx_shrink(&c->rx);
				return;
			}
			if (errno == EINTR)
				return;
			if (errno != ENOBUFS) {
				c->dead = 1;
				return;
			}
		}
	}
}

/* Close a connection and take back what it held. */
void
server_close(struct marcd *m, struct conn *c)
{
	struct conn **pp;

	for (pp = &m->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->tenant == NULL)
		m->npending--;
	sched_conn_gone(m, c);
	proto_rx_free(&c->rx);
	mbuf_free(&c->tx);
	close(c->fd);
	free(c->groups);
	free(c->held);
	free(c->hpos);
	free(c->backlog);
	free(c);
}
