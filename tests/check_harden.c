/*
 * tests/check_harden.c: the marcd daemon against clients that misuse it
 * and workers that misbehave: batches that must not leak while their
 * client stays, floods and forged log lines, stuck and sandboxed workers,
 * inputs that change under the daemon.  Each test starts its own marcd
 * (tests/service_harness.c).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <grp.h>
#include <dirent.h>
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

#define LOG_BURST	5	/* complaints of a kind the daemon logs per uid
				 * in a window (daemon/daemon.h LOG_RATE_BURST) */

/* ------------------------------------------------------------------ */
/* Helpers. */

/* The first n records of the small input, in memory, and as an input. */
static uint8_t *
small_prefix(size_t n, struct input *part)
{
	uint8_t	*buf;
	int	 fd;

	ck_assert_uint_le(n, g_small.n - 1);
	*part = g_small;
	part->n = n;
	part->size = g_small.off[n];
	buf = malloc(part->size);
	ck_assert_ptr_nonnull(buf);
	fd = open(g_small.path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, part->size), (ssize_t)part->size);
	close(fd);
	return buf;
}

/* Send a packed message as one frame (0, or -1 if the peer is gone). */
static int
raw_msg(int fd, uint8_t type, const ProtobufCMessage *msg, int sendfd)
{
	return proto_send(fd, type, msg, sendfd);
}

/* Read one frame within ms: 1 (with its type and Error code), 0, -1;
 * a Welcome's two fds (arena, ring) are closed. */
static int
raw_recv(int fd, uint8_t *type, uint32_t *code, int ms)
{
	struct proto_rx		 rx;
	const uint8_t		*payload;
	Marcd__Error		*e;
	uint32_t		 len;
	int			 rc, i, nfds = 0, afd[2];

	proto_rx_init(&rx, PROTO_MAX_FRAME);
	rc = proto_recv_fds(fd, &rx, type, &payload, &len, afd, 2, &nfds, ms);
	if (rc == 1 && *type == PROTO_ERROR && code != NULL) {
		e = proto_unpack(&marcd__error__descriptor, payload, len,
		    PROTO_BUDGET(len));
		*code = e != NULL ? e->code : UINT32_MAX;
		proto_free_unpacked(e);
	}
	for (i = 0; i < nfds; i++)
		close(afd[i]);
	proto_rx_free(&rx);
	return rc;
}

/* A Hello asking for this tenant on a fresh connection: its fd, or -1
 * (no Check call: children use it). */
static int
raw_hello(const struct daemon *d, const char *tenant)
{
	Marcd__Hello		h = MARCD__HELLO__INIT;
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(d->sock) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, d->sock, strlen(d->sock));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	h.protocol = PROTO_VERSION;
	h.tenant = (char *)tenant;
	h.client_name = (char *)"check_harden";
	(void)raw_msg(fd, PROTO_HELLO, &h.base, -1);
	return fd;
}

/* Child: become nobody for good (no Check call after this). */
static void
become_nobody(void)
{
	if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
	    setuid(65534) != 0 || setuid(0) == 0)
		_exit(90);
}

/* Lines of the daemon log that begin with this. */
static int
log_starts(const struct daemon *d, const char *prefix)
{
	char	 line[4096];
	FILE	*f;
	int	 n = 0;

	if ((f = fopen(d->log, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			n++;
	fclose(f);
	return n;
}

/* Submit bytes and take the batch back whole, checked. */
static void
run_buffer(marcd_client *c, const uint8_t *buf, const struct input *part,
    const char *what)
{
	struct consume	k;
	uint64_t	id;
	int		rc;

	rc = marcd_submit_buffer(c, buf, part->size, NULL, &id);
	ck_assert_msg(rc == 0, "%s: submit: %s: %s", what, marcd_strerror(rc),
	    marcd_last_error(c));
	consume_init(&k, part);
	consume_batch(c, id, &k);
	consume_assert(&k, what);
	free(k.seen);
}

/* ------------------------------------------------------------------ */
/* A long-lived client's finished batches are freed. */

#define MANY_BATCHES	3000

/* One connection, thousands of small batches: the daemon's fds stay flat,
 * and a finished batch still answers a status request. */
START_TEST(test_batches_freed)
{
	struct marcd_batch_status	 st;
	struct daemon			 d;
	struct input			 part;
	marcd_client			*c;
	uint8_t				*buf;
	uint64_t			 id = 0;
	int				 i, fd0 = -1, fd1, rc;

	daemon_start(&d, 2, "8M", "64K");
	buf = small_prefix(3, &part);
	c = client_connect(&d);
	for (i = 0; i < MANY_BATCHES; i++) {
		struct consume k;

		rc = marcd_submit_buffer(c, buf, part.size, NULL, &id);
		ck_assert_msg(rc == 0, "batch %d: submit: %s: %s", i,
		    marcd_strerror(rc), marcd_last_error(c));
		consume_init(&k, &part);
		consume_batch(c, id, &k);
		consume_assert(&k, "small batch");
		free(k.seen);
		if (i == 100)
			fd0 = fd_count(d.pid);
	}
	fd1 = fd_count(d.pid);
	ck_assert_int_gt(fd0, 0);
	ck_assert_msg(fd1 <= fd0 + 4, "marcd had %d fds after 100 batches, "
	    "%d after %d", fd0, fd1, MANY_BATCHES);
	rc = marcd_batch_status(c, id, &st);
	ck_assert_msg(rc == 0, "status of the last batch: %s",
	    marcd_strerror(rc));
	ck_assert_uint_eq(st.state, 2);	/* done */
	ck_assert_uint_eq(st.records, part.n);
	marcd_close(c);
	free(buf);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A client that floods the daemon with frames. */

#define FLOOD_FRAMES	8192
#define FLOOD_IDS	4096

/* Child: attach, then stream empty Releases and Releases of blocks it
 * does not hold, as fast as the socket takes them, until killed. */
static void
flood_child(const struct daemon *d)
{
	Marcd__Release	 r = MARCD__RELEASE__INIT;
	struct mbuf	 out = { 0 };
	uint32_t	*ids, code;
	uint8_t		 type;
	int		 fd, i;

	if ((fd = raw_hello(d, "")) < 0 || raw_recv(fd, &type, &code,
	    5000) != 1 || type != PROTO_WELCOME)
		_exit(94);
	if ((ids = calloc(FLOOD_IDS, sizeof(*ids))) == NULL)
		_exit(95);
	for (i = 0; i < FLOOD_IDS; i++)
		ids[i] = 1000000u + (uint32_t)i;
	for (i = 0; i < FLOOD_FRAMES; i++)
		if (proto_pack(&out, PROTO_RELEASE, NULL) != 0)
			_exit(96);
	r.n_blocks = FLOOD_IDS;
	r.blocks = ids;
	if (proto_pack(&out, PROTO_RELEASE, &r.base) != 0)
		_exit(97);
	for (;;) {
		size_t	off = 0;
		ssize_t	n;

		while (off < out.len) {
			n = send(fd, out.p + off, out.len - off, MSG_NOSIGNAL);
			if (n <= 0)
				_exit(0);
			off += (size_t)n;
		}
	}
}

/* One client streams frames: another still gets its batches back fast,
 * and the log holds a few complaints, not one per bad id. */
START_TEST(test_flood)
{
	struct daemon	 d;
	struct input	 part;
	marcd_client	*c;
	uint8_t		*buf;
	uint64_t	 t0, worst = 0, dt;
	struct stat	 st;
	pid_t		 pid;
	int		 i, n;

	daemon_start(&d, 2, "8M", "64K");
	buf = small_prefix(3, &part);
	c = client_connect(&d);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		flood_child(&d);
	sleep_ms(500);
	for (i = 0; i < 20; i++) {
		t0 = now_ms();
		run_buffer(c, buf, &part, "batch during a flood");
		if ((dt = now_ms() - t0) > worst)
			worst = dt;
	}
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	marcd_close(c);
	free(buf);
	printf("flood: worst batch %llu ms\n", (unsigned long long)worst);
	ck_assert_msg(worst < 2000, "a 3-record batch took %llu ms during "
	    "a flood", (unsigned long long)worst);
	n = file_count(d.log, "released block");
	ck_assert_msg(n >= 1 && n <= 2 * LOG_BURST, "%d bad releases logged",
	    n);
	ck_assert_int_eq(stat(d.log, &st), 0);
	ck_assert_msg(st.st_size < 64 * 1024, "log of %lld bytes",
	    (long long)st.st_size);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Strings from peers in the log. */

#define EVIL	"x\nmarcd[1]: warning: forged\n<2>forged too"
#define REFUSALS	300

/* A user in no tenant cannot forge log lines nor flood the log with
 * refusals; a tenant's batch name is escaped too. */
START_TEST(test_log_injection)
{
	struct daemon_opts		 o = { .workers = 1, .arena = "8M",
	    .block = "64K", .config = "[tenant:only]\nusers = root\n" };
	struct marcd_submit_opts	 so = { .name = EVIL };
	struct daemon			 d;
	struct input			 part;
	struct consume			 k;
	marcd_client			*c;
	uint8_t				*buf, type;
	uint64_t			 id;
	pid_t				 pid;
	int				 status, i, fd, n, rc;

	daemon_start_opts(&d, &o);
	ck_assert_int_eq(chmod(g_root, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		become_nobody();
		for (i = 0; i < REFUSALS; i++) {
			if ((fd = raw_hello(&d, i % 2 ? EVIL : "")) < 0)
				_exit(92);
			if (raw_recv(fd, &type, NULL, 5000) != 1 ||
			    type != PROTO_ERROR)
				_exit(91);
			close(fd);
		}
		/* After the window, the count of what was left out. */
		sleep_ms(5300);
		if ((fd = raw_hello(&d, EVIL)) < 0)
			_exit(93);
		(void)raw_recv(fd, &type, NULL, 5000);
		close(fd);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "nobody's child: status 0x%x", status);

	buf = small_prefix(3, &part);
	c = client_connect(&d);
	rc = marcd_submit_buffer(c, buf, part.size, &so, &id);
	ck_assert_int_eq(rc, 0);
	consume_init(&k, &part);
	consume_batch(c, id, &k);
	consume_assert(&k, "named batch");
	free(k.seen);
	marcd_close(c);
	free(buf);

	ck_assert_int_eq(log_starts(&d, "marcd[1]"), 0);
	ck_assert_int_eq(log_starts(&d, "<2>"), 0);
	ck_assert_int_eq(log_starts(&d, "forged"), 0);
	n = file_count(d.log, "refused pid");
	ck_assert_msg(n >= 2 && n <= 12, "%d refusals logged of %d", n,
	    REFUSALS + 1);
	ck_assert_int_eq(file_count(d.log, "more like this suppressed"), 1);
	ck_assert_int_ge(file_count(d.log, "x\\x0amarcd[1]: warning: "
	    "forged\\x0a\\x3c2>forged too"), 2);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Small holes: groups, the socket path, fd modes, root, ids, limits. */

/* Child: nobody in 100 groups asks for the tenant of the 91st. */
static void
groups_child(const struct daemon *d)
{
	gid_t	g[100];
	uint8_t	type;
	int	i, fd;

	for (i = 0; i < 100; i++)
		g[i] = 70000 + (gid_t)i;
	if (setgroups(100, g) != 0 || setgid(65534) != 0 ||
	    setuid(65534) != 0)
		_exit(90);
	if ((fd = raw_hello(d, "many")) < 0)
		_exit(91);
	_exit(raw_recv(fd, &type, NULL, 5000) == 1 && type == PROTO_WELCOME ?
	    0 : 92);
}

/* A user in more than 64 groups still gets in through the last ones. */
START_TEST(test_many_groups)
{
	struct daemon_opts	o = { .workers = 1, .arena = "8M",
	    .block = "64K", .config = "[tenant:many]\ngroups = 70090\n" };
	struct daemon		d;
	pid_t			pid;
	int			status;

	daemon_start_opts(&d, &o);
	ck_assert_int_eq(chmod(g_root, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		groups_child(&d);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a user in 100 groups was not let in by its 91st (status 0x%x)",
	    status);
	daemon_finish(&d);
}
END_TEST

/* --socket naming a regular file: marcd refuses to start, the file stays. */
START_TEST(test_socket_not_a_socket)
{
	char		 dir[192], path[256], line[64];
	uint64_t	 t0;
	FILE		*f;
	pid_t		 pid;
	int		 status, null;

	snprintf(dir, sizeof(dir), "%s/sock.XXXXXX", g_root);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/precious", dir);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("keep me\n", f);
	ck_assert_int_eq(fclose(f), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		dup2(null, STDERR_FILENO);
		execl(marcd_bin(), "marcd", "--socket", path, "--workers", "1",
		    "--arena-size", "8M", "--block-size", "64K", (char *)NULL);
		_exit(127);
	}
	t0 = now_ms();
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (now_ms() - t0 > 10000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("marcd started on a regular file");
		}
		sleep_ms(20);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "marcd status 0x%x on a regular file", status);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "marcd removed %s", path);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_str_eq(line, "keep me\n");
}
END_TEST

/* An fd open for writing only, or as a path only, is refused at Submit
 * with a clear error; the client goes on. */
START_TEST(test_submit_fd_modes)
{
	static const int	 modes[] = { O_WRONLY, O_PATH };
	struct daemon		 d;
	struct input		 part;
	marcd_client		*c;
	uint8_t			*buf;
	uint64_t		 id;
	size_t			 i;
	int			 fd, rc;

	daemon_start(&d, 1, "8M", "64K");
	c = client_connect(&d);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		fd = open(g_small.path, modes[i] | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		rc = marcd_submit_fd(c, fd, NULL, &id);
		close(fd);
		ck_assert_msg(rc != 0, "an fd of mode 0x%x was accepted",
		    modes[i]);
		ck_assert_msg(strstr(marcd_last_error(c), "reading") != NULL,
		    "refusal '%s'", marcd_last_error(c));
	}
	buf = small_prefix(3, &part);
	run_buffer(c, buf, &part, "after refused fds");
	free(buf);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* Root in no tenant still attaches and sees every tenant's statistics;
 * batch ids do not count submissions. */
START_TEST(test_root_and_ids)
{
	struct daemon_opts	 o = { .workers = 1, .arena = "8M",
	    .block = "64K", .config = "[tenant:other]\nusers = 12345\n" };
	struct daemon		 d;
	struct input		 part;
	struct consume		 k;
	marcd_client		*c;
	uint8_t			*buf;
	uint64_t		 id[3];
	char			*json = NULL;
	int			 i;

	daemon_start_opts(&d, &o);
	c = client_connect(&d);
	ck_assert_int_eq(marcd_stats_json(c, &json), 0);
	ck_assert_msg(strstr(json, "\"other\"") != NULL, "root's stats: %s",
	    json);
	free(json);
	buf = small_prefix(3, &part);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(marcd_submit_buffer(c, buf, part.size, NULL,
		    &id[i]), 0);
		consume_init(&k, &part);
		consume_batch(c, id[i], &k);
		consume_assert(&k, "root's batch");
		free(k.seen);
	}
	printf("batch ids %llx %llx %llx\n", (unsigned long long)id[0],
	    (unsigned long long)id[1], (unsigned long long)id[2]);
	ck_assert_msg(id[1] - id[0] != id[2] - id[1] && id[0] > 1000,
	    "batch ids %llu %llu %llu count submissions",
	    (unsigned long long)id[0], (unsigned long long)id[1],
	    (unsigned long long)id[2]);
	free(buf);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* Child: nobody takes rings of its tenant until refused; exit code: the
 * number it got, 0 if the refusal was not a Busy Error. */
static void
rings_child(const struct daemon *d)
{
	uint32_t	code;
	uint8_t		type;
	int		fd, n;

	become_nobody();
	for (n = 0; n < 64; n++) {
		if ((fd = raw_hello(d, "")) < 0 ||
		    raw_recv(fd, &type, &code, 5000) != 1)
			_exit(0);
		if (type == PROTO_ERROR)
			_exit(code == PROTO_E_BUSY ? n : 0);
	}
	_exit(n);
}

/* One uid cannot take all the rings of its tenant; the connection over
 * the limit of pending ones gets an Error frame, not a bare close. */
START_TEST(test_limits)
{
	struct daemon_opts	o = { .workers = 1, .arena = "8M",
	    .block = "64K", .config = "[tenant:t]\nusers = root, nobody\n" };
	struct daemon		d;
	uint32_t		code = 0;
	uint8_t			type = 0;
	pid_t			pid;
	int			fds[16], i, fd, status, rc;

	daemon_start_opts(&d, &o);
	ck_assert_int_eq(chmod(g_root, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		rings_child(&d);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) > 0 &&
	    WEXITSTATUS(status) < 64, "one uid took %d rings (status 0x%x)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1, status);
	for (i = 0; i < 16; i++)
		fds[i] = raw_connect(&d);
	sleep_ms(200);
	fd = raw_connect(&d);
	rc = raw_recv(fd, &type, &code, 5000);
	ck_assert_msg(rc == 1 && type == PROTO_ERROR && code == PROTO_E_BUSY,
	    "the 17th connection without Hello: rc %d type %u code %u", rc,
	    type, code);
	close(fd);
	for (i = 0; i < 16; i++)
		close(fds[i]);
	daemon_finish(&d);
}
END_TEST

/* An attached client that holds nothing and says nothing is closed after
 * the idle time, with an Error; one holding a chunk is not. */
START_TEST(test_idle_close)
{
	struct daemon	 d;
	struct consume	 k;
	marcd_client	*c;
	marcd_chunk	*ch;
	uint64_t	 id;
	uint32_t	 code = 0;
	uint8_t		 type = 0;
	int		 fd, rc;

	ck_assert_int_eq(setenv("MARCD_TEST_IDLE_MS", "1000", 1), 0);
	daemon_start(&d, 1, "8M", "64K");
	ck_assert_int_eq(unsetenv("MARCD_TEST_IDLE_MS"), 0);
	fd = raw_hello(&d, "");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(raw_recv(fd, &type, &code, 5000), 1);
	ck_assert_uint_eq(type, PROTO_WELCOME);
	c = client_connect(&d);
	ck_assert_int_eq(marcd_submit_file(c, g_small.path, NULL, &id), 0);
	ck_assert_int_eq(marcd_next_chunk(c, id, NEXT_TIMEOUT, &ch), 1);
	/* Both silent: the raw one holds nothing, c holds a chunk. */
	rc = raw_recv(fd, &type, &code, 5000);
	ck_assert_msg(rc == 1 && type == PROTO_ERROR && code == PROTO_E_BUSY,
	    "an idle client: rc %d, frame %u, code %u", rc, type, code);
	ck_assert_int_le(raw_recv(fd, &type, &code, 5000), 0);
	close(fd);
	consume_init(&k, &g_small);
	consume_chunk(&k, ch);
	marcd_chunk_release(c, ch);
	consume_batch(c, id, &k);
	consume_assert(&k, "a client that held a chunk while idle");
	free(k.seen);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

#define IDLE_CLIENTS	16

/* Clients that each sent one big frame and went idle leave the daemon
 * with no big buffers. */
START_TEST(test_idle_buffers)
{
	struct daemon_opts	 o = { .workers = 1, .arena = "8M",
	    .block = "64K", .asan = "quarantine_size_mb=0" };
	Marcd__Submit		 sub = MARCD__SUBMIT__INIT;
	struct daemon		 d;
	struct mem		 m0, m1;
	uint32_t		 code;
	uint8_t			 type, *big;
	size_t			 len = 3u << 20;
	int			 fds[IDLE_CLIENTS], i;

	daemon_start_opts(&d, &o);
	big = calloc(1, len);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < IDLE_CLIENTS; i++) {
		fds[i] = raw_hello(&d, "");
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(raw_recv(fds[i], &type, &code, 5000), 1);
		ck_assert_uint_eq(type, PROTO_WELCOME);
	}
	sleep_ms(200);
	proc_mem(d.pid, &m0);
	/* A bad charset: refused, and the connection stays. */
	sub.charset = 99;
	sub.inline_data.data = big;
	sub.inline_data.len = len;
	for (i = 0; i < IDLE_CLIENTS; i++) {
		ck_assert_int_eq(raw_msg(fds[i], PROTO_SUBMIT, &sub.base, -1),
		    0);
		ck_assert_int_eq(raw_recv(fds[i], &type, &code, 5000), 1);
		ck_assert_uint_eq(code, PROTO_E_BAD_MESSAGE);
	}
	sleep_ms(200);
	proc_mem(d.pid, &m1);
	printf("idle buffers: RssAnon %ld KiB before, %ld KiB after %d "
	    "frames of %zu bytes\n", m0.anon, m1.anon, IDLE_CLIENTS, len);
	ck_assert_msg(m1.anon - m0.anon < (long)(IDLE_CLIENTS * len / 4096),
	    "the daemon kept %ld KiB after %d idle clients' big frames",
	    m1.anon - m0.anon, IDLE_CLIENTS);
	for (i = 0; i < IDLE_CLIENTS; i++)
		close(fds[i]);
	free(big);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* What workers hold. */

/* Assert that a worker holds stdio and one socket, nothing else. */
static void
assert_worker_fds(long pid, const char *what)
{
	struct dirent	*de;
	char		 path[64], link[256], fds[1024] = "";
	ssize_t		 n;
	DIR		*d;
	int		 fd, socks = 0, others = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%ld/fd/%d", pid, fd);
		if ((n = readlink(path, link, sizeof(link) - 1)) < 0)
			continue;
		link[n] = '\0';
		snprintf(fds + strlen(fds), sizeof(fds) - strlen(fds), " %d:%s",
		    fd, link);
		if (fd <= 2)
			continue;
		if (strncmp(link, "socket:", 7) == 0)
			socks++;
		else
			others++;
	}
	closedir(d);
	ck_assert_msg(socks == 1 && others == 0, "%s worker %ld holds%s",
	    what, pid, fds);
}

/* Workers, first ones and respawned ones while batches are open, hold
 * only stdio and their task socket. */
START_TEST(test_worker_fds)
{
	struct daemon	 d;
	struct consume	 k[3];
	marcd_client	*c;
	uint64_t	 id[3];
	long		 pids[MAX_WORKERS * 2];
	int		 n, i;

	daemon_start(&d, 2, "8M", "64K");
	n = proc_children(d.pid, pids, MAX_WORKERS * 2);
	ck_assert_int_eq(n, 2);
	for (i = 0; i < n; i++)
		assert_worker_fds(pids[i], "a first");
	/* Batches held open: the arena fills, their fds stay open. */
	c = client_connect(&d);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(marcd_submit_file(c, g_small.path, NULL,
		    &id[i]), 0);
	sleep_ms(500);
	for (i = 0; i < n; i++)
		kill((pid_t)pids[i], SIGKILL);
	sleep_ms(1000);
	ck_assert_int_eq(proc_children(d.pid, pids, MAX_WORKERS * 2), 2);
	/* An idle worker has no task, so no batch fd. */
	for (i = 0; i < 3; i++) {
		consume_init(&k[i], &g_small);
		consume_batch(c, id[i], &k[i]);
		consume_assert(&k[i], "batch around worker kills");
		free(k[i].seen);
	}
	sleep_ms(200);
	for (i = 0; i < 2; i++)
		assert_worker_fds(pids[i], "a respawned");
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* A worker made to open a file (the daemon's test hook, for batches of
 * one size) is killed by its sandbox; the chunk fails cleanly after its
 * retry, and the next batch is served whole. */
START_TEST(test_sandbox)
{
	struct daemon	 d;
	struct input	 probe, next;
	struct consume	 k;
	marcd_client	*c;
	uint8_t		*pbuf, *nbuf;
	char		 size[32];
	uint64_t	 id, took;

	pbuf = small_prefix(3, &probe);
	nbuf = small_prefix(5, &next);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)probe.size);
	ck_assert_int_eq(setenv("MARCD_TEST_SANDBOX_SIZE", size, 1), 0);
	daemon_start(&d, 2, "8M", "64K");
	ck_assert_int_eq(unsetenv("MARCD_TEST_SANDBOX_SIZE"), 0);
	c = client_connect(&d);
	ck_assert_int_eq(marcd_submit_buffer(c, pbuf, probe.size, NULL, &id),
	    0);
	consume_init(&k, &probe);
	consume_batch(c, id, &k);
	ck_assert_msg(k.rc == 0, "the probe batch ended with %d", k.rc);
	ck_assert_msg(k.failed == 1 && k.nrec == 0, "the probe batch: %llu "
	    "chunk-failed, %llu records", (unsigned long long)k.failed,
	    (unsigned long long)k.nrec);
	free(k.seen);
	run_buffer(c, nbuf, &next, "the batch after a sandbox kill");
	ck_assert_int_ge(file_count(d.log, "killed by signal 31"), 2);
	marcd_close(c);
	free(pbuf);
	free(nbuf);
	/* The log has the kills this test made: only the rest is checked. */
	ck_assert_int_eq(file_count(d.log, "Sanitizer"), 0);
	ck_assert_int_eq(file_count(d.log, "runtime error"), 0);
	ck_assert_int_eq(file_count(d.log, "fatal"), 0);
	ck_assert_int_eq(daemon_term(&d, 5000, &took), 0);
	daemon_kill(&d);
}
END_TEST

/* A worker stopped mid-batch (SIGSTOP) is killed at its task's deadline
 * and the batch still comes back whole; the log says why. */
START_TEST(test_stopped_worker)
{
	struct daemon	 d;
	struct consume	 k;
	marcd_client	*c;
	marcd_chunk	*ch;
	long		 pids[MAX_WORKERS * 2];
	uint64_t	 id;
	int		 n;

	ck_assert_int_eq(setenv("MARCD_TEST_TASK_MS", "2000", 1), 0);
	daemon_start(&d, 2, "8M", "64K");
	ck_assert_int_eq(unsetenv("MARCD_TEST_TASK_MS"), 0);
	n = proc_children(d.pid, pids, MAX_WORKERS * 2);
	ck_assert_int_eq(n, 2);
	c = client_connect(&d);
	ck_assert_int_eq(marcd_submit_file(c, g_small.path, NULL, &id), 0);
	consume_init(&k, &g_small);
	k.timeout_ms = 25000;
	ck_assert_int_eq(marcd_next_chunk(c, id, k.timeout_ms, &ch), 1);
	consume_chunk(&k, ch);
	marcd_chunk_release(c, ch);
	/* One worker stops for good, busy or about to be given work. */
	ck_assert_int_eq(kill((pid_t)pids[0], SIGSTOP), 0);
	consume_batch(c, id, &k);
	consume_assert(&k, "a batch with a stopped worker");
	free(k.seen);
	ck_assert_int_eq(file_count(d.log, "made no progress"), 1);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* Child: note when each WATCHDOG=1 arrives on the notify socket, in ms
 * since start, one per line, until killed. */
static void
watchdog_listener(int sock, const char *out, uint64_t t0)
{
	char	 buf[512];
	ssize_t	 n;
	FILE	*f;

	if ((f = fopen(out, "we")) == NULL)
		_exit(90);
	setvbuf(f, NULL, _IOLBF, 0);
	while ((n = recv(sock, buf, sizeof(buf) - 1, 0)) >= 0) {
		buf[n] = '\0';
		if (strstr(buf, "WATCHDOG=1") != NULL)
			fprintf(f, "%llu\n", (unsigned long long)(now_ms() - t0));
	}
	_exit(0);
}

/* With its only worker stopped mid-task, the daemon stops feeding the
 * watchdog until the task's deadline kills the worker; then the pings
 * resume and the batch comes back whole. */
START_TEST(test_watchdog_progress)
{
	struct daemon_opts	 o = { .workers = 1, .arena = "64M",
	    .block = "64K" };
	struct sockaddr_un	 sun;
	struct daemon		 d;
	struct consume		 k;
	marcd_client		*c;
	marcd_chunk		*ch;
	char			 out[256], line[64];
	long			 pids[4];
	uint64_t		 t0, id, prev = 0, at, gap = 0, last = 0;
	uint64_t		 t_stop;
	FILE			*f;
	pid_t			 lpid;
	int			 sock;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(g_root) + 8, sizeof(sun.sun_path));
	memcpy(sun.sun_path, g_root, strlen(g_root));
	memcpy(sun.sun_path + strlen(g_root), "/notify", 8);
	snprintf(out, sizeof(out), "%s/watchdog.txt", g_root);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&sun, sizeof(sun)), 0);
	t0 = now_ms();
	lpid = fork();
	ck_assert_int_ge(lpid, 0);
	if (lpid == 0)
		watchdog_listener(sock, out, t0);
	close(sock);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", sun.sun_path, 1), 0);
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "400000", 1), 0);
	ck_assert_int_eq(setenv("MARCD_TEST_TASK_MS", "2000", 1), 0);
	daemon_start_opts(&d, &o);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("MARCD_TEST_TASK_MS");
	ck_assert_int_eq(proc_children(d.pid, pids, 4), 1);
	c = client_connect(&d);
	ck_assert_int_eq(marcd_submit_file(c, g_small.path, NULL, &id), 0);
	ck_assert_int_eq(marcd_next_chunk(c, id, NEXT_TIMEOUT, &ch), 1);
	ck_assert_int_eq(kill((pid_t)pids[0], SIGSTOP), 0);
	t_stop = now_ms() - t0;
	consume_init(&k, &g_small);
	k.timeout_ms = 25000;
	consume_chunk(&k, ch);
	marcd_chunk_release(c, ch);
	consume_batch(c, id, &k);
	consume_assert(&k, "a batch whose only worker stopped");
	free(k.seen);
	sleep_ms(600);
	kill(lpid, SIGKILL);
	waitpid(lpid, NULL, 0);
	ck_assert_int_eq(file_count(d.log, "made no progress"), 1);
	f = fopen(out, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		at = strtoull(line, NULL, 10);
		if (prev >= t_stop && at - prev > gap)
			gap = at - prev;
		prev = last = at;
	}
	fclose(f);
	printf("watchdog: worker stopped at %llu ms; longest gap after it "
	    "%llu ms; last ping %llu ms\n", (unsigned long long)t_stop,
	    (unsigned long long)gap, (unsigned long long)last);
	ck_assert_msg(gap >= 1500, "the watchdog was fed every %llu ms or "
	    "less while the only worker was stopped", (unsigned long long)gap);
	ck_assert_msg(last > t_stop + gap, "no ping after the stopped worker "
	    "was killed");
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* An input that changes under the daemon. */

/* Copy a file: 0 or -1. */
static int
copy_file(const char *from, const char *to)
{
	char	buf[65536];
	ssize_t	n;
	int	in, out, rc = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			rc = -1;
	if (n < 0)
		rc = -1;
	close(in);
	if (close(out) != 0)
		rc = -1;
	return rc;
}

/* A file truncated mid-batch: the batch ends with one input-changed
 * error, no chunk-failed, and every record delivered was delivered once;
 * its status says why. */
START_TEST(test_truncated_input)
{
	struct daemon_opts		 o = { .workers = 2, .arena = "4M",
	    .block = "64K", .asan = "handle_sigbus=0" };
	struct marcd_batch_status	 st;
	struct marc_error		 e;
	struct daemon			 d;
	struct consume			 k;
	marcd_client			*c;
	marcd_chunk			*ch;
	char				 path[256];
	uint64_t			 id;
	uint32_t			 j;
	int				 changed = 0, rc;

	snprintf(path, sizeof(path), "%s/shrinks.mrc", g_root);
	ck_assert_int_eq(copy_file(g_small.path, path), 0);
	/* Workers reading past the new end die of SIGBUS, as they should:
	 * ASan is told not to turn that into a report. */
	daemon_start_opts(&d, &o);
	c = client_connect(&d);
	ck_assert_int_eq(marcd_submit_file(c, path, NULL, &id), 0);
	consume_init(&k, &g_small);
	k.timeout_ms = 20000;
	while ((rc = marcd_next_chunk(c, id, k.timeout_ms, &ch)) == 1) {
		consume_chunk(&k, ch);
		for (j = 0; j < marcd_chunk_nerrors(ch); j++)
			if (marcd_chunk_error(ch, j, &e) == 0 &&
			    e.code == MARC_E_INPUT_CHANGED)
				changed++;
		marcd_chunk_release(c, ch);
		if (k.chunks == 1)
			ck_assert_int_eq(truncate(path, 1u << 20), 0);
	}
	printf("truncated input: %llu records of %zu, %llu errors\n",
	    (unsigned long long)k.nrec, g_small.n,
	    (unsigned long long)k.nerr);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(changed == 1 && k.nerr == 1 && k.failed == 0,
	    "%d input-changed errors, %llu errors, %llu chunk-failed", changed,
	    (unsigned long long)k.nerr, (unsigned long long)k.failed);
	ck_assert(k.dups == 0 && k.unknown == 0 && k.corrupt == 0);
	ck_assert_uint_lt(k.nrec, g_small.n);
	ck_assert_int_eq(marcd_batch_status(c, id, &st), 0);
	ck_assert_uint_eq(st.state, 3);		/* failed */
	ck_assert_msg(strstr(st.error, "input-changed") != NULL, "status "
	    "error '%s'", st.error);
	free(k.seen);
	run_batch(c, &g_small, "a batch after the truncated one");
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
harden_suite(void)
{
	Suite	*s = suite_create("harden");
	TCase	*tc;

	tc = tcase_create("leaks");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_batches_freed);
	suite_add_tcase(s, tc);
	tc = tcase_create("log");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_log_injection);
	tcase_add_test(tc, test_flood);
	suite_add_tcase(s, tc);
	tc = tcase_create("small");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_many_groups);
	tcase_add_test(tc, test_socket_not_a_socket);
	tcase_add_test(tc, test_submit_fd_modes);
	tcase_add_test(tc, test_root_and_ids);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_idle_buffers);
	tcase_add_test(tc, test_idle_close);
	suite_add_tcase(s, tc);
	tc = tcase_create("workers");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_worker_fds);
	tcase_add_test(tc, test_sandbox);
	tcase_add_test(tc, test_stopped_worker);
	tcase_add_test(tc, test_watchdog_progress);
	tcase_add_test(tc, test_truncated_input);
	suite_add_tcase(s, tc);
	return s;
}

/* Small inputs only: these tests are about the daemon, not throughput. */
int
main(void)
{
	return harness_main(harden_suite, 0);
}
