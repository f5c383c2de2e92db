/*
 * daemon/notify.c: the systemd notify protocol and socket activation,
 * written in-tree: a datagram of "KEY=VALUE" lines to $NOTIFY_SOCKET is a
 * documented, stable interface, and doing it here keeps libsystemd out of
 * a daemon that must also run without systemd.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

static int			notify_fd = -1;
static struct sockaddr_un	notify_addr;
static socklen_t		notify_len;
static uint64_t			watchdog_ms;	/* half of WatchdogSec, 0 off */

/* Find $NOTIFY_SOCKET (a path, or @ for the abstract namespace). */
void
notify_init(void)
{
	const char	*path = getenv("NOTIFY_SOCKET"), *usec, *pid;
	size_t		 n;

	if (path != NULL && (path[0] == '/' || path[0] == '@') &&
	    (n = strlen(path)) < sizeof(notify_addr.sun_path)) {
		memset(&notify_addr, 0, sizeof(notify_addr));
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, path, n);
		if (path[0] == '@')
			notify_addr.sun_path[0] = '\0';
		notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    n + (path[0] == '/'));
		notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	}
	usec = getenv("WATCHDOG_USEC");
	pid = getenv("WATCHDOG_PID");
	if (usec != NULL && (pid == NULL || atol(pid) == (long)getpid()))
		watchdog_ms = strtoull(usec, NULL, 10) / 2000;
	/* Workers must not talk to systemd in our name. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* Send one notification; a missing systemd is not an error. */
void
notify_send(const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;
	int	n;

	if (notify_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	(void)sendto(notify_fd, buf, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_addr, notify_len);
}

/* Half of the watchdog interval in ms, or 0 when there is none. */
uint64_t
notify_watchdog_ms(void)
{
	return notify_fd >= 0 ? watchdog_ms : 0;
}

/* A listening socket passed by systemd (marcd.socket), or -1. */
int
notify_listen_fd(void)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int		 fd = 3, fl;

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid() ||
	    atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if ((fl = fcntl(fd, F_GETFL)) < 0)
		return -1;
	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}
