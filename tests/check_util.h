/*
 * tests/check_util.h: what every Check program of tests/ shares: the
 * main() runner and the process helpers several tests had copies of.
 * Linked into each test program from tests/libcheckutil.la (tests/tests.am).
 */
#ifndef MARCD_TESTS_CHECK_UTIL_H
#define MARCD_TESTS_CHECK_UTIL_H

#include <sys/types.h>

#include <check.h>

int	check_run(Suite *);
int	fd_count(long pid);
int	fd_open(int fd);
int	reap(pid_t pid);

#endif
