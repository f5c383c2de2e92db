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

#include "daemon.h"

static const char	*log_path;
static int		 log_fd = STDERR_FILENO;
static int		 log_journal;	/* stderr is the journal's stream */
static pid_t		 log_pid;	/* the supervisor's, as the journal has it */

/* Complaints of one kind from one source (a uid) in the current window. */
struct log_rate {
	uint64_t	key;		/* kind << 32 | source; 0: unused */
	uint64_t	t0;		/* ms: the window began */
	uint32_t	n;		/* lines in the window */
	uint32_t	dropped;	/* lines not written since */
};
static struct log_rate	 log_rates[LOG_RATE_SLOTS];

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

/* In a new worker: the log file's fd is closed, so log to stderr (the
 * number must never reach an fd a task brings). */
void
log_worker(void)
{
	log_fd = STDERR_FILENO;
	log_path = NULL;
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

/*
 * Copy a string that came from a client so it can be logged: control
 * characters, newlines, '<' (the journal's priority prefix), '\\' and
 * non-ASCII bytes become \xNN, and it is cut to max characters of input.
 * A peer's bytes can then neither start a forged line nor flood one.
 */
const char *
log_escape(char *dst, size_t len, const char *src, size_t max)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)src;
	size_t			 o = 0, i;

	if (len == 0)
		return dst;
	for (i = 0; p[i] != '\0'; i++) {
		if (i >= max || o + 8 >= len) {
			memcpy(dst + o, "...", 4);
			return dst;
		}
		if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '<' ||
		    p[i] == '\\') {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[p[i] >> 4];
			dst[o++] = hex[p[i] & 15];
		} else
			dst[o++] = (char)p[i];
	}
	dst[o] = '\0';
	return dst;
}

/*
 * Whether one more complaint of this kind from this source may be logged:
 * LOG_RATE_BURST lines per LOG_RATE_MS each, then silence, and a count of
 * what was left out when the source is heard again after the window.  The
 * table is small and fixed: sources that share a slot share a budget.
 */
int
log_allow(uint32_t kind, uint32_t source, const char *what)
{
	struct log_rate	*r;
	uint64_t	 key = (uint64_t)kind << 32 | source, now = now_ms();
	uint32_t	 h;

	h = (source * 2654435761u) ^ (kind * 40503u);
	r = &log_rates[h % LOG_RATE_SLOTS];
	if (r->key != key || now >= r->t0 + LOG_RATE_MS) {
		if (r->dropped != 0)
			log_warn("%u more like this suppressed (%s, uid %u)",
			    r->dropped, what, (uint32_t)r->key);
		r->key = key;
		r->t0 = now;
		r->n = 0;
		r->dropped = 0;
	}
	if (r->n < LOG_RATE_BURST) {
		r->n++;
		return 1;
	}
	r->dropped++;
	return 0;
}
