/*
 * common/proto.c: frames of the marcd wire protocol over a Unix stream
 * socket, the fds that travel with them, and unpacking under a budget.
 *
 * The decoder keeps the unconsumed bytes of the stream in one buffer and
 * counts stream offsets, so that each received fd can be given to the frame
 * that holds the last byte of the recvmsg it came with (see proto.h).  It
 * never allocates on the strength of a header it has not checked.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "marcd/marcd.h"
#include "proto.h"

#define RX_MIN_READ	(16 * 1024)	/* bytes asked of one recvmsg at least */
#define ALLOC_COST	16		/* malloc's own overhead, for budgets */

struct proto_budget {
	ProtobufCAllocator	 a;
	size_t			 left;
};

static const ProtobufCMessageDescriptor *const proto_descs[] = {
	[PROTO_HELLO] = &marcd__hello__descriptor,
	[PROTO_WELCOME] = &marcd__welcome__descriptor,
	[PROTO_SUBMIT] = &marcd__submit__descriptor,
	[PROTO_ACCEPTED] = &marcd__accepted__descriptor,
	[PROTO_RELEASE] = &marcd__release__descriptor,
	[PROTO_STATUS_REQUEST] = &marcd__status_request__descriptor,
	[PROTO_BATCH_STATUS] = &marcd__batch_status__descriptor,
	[PROTO_CANCEL] = &marcd__cancel__descriptor,
	[PROTO_STATS_REQUEST] = &marcd__stats_request__descriptor,
	[PROTO_STATS] = &marcd__stats__descriptor,
	[PROTO_ERROR] = &marcd__error__descriptor,
};

static const char *const proto_names[] = {
	[PROTO_HELLO] = "hello",
	[PROTO_WELCOME] = "welcome",
	[PROTO_SUBMIT] = "submit",
	[PROTO_ACCEPTED] = "accepted",
	[PROTO_RELEASE] = "release",
	[PROTO_STATUS_REQUEST] = "status-request",
	[PROTO_BATCH_STATUS] = "batch-status",
	[PROTO_CANCEL] = "cancel",
	[PROTO_STATS_REQUEST] = "stats-request",
	[PROTO_STATS] = "stats",
	[PROTO_ERROR] = "error",
};

/* Map a frame type to its message so that callers can unpack any frame. */
const ProtobufCMessageDescriptor *
proto_descriptor(uint8_t type)
{
	if (type == 0 || type > PROTO_TYPE_MAX)
		return NULL;
	return proto_descs[type];
}

/* Only the arena (Welcome) and a batch (Submit) travel as fds. */
int
proto_type_takes_fd(uint8_t type)
{
	return proto_type_max_fds(type) > 0;
}

/* Welcome brings the arena and the client's ring, Submit the batch. */
int
proto_type_max_fds(uint8_t type)
{
	return type == PROTO_WELCOME ? 2 : type == PROTO_SUBMIT ? 1 : 0;
}

/* Logs name frame types rather than print numbers. */
const char *
proto_type_name(uint8_t type)
{
	if (type == 0 || type > PROTO_TYPE_MAX)
		return "unknown";
	return proto_names[type];
}

/* Write the fixed header; the length is little-endian whatever the host. */
static void
proto_put_header(uint8_t *p, uint8_t type, uint32_t len)
{
	p[0] = PROTO_MAGIC0;
	p[1] = PROTO_MAGIC1;
	p[2] = PROTO_VERSION;
	p[3] = type;
	p[4] = len & 0xff;
	p[5] = (len >> 8) & 0xff;
	p[6] = (len >> 16) & 0xff;
	p[7] = (len >> 24) & 0xff;
}

/* Encoding is shared by blocking sends and the daemon's output queues. */
int
proto_pack(struct mbuf *out, uint8_t type, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor	*d = proto_descriptor(type);
	size_t					 size = 0;

	if (msg != NULL && d != NULL && msg->descriptor != d) {
		errno = EINVAL;
		return -1;
	}
	if (msg != NULL)
		size = protobuf_c_message_get_packed_size(msg);
	if (size > PROTO_MAX_FRAME) {
		errno = EMSGSIZE;
		return -1;
	}
	if (mbuf_reserve(out, PROTO_HDR_LEN + size) != 0) {
		errno = ENOMEM;
		return -1;
	}
	proto_put_header(out->p + out->len, type, (uint32_t)size);
	if (msg != NULL &&
	    protobuf_c_message_pack(msg, out->p + out->len + PROTO_HDR_LEN) !=
	    size) {
		errno = EINVAL;
		return -1;
	}
	out->len += PROTO_HDR_LEN + size;
	return 0;
}

/* One sendmsg with an optional fd, never raising SIGPIPE or blocking. */
ssize_t
proto_write_fd(int sock, const void *p, size_t n, int fd)
{
	return proto_write_fds(sock, p, n, &fd, fd >= 0 ? 1 : 0);
}

/* One sendmsg with up to PROTO_MAX_FDS fds, never raising SIGPIPE or
 * blocking. */
ssize_t
proto_write_fds(int sock, const void *p, size_t n, const int *fds, int nfds)
{
	if (nfds < 0 || nfds > PROTO_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	return fdpass_send(sock, p, n, fds, nfds, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Clients send a whole frame and wait; short writes and EINTR are ours. */
int
proto_send(int sock, uint8_t type, const ProtobufCMessage *msg, int fd)
{
	struct mbuf	 b = { NULL, 0, 0 };
	struct pollfd	 pfd;
	size_t		 off = 0;
	ssize_t		 n;
	int		 rc = 0, saved;

	if (proto_pack(&b, type, msg) != 0) {
		saved = errno;
		mbuf_free(&b);
		errno = saved;
		return -1;
	}
	while (off < b.len) {
		/* The fd rides on the first sendmsg that moves any byte. */
		n = proto_write_fd(sock, b.p + off, b.len - off,
		    off == 0 ? fd : -1);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			rc = -1;
			break;
		}
		pfd.fd = sock;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			rc = -1;
			break;
		}
	}
	saved = errno;
	mbuf_free(&b);
	errno = saved;
	return rc;
}

/* A fresh decoder holds nothing; the buffer comes with the first bytes. */
void
proto_rx_init(struct proto_rx *rx, uint32_t max_frame)
{
	memset(rx, 0, sizeof *rx);
	rx->max_frame = max_frame;
}

/* Close every queued fd: they belong to nobody once the peer is bad. */
static void
proto_rx_close_fds(struct proto_rx *rx)
{
	int	i;

	for (i = 0; i < rx->nfds; i++)
		close(rx->fds[i]);
	rx->nfds = 0;
}

/* Record a protocol error; nothing more is read from a bad stream. */
static void
proto_rx_fail(struct proto_rx *rx, uint32_t err)
{
	if (rx->err == 0)
		rx->err = err;
	proto_rx_close_fds(rx);
}

/* Dropping a connection must not leak the fds it sent. */
void
proto_rx_free(struct proto_rx *rx)
{
	proto_rx_close_fds(rx);
	free(rx->buf);
	memset(rx, 0, sizeof *rx);
}

/* Bytes held beyond the frame handed out: EOF with some is a cut frame. */
size_t
proto_rx_pending(const struct proto_rx *rx)
{
	return rx->len - rx->off - rx->taken;
}

/*
 * Check the header bytes held at p[0..n): 0 fine so far (*plen set once all
 * eight are there, else 0), -1 bad with *err set.
 */
static int
proto_rx_check(const struct proto_rx *rx, const uint8_t *p, size_t n,
    uint32_t *plen, uint32_t *err)
{
	uint32_t	len;

	*plen = 0;
	if ((n > 0 && p[0] != PROTO_MAGIC0) ||
	    (n > 1 && p[1] != PROTO_MAGIC1)) {
		*err = PROTO_E_BAD_FRAME;
		return -1;
	}
	if (n > 2 && p[2] != PROTO_VERSION) {
		*err = PROTO_E_BAD_VERSION;
		return -1;
	}
	if (n < PROTO_HDR_LEN)
		return 0;
	len = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
	    (uint32_t)p[7] << 24;
	if (len > rx->max_frame) {
		*err = PROTO_E_TOO_LARGE;
		return -1;
	}
	*plen = len;
	return 0;
}

/* Forget the frame handed out last, so its bytes can be reused. */
static void
proto_rx_drop(struct proto_rx *rx)
{
	rx->off += rx->taken;
	rx->taken = 0;
	if (rx->off == rx->len) {
		rx->base += rx->len;
		rx->off = rx->len = 0;
	}
}

/*
 * Make room for want more bytes after the held ones, moving them to the
 * front first; 0 or -1 (errno).
 */
static int
proto_rx_room(struct proto_rx *rx, size_t want)
{
	size_t	 need, cap;
	uint8_t	*p;

	if (rx->off > 0) {
		memmove(rx->buf, rx->buf + rx->off, rx->len - rx->off);
		rx->base += rx->off;
		rx->len -= rx->off;
		rx->off = 0;
	}
	if (rx->cap - rx->len >= want)
		return 0;
	if (want > SIZE_MAX - rx->len) {
		errno = ENOMEM;
		return -1;
	}
	need = rx->len + want;
	cap = rx->cap ? rx->cap : RX_MIN_READ;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(rx->buf, cap)) == NULL)
		return -1;
	rx->buf = p;
	rx->cap = cap;
	return 0;
}

/* Queue fds that ended with the stream at offset end; too many is fatal. */
static void
proto_rx_add_fds(struct proto_rx *rx, const int *fds, int n, uint64_t end)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (rx->err != 0 || rx->nfds == PROTO_RX_MAXFDS) {
			proto_rx_fail(rx, PROTO_E_BAD_FRAME);
			close(fds[i]);
			continue;
		}
		rx->fds[rx->nfds] = fds[i];
		rx->fd_end[rx->nfds] = end;
		rx->nfds++;
	}
}

/* Tests and the fuzzer drive the decoder without a socket. */
int
proto_rx_feed(struct proto_rx *rx, const void *p, size_t n, const int *fds,
    int nfds)
{
	proto_rx_drop(rx);
	if (n > 0) {
		if (proto_rx_room(rx, n) != 0) {
			while (nfds > 0)
				close(fds[--nfds]);
			return -1;
		}
		memcpy(rx->buf + rx->len, p, n);
		rx->len += n;
	}
	proto_rx_add_fds(rx, fds, nfds, rx->base + rx->len);
	return 0;
}

/*
 * How many bytes to ask for: what the current frame still lacks, at least
 * RX_MIN_READ, and never so much that the held bytes pass one frame and a
 * minimum read; 0 when that much is held already.
 */
static size_t
proto_rx_want(const struct proto_rx *rx)
{
	size_t		 held = rx->len - rx->off, limit, want = RX_MIN_READ;
	uint32_t	 plen, err;

	limit = (size_t)rx->max_frame + PROTO_HDR_LEN + RX_MIN_READ;
	if (held >= limit)
		return 0;
	if (proto_rx_check(rx, rx->buf + rx->off, held, &plen, &err) == 0 &&
	    held >= PROTO_HDR_LEN && PROTO_HDR_LEN + (size_t)plen > held &&
	    PROTO_HDR_LEN + (size_t)plen - held > want)
		want = PROTO_HDR_LEN + (size_t)plen - held;
	if (want > limit - held)
		want = limit - held;
	return want;
}

/* The daemon's poll loop calls this when a client socket is readable. */
int
proto_rx_read(struct proto_rx *rx, int sock)
{
	int		 fds[FDPASS_MAX], nfds, cut;
	size_t		 want;
	ssize_t		 n;

	proto_rx_drop(rx);
	if (rx->err != 0) {
		errno = EPROTO;
		return -1;
	}
	if ((want = proto_rx_want(rx)) == 0) {
		errno = ENOBUFS;
		return -1;
	}
	if (proto_rx_room(rx, want) != 0)
		return -1;
	n = fdpass_recv(sock, rx->buf + rx->len, want, MSG_DONTWAIT, fds,
	    FDPASS_MAX, &nfds, &cut);
	if (n < 0)
		return -1;
	rx->len += (size_t)n;
	/* Every fd is taken, so none leaks; a cut control message is fatal. */
	proto_rx_add_fds(rx, fds, nfds, rx->base + rx->len);
	if (cut)
		proto_rx_fail(rx, PROTO_E_BAD_FRAME);
	return n > 0;
}

/* Free a big buffer once no byte is held: a reader that took one large
 * frame must not keep its memory while it sits idle. */
void
proto_rx_shrink(struct proto_rx *rx)
{
	proto_rx_drop(rx);
	if (rx->len != 0 || rx->cap <= 4 * RX_MIN_READ)
		return;
	free(rx->buf);
	rx->buf = NULL;
	rx->cap = 0;
}

/* Cut the next whole frame out of the stream and give it its fd. */
int
proto_rx_frame(struct proto_rx *rx, uint8_t *type, const uint8_t **payload,
    uint32_t *len, int *fd, uint32_t *err)
{
	int	fds[1], n, rc;

	rc = proto_rx_frame_fds(rx, type, payload, len, fds, 1, &n, err);
	if (fd != NULL)
		*fd = rc == 1 && n == 1 ? fds[0] : -1;
	else if (rc == 1 && n == 1)
		close(fds[0]);
	return rc;
}

/* The frame and every fd that came with it, up to max. */
int
proto_rx_frame_fds(struct proto_rx *rx, uint8_t *type,
    const uint8_t **payload, uint32_t *len, int *fds, int max, int *nfds,
    uint32_t *err)
{
	const uint8_t	*p;
	uint64_t	 end;
	uint32_t	 plen, e;
	size_t		 held;
	int		 i, j, n;

	*nfds = 0;
	proto_rx_drop(rx);
	if (rx->err != 0)
		goto bad;
	p = rx->buf + rx->off;
	held = rx->len - rx->off;
	if (proto_rx_check(rx, p, held, &plen, &e) != 0) {
		proto_rx_fail(rx, e);
		goto bad;
	}
	if (held < PROTO_HDR_LEN || held - PROTO_HDR_LEN < plen)
		return 0;

	/* Its fds: those whose read ended inside this frame (or before). */
	end = rx->base + rx->off + PROTO_HDR_LEN + plen;
	for (n = 0; n < rx->nfds && rx->fd_end[n] <= end; n++)
		continue;
	if (n > proto_type_max_fds(p[3]) || n > max) {
		proto_rx_fail(rx, PROTO_E_BAD_FRAME);
		goto bad;
	}
	for (j = 0; j < n; j++)
		fds[j] = rx->fds[j];
	for (i = n; i < rx->nfds; i++) {
		rx->fds[i - n] = rx->fds[i];
		rx->fd_end[i - n] = rx->fd_end[i];
	}
	rx->nfds -= n;
	*nfds = n;

	*type = p[3];
	*payload = p + PROTO_HDR_LEN;
	*len = plen;
	rx->taken = PROTO_HDR_LEN + plen;
	return 1;

bad:
	if (err != NULL)
		*err = rx->err;
	return -1;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int
proto_ms_left(const struct timespec *deadline)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Clients wait for one reply at a time, with a deadline. */
int
proto_recv(int sock, struct proto_rx *rx, uint8_t *type,
    const uint8_t **payload, uint32_t *len, int *fd, int timeout_ms)
{
	int	fds[1], n, rc;

	rc = proto_recv_fds(sock, rx, type, payload, len, fds, 1, &n,
	    timeout_ms);
	if (fd != NULL)
		*fd = rc == 1 && n == 1 ? fds[0] : -1;
	else if (rc == 1 && n == 1)
		close(fds[0]);
	return rc;
}

/* As proto_recv, for a frame that may bring more than one fd. */
int
proto_recv_fds(int sock, struct proto_rx *rx, uint8_t *type,
    const uint8_t **payload, uint32_t *len, int *fds, int max, int *nfds,
    int timeout_ms)
{
	struct timespec	 deadline;
	struct pollfd	 pfd;
	uint32_t	 err;
	int		 r, wait;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	for (;;) {
		r = proto_rx_frame_fds(rx, type, payload, len, fds, max, nfds,
		    &err);
		if (r == 1)
			return 1;
		if (r < 0) {
			errno = EPROTO;
			return -1;
		}
		r = proto_rx_read(rx, sock);
		if (r == 1)
			continue;
		if (r == 0) {
			if (proto_rx_pending(rx) == 0)
				return 0;
			errno = ECONNRESET;
			return -1;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		wait = timeout_ms < 0 ? -1 : proto_ms_left(&deadline);
		if (wait == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = sock;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
			return -1;
	}
}

/* Charge every allocation to the budget; refuse once it would overdraw. */
static void *
proto_budget_alloc(void *data, size_t size)
{
	struct proto_budget	*b = data;

	if (size > b->left || b->left - size < ALLOC_COST)
		return NULL;
	b->left -= size + ALLOC_COST;
	return malloc(size);
}

/* Frees go straight to free(3): the budget counts totals, not peaks. */
static void
proto_budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

/*
 * protobuf-c refuses field number 0 only when its tag is one byte; an
 * overlong one (80 00) is kept as an unknown field that would not unpack
 * again once packed.  Field 0 is invalid protobuf: refuse it at any depth
 * (the schema has no recursive messages, so depth is bounded).
 */
static int
proto_msg_valid(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor	*d = m->descriptor;
	const ProtobufCFieldDescriptor		*f;
	const ProtobufCMessage			*const *v;
	const char				*base = (const char *)m;
	size_t					 i, j, n;

	for (i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return 0;
	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			memcpy(&n, base + f->quantifier_offset, sizeof n);
			memcpy(&v, base + f->offset, sizeof v);
		} else {
			n = 1;
			v = (const ProtobufCMessage *const *)(const void *)
			    (base + f->offset);
		}
		for (j = 0; j < n; j++)
			if (v[j] != NULL && !proto_msg_valid(v[j]))
				return 0;
	}
	return 1;
}

/* Untrusted payloads must not make us allocate more than we allow. */
void *
proto_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *p,
    size_t len, size_t budget)
{
	static const uint8_t	 empty[1];
	struct proto_budget	 b;
	ProtobufCMessage	*m;

	if (d == NULL)
		return NULL;
	b.a.alloc = proto_budget_alloc;
	b.a.free = proto_budget_free;
	b.a.allocator_data = &b;
	b.left = budget;
	m = protobuf_c_message_unpack(d, &b.a, len, p != NULL ? p : empty);
	if (m != NULL && !proto_msg_valid(m)) {
		proto_free_unpacked(m);
		return NULL;
	}
	return m;
}

/* The message was malloc'ed piece by piece; free(3) gives it all back. */
void
proto_free_unpacked(void *msg)
{
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
}

/* Where daemon and clients meet by default, worked out in one place for
 * both: $MARCD_SOCKET, the user's runtime dir, else /run/marcd. */
const char *
marcd_default_socket(void)
{
	static char	 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char	*env = getenv("MARCD_SOCKET"), *xdg;

	if (env != NULL && *env != '\0')
		return env;
	xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg != NULL && *xdg == '/' &&
	    snprintf(path, sizeof(path), "%s/marcd.sock", xdg) <
	    (int)sizeof(path))
		return path;
	return "/run/marcd/marcd.sock";
}
