/*
 * daemon/log.c: log lines to stderr (the journal under systemd) or a file
 * that SIGHUP reopens.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "marcd.h"

static const char	*log_path;
static int		 log_fd = STDERR_FILENO;
static int		 log_journal;	/* stderr is the journal's stream */
static pid_t		 log_pid;	/* the supervisor's, as the journal has it */

/* Monotonic milliseconds for timers and rates. */
uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Whether stderr is the journal's stream ($JOURNAL_STREAM names its device
 * and inode): the journal adds name and pid itself and reads a "<N>"
 * priority prefix.
 */
static int
log_is_journal(void)
{
	const char		*e = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* Choose where log lines go; stderr unless a path is given. */
void
log_open(const char *path, int foreground)
{
	log_path = path;
	(void)foreground;
	log_journal = log_is_journal();
	log_pid = getpid();
	log_reopen();
}

/* Reopen the log file, so log rotation works with SIGHUP. */
void
log_reopen(void)
{
	int fd;

	if (log_path == NULL)
		return;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		log_warn("cannot open log %s: %s", log_path, strerror(errno));
		return;
	}
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
}

/* Format one line and write it in one call, so processes do not interleave. */
static void
log_line(int prio, const char *level, const char *fmt, va_list ap)
{
	char	buf[1024];
	int	n;

	/* Workers share the supervisor's stream: they name themselves. */
	if (log_journal && log_fd == STDERR_FILENO && getpid() == log_pid)
		n = snprintf(buf, sizeof(buf), "<%d>%s", prio, level);
	else if (log_journal && log_fd == STDERR_FILENO)
		n = snprintf(buf, sizeof(buf), "<%d>worker[%ld]: %s", prio,
		    (long)getpid(), level);
	else
		n = snprintf(buf, sizeof(buf), "marcd[%ld]: %s",
		    (long)getpid(), level);
	if (n < 0)
		return;
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(log_fd, buf, (size_t)n);
}

/* Normal events: start, stop, worker restarts. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(6, "", fmt, ap);
	va_end(ap);
}

/* Something went wrong but the daemon goes on. */
void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(4, "warning: ", fmt, ap);
	va_end(ap);
}

/* Start-up errors only: say why and exit. */
void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(3, "fatal: ", fmt, ap);
	va_end(ap);
	exit(1);
}
