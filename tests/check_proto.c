/*
 * tests/check_proto.c: frames, fds and budgeted unpacking of the wire
 * protocol (common/proto.c) over socketpairs.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "fdpass.h"
#include "marcd/marcd.h"
#include "proto.h"

/* The fuzz target itself replays its regressions (test_fuzz_regressions). */
#include "../fuzz/fuzz_frame.c"

#define BIG	(64u * 1024 * 1024)	/* budget that never runs out here */

/* Leak checks compare open fds before and after. */
static int
open_fds(void)
{
	int	n = fd_count(getpid());

	ck_assert_int_ge(n, 0);
	return n - 1;	/* the listing's own fd */
}

/* A socketpair both tests and the fd tests start from. */
static void
pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
}

/* A memfd holding s, to pass around as a batch or an arena. */
static int
memfd_with(const char *s)
{
	int	fd;

	fd = memfd_create("check_proto", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	return fd;
}

/* Read what a received fd holds, from offset 0. */
static void
fd_content(int fd, char *out, size_t n)
{
	ssize_t	r;

	r = pread(fd, out, n - 1, 0);
	ck_assert_int_ge(r, 0);
	out[r] = '\0';
}

/*
 * Send msg as type over a fresh socketpair, receive it, check the frame,
 * unpack it and check that it packs to the same bytes; returns the copy.
 */
static void *
round_trip(uint8_t type, const ProtobufCMessage *msg)
{
	struct proto_rx	 rx;
	struct mbuf	 a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	const uint8_t	*payload;
	uint32_t	 len;
	uint8_t		 t;
	void		*copy;
	int		 sv[2], fd;

	pair(sv);
	ck_assert_int_eq(proto_send(sv[0], type, msg, -1), 0);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 1000),
	    1);
	ck_assert_int_eq(t, type);
	ck_assert_int_eq(fd, -1);
	copy = proto_unpack(proto_descriptor(type), payload, len, BIG);
	ck_assert_ptr_nonnull(copy);
	ck_assert_int_eq(proto_pack(&a, type, msg), 0);
	ck_assert_int_eq(proto_pack(&b, type, copy), 0);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(a.p, b.p, a.len), 0);
	ck_assert_uint_eq(a.len, PROTO_HDR_LEN + len);
	mbuf_free(&a);
	mbuf_free(&b);
	proto_rx_free(&rx);
	close(sv[0]);
	close(sv[1]);
	return copy;
}

START_TEST(test_header_bytes)
{
	Marcd__Cancel	 m = MARCD__CANCEL__INIT;
	struct mbuf	 b = { NULL, 0, 0 };

	m.batch_id = 300;	/* 0x08 0xac 0x02 */
	ck_assert_int_eq(proto_pack(&b, PROTO_CANCEL, &m.base), 0);
	ck_assert_uint_eq(b.len, 11);
	ck_assert_int_eq(b.p[0], 'M');
	ck_assert_int_eq(b.p[1], 'D');
	ck_assert_int_eq(b.p[2], 2);
	ck_assert_int_eq(b.p[3], PROTO_CANCEL);
	ck_assert_int_eq(b.p[4], 3);
	ck_assert_int_eq(b.p[5] | b.p[6] | b.p[7], 0);
	ck_assert_int_eq(b.p[8], 0x08);
	ck_assert_int_eq(b.p[9], 0xac);
	ck_assert_int_eq(b.p[10], 0x02);
	mbuf_free(&b);
}
END_TEST

START_TEST(test_pack_refuses)
{
	Marcd__Cancel	 c = MARCD__CANCEL__INIT;
	Marcd__Submit	 s = MARCD__SUBMIT__INIT;
	struct mbuf	 b = { NULL, 0, 0 };
	static uint8_t	 big[PROTO_MAX_FRAME + 1];

	/* A message under another type's number. */
	ck_assert_int_eq(proto_pack(&b, PROTO_HELLO, &c.base), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* A payload over the cap. */
	s.inline_data.data = big;
	s.inline_data.len = sizeof big;
	ck_assert_int_eq(proto_pack(&b, PROTO_SUBMIT, &s.base), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(b.len, 0);
	/* No message: an empty payload. */
	ck_assert_int_eq(proto_pack(&b, PROTO_STATS_REQUEST, NULL), 0);
	ck_assert_uint_eq(b.len, PROTO_HDR_LEN);
	mbuf_free(&b);
}
END_TEST

START_TEST(test_round_trip_client)
{
	Marcd__Hello		 h = MARCD__HELLO__INIT, *h2;
	Marcd__Submit		 s = MARCD__SUBMIT__INIT, *s2;
	Marcd__Release		 r = MARCD__RELEASE__INIT, *r2;
	Marcd__StatusRequest	 q = MARCD__STATUS_REQUEST__INIT, *q2;
	Marcd__Cancel		 c = MARCD__CANCEL__INIT, *c2;
	Marcd__StatsRequest	 sr = MARCD__STATS_REQUEST__INIT, *sr2;
	uint32_t		 blocks[] = { 0, 7, 300, 4000000000u };
	uint8_t			 data[] = "00026nam a2200025 a 4500\x1e\x1d";

	h.protocol = PROTO_VERSION;
	h.tenant = "library";
	h.client_name = "check_proto";
	h2 = round_trip(PROTO_HELLO, &h.base);
	ck_assert_uint_eq(h2->protocol, 2);
	ck_assert_str_eq(h2->tenant, "library");
	ck_assert_str_eq(h2->client_name, "check_proto");
	proto_free_unpacked(h2);

	s.charset = MARCD__CHARSET__CHARSET_MARC8;
	s.ordered = 1;
	s.inline_data.data = data;
	s.inline_data.len = sizeof data - 1;
	s.name = "batch.mrc";
	s.size_hint = 1ULL << 40;
	s2 = round_trip(PROTO_SUBMIT, &s.base);
	ck_assert_uint_eq(s2->charset, 1);
	ck_assert(s2->ordered);
	ck_assert_uint_eq(s2->inline_data.len, sizeof data - 1);
	ck_assert_mem_eq(s2->inline_data.data, data, sizeof data - 1);
	ck_assert_str_eq(s2->name, "batch.mrc");
	ck_assert_uint_eq(s2->size_hint, 1ULL << 40);
	proto_free_unpacked(s2);

	r.blocks = blocks;
	r.n_blocks = 4;
	r2 = round_trip(PROTO_RELEASE, &r.base);
	ck_assert_uint_eq(r2->n_blocks, 4);
	ck_assert_uint_eq(r2->blocks[2], 300);
	ck_assert_uint_eq(r2->blocks[3], 4000000000u);
	proto_free_unpacked(r2);

	q.batch_id = UINT64_MAX;
	q2 = round_trip(PROTO_STATUS_REQUEST, &q.base);
	ck_assert_uint_eq(q2->batch_id, UINT64_MAX);
	proto_free_unpacked(q2);

	c.batch_id = 42;
	c2 = round_trip(PROTO_CANCEL, &c.base);
	ck_assert_uint_eq(c2->batch_id, 42);
	proto_free_unpacked(c2);

	sr2 = round_trip(PROTO_STATS_REQUEST, &sr.base);
	ck_assert_ptr_eq(sr2->base.descriptor, &marcd__stats_request__descriptor);
	proto_free_unpacked(sr2);
}
END_TEST

START_TEST(test_round_trip_daemon)
{
	Marcd__Welcome		 w = MARCD__WELCOME__INIT, *w2;
	Marcd__Accepted		 a = MARCD__ACCEPTED__INIT, *a2;
	Marcd__BatchStatus	 b = MARCD__BATCH_STATUS__INIT, *b2;
	Marcd__Stats		 s = MARCD__STATS__INIT, *s2;
	Marcd__WorkerStats	 ws[2] = { MARCD__WORKER_STATS__INIT,
				    MARCD__WORKER_STATS__INIT };
	Marcd__WorkerStats	*wp[2] = { &ws[0], &ws[1] };
	Marcd__TenantStats	 ts = MARCD__TENANT_STATS__INIT;
	Marcd__TenantStats	*tp[1] = { &ts };
	Marcd__Error		 e = MARCD__ERROR__INIT, *e2;

	w.protocol = 1;
	w.layout_version = 1;
	w.arena_size = 1ULL << 33;
	w.block_size = 1 << 20;
	w.nblocks = 8192;
	w.ring = 3;
	w.workers = 2;
	w.tenant = "library";
	w.max_frame = PROTO_MAX_FRAME;
	w2 = round_trip(PROTO_WELCOME, &w.base);
	ck_assert_uint_eq(w2->arena_size, 1ULL << 33);
	ck_assert_uint_eq(w2->ring, 3);
	ck_assert_uint_eq(w2->max_frame, PROTO_MAX_FRAME);
	ck_assert_str_eq(w2->tenant, "library");
	proto_free_unpacked(w2);

	a.batch_id = 9;
	a.bytes = 123456789;
	a2 = round_trip(PROTO_ACCEPTED, &a.base);
	ck_assert_uint_eq(a2->batch_id, 9);
	ck_assert_uint_eq(a2->bytes, 123456789);
	proto_free_unpacked(a2);

	b.batch_id = 9;
	b.state = MARCD__BATCH_STATE__BATCH_FAILED;
	b.bytes_total = 10;
	b.bytes_done = 5;
	b.slices_total = 4;
	b.slices_done = 2;
	b.records = 77;
	b.errors = 3;
	b.slices_failed = 1;
	b.error = "worker 1 died";
	b2 = round_trip(PROTO_BATCH_STATUS, &b.base);
	ck_assert_uint_eq(b2->state, 3);
	ck_assert_uint_eq(b2->slices_failed, 1);
	ck_assert_str_eq(b2->error, "worker 1 died");
	proto_free_unpacked(b2);

	ws[0].id = 0;
	ws[0].pid = 1234;
	ws[0].busy = 1;
	ws[1].id = 1;
	ws[1].pid = -1;
	ws[1].restarts = 2;
	ws[1].bytes = 1ULL << 36;
	ts.name = "library";
	ts.records_per_sec = 12345.5;
	ts.arena_used = 77;
	s.uptime_ms = 99;
	s.workers = wp;
	s.n_workers = 2;
	s.tenants = tp;
	s.n_tenants = 1;
	s2 = round_trip(PROTO_STATS, &s.base);
	ck_assert_uint_eq(s2->n_workers, 2);
	ck_assert_int_eq(s2->workers[1]->pid, -1);
	ck_assert_uint_eq(s2->workers[1]->bytes, 1ULL << 36);
	ck_assert(s2->workers[0]->busy);
	ck_assert_uint_eq(s2->n_tenants, 1);
	ck_assert_str_eq(s2->tenants[0]->name, "library");
	ck_assert_double_eq(s2->tenants[0]->records_per_sec, 12345.5);
	proto_free_unpacked(s2);

	e.code = PROTO_E_NO_SUCH_BATCH;
	e.text = "no batch 9";
	e2 = round_trip(PROTO_ERROR, &e.base);
	ck_assert_uint_eq(e2->code, PROTO_E_NO_SUCH_BATCH);
	ck_assert_str_eq(e2->text, "no batch 9");
	proto_free_unpacked(e2);
}
END_TEST

START_TEST(test_fd_with_frame)
{
	Marcd__Submit	 s = MARCD__SUBMIT__INIT, *s2;
	Marcd__Welcome	 w = MARCD__WELCOME__INIT;
	struct proto_rx	 rx;
	const uint8_t	*payload;
	uint32_t	 len;
	uint8_t		 t;
	char		 got[64];
	int		 sv[2], mfd, fd, before = open_fds();

	pair(sv);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	mfd = memfd_with("records go here");
	s.name = "memfd";
	ck_assert_int_eq(proto_send(sv[0], PROTO_SUBMIT, &s.base, mfd), 0);
	close(mfd);
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 1000),
	    1);
	ck_assert_int_eq(t, PROTO_SUBMIT);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	fd_content(fd, got, sizeof got);
	ck_assert_str_eq(got, "records go here");
	close(fd);
	s2 = proto_unpack(&marcd__submit__descriptor, payload, len, 4096);
	ck_assert_ptr_nonnull(s2);
	ck_assert_str_eq(s2->name, "memfd");
	proto_free_unpacked(s2);

	/* Welcome carries the arena the same way. */
	mfd = memfd_with("arena");
	ck_assert_int_eq(proto_send(sv[1], PROTO_WELCOME, &w.base, mfd), 0);
	close(mfd);
	proto_rx_free(&rx);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_recv(sv[0], &rx, &t, &payload, &len, &fd, 1000),
	    1);
	ck_assert_int_eq(t, PROTO_WELCOME);
	fd_content(fd, got, sizeof got);
	ck_assert_str_eq(got, "arena");
	close(fd);

	proto_rx_free(&rx);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(open_fds(), before);
}
END_TEST

/* Welcome brings two fds (the arena and the client's ring), in order;
 * Submit may not, and nothing leaks either way. */
START_TEST(test_two_fds)
{
	Marcd__Welcome	 w = MARCD__WELCOME__INIT;
	Marcd__Submit	 s = MARCD__SUBMIT__INIT;
	struct mbuf	 b = { NULL, 0, 0 };
	struct proto_rx	 rx;
	const uint8_t	*payload;
	uint32_t	 len;
	uint8_t		 t;
	char		 got[64];
	int		 sv[2], m[2], fds[PROTO_MAX_FDS], n, fd;
	int		 before = open_fds();

	pair(sv);
	m[0] = memfd_with("arena");
	m[1] = memfd_with("ring");
	ck_assert_int_eq(proto_pack(&b, PROTO_WELCOME, &w.base), 0);
	ck_assert_int_eq(proto_write_fds(sv[1], b.p, b.len, m, 2),
	    (ssize_t)b.len);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_recv_fds(sv[0], &rx, &t, &payload, &len, fds,
	    PROTO_MAX_FDS, &n, 1000), 1);
	ck_assert_int_eq(t, PROTO_WELCOME);
	ck_assert_int_eq(n, 2);
	fd_content(fds[0], got, sizeof got);
	ck_assert_str_eq(got, "arena");
	fd_content(fds[1], got, sizeof got);
	ck_assert_str_eq(got, "ring");
	close(fds[0]);
	close(fds[1]);
	proto_rx_free(&rx);

	/* The one-fd receiver cannot take both: a protocol error. */
	ck_assert_int_eq(proto_write_fds(sv[1], b.p, b.len, m, 2),
	    (ssize_t)b.len);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	errno = 0;
	ck_assert_int_eq(proto_recv(sv[0], &rx, &t, &payload, &len, &fd,
	    1000), -1);
	ck_assert_int_eq(errno, EPROTO);
	proto_rx_free(&rx);
	mbuf_free(&b);

	/* Two fds with a Submit: refused. */
	ck_assert_int_eq(proto_pack(&b, PROTO_SUBMIT, &s.base), 0);
	ck_assert_int_eq(proto_write_fds(sv[0], b.p, b.len, m, 2),
	    (ssize_t)b.len);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	errno = 0;
	ck_assert_int_eq(proto_recv_fds(sv[1], &rx, &t, &payload, &len, fds,
	    PROTO_MAX_FDS, &n, 1000), -1);
	ck_assert_int_eq(errno, EPROTO);
	proto_rx_free(&rx);
	mbuf_free(&b);
	errno = 0;
	ck_assert_int_eq(proto_write_fds(sv[0], "x", 1, m, PROTO_MAX_FDS + 1),
	    -1);
	ck_assert_int_eq(errno, EINVAL);
	close(m[0]);
	close(m[1]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(open_fds(), before);
}
END_TEST

/* Frames sent one by one but read at once: each fd goes to its own frame. */
START_TEST(test_fd_goes_to_its_frame)
{
	Marcd__Submit	 s = MARCD__SUBMIT__INIT;
	Marcd__Cancel	 c = MARCD__CANCEL__INIT;
	struct proto_rx	 rx;
	const uint8_t	*payload;
	uint32_t	 len, err;
	uint8_t		 t;
	char		 got[64];
	int		 sv[2], m1, m2, fd, before = open_fds();

	pair(sv);
	m1 = memfd_with("one");
	m2 = memfd_with("two");
	ck_assert_int_eq(proto_send(sv[0], PROTO_CANCEL, &c.base, -1), 0);
	ck_assert_int_eq(proto_send(sv[0], PROTO_SUBMIT, &s.base, m1), 0);
	ck_assert_int_eq(proto_send(sv[0], PROTO_CANCEL, &c.base, -1), 0);
	ck_assert_int_eq(proto_send(sv[0], PROTO_SUBMIT, &s.base, -1), 0);
	ck_assert_int_eq(proto_send(sv[0], PROTO_SUBMIT, &s.base, m2), 0);
	close(m1);
	close(m2);

	proto_rx_init(&rx, PROTO_MAX_FRAME);
	while (proto_rx_read(&rx, sv[1]) == 1)
		continue;
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 1);
	ck_assert_int_eq(t, PROTO_CANCEL);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 1);
	ck_assert_int_eq(t, PROTO_SUBMIT);
	fd_content(fd, got, sizeof got);
	ck_assert_str_eq(got, "one");
	close(fd);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 1);
	ck_assert_int_eq(t, PROTO_CANCEL);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 1);
	ck_assert_int_eq(t, PROTO_SUBMIT);
	ck_assert_int_eq(fd, -1);
	/* Not taken by the caller: the decoder closes it. */
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, NULL, &err),
	    1);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 0);
	proto_rx_free(&rx);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(open_fds(), before);
}
END_TEST

/* Send p[0..n) with nfds (<= 32) fds in one sendmsg, as no sane peer does. */
static void
send_fds(int sock, const void *p, size_t n, const int *fds, int nfds)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(32 * sizeof(int))];
	} u;

	memset(&msg, 0, sizeof msg);
	memset(&u, 0, sizeof u);
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.b;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &msg, 0), (ssize_t)n);
}

/* An fd on a frame that carries none, or two on one: all closed, error. */
START_TEST(test_fd_misplaced)
{
	Marcd__Cancel	 c = MARCD__CANCEL__INIT;
	struct proto_rx	 rx;
	struct mbuf	 b = { NULL, 0, 0 };
	const uint8_t	*payload;
	uint32_t	 len, err = 0;
	uint8_t		 t;
	int		 sv[2], fds[2], many[32], fd, i, j, k, before;
	const int	 counts[3] = { 2, PROTO_RX_MAXFDS + 2, 32 };

	pair(sv);
	before = open_fds();
	fds[0] = memfd_with("x");
	ck_assert_int_eq(proto_send(sv[0], PROTO_CANCEL, &c.base, fds[0]), 0);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_rx_read(&rx, sv[1]), 1);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err),
	    -1);
	ck_assert_int_eq(err, PROTO_E_BAD_FRAME);
	ck_assert_int_eq(fd, -1);
	/* The error sticks. */
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err),
	    -1);
	proto_rx_free(&rx);
	close(fds[0]);
	ck_assert_int_eq(open_fds(), before);

	/* Two fds with one Submit (fed as one read). */
	ck_assert_int_eq(proto_pack(&b, PROTO_SUBMIT, NULL), 0);
	fds[0] = memfd_with("a");
	fds[1] = memfd_with("b");
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_rx_feed(&rx, b.p, b.len, fds, 2), 0);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err),
	    -1);
	ck_assert_int_eq(err, PROTO_E_BAD_FRAME);
	ck_assert(!fd_open(fds[0]) && !fd_open(fds[1]));
	proto_rx_free(&rx);
	ck_assert_int_eq(open_fds(), before);

	/*
	 * Several fds in one sendmsg: 2, more than the queue holds, more
	 * than the control buffer holds (cut by the kernel): all closed.
	 */
	for (k = 0; k < 3; k++) {
		for (i = 0; i < counts[k]; i++)
			many[i] = memfd_with("c");
		send_fds(sv[0], b.p, b.len, many, counts[k]);
		for (i = 0; i < counts[k]; i++)
			close(many[i]);
		proto_rx_init(&rx, PROTO_MAX_FRAME);
		ck_assert_int_eq(proto_rx_read(&rx, sv[1]), 1);
		ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd,
		    &err), -1);
		ck_assert_int_eq(err, PROTO_E_BAD_FRAME);
		ck_assert_int_eq(fd, -1);
		proto_rx_free(&rx);
		ck_assert_int_eq(open_fds(), before);
	}

	/* Queued fds not yet claimed are closed by proto_rx_free. */
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	for (j = 0; j < 2; j++)
		fds[j] = memfd_with("d");
	ck_assert_int_eq(proto_rx_feed(&rx, b.p, 3, fds, 2), 0);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 0);
	proto_rx_free(&rx);
	ck_assert(!fd_open(fds[0]) && !fd_open(fds[1]));

	mbuf_free(&b);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(open_fds(), before - 2);
}
END_TEST

/* Three frames, fed one byte at a time, come out whole and in order. */
START_TEST(test_byte_by_byte)
{
	Marcd__Hello	 h = MARCD__HELLO__INIT, *h2;
	Marcd__Cancel	 c = MARCD__CANCEL__INIT;
	struct proto_rx	 rx;
	struct mbuf	 b = { NULL, 0, 0 };
	const uint8_t	*payload;
	uint32_t	 len, err;
	uint8_t		 t, types[3];
	size_t		 i;
	int		 sv[2], n = 0, fd, r;

	h.tenant = "t";
	c.batch_id = 5;
	ck_assert_int_eq(proto_pack(&b, PROTO_HELLO, &h.base), 0);
	ck_assert_int_eq(proto_pack(&b, PROTO_STATS_REQUEST, NULL), 0);
	ck_assert_int_eq(proto_pack(&b, PROTO_CANCEL, &c.base), 0);

	proto_rx_init(&rx, PROTO_MAX_FRAME);
	for (i = 0; i < b.len; i++) {
		ck_assert_int_eq(proto_rx_feed(&rx, b.p + i, 1, NULL, 0), 0);
		while ((r = proto_rx_frame(&rx, &t, &payload, &len, &fd,
		    &err)) == 1) {
			ck_assert_int_lt(n, 3);
			types[n++] = t;
			if (t == PROTO_HELLO) {
				h2 = proto_unpack(&marcd__hello__descriptor,
				    payload, len, 4096);
				ck_assert_ptr_nonnull(h2);
				ck_assert_str_eq(h2->tenant, "t");
				proto_free_unpacked(h2);
			}
		}
		ck_assert_int_eq(r, 0);
	}
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(types[0], PROTO_HELLO);
	ck_assert_int_eq(types[1], PROTO_STATS_REQUEST);
	ck_assert_int_eq(types[2], PROTO_CANCEL);
	ck_assert_uint_eq(proto_rx_pending(&rx), 0);
	proto_rx_free(&rx);

	/* The same through a socket, written one byte per write. */
	pair(sv);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	n = 0;
	for (i = 0; i < b.len; i++) {
		ck_assert_int_eq(write(sv[0], b.p + i, 1), 1);
		ck_assert_int_eq(proto_rx_read(&rx, sv[1]), 1);
		while (proto_rx_frame(&rx, &t, &payload, &len, &fd, &err) == 1)
			types[n++] = t;
	}
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(types[2], PROTO_CANCEL);
	close(sv[0]);
	ck_assert_int_eq(proto_rx_read(&rx, sv[1]), 0);
	proto_rx_free(&rx);
	close(sv[1]);
	mbuf_free(&b);
}
END_TEST

/* Several frames in one write come out of one read. */
START_TEST(test_many_in_one_read)
{
	Marcd__Accepted	 a = MARCD__ACCEPTED__INIT, *a2;
	struct proto_rx	 rx;
	struct mbuf	 b = { NULL, 0, 0 };
	const uint8_t	*payload;
	uint32_t	 len, err;
	uint8_t		 t;
	int		 sv[2], i, fd;

	for (i = 0; i < 50; i++) {
		a.batch_id = (uint64_t)i;
		ck_assert_int_eq(proto_pack(&b, PROTO_ACCEPTED, &a.base), 0);
	}
	pair(sv);
	ck_assert_int_eq(write(sv[0], b.p, b.len), (ssize_t)b.len);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_rx_read(&rx, sv[1]), 1);
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd,
		    &err), 1);
		ck_assert_int_eq(t, PROTO_ACCEPTED);
		a2 = proto_unpack(&marcd__accepted__descriptor, payload, len,
		    4096);
		ck_assert_ptr_nonnull(a2);
		ck_assert_uint_eq(a2->batch_id, (uint64_t)i);
		proto_free_unpacked(a2);
	}
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 0);
	proto_rx_free(&rx);
	close(sv[0]);
	close(sv[1]);
	mbuf_free(&b);
}
END_TEST

/* A frame near the cap needs a writer that runs while we read. */
START_TEST(test_large_frame)
{
	Marcd__Submit	 s = MARCD__SUBMIT__INIT, *s2;
	struct proto_rx	 rx;
	const uint8_t	*payload;
	uint32_t	 len;
	uint8_t		 t, *data;
	size_t		 n = PROTO_MAX_FRAME - 64, i;
	pid_t		 pid;
	int		 sv[2], fd, status;

	data = malloc(n);
	ck_assert_ptr_nonnull(data);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7);
	s.inline_data.data = data;
	s.inline_data.len = n;
	pair(sv);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[1]);
		_exit(proto_send(sv[0], PROTO_SUBMIT, &s.base, -1) == 0 ? 0 :
		    1);
	}
	close(sv[0]);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 10000),
	    1);
	ck_assert_int_eq(t, PROTO_SUBMIT);
	s2 = proto_unpack(&marcd__submit__descriptor, payload, len,
	    PROTO_BUDGET(len));
	ck_assert_ptr_nonnull(s2);
	ck_assert_uint_eq(s2->inline_data.len, n);
	ck_assert_int_eq(memcmp(s2->inline_data.data, data, n), 0);
	proto_free_unpacked(s2);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Peer gone between frames: a clean EOF. */
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 1000),
	    0);
	proto_rx_free(&rx);
	close(sv[1]);
	free(data);
}
END_TEST

/* Feed raw header bytes and expect the error code they deserve. */
static uint32_t
bad_header(const uint8_t *h, size_t n, uint32_t max)
{
	struct proto_rx	 rx;
	const uint8_t	*payload;
	uint32_t	 len, err = 0;
	uint8_t		 t;
	int		 fd;

	proto_rx_init(&rx, max);
	ck_assert_int_eq(proto_rx_feed(&rx, h, n, NULL, 0), 0);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err),
	    -1);
	proto_rx_free(&rx);
	return err;
}

START_TEST(test_bad_headers)
{
	const uint8_t	magic[] = { 'M', 'X', 1, 1, 0, 0, 0, 0 };
	const uint8_t	version[] = { 'M', 'D', PROTO_VERSION + 1, 1, 0, 0, 0,
			    0 };
	const uint8_t	big[] = { 'M', 'D', PROTO_VERSION, 3, 1, 0, 0x40, 0 };

	ck_assert_uint_eq(bad_header(magic, sizeof magic, PROTO_MAX_FRAME),
	    PROTO_E_BAD_FRAME);
	/* Caught before the header is whole. */
	ck_assert_uint_eq(bad_header((const uint8_t *)"X", 1, PROTO_MAX_FRAME),
	    PROTO_E_BAD_FRAME);
	ck_assert_uint_eq(bad_header(version, sizeof version, PROTO_MAX_FRAME),
	    PROTO_E_BAD_VERSION);
	/* 4 MiB + 1 over a 4 MiB cap, and a smaller cap. */
	ck_assert_uint_eq(bad_header(big, sizeof big, PROTO_MAX_FRAME),
	    PROTO_E_TOO_LARGE);
	ck_assert_uint_eq(bad_header(version, sizeof version, 0),
	    PROTO_E_BAD_VERSION);
	ck_assert_uint_eq(bad_header(magic + 4, 4, 0), PROTO_E_BAD_FRAME);
}
END_TEST

/* A length of exactly the cap is fine: the decoder waits for the rest. */
START_TEST(test_length_at_cap)
{
	const uint8_t	 h[] = { 'M', 'D', PROTO_VERSION, PROTO_SUBMIT, 0, 0, 0x40, 0 };
	struct proto_rx	 rx;
	const uint8_t	*payload;
	uint32_t	 len, err;
	uint8_t		 t;
	int		 fd;

	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_rx_feed(&rx, h, sizeof h, NULL, 0), 0);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 0);
	proto_rx_free(&rx);
}
END_TEST

/* A 4 GiB header over the socket: refused, and no buffer grows for it. */
START_TEST(test_too_large_no_alloc)
{
	const uint8_t	 h[] = { 'M', 'D', PROTO_VERSION, PROTO_SUBMIT, 0xff, 0xff, 0xff,
			    0xff, 1, 2, 3 };
	struct proto_rx	 rx;
	const uint8_t	*payload;
	uint32_t	 len, err = 0;
	uint8_t		 t;
	int		 sv[2], fd;

	pair(sv);
	ck_assert_int_eq(write(sv[0], h, sizeof h), (ssize_t)sizeof h);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_rx_read(&rx, sv[1]), 1);
	ck_assert_uint_le(rx.cap, 64 * 1024);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err),
	    -1);
	ck_assert_uint_eq(err, PROTO_E_TOO_LARGE);
	/* Nothing more is read from that peer. */
	ck_assert_int_eq(proto_rx_read(&rx, sv[1]), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_uint_le(rx.cap, 64 * 1024);
	proto_rx_free(&rx);

	/* A blocking client sees EPROTO. */
	ck_assert_int_eq(write(sv[0], h, sizeof h), (ssize_t)sizeof h);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 1000),
	    -1);
	ck_assert_int_eq(errno, EPROTO);
	proto_rx_free(&rx);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Unknown types come back to the caller, and the stream goes on. */
START_TEST(test_unknown_type)
{
	Marcd__Cancel	 c = MARCD__CANCEL__INIT;
	struct proto_rx	 rx;
	const uint8_t	*payload;
	uint32_t	 len, err;
	uint8_t		 t;
	int		 sv[2], fd;

	pair(sv);
	c.batch_id = 1;
	ck_assert_int_eq(proto_send(sv[0], 200, &c.base, -1), 0);
	ck_assert_int_eq(proto_send(sv[0], 0, NULL, -1), 0);
	ck_assert_int_eq(proto_send(sv[0], PROTO_CANCEL, &c.base, -1), 0);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 1000),
	    1);
	ck_assert_int_eq(t, 200);
	ck_assert_uint_eq(len, 2);
	ck_assert_ptr_null(proto_descriptor(t));
	ck_assert_str_eq(proto_type_name(t), "unknown");
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 1000),
	    1);
	ck_assert_int_eq(t, 0);
	ck_assert_ptr_null(proto_descriptor(t));
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 1);
	ck_assert_int_eq(t, PROTO_CANCEL);
	ck_assert_str_eq(proto_type_name(t), "cancel");
	proto_rx_free(&rx);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A peer that stops mid-frame: EOF with bytes pending. */
START_TEST(test_truncated_then_eof)
{
	Marcd__Hello	 h = MARCD__HELLO__INIT;
	struct proto_rx	 rx;
	struct mbuf	 b = { NULL, 0, 0 };
	const uint8_t	*payload;
	uint32_t	 len, err;
	uint8_t		 t;
	int		 sv[2], fd;

	h.tenant = "tenant-name";
	ck_assert_int_eq(proto_pack(&b, PROTO_HELLO, &h.base), 0);
	pair(sv);
	ck_assert_int_eq(write(sv[0], b.p, b.len - 3), (ssize_t)b.len - 3);
	close(sv[0]);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_rx_read(&rx, sv[1]), 1);
	ck_assert_int_eq(proto_rx_frame(&rx, &t, &payload, &len, &fd, &err), 0);
	ck_assert_int_eq(proto_rx_read(&rx, sv[1]), 0);
	ck_assert_uint_eq(proto_rx_pending(&rx), b.len - 3);
	proto_rx_free(&rx);
	close(sv[1]);

	/* proto_recv says so. */
	pair(sv);
	ck_assert_int_eq(write(sv[0], b.p, b.len - 1), (ssize_t)b.len - 1);
	close(sv[0]);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 1000),
	    -1);
	ck_assert_int_eq(errno, ECONNRESET);
	proto_rx_free(&rx);
	close(sv[1]);
	mbuf_free(&b);
}
END_TEST

START_TEST(test_recv_timeout)
{
	struct proto_rx	 rx;
	const uint8_t	*payload;
	uint32_t	 len;
	uint8_t		 t;
	int		 sv[2], fd;

	pair(sv);
	proto_rx_init(&rx, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 50),
	    -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(write(sv[0], "MD", 2), 2);
	ck_assert_int_eq(proto_recv(sv[1], &rx, &t, &payload, &len, &fd, 0),
	    -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	proto_rx_free(&rx);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A reader that never takes its frames is stopped, not fed forever. */
START_TEST(test_read_bounded)
{
	struct mbuf	 b = { NULL, 0, 0 };
	struct proto_rx	 rx;
	int		 sv[2], i, r;

	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(proto_pack(&b, PROTO_STATS_REQUEST, NULL), 0);
	pair(sv);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_gt(write(sv[0], b.p, b.len), 32 * 1024);
	proto_rx_init(&rx, 64);
	while ((r = proto_rx_read(&rx, sv[1])) == 1)
		continue;
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, ENOBUFS);
	ck_assert_uint_le(proto_rx_pending(&rx), 64 + 8 + 16 * 1024);
	proto_rx_free(&rx);
	close(sv[0]);
	close(sv[1]);
	mbuf_free(&b);
}
END_TEST

START_TEST(test_unpack_garbage)
{
	const uint8_t	bad_wire[] = { 0x0f };			/* type 7 */
	const uint8_t	short_str[] = { 0x12, 0x05, 'a' };	/* len 5 */
	const uint8_t	cut_varint[] = { 0x08, 0x80 };
	const uint8_t	long_varint[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
			    0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	const uint8_t	bad_sub[] = { 0x12, 0x02, 0x0a, 0x05 };
	const uint8_t	zero_tag[] = { 0x08, 0x01, 0x80, 0x00, 0x00 };
	const uint8_t	zero_sub[] = { 0x12, 0x03, 0x80, 0x00, 0x00 };
	const uint8_t	unknown[] = { 0x08, 0x01, 0xa0, 0x06, 0x01 };
	Marcd__Hello	*h;

	ck_assert_ptr_null(proto_unpack(&marcd__hello__descriptor, bad_wire,
	    sizeof bad_wire, BIG));
	ck_assert_ptr_null(proto_unpack(&marcd__hello__descriptor, short_str,
	    sizeof short_str, BIG));
	ck_assert_ptr_null(proto_unpack(&marcd__cancel__descriptor, cut_varint,
	    sizeof cut_varint, BIG));
	ck_assert_ptr_null(proto_unpack(&marcd__cancel__descriptor,
	    long_varint, sizeof long_varint, BIG));
	ck_assert_ptr_null(proto_unpack(&marcd__stats__descriptor, bad_sub,
	    sizeof bad_sub, BIG));
	ck_assert_ptr_null(proto_unpack(NULL, bad_wire, 1, BIG));
	/* Field number 0, as an overlong tag, at the top and in a Stats. */
	ck_assert_ptr_null(proto_unpack(&marcd__hello__descriptor, zero_tag,
	    sizeof zero_tag, BIG));
	ck_assert_ptr_null(proto_unpack(&marcd__stats__descriptor, zero_sub,
	    sizeof zero_sub, BIG));
	/* A field from a later version (100) is kept aside, not refused. */
	h = proto_unpack(&marcd__hello__descriptor, unknown, sizeof unknown,
	    BIG);
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->protocol, 1);
	ck_assert_uint_eq(h->base.n_unknown_fields, 1);
	proto_free_unpacked(h);
}
END_TEST

/* 100k WorkerStats expand far beyond their bytes: the budget says no. */
START_TEST(test_unpack_budget)
{
	Marcd__Stats		 s = MARCD__STATS__INIT, *s2;
	Marcd__WorkerStats	*w, **wp;
	Marcd__Release		*r;
	struct mbuf		 b = { NULL, 0, 0 };
	uint32_t		*blocks;
	size_t			 i, n = 100000, plen;

	w = calloc(n, sizeof *w);
	wp = calloc(n, sizeof *wp);
	ck_assert(w != NULL && wp != NULL);
	for (i = 0; i < n; i++) {
		marcd__worker_stats__init(&w[i]);
		w[i].id = (uint32_t)i;
		wp[i] = &w[i];
	}
	s.workers = wp;
	s.n_workers = n;
	ck_assert_int_eq(proto_pack(&b, PROTO_STATS, &s.base), 0);
	plen = b.len - PROTO_HDR_LEN;
	ck_assert_uint_lt(plen, 600 * 1024);
	ck_assert_ptr_null(proto_unpack(&marcd__stats__descriptor,
	    b.p + PROTO_HDR_LEN, plen, 1024 * 1024));
	ck_assert_ptr_null(proto_unpack(&marcd__stats__descriptor,
	    b.p + PROTO_HDR_LEN, plen, PROTO_BUDGET(plen)));
	s2 = proto_unpack(&marcd__stats__descriptor, b.p + PROTO_HDR_LEN, plen,
	    BIG);
	ck_assert_ptr_nonnull(s2);
	ck_assert_uint_eq(s2->n_workers, n);
	ck_assert_uint_eq(s2->workers[n - 1]->id, n - 1);
	proto_free_unpacked(s2);
	free(w);
	free(wp);

	/* The budget for client messages fits an honest Release. */
	blocks = calloc(n, sizeof *blocks);
	ck_assert_ptr_nonnull(blocks);
	{
		Marcd__Release	rel = MARCD__RELEASE__INIT;

		for (i = 0; i < n; i++)
			blocks[i] = (uint32_t)(i % 100);
		rel.blocks = blocks;
		rel.n_blocks = n;
		b.len = 0;
		ck_assert_int_eq(proto_pack(&b, PROTO_RELEASE, &rel.base), 0);
	}
	plen = b.len - PROTO_HDR_LEN;
	r = proto_unpack(&marcd__release__descriptor, b.p + PROTO_HDR_LEN,
	    plen, PROTO_BUDGET(plen));
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->n_blocks, n);
	ck_assert_uint_eq(r->blocks[n - 1], (n - 1) % 100);
	proto_free_unpacked(r);
	ck_assert_ptr_null(proto_unpack(&marcd__release__descriptor,
	    b.p + PROTO_HDR_LEN, plen, 4 * n));
	free(blocks);
	mbuf_free(&b);
}
END_TEST

/* Inputs the fuzzer once broke us with: tests/data/fuzz-regressions/frame-*. */
START_TEST(test_fuzz_regressions)
{
	char		 path[4096];
	uint8_t		*buf;
	DIR		*d;
	struct dirent	*e;
	FILE		*f;
	size_t		 n;
	int		 count = 0;

	d = opendir(SRCDIR "/tests/data/fuzz-regressions");
	ck_assert_ptr_nonnull(d);
	buf = malloc(1 << 20);
	ck_assert_ptr_nonnull(buf);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "frame-", 6) != 0)
			continue;
		snprintf(path, sizeof path, "%s/tests/data/fuzz-regressions/%s",
		    SRCDIR, e->d_name);
		f = fopen(path, "rb");
		ck_assert_msg(f != NULL, "%s", path);
		n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		ck_assert_int_eq(LLVMFuzzerTestOneInput(buf, n), 0);
		count++;
	}
	closedir(d);
	free(buf);
	ck_assert_int_ge(count, 1);
}
END_TEST

/* More descriptors than the receiver takes are closed, and it is told. */
START_TEST(test_fdpass_extra_closed)
{
	int		 sv[2], fds[3], got[1], nfds, cut, before, i;
	char		 c = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_ge(fds[i] = dup(0), 0);
	before = open_fds();
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, fds, 3, 0), 1);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	ck_assert_int_eq(fdpass_recv(sv[1], &c, 1, 0, got, 1, &nfds, &cut),
	    1);
	ck_assert_int_eq(c, 'x');
	ck_assert_int_eq(nfds, 1);
	ck_assert_int_eq(cut, 1);
	ck_assert_int_ne(fcntl(got[0], F_GETFD) & FD_CLOEXEC, 0);
	close(got[0]);
	/* The three sent are closed above; only the one taken came in. */
	ck_assert_int_eq(open_fds(), before - 3);
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, fds, FDPASS_MAX + 1, 0),
	    -1);
	ck_assert_int_eq(errno, EINVAL);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Daemon and library find the default socket the same way, and a runtime
 * dir too long for a socket path falls back to /run/marcd. */
START_TEST(test_default_socket)
{
	char	 longdir[200];

	setenv("MARCD_SOCKET", "/tmp/x.sock", 1);
	ck_assert_str_eq(marcd_default_socket(), "/tmp/x.sock");
	unsetenv("MARCD_SOCKET");
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	ck_assert_str_eq(marcd_default_socket(), "/run/user/1000/marcd.sock");
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	setenv("XDG_RUNTIME_DIR", longdir, 1);
	ck_assert_str_eq(marcd_default_socket(), "/run/marcd/marcd.sock");
	setenv("XDG_RUNTIME_DIR", "relative", 1);
	ck_assert_str_eq(marcd_default_socket(), "/run/marcd/marcd.sock");
}
END_TEST

/* The public header's version is configure's, the one version number. */
START_TEST(test_version_one)
{
	ck_assert_str_eq(MARCD_VERSION, PACKAGE_VERSION);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite	*s = suite_create("proto");
	TCase	*tc;

	tc = tcase_create("pack");
	tcase_add_test(tc, test_header_bytes);
	tcase_add_test(tc, test_pack_refuses);
	tcase_add_test(tc, test_round_trip_client);
	tcase_add_test(tc, test_round_trip_daemon);
	suite_add_tcase(s, tc);

	tc = tcase_create("fds");
	tcase_add_test(tc, test_fd_with_frame);
	tcase_add_test(tc, test_two_fds);
	tcase_add_test(tc, test_fd_goes_to_its_frame);
	tcase_add_test(tc, test_fd_misplaced);
	tcase_add_test(tc, test_fdpass_extra_closed);
	tcase_add_test(tc, test_default_socket);
	tcase_add_test(tc, test_version_one);
	suite_add_tcase(s, tc);

	tc = tcase_create("decoder");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_byte_by_byte);
	tcase_add_test(tc, test_many_in_one_read);
	tcase_add_test(tc, test_large_frame);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_length_at_cap);
	tcase_add_test(tc, test_too_large_no_alloc);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_truncated_then_eof);
	tcase_add_test(tc, test_recv_timeout);
	tcase_add_test(tc, test_read_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("unpack");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_unpack_garbage);
	tcase_add_test(tc, test_unpack_budget);
	tcase_add_test(tc, test_fuzz_regressions);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return check_run(proto_suite());
}
