/* tests/check_util.c: the runner and process helpers of the Check tests. */
#include "config.h"

#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_util.h"

/* main() of a test program: run the suite; the exit status for automake.
 * Lines reach the log even when a failed check _exits. */
int
check_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Open fds of a process, from /proc/PID/fd (-1 if unreadable), to prove
 * nothing leaks; for this process it counts the listing's own fd too. */
int
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

/* Whether fd is open, to check that code closed what it did not hand out. */
int
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* Reap a child, returning its exit code or 128 + signal. */
int
reap(pid_t pid)
{
	int	st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}
