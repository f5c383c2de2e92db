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

#include "marcd/marcd.h"
#include "proto.h"
#include "service_harness.h"

/* ------------------------------------------------------------------ */
/* Helpers. */

/* Open fds of a process, from /proc/PID/fd (-1 if unreadable). */
static int
fd_count(long pid)
{
	struct dirent	*de;
	char		 path[64];
	DIR		*d;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

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

/* ------------------------------------------------------------------ */
/* Point 1: a long-lived client's finished batches are freed. */

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

static Suite *
harden_suite(void)
{
	Suite	*s = suite_create("harden");
	TCase	*tc;

	tc = tcase_create("leaks");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_batches_freed);
	suite_add_tcase(s, tc);
	return s;
}

/* Small inputs only: these tests are about the daemon, not throughput. */
int
main(void)
{
	return harness_main(harden_suite, 0);
}
