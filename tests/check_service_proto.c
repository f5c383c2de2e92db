/*
 * tests/check_service_proto.c: the marcd daemon against a hostile or
 * careless peer (raw frames on fresh connections), and its status and
 * statistics replies.  Each test starts its own marcd, as in
 * tests/check_service.c (tests/service_harness.c).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "marcd/marcd.h"
#include "proto.h"
#include "service_harness.h"

/* ------------------------------------------------------------------ */
/* Protocol abuse on raw connections. */

/* Send bytes as they are (the peer may have closed: no SIGPIPE). */
static void
raw_send(int fd, const void *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
	}
}

/* An 8-byte frame header. */
static void
raw_header(uint8_t h[PROTO_HDR_LEN], uint8_t version, uint8_t type,
    uint32_t len)
{
	h[0] = PROTO_MAGIC0;
	h[1] = PROTO_MAGIC1;
	h[2] = version;
	h[3] = type;
	h[4] = (uint8_t)len;
	h[5] = (uint8_t)(len >> 8);
	h[6] = (uint8_t)(len >> 16);
	h[7] = (uint8_t)(len >> 24);
}

/* Read one frame: 1 (type, error code if an Error), 0 EOF, -1 error;
 * *gotfd is the number of fds that came with it (closed here). */
static int
raw_recv(int fd, uint8_t *type, uint32_t *code, int *gotfd)
{
	struct proto_rx		 rx;
	const uint8_t		*payload;
	Marcd__Error		*e;
	uint32_t		 len;
	int			 rc, afd[PROTO_MAX_FDS], n = 0, i;

	proto_rx_init(&rx, PROTO_MAX_FRAME);
	rc = proto_recv_fds(fd, &rx, type, &payload, &len, afd, PROTO_MAX_FDS,
	    &n, 5000);
	if (rc == 1 && *type == PROTO_ERROR && code != NULL) {
		e = proto_unpack(&marcd__error__descriptor, payload, len,
		    PROTO_BUDGET(len));
		*code = e != NULL ? e->code : UINT32_MAX;
		proto_free_unpacked(e);
	}
	if (rc != 1)
		n = 0;
	if (gotfd != NULL)
		*gotfd = n;
	for (i = 0; i < n; i++)
		close(afd[i]);
	if (rc < 0 && errno == ETIMEDOUT)
		ck_abort_msg("no answer from marcd within 5 s");
	proto_rx_free(&rx);
	return rc;
}

/* Expect an Error frame with this code, then the connection closed. */
static void
expect_error_close(int fd, uint32_t want, const char *what)
{
	uint8_t		type = 0;
	uint32_t	code = 0;
	int		rc;

	rc = raw_recv(fd, &type, &code, NULL);
	ck_assert_msg(rc == 1 && type == PROTO_ERROR, "%s: no Error frame "
	    "(rc %d, type %u)", what, rc, type);
	ck_assert_msg(code == want, "%s: Error code %u, want %u", what, code,
	    want);
	rc = raw_recv(fd, &type, &code, NULL);
	ck_assert_msg(rc <= 0, "%s: connection still open (frame type %u)",
	    what, type);
	close(fd);
}

/* Send a packed message as one frame. */
static void
raw_msg(int fd, uint8_t type, const ProtobufCMessage *msg, int sendfd)
{
	ck_assert_int_eq(proto_send(fd, type, msg, sendfd), 0);
}

/* Say Hello and take the Welcome (and its arena and ring fds, closed
 * here). */
static void
raw_hello(int fd)
{
	Marcd__Hello	h = MARCD__HELLO__INIT;
	uint8_t		type;
	int		gotfd;

	h.protocol = PROTO_VERSION;
	h.tenant = (char *)"";
	h.client_name = (char *)"check_service";
	raw_msg(fd, PROTO_HELLO, &h.base, -1);
	ck_assert_int_eq(raw_recv(fd, &type, NULL, &gotfd), 1);
	ck_assert_uint_eq(type, PROTO_WELCOME);
	ck_assert_int_eq(gotfd, 2);
}

/* A normal client still gets a small inline batch back whole. */
static void
assert_daemon_serves(const struct daemon *d, const char *after)
{
	struct consume	 k;
	struct input	 part;
	marcd_client	*c;
	uint8_t		*buf;
	uint64_t	 id;
	int		 fd, rc;

	ck_assert_msg(kill(d->pid, 0) == 0, "marcd died after %s", after);
	part = g_small;
	part.n = 100;
	part.size = g_small.off[100];
	buf = malloc(part.size);
	fd = open(g_small.path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, part.size), (ssize_t)part.size);
	close(fd);
	c = client_connect(d);
	rc = marcd_submit_buffer(c, buf, part.size, NULL, &id);
	ck_assert_msg(rc == 0, "submit after %s: %s", after,
	    marcd_strerror(rc));
	consume_init(&k, &part);
	consume_batch(c, id, &k);
	consume_assert(&k, after);
	free(k.seen);
	free(buf);
	marcd_close(c);
}

/* Bad frames on fresh connections: an Error, a close, no harm done. */
START_TEST(test_protocol_abuse)
{
	static const char garbage[] = "GET / HTTP/1.1\r\nHost: marcd\r\n\r\n";
	Marcd__Submit		 sub = MARCD__SUBMIT__INIT;
	Marcd__StatsRequest	 sr = MARCD__STATS_REQUEST__INIT;
	Marcd__Hello		 h = MARCD__HELLO__INIT;
	Marcd__Release		 rel = MARCD__RELEASE__INIT;
	struct daemon		 d;
	struct sstat		 s;
	marcd_client		*c;
	uint8_t			 hdr[PROTO_HDR_LEN], type;
	uint32_t		 code, blocks[3] = { 0, 12345, UINT32_MAX };
	int			 fd, fd2, p[2], rc, i, fds[70];

	daemon_start(&d, 2, "8M", "1M");

	/* Garbage bytes. */
	fd = raw_connect(&d);
	raw_send(fd, garbage, sizeof(garbage) - 1);
	expect_error_close(fd, PROTO_E_BAD_FRAME, "garbage");
	assert_daemon_serves(&d, "garbage");

	/* A header announcing more than 4 MiB: refused before any payload. */
	fd = raw_connect(&d);
	raw_header(hdr, PROTO_VERSION, PROTO_HELLO, PROTO_MAX_FRAME + 1);
	raw_send(fd, hdr, sizeof(hdr));
	expect_error_close(fd, PROTO_E_TOO_LARGE, "length > 4 MiB");
	fd = raw_connect(&d);
	raw_header(hdr, PROTO_VERSION, PROTO_SUBMIT, UINT32_MAX);
	raw_send(fd, hdr, sizeof(hdr));
	expect_error_close(fd, PROTO_E_TOO_LARGE, "length 4 GiB");

	/* Unknown type 200 (an empty payload). */
	fd = raw_connect(&d);
	raw_header(hdr, PROTO_VERSION, 200, 0);
	raw_send(fd, hdr, sizeof(hdr));
	expect_error_close(fd, PROTO_E_UNKNOWN_TYPE, "type 200");

	/* Wrong version byte. */
	fd = raw_connect(&d);
	raw_header(hdr, PROTO_VERSION + 1, PROTO_HELLO, 0);
	raw_send(fd, hdr, sizeof(hdr));
	expect_error_close(fd, PROTO_E_BAD_VERSION, "version byte 2");

	/* Hello asking for a protocol from the future. */
	fd = raw_connect(&d);
	h.protocol = PROTO_VERSION + 1;
	h.tenant = (char *)"";
	h.client_name = (char *)"check_service";
	raw_msg(fd, PROTO_HELLO, &h.base, -1);
	expect_error_close(fd, PROTO_E_BAD_VERSION, "Hello protocol + 1");

	/* A payload that does not unpack (a truncated varint). */
	fd = raw_connect(&d);
	raw_header(hdr, PROTO_VERSION, PROTO_HELLO, 2);
	raw_send(fd, hdr, sizeof(hdr));
	raw_send(fd, "\x08\xff", 2);
	expect_error_close(fd, PROTO_E_BAD_MESSAGE, "bad protobuf");

	/* Submit before Hello. */
	fd = raw_connect(&d);
	sub.inline_data.data = (uint8_t *)"x";
	sub.inline_data.len = 1;
	sub.name = (char *)"early";
	raw_msg(fd, PROTO_SUBMIT, &sub.base, -1);
	expect_error_close(fd, PROTO_E_BAD_FRAME, "Submit before Hello");

	/* Hello twice. */
	fd = raw_connect(&d);
	raw_hello(fd);
	h.protocol = PROTO_VERSION;
	raw_msg(fd, PROTO_HELLO, &h.base, -1);
	expect_error_close(fd, PROTO_E_BAD_FRAME, "Hello twice");

	/* A frame the daemon sends, not takes (Welcome). */
	fd = raw_connect(&d);
	raw_hello(fd);
	raw_header(hdr, PROTO_VERSION, PROTO_WELCOME, 0);
	raw_send(fd, hdr, sizeof(hdr));
	expect_error_close(fd, PROTO_E_UNKNOWN_TYPE, "client sends Welcome");

	/* An fd on a frame that may not carry one. */
	fd = raw_connect(&d);
	raw_hello(fd);
	ck_assert_int_eq(pipe(p), 0);
	raw_msg(fd, PROTO_STATS_REQUEST, &sr.base, p[0]);
	expect_error_close(fd, PROTO_E_BAD_FRAME, "StatsRequest with an fd");
	close(p[0]);
	close(p[1]);

	/* Half a frame, then close; and half a frame left open meanwhile. */
	fd = raw_connect(&d);
	raw_header(hdr, PROTO_VERSION, PROTO_HELLO, 100);
	raw_send(fd, hdr, 5);
	close(fd);
	fd2 = raw_connect(&d);
	raw_send(fd2, hdr, sizeof(hdr));
	raw_send(fd2, "\x08", 1);
	assert_daemon_serves(&d, "half frames");
	close(fd2);

	/* Submit with a pipe: an Error, the connection may stay usable. */
	fd = raw_connect(&d);
	raw_hello(fd);
	ck_assert_int_eq(pipe(p), 0);
	memset(&sub, 0, sizeof(sub));
	marcd__submit__init(&sub);
	sub.name = (char *)"a pipe";
	raw_msg(fd, PROTO_SUBMIT, &sub.base, p[0]);
	close(p[0]);
	close(p[1]);
	rc = raw_recv(fd, &type, &code, NULL);
	ck_assert_msg(rc == 1 && type == PROTO_ERROR, "Submit of a pipe: no "
	    "Error frame (rc %d type %u)", rc, type);
	ck_assert_uint_eq(code, PROTO_E_BAD_MESSAGE);
	raw_msg(fd, PROTO_STATS_REQUEST, &sr.base, -1);
	rc = raw_recv(fd, &type, &code, NULL);
	ck_assert_msg(rc == 0 || (rc == 1 && type == PROTO_STATS),
	    "after the pipe Error: rc %d type %u", rc, type);
	/* Releasing blocks it does not hold changes nothing. */
	if (rc == 1) {
		rel.n_blocks = 3;
		rel.blocks = blocks;
		raw_msg(fd, PROTO_RELEASE, &rel.base, -1);
		raw_msg(fd, PROTO_STATS_REQUEST, &sr.base, -1);
		ck_assert_int_eq(raw_recv(fd, &type, &code, NULL), 1);
		ck_assert_uint_eq(type, PROTO_STATS);
	}
	close(fd);
	assert_daemon_serves(&d, "a pipe as a batch");

	/* More clients than rings: the 65th Hello is told BUSY; once they go,
	 * the rings are free again. */
	for (i = 0; i < 64; i++) {
		fds[i] = raw_connect(&d);
		raw_hello(fds[i]);
	}
	fd = raw_connect(&d);
	h.protocol = PROTO_VERSION;
	raw_msg(fd, PROTO_HELLO, &h.base, -1);
	expect_error_close(fd, PROTO_E_BUSY, "65th client");
	for (i = 0; i < 64; i++)
		close(fds[i]);
	sleep_ms(200);
	assert_daemon_serves(&d, "64 clients");

	/* A client that sends a flood and never reads does not stall others. */
	fd = raw_connect(&d);
	raw_hello(fd);
	for (i = 0; i < 20000; i++) {
		if (proto_send(fd, PROTO_STATS_REQUEST, &sr.base, -1) != 0)
			break;
	}
	assert_daemon_serves(&d, "a client that does not read");
	close(fd);

	c = client_connect(&d);
	stats_get(c, &s, NULL);
	for (i = 0; i < s.nworkers; i++)
		ck_assert_uint_eq(s.w[i].restarts, 0);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Status and statistics. */

/* BatchStatus and Stats of a finished batch. */
START_TEST(test_status_stats)
{
	struct marcd_batch_status	 bs;
	struct daemon			 d;
	struct consume			 k;
	struct sstat			 s;
	marcd_client			*c;
	marcd_chunk			*ch;
	char				*js;
	uint64_t			 id;
	int				 rc;

	daemon_start(&d, 2, "32M", "1M");
	c = client_connect(&d);
	stats_get(c, &s, &js);
	ck_assert_ptr_nonnull(strstr(js, "\"workers\""));
	ck_assert_ptr_nonnull(strstr(js, "\"uptime_ms\""));
	free(js);
	ck_assert_int_eq(s.nworkers, 2);
	ck_assert(s.w[0].pid > 0 && s.w[1].pid > 0);
	ck_assert_uint_eq(s.arena_size, 32 * MIB);
	ck_assert_uint_eq(s.arena_used, 0);
	ck_assert_uint_eq(s.clients, 1);

	rc = marcd_submit_file(c, g_small.path, NULL, &id);
	ck_assert_int_eq(rc, 0);
	consume_init(&k, &g_small);
	consume_batch(c, id, &k);
	consume_assert(&k, "status batch");
	free(k.seen);
	rc = marcd_batch_status(c, id, &bs);
	ck_assert_msg(rc == 0, "marcd_batch_status: %s", marcd_strerror(rc));
	ck_assert_uint_eq(bs.batch_id, id);
	ck_assert_uint_eq(bs.state, 2);
	ck_assert_uint_eq(bs.records, g_small.n);
	ck_assert_uint_eq(bs.bytes_total, g_small.size);
	ck_assert_uint_eq(bs.bytes_done, g_small.size);
	ck_assert_uint_eq(bs.slices_failed, 0);
	ck_assert_uint_eq(bs.slices_done, bs.slices_total);
	ck_assert_uint_eq(bs.slices_total,
	    (g_small.size + MARC_SLICE_SIZE - 1) / MARC_SLICE_SIZE);
	ck_assert_int_eq(marcd_batch_status(c, id + 1000, &bs),
	    MARCD_E_NOBATCH);
	ck_assert_int_eq(marcd_next_chunk(c, id + 1000, 0, &ch),
	    MARCD_E_NOBATCH);
	stats_get(c, &s, &js);
	ck_assert_msg(strstr(js, "\"records\":") != NULL, "%s", js);
	ck_assert_uint_ge(s.w[0].chunks + s.w[1].chunks, bs.slices_total);
	free(js);
	ck_assert_msg(stats_wait_arena_free(c, 5000, &s), "arena_used %llu",
	    (unsigned long long)s.arena_used);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */

/* The suite, with time limits sized for ASan on two cores. */
static Suite *
proto_suite(void)
{
	Suite	*s = suite_create("service_proto");
	TCase	*tc;

	tc = tcase_create("protocol");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_protocol_abuse);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_status_stats);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the protocol tests; they need the small input only. */
int
main(void)
{
	return harness_main(proto_suite, 0);
}
