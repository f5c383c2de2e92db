/*
 * tests/service_harness.c: the service tests' common parts: processes,
 * the daemon, its statistics, corpus inputs and the checked client loop
 * (see service_harness.h).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "marcd/marcd.h"
#include "check_util.h"
#include "service_harness.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif
#ifndef BUILDDIR
#define BUILDDIR "."
#endif

char		g_root[128];
struct input	g_small, g_big;

/* ------------------------------------------------------------------ */
/* Time, files and processes. */

/* Milliseconds on a clock that does not jump. */
uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Microseconds on the same clock, which all processes share. */
uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Sleep a few milliseconds without caring about signals. */
void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The daemon binary: $MARCD or the one in the build tree. */
const char *
marcd_bin(void)
{
	static char	 path[512];
	const char	*e = getenv("MARCD");

	if (e != NULL && *e != '\0')
		return e;
	snprintf(path, sizeof(path), "%s/marcd", BUILDDIR);
	return path;
}

/* A process's state letter and parent from /proc (comm may hold
 * spaces): the letter, or 0. */
char
proc_state(long pid, long *ppid)
{
	char	 path[64], buf[512], *p, st = 0;
	long	 pp = -1;
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %ld", &st, &pp) != 2)
		return 0;
	if (ppid != NULL)
		*ppid = pp;
	return st;
}

/* The parent pid of a process, or -1. */
long
proc_ppid(long pid)
{
	long ppid;

	return proc_state(pid, &ppid) != 0 ? ppid : -1;
}

/* The children of a process (its workers), by scanning /proc. */
int
proc_children(pid_t parent, long *pids, int max)
{
	struct dirent	*de;
	DIR		*d;
	long		 pid;
	char		*end;
	int		 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		if (proc_ppid(pid) == (long)parent)
			pids[n++] = pid;
	}
	closedir(d);
	return n;
}

/* Read a process's resident memory. */
void
proc_mem(long pid, struct mem *m)
{
	char	 path[64], line[256];
	FILE	*f;

	m->rss = m->anon = m->file = m->shmem = -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		(void)(sscanf(line, "VmRSS: %ld kB", &m->rss) == 1 ||
		    sscanf(line, "RssAnon: %ld kB", &m->anon) == 1 ||
		    sscanf(line, "RssFile: %ld kB", &m->file) == 1 ||
		    sscanf(line, "RssShmem: %ld kB", &m->shmem) == 1);
	}
	fclose(f);
}

/* Count the lines of a file containing a string. */
int
file_count(const char *path, const char *needle)
{
	char	 line[1024];
	FILE	*f;
	int	 n = 0;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

/* Print the daemon log's last lines, to explain a failure. */
void
log_dump(const struct daemon *d)
{
	char	 line[1024];
	FILE	*f;
	long	 total = 0, i = 0;

	if ((f = fopen(d->log, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		total++;
	rewind(f);
	fprintf(stderr, "--- %s (last lines) ---\n", d->log);
	while (fgets(line, sizeof(line), f) != NULL)
		if (++i > total - 30)
			fputs(line, stderr);
	fclose(f);
}

/* Assert that no line of the daemon log says this. */
static void
log_assert_without(const struct daemon *d, const char *what)
{
	int n = file_count(d->log, what);

	if (n != 0)
		log_dump(d);
	ck_assert_msg(n == 0, "marcd log %s: %d lines with '%s'", d->log, n,
	    what);
}

/* Assert that the daemon log holds no crash or sanitizer report, nor what
 * the test said it must not (opts.log_bad).  A worker killed by SIGSYS
 * broke its seccomp filter (or a sanitizer report did, which then is
 * lost): that is a crash too. */
void
log_assert_clean(const struct daemon *d)
{
	static const char *const bad[] = { "runtime error", "Sanitizer",
	    "exited with status", "fatal", "killed by signal 31" };
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		log_assert_without(d, bad[i]);
	if (d->opts.log_bad != NULL)
		log_assert_without(d, d->opts.log_bad);
}

/* The names in /dev/shm, sorted into one string, to spot new ones. */
char *
shm_list(void)
{
	struct dirent	**names;
	size_t		  len = 1;
	char		 *s;
	int		  n, i;

	if ((n = scandir("/dev/shm", &names, NULL, alphasort)) < 0)
		return strdup("");
	for (i = 0; i < n; i++)
		len += strlen(names[i]->d_name) + 1;
	s = calloc(1, len);
	for (i = 0; i < n; i++) {
		if (s != NULL) {
			strcat(s, names[i]->d_name);
			strcat(s, "\n");
		}
		free(names[i]);
	}
	free(names);
	return s;
}

/* ------------------------------------------------------------------ */
/* The daemon. */

/* Start marcd with these options and wait until it accepts connections. */
void
daemon_start(struct daemon *d, int workers, const char *arena,
    const char *block)
{
	struct daemon_opts o = { .workers = workers, .arena = arena,
	    .block = block };

	daemon_start_opts(d, &o);
}

/* Start marcd in a new directory, with a config if o has one. */
void
daemon_start_opts(struct daemon *d, const struct daemon_opts *o)
{
	struct sockaddr_un	 sun;
	FILE			*f;

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s/d.XXXXXX", g_root);
	ck_assert_msg(mkdtemp(d->dir) != NULL, "mkdtemp: %s", strerror(errno));
	/* Clients of other users (check_tenants) must reach the socket. */
	ck_assert_int_eq(chmod(d->dir, 0755), 0);
	snprintf(d->sock, sizeof(d->sock), "%s/s", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/marcd.log", d->dir);
	ck_assert_msg(strlen(d->sock) < sizeof(sun.sun_path), "socket path "
	    "%s too long", d->sock);
	if (o->config != NULL) {
		snprintf(d->conf, sizeof(d->conf), "%s/marcd.conf", d->dir);
		f = fopen(d->conf, "we");
		ck_assert_ptr_nonnull(f);
		fputs(o->config, f);
		ck_assert_int_eq(fclose(f), 0);
	}
	d->opts = *o;
	d->opts.config = NULL;
	daemon_spawn(d);
}

/* Exec marcd as d says (again, after it stopped: the same socket path);
 * wait until it accepts connections and has all its workers. */
void
daemon_spawn(struct daemon *d)
{
	struct sockaddr_un	 sun;
	const char		*argv[16], *old;
	char			 wbuf[16], opts[1024];
	uint64_t		 deadline;
	long			 pids[MAX_WORKERS * 2];
	int			 fd, status, lfd, n = 0;

	snprintf(wbuf, sizeof(wbuf), "%d", d->opts.workers);
	argv[n++] = "marcd";
	if (d->conf[0] != '\0') {
		argv[n++] = "--config";
		argv[n++] = d->conf;
	}
	argv[n++] = "--socket";
	argv[n++] = d->sock;
	argv[n++] = "--workers";
	argv[n++] = wbuf;
	if (d->opts.arena != NULL) {
		argv[n++] = "--arena-size";
		argv[n++] = d->opts.arena;
	}
	argv[n++] = "--block-size";
	argv[n++] = d->opts.block;
	argv[n] = NULL;
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		lfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
		if (lfd >= 0) {
			dup2(lfd, STDERR_FILENO);
			dup2(lfd, STDOUT_FILENO);
		}
		if (d->opts.asan != NULL) {
			old = getenv("ASAN_OPTIONS");
			snprintf(opts, sizeof(opts), "%s%s%s", old ? old : "",
			    old && *old ? ":" : "", d->opts.asan);
			setenv("ASAN_OPTIONS", opts, 1);
		}
		execv(marcd_bin(), (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", marcd_bin(), strerror(errno));
		_exit(127);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, d->sock);
	deadline = now_ms() + 15000;
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			break;
		}
		close(fd);
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			log_dump(d);
			d->pid = 0;
			ck_abort_msg("marcd exited at start-up (status 0x%x)",
			    status);
		}
		ck_assert_msg(now_ms() < deadline, "marcd not listening on %s "
		    "after 15 s", d->sock);
		sleep_ms(20);
	}
	/* The socket may come up before the last worker is forked. */
	while (proc_children(d->pid, pids, MAX_WORKERS * 2) < d->opts.workers) {
		ck_assert_msg(now_ms() < deadline, "marcd has fewer than %d "
		    "workers after 15 s", d->opts.workers);
		sleep_ms(10);
	}
}

/* SIGTERM the daemon and wait up to ms for it: exit status, or -1. */
int
daemon_term(struct daemon *d, unsigned ms, uint64_t *took)
{
	uint64_t	t0 = now_ms();
	int		status;

	ck_assert_int_gt(d->pid, 0);
	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	for (;;) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			*took = now_ms() - t0;
			d->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		}
		if (now_ms() - t0 > ms) {
			*took = now_ms() - t0;
			return -1;
		}
		sleep_ms(10);
	}
}

/* Kill the daemon and its workers, whatever state they are in. */
void
daemon_kill(struct daemon *d)
{
	long	pids[MAX_WORKERS * 2];
	int	n, i;

	if (d->pid <= 0)
		return;
	n = proc_children(d->pid, pids, MAX_WORKERS * 2);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	for (i = 0; i < n; i++)
		kill((pid_t)pids[i], SIGKILL);
	d->pid = 0;
}

/* End of a test: the daemon must have stayed healthy; then stop it. */
void
daemon_finish(struct daemon *d)
{
	uint64_t	took;
	int		rc;

	ck_assert_msg(d->pid > 0 && kill(d->pid, 0) == 0, "marcd died");
	log_assert_clean(d);
	rc = daemon_term(d, 5000, &took);
	if (rc != 0)
		log_dump(d);
	ck_assert_msg(rc == 0, "marcd exit status %d after SIGTERM (%llu ms)",
	    rc, (unsigned long long)took);
	daemon_kill(d);
}

/* Connect a client to the daemon or fail the test. */
marcd_client *
client_connect(const struct daemon *d)
{
	return client_connect_tenant(d, NULL);
}

/* A plain socket connection that never says Hello (test process only). */
int
raw_connect(const struct daemon *d)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, d->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Connect a client to a tenant (NULL: the user's) or fail the test. */
marcd_client *
client_connect_tenant(const struct daemon *d, const char *tenant)
{
	marcd_client	*c = NULL;
	int		 rc;

	rc = marcd_connect(d->sock, tenant, &c);
	ck_assert_msg(rc == 0, "marcd_connect %s (%s): %s: %s", d->sock,
	    tenant ? tenant : "default", marcd_strerror(rc),
	    marcd_last_error(NULL));
	return c;
}

/* ------------------------------------------------------------------ */
/* Statistics. */

/* A number after "key": within [p, end), or 0 if absent. */
static uint64_t
json_num(const char *p, const char *end, const char *key, int *found)
{
	char		 pat[64];
	const char	*q;
	size_t		 n;

	n = (size_t)snprintf(pat, sizeof(pat), "\"%s\":", key);
	for (q = p; q != NULL && q < end; q++) {
		if ((q = strstr(q, pat)) == NULL || q >= end)
			break;
		if (found != NULL)
			*found = 1;
		q += n;
		if (strncmp(q, "true", 4) == 0)
			return 1;
		if (strncmp(q, "false", 5) == 0)
			return 0;
		return strtoull(q, NULL, 10);
	}
	if (found != NULL)
		*found = 0;
	return 0;
}

/* Fetch and parse the daemon's statistics. */
void
stats_get(marcd_client *c, struct sstat *s, char **jsonp)
{
	const char	*p, *obj, *oend, *wend;
	char		*js = NULL;
	int		 rc;

	memset(s, 0, sizeof(*s));
	rc = marcd_stats_json(c, &js);
	ck_assert_msg(rc == 0, "marcd_stats_json: %s", marcd_strerror(rc));
	ck_assert_ptr_nonnull(js);
	ck_assert_msg(js[0] == '{' && js[strlen(js) - 1] == '}',
	    "stats not a JSON object: %s", js);
	p = strstr(js, "\"workers\":[");
	ck_assert_msg(p != NULL, "stats without workers: %s", js);
	wend = strchr(p, ']');
	ck_assert_ptr_nonnull(wend);
	for (obj = strchr(p, '{'); obj != NULL && obj < wend &&
	    s->nworkers < MAX_WORKERS; obj = strchr(oend, '{')) {
		oend = strchr(obj, '}');
		ck_assert_ptr_nonnull(oend);
		s->w[s->nworkers].pid = (long)json_num(obj, oend, "pid", NULL);
		s->w[s->nworkers].chunks = json_num(obj, oend, "chunks", NULL);
		s->w[s->nworkers].restarts = json_num(obj, oend, "restarts",
		    NULL);
		s->w[s->nworkers].busy = (int)json_num(obj, oend, "busy", NULL);
		s->nworkers++;
	}
	p = strstr(js, "\"tenants\":[");
	ck_assert_msg(p != NULL, "stats without tenants: %s", js);
	/* Sum over tenants: the tests use the default one only. */
	for (obj = strchr(p, '{'); obj != NULL; obj = strchr(oend, '{')) {
		oend = strchr(obj, '}');
		ck_assert_ptr_nonnull(oend);
		s->arena_used += json_num(obj, oend, "arena_used", NULL);
		s->arena_size += json_num(obj, oend, "arena_size", NULL);
		s->clients += json_num(obj, oend, "clients", NULL);
		s->queue_depth += json_num(obj, oend, "queue_depth", NULL);
	}
	if (jsonp != NULL)
		*jsonp = js;
	else
		free(js);
}

/* Wait until arena_used is 0 (all blocks back): 1, or 0 on timeout. */
int
stats_wait_arena_free(marcd_client *c, unsigned ms, struct sstat *s)
{
	uint64_t deadline = now_ms() + ms;

	for (;;) {
		stats_get(c, s, NULL);
		if (s->arena_used == 0)
			return 1;
		if (now_ms() > deadline)
			return 0;
		sleep_ms(20);
	}
}

/* ------------------------------------------------------------------ */
/* Inputs. */

/* Whether a corpus file name looks like binary MARC. */
static int
is_marc_name(const struct dirent *de)
{
	static const char *const ext[] = { ".mrc", ".marc", ".dat", ".usmarc",
	    ".iso", ".bin" };
	const char	*dot = strrchr(de->d_name, '.');
	size_t		 i;

	if (de->d_name[0] == '.' || dot == NULL)
		return 0;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (strcmp(dot, ext[i]) == 0)
			return 1;
	return 0;
}

/* Read the corpus files (tests/data/corpus/valid, else tests/data/marc8)
 * into memory: 0, or -1 without any. */
int
corpus_load(struct corpus *cp)
{
	struct dirent	**names;
	struct stat	  st;
	char		  path[1024];
	ssize_t		  r;
	int		  n, i, fd;

	memset(cp, 0, sizeof(*cp));
	snprintf(cp->dir, sizeof(cp->dir), "%s/tests/data/corpus/valid",
	    SRCDIR);
	if ((n = scandir(cp->dir, &names, is_marc_name, alphasort)) <= 0) {
		snprintf(cp->dir, sizeof(cp->dir), "%s/tests/data/marc8",
		    SRCDIR);
		if ((n = scandir(cp->dir, &names, is_marc_name, alphasort)) <= 0)
			return -1;
	}
	cp->data = calloc((size_t)n, sizeof(*cp->data));
	cp->len = calloc((size_t)n, sizeof(*cp->len));
	if (cp->data == NULL || cp->len == NULL)
		abort();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", cp->dir, names[i]->d_name);
		free(names[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size == 0 ||
		    (cp->data[cp->n] = malloc((size_t)st.st_size)) == NULL) {
			close(fd);
			continue;
		}
		r = read(fd, cp->data[cp->n], (size_t)st.st_size);
		close(fd);
		if (r != st.st_size) {
			free(cp->data[cp->n]);
			continue;
		}
		cp->len[cp->n++] = (size_t)r;
	}
	free(names);
	return cp->n > 0 ? 0 : -1;
}

/* Free what corpus_load read. */
void
corpus_free(struct corpus *cp)
{
	int i;

	for (i = 0; i < cp->n; i++)
		free(cp->data[i]);
	free(cp->data);
	free(cp->len);
	memset(cp, 0, sizeof(*cp));
}

/* Write the picked corpus files (pick NULL: all) until at least min bytes,
 * read the file offline and keep it open: 0, or -1. */
int
input_build(struct input *in, const char *name, const struct corpus *cp,
    corpus_pick pick, uint64_t min)
{
	struct marc_reader	 r;
	struct marc_record	 rec;
	uint8_t			*map;
	size_t			 cap = 0, off;
	ssize_t			 w;
	int			 fd, rc, i;

	memset(in, 0, sizeof(*in));
	in->fd = -1;
	snprintf(in->path, sizeof(in->path), "%s/%s", g_root, name);
	if ((fd = open(in->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		return -1;
	do {
		for (i = 0; i < cp->n; i++) {
			if (pick != NULL && !pick(cp, i))
				continue;
			for (off = 0; off < cp->len[i]; off += (size_t)w)
				if ((w = write(fd, cp->data[i] + off,
				    cp->len[i] - off)) <= 0) {
					close(fd);
					return -1;
				}
			in->size += cp->len[i];
		}
	} while (in->size < min && in->size > 0);
	if (in->size == 0 || fchmod(fd, 0644) != 0) {
		close(fd);
		return -1;
	}
	map = mmap(NULL, in->size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return -1;
	}
	marc_reader_init(&r, map, in->size, MARC_CS_AUTO, 0, 0);
	while ((rc = marc_reader_next(&r, &rec)) != MARC_NEXT_END) {
		if (rc < 0)
			abort();
		if (rc != MARC_NEXT_RECORD)
			continue;
		if (in->n == cap) {
			cap = cap ? cap * 2 : 4096;
			in->off = realloc(in->off, cap * sizeof(*in->off));
			in->sig = realloc(in->sig, cap * sizeof(*in->sig));
			if (in->off == NULL || in->sig == NULL)
				abort();
		}
		in->off[in->n] = rec.offset;
		in->sig[in->n++] = rec_sig(&rec);
	}
	marc_reader_free(&r);
	munmap(map, in->size);
	in->fd = fd;
	return in->n > 0 ? 0 : -1;
}

/* Free an input's offsets and close it (the file stays). */
void
input_free(struct input *in)
{
	free(in->off);
	free(in->sig);
	if (in->fd >= 0)
		close(in->fd);
	in->off = NULL;
	in->sig = NULL;
	in->fd = -1;
}

/* Index of the record at this offset, or -1. */
long
input_find(const struct input *in, uint64_t off)
{
	size_t lo = 0, hi = in->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (in->off[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < in->n && in->off[lo] == off ? (long)lo : -1;
}

/* A hash of a record's tags: what charset conversion cannot change. */
uint32_t
rec_sig(const struct marc_record *r)
{
	uint32_t	h = 2166136261u;
	uint32_t	f;
	int		j;

	for (f = 0; f < r->nfields; f++)
		for (j = 0; j < 3; j++) {
			h ^= (uint8_t)r->fields[f].tag[j];
			h *= 16777619u;
		}
	return h ^ r->nfields;
}

/* ------------------------------------------------------------------ */
/* Taking a batch back. */

/* Start a consume record for a batch of this input.  No Check call: a
 * test's children use it after closing Check's message file, and Check
 * would write to whatever took its fd number. */
void
consume_init(struct consume *k, const struct input *in)
{
	memset(k, 0, sizeof(*k));
	k->in = in;
	k->timeout_ms = NEXT_TIMEOUT;
	if ((k->seen = calloc(in->n ? in->n : 1, 1)) == NULL)
		abort();
}

/* Check every record of one chunk and (unless skimming) touch all its
 * bytes. */
void
consume_chunk(struct consume *k, marcd_chunk *ch)
{
	struct marc_record	rec;
	struct marc_error	e;
	uint64_t		off, len;
	uint32_t		i, j, n, f;
	long			idx;

	n = marcd_chunk_records(ch);
	for (i = 0; i < n; i++) {
		if (marcd_chunk_record(ch, i, &rec) != 0 ||
		    marcd_chunk_leader(ch, i) != rec.leader) {
			k->corrupt++;
			continue;
		}
		k->nrec++;
		if ((idx = input_find(k->in, rec.offset)) < 0)
			k->unknown++;
		else if (k->seen[idx]++)
			k->dups++;
		else if (k->in->sig != NULL && k->in->sig[idx] != rec_sig(&rec))
			k->badsig++;
		if (k->skim)
			continue;
		for (f = 0; f < rec.nfields; f++)
			for (j = 0; j < rec.fields[f].len; j++)
				k->sum += rec.data[rec.fields[f].off + j];
	}
	if (marcd_chunk_leader(ch, n) != NULL)
		k->corrupt++;
	for (j = 0; j < marcd_chunk_nerrors(ch); j++) {
		k->nerr++;
		if (marcd_chunk_error(ch, j, &e) == 0 && e.code == MARC_E_WORKER)
			k->failed++;
	}
	if (marcd_chunk_source(ch, &off, &len) == 0)
		k->last_off = off;
	k->chunks++;
}

/* Take every chunk of a batch (until the hook says stop). */
void
consume_batch(marcd_client *c, uint64_t id, struct consume *k)
{
	marcd_chunk	*ch;
	uint32_t	 i;

	while ((k->rc = marcd_next_chunk(c, id, k->timeout_ms, &ch)) == 1) {
		consume_chunk(k, ch);
		if (k->nheld < k->hold)
			k->held[k->nheld++] = ch;
		else
			marcd_chunk_release(c, ch);
		if (k->hook != NULL)
			k->hook(k);
		if (k->stop)
			return;
	}
	for (i = 0; i < k->nheld; i++)
		marcd_chunk_release(c, k->held[i]);
	k->nheld = 0;
}

/* 1 when the batch came back whole, each record once and with the tags
 * the offline reader saw; else 0 and why not (for a child process). */
int
consume_why(const struct consume *k, char *why, size_t len)
{
	if (k->rc != 0)
		snprintf(why, len, "marcd_next_chunk ended with %d (%s)", k->rc,
		    marcd_strerror(k->rc));
	else if (k->failed || k->corrupt || k->unknown || k->dups || k->badsig)
		snprintf(why, len, "%llu failed chunks, %llu corrupt, %llu at "
		    "unknown offsets, %llu twice, %llu with other tags",
		    (unsigned long long)k->failed,
		    (unsigned long long)k->corrupt,
		    (unsigned long long)k->unknown,
		    (unsigned long long)k->dups,
		    (unsigned long long)k->badsig);
	else if (k->nrec != k->in->n)
		snprintf(why, len, "%llu records of %zu",
		    (unsigned long long)k->nrec, k->in->n);
	else
		return 1;
	return 0;
}

/* Assert that the batch came back whole, each record once. */
void
consume_assert(const struct consume *k, const char *what)
{
	ck_assert_msg(k->rc == 0, "%s: marcd_next_chunk ended with %d (%s)",
	    what, k->rc, marcd_strerror(k->rc));
	ck_assert_msg(k->failed == 0, "%s: %llu chunk-failed errors", what,
	    (unsigned long long)k->failed);
	ck_assert_msg(k->corrupt == 0, "%s: %llu records failed their checks",
	    what, (unsigned long long)k->corrupt);
	ck_assert_msg(k->unknown == 0, "%s: %llu records at offsets the "
	    "offline reader never saw", what, (unsigned long long)k->unknown);
	ck_assert_msg(k->dups == 0, "%s: %llu records delivered twice", what,
	    (unsigned long long)k->dups);
	ck_assert_msg(k->nrec == k->in->n, "%s: %llu records, offline %zu",
	    what, (unsigned long long)k->nrec, k->in->n);
}

/* Submit a file and take it all back, checked; a chunk may take ms. */
void
run_batch_wait(marcd_client *c, const struct input *in, const char *what,
    int ms)
{
	struct consume	k;
	uint64_t	id;
	int		rc;

	rc = marcd_submit_file(c, in->path, NULL, &id);
	ck_assert_msg(rc == 0, "%s: submit: %s: %s", what, marcd_strerror(rc),
	    marcd_last_error(c));
	consume_init(&k, in);
	k.timeout_ms = ms;
	consume_batch(c, id, &k);
	consume_assert(&k, what);
	free(k.seen);
}

/* Submit a file and take it all back, checked. */
void
run_batch(marcd_client *c, const struct input *in, const char *what)
{
	run_batch_wait(c, in, what, NEXT_TIMEOUT);
}

/* ------------------------------------------------------------------ */

/* Remove one path for nftw. */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Skip (77) without a daemon or corpus; else load the corpus and make
 * g_root, TMPDIR/name.XXXXXX: 0, or 99. */
int
harness_init(const char *name, struct corpus *cp)
{
	const char *tmp = getenv("TMPDIR");

	if (access(marcd_bin(), X_OK) != 0) {
		printf("SKIP: no marcd binary at %s\n", marcd_bin());
		return 77;
	}
	if (corpus_load(cp) != 0) {
		printf("SKIP: no MARC files under %s/tests/data\n", SRCDIR);
		return 77;
	}
	if (tmp == NULL || *tmp != '/' || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(g_root, sizeof(g_root), "%s/%s.XXXXXX", tmp, name);
	if (mkdtemp(g_root) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	return 0;
}

/* Run the suite; remove g_root unless $keep is 1: the exit status. */
int
harness_run(Suite *s, const char *keep)
{
	const char	*e;
	int		 rc;

	signal(SIGPIPE, SIG_IGN);
	rc = check_run(s);
	if ((e = getenv(keep)) == NULL || *e != '1')
		nftw(g_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("kept %s\n", g_root);
	return rc;
}

/* Build the inputs, run the suite, remove what the tests wrote. */
int
harness_main(Suite *(*make)(void), uint64_t big_min)
{
	struct corpus	 cp;
	const char	*e;
	unsigned	 seed;
	int		 rc;

	if ((rc = harness_init("check_service", &cp)) != 0)
		return rc;
	if (input_build(&g_small, "small.mrc", &cp, NULL, 0) != 0 ||
	    (big_min != 0 && input_build(&g_big, "big.mrc", &cp, NULL,
	    big_min) != 0) || g_small.n < 101) {
		perror("building the inputs");
		return 99;
	}
	e = getenv("SERVICE_SEED");
	seed = e != NULL ? (unsigned)strtoul(e, NULL, 10) :
	    (unsigned)time(NULL) ^ (unsigned)getpid();
	srand(seed);
	printf("inputs from %s: small %llu bytes, %zu records; big %llu "
	    "bytes, %zu records; seed %u\n", cp.dir,
	    (unsigned long long)g_small.size, g_small.n,
	    (unsigned long long)g_big.size, g_big.n, seed);
	fflush(stdout);
	corpus_free(&cp);
	rc = harness_run(make(), "SERVICE_KEEP");
	input_free(&g_small);
	if (big_min != 0)
		input_free(&g_big);
	return rc;
}
