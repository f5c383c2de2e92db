/*
 * daemon/main.c: marcd start-up, options and the supervisor's event loop.
 */
#include "config.h"

#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "marcd/marcd.h"
#include "ring.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: marcd [--config FILE] [--socket PATH] [--workers N]\n"
	    "             [--arena-size SIZE] [--block-size SIZE] [--log FILE]\n"
	    "             [--foreground]\n"
	    "  --config FILE      tenants and settings (default " MARCD_CONFIG
	    " if it exists;\n"
	    "                     without one, a tenant for the invoking user)\n"
	    "  --socket PATH      listen here (default $MARCD_SOCKET, else\n"
	    "                     $XDG_RUNTIME_DIR/marcd.sock or /run/marcd/marcd.sock)\n"
	    "  --workers N        reader worker processes (default: online CPUs)\n"
	    "  --arena-size SIZE  shared memory per tenant, e.g. 256M (default)\n"
	    "  --block-size SIZE  bytes per arena block (default 4M)\n"
	    "  --log FILE         log here instead of stderr; SIGHUP reopens it\n"
	    "  --foreground       accepted for compatibility; marcd never forks\n"
	    "                     into the background (systemd Type=notify)\n");
}

/* The embedded default socket (the clients' default too); /run/marcd is
 * made when that is where it falls. */
static const char *
default_socket(void)
{
	const char	*path = marcd_default_socket();

	if (strcmp(path, "/run/marcd/marcd.sock") == 0)
		(void)mkdir("/run/marcd", 0755);
	return path;
}

/* A time limit: def, or the environment's (for tests that would rather
 * not wait long: MARCD_TEST_TASK_MS, MARCD_TEST_IDLE_MS). */
static uint64_t
env_ms(const char *name, uint64_t def)
{
	const char	*e = getenv(name);
	long		 v;

	if (e == NULL || (v = atol(e)) < 100)
		return def;
	return (uint64_t)v;
}

/* Block the signals we handle; they arrive through a signalfd instead. */
static int
signals_setup(void)
{
	sigset_t	 set;
	int		 fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd;
}

/* Begin an orderly stop: no new clients, wake sleepers, finish or drop. */
static void
marcd_begin_stop(struct marcd *m)
{
	struct ring_hdr	*r;
	struct tenant	*t;
	uint32_t	 i;
	int		 k;

	if (m->stopping)
		return;
	m->stopping = 1;
	m->stop_deadline = now_ms() + MARCD_STOP_GRACE_MS;
	log_info("stopping");
	notify_send("STOPPING=1\nSTATUS=stopping");
	if (m->listen_fd >= 0) {
		close(m->listen_fd);
		m->listen_fd = -1;
		if (!m->activated)
			unlink(m->socket_path);
	}
	for (k = 0; k < m->ntenants; k++) {
		t = &m->tenants[k];
		atomic_store(&t->arena.hdr->state, ARENA_STOPPING);
		for (i = 0; i < MARCD_MAX_CLIENTS; i++)
			if (t->ring_owner[i] != NULL &&
			    (r = t->ring_owner[i]->rmap.r) != NULL)
				ring_wake(r, 1);
	}
}

/* Handle what the signalfd says. */
static void
marcd_signals(struct marcd *m, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			marcd_begin_stop(m);
			break;
		case SIGHUP:
			log_reopen();
			log_info("log reopened");
			break;
		case SIGCHLD:
			pool_reap(m);
			break;
		}
	}
}

/* True when nothing is running, so a stopping daemon may exit. */
static int
marcd_idle(const struct marcd *m)
{
	int i;

	for (i = 0; i < m->nworkers; i++)
		if (m->workers[i].task != NULL && m->workers[i].pid > 0)
			return 0;
	return 1;
}

/* Keep systemd informed: watchdog pings and a live STATUS= line. */
static int
marcd_notify(struct marcd *m)
{
	uint64_t	now = now_ms(), wd = notify_watchdog_ms(), recs = 0;
	int		i, busy = 0, next = 1000;

	/* The watchdog is fed while work moves or there is none: a loop
	 * that runs but gets nothing done must not look healthy. */
	for (i = 0; i < m->nworkers; i++)
		busy += m->workers[i].task != NULL;
	if (wd && now >= m->next_watchdog && (busy == 0 ||
	    now - m->progress_at < wd)) {
		notify_send("WATCHDOG=1");
		m->next_watchdog = now + wd;
	}
	if (now >= m->next_status) {
		for (i = 0; i < m->ntenants; i++)
			recs += m->tenants[i].records;
		notify_send("STATUS=%d/%d workers busy, %.0f records/s, %llu "
		    "records in all", busy, m->nworkers,
		    (double)(recs - m->status_records) * 1000.0 /
		    (double)(now - m->next_status + 2000),
		    (unsigned long long)recs);
		m->status_records = recs;
		m->next_status = now + 2000;
	}
	if (wd && m->next_watchdog > now &&
	    m->next_watchdog - now < (uint64_t)next)
		next = (int)(m->next_watchdog - now);
	return next;
}

/* The supervisor's loop: sockets, workers and signals through one poll. */
static void
marcd_loop(struct marcd *m, int sfd)
{
	struct pollfd	*pfd = NULL;
	struct conn	**pc = NULL, *c, *cn;
	size_t		 cap = 0, n, nconn, nstage, i, wbase, cbase;
	int		 timeout, w;

	for (;;) {
		if (m->stopping && (marcd_idle(m) || now_ms() >= m->stop_deadline))
			break;
		nconn = 0;
		for (c = m->conns; c != NULL; c = c->next)
			nconn++;
		n = 2 + (size_t)m->nworkers + nconn + stage_poll(m, NULL);
		if (n > cap) {
			cap = n * 2;
			pfd = realloc(pfd, cap * sizeof(*pfd));
			pc = realloc(pc, cap * sizeof(*pc));
			if (pfd == NULL || pc == NULL)
				log_fatal("out of memory");
		}
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = now_ms() < m->accept_resume ?
		    -1 : m->listen_fd, .events = POLLIN };
		wbase = 2;
		for (w = 0; w < m->nworkers; w++)
			pfd[wbase + (size_t)w] = (struct pollfd){
			    .fd = m->workers[w].pid > 0 ? m->workers[w].sock : -1,
			    .events = POLLIN };
		cbase = wbase + (size_t)m->nworkers;
		i = 0;
		for (c = m->conns; c != NULL; c = c->next, i++) {
			pc[i] = c;
			pfd[cbase + i] = (struct pollfd){ .fd = c->fd,
			    .events = POLLIN | (c->tx.len ? POLLOUT : 0) };
		}
		nstage = stage_poll(m, pfd + cbase + nconn);
		timeout = marcd_notify(m);
		if ((w = pool_overdue(m)) < timeout)
			timeout = w;
		if ((w = server_expire(m)) < timeout)
			timeout = w;
		if (m->accept_resume > now_ms() && timeout > MARCD_ACCEPT_PAUSE_MS)
			timeout = MARCD_ACCEPT_PAUSE_MS;
		if (m->stopping)
			timeout = 50;
		for (c = m->conns; c != NULL; c = c->next)
			if (c->more && !c->dead)
				timeout = 0;
		for (w = 0; w < m->nworkers; w++)
			if (m->workers[w].pid <= 0)
				timeout = 50;
		if (poll(pfd, cbase + nconn + nstage, timeout) < 0 &&
		    errno != EINTR)
			log_fatal("poll: %s", strerror(errno));

		if (pfd[0].revents)
			marcd_signals(m, sfd);
		for (w = 0; w < m->nworkers; w++)
			if (pfd[wbase + (size_t)w].revents &&
			    m->workers[w].pid > 0)
				pool_result(m, &m->workers[w]);
		stage_events(m, pfd + cbase + nconn, nstage);
		for (i = 0; i < nconn; i++) {
			c = pc[i];
			if (!c->dead && (c->more || (pfd[cbase + i].revents &
			    (POLLIN | POLLHUP | POLLERR))))
				server_read(m, c);
			if (!c->dead && (pfd[cbase + i].revents & POLLOUT))
				server_write(m, c);
		}
		for (c = m->conns; c != NULL; c = cn) {
			cn = c->next;
			if (c->dead)
				server_close(m, c);
		}
		if (m->listen_fd >= 0 && (pfd[1].revents & POLLIN))
			server_accept(m);
		pool_respawn(m);
		if (!m->stopping)
			sched_dispatch(m);
	}
	free(pfd);
	free(pc);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "arena-size", required_argument, NULL, 'a' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "log", required_argument, NULL, 'l' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct marcd	 m;
	struct conn		*c;
	const char		*config = NULL;
	char			 err[512];
	size_t			 sz;
	long			 ncpu;
	int			 ch, sfd, i;

	m.listen_fd = -1;
	m.arena_size = MARCD_DEFAULT_ARENA;
	m.block_size = MARCD_DEFAULT_BLOCK;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	m.nworkers = ncpu > 0 ? (int)ncpu : 1;
	while ((ch = getopt_long(argc, argv, "c:s:w:a:b:l:fhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			m.socket_path = optarg;
			break;
		case 'w':
			m.nworkers = atoi(optarg);
			if (m.nworkers < 1 || m.nworkers > MARCD_MAX_WORKERS) {
				fprintf(stderr, "marcd: --workers must be 1-%d\n",
				    MARCD_MAX_WORKERS);
				return 2;
			}
			m.workers_set = 1;
			break;
		case 'a':
			if (config_size(optarg, &m.arena_size) != 0) {
				fprintf(stderr, "marcd: bad --arena-size '%s'\n",
				    optarg);
				return 2;
			}
			m.arena_set = 1;
			break;
		case 'b':
			if (config_size(optarg, &sz) != 0 || sz < 65536 ||
			    sz > (1u << 30) || sz % 4096) {
				fprintf(stderr, "marcd: --block-size must be a "
				    "multiple of 4K between 64K and 1G\n");
				return 2;
			}
			m.block_size = (uint32_t)sz;
			m.block_set = 1;
			break;
		case 'l':
			m.log_path = optarg;
			break;
		case 'f':
			m.foreground = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("marcd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(&m, config ? config : MARCD_CONFIG, config != NULL, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "marcd: %s\n", err);
		return 2;
	}
	config_default_tenant(&m);
	if (m.socket_path == NULL)
		m.socket_path = default_socket();

	log_open(m.log_path, m.foreground);
	notify_init();
	m.t0 = now_ms();
	m.next_status = m.t0 + 2000;
	sched_init(&m);
	m.task_ms = env_ms("MARCD_TEST_TASK_MS", MARCD_TASK_MS);
	m.idle_ms = env_ms("MARCD_TEST_IDLE_MS", MARCD_IDLE_MS);
	m.queue_tail = &m.queue;
	if ((sfd = signals_setup()) < 0)
		log_fatal("signals: %s", strerror(errno));
	for (i = 0; i < m.ntenants; i++) {
		sz = m.tconf[i].arena_size ? m.tconf[i].arena_size :
		    m.arena_size;
		if (sz < 2 * (size_t)m.block_size + (1u << 20))
			log_fatal("tenant %s: arena size %zu is too small for "
			    "two %u-byte blocks", m.tconf[i].name, sz,
			    m.block_size);
		if (tenant_init(&m.tenants[i], &m.tconf[i], (uint32_t)i, sz,
		    m.block_size) != 0)
			log_fatal("tenant %s: cannot create a %zu-byte arena: "
			    "%s", m.tconf[i].name, sz, strerror(errno));
	}
	if ((m.listen_fd = notify_listen_fd()) >= 0)
		m.activated = 1;
	else if (server_listen(&m) != 0)
		log_fatal("cannot listen on %s: %s", m.socket_path,
		    strerror(errno));
	if (pool_start(&m) != 0)
		log_fatal("cannot start workers: %s", strerror(errno));
	log_info("ready: socket %s, %d workers, %d tenant%s (%s: arena %zu "
	    "bytes in %u blocks of %u)%s%s", m.activated ? "from systemd" :
	    m.socket_path, m.nworkers,
	    m.ntenants, m.ntenants == 1 ? "" : "s", m.tenants[0].name,
	    m.tenants[0].arena.size, m.tenants[0].arena.nblocks, m.block_size,
	    m.config_path ? ", config " : "", m.config_path ? m.config_path : "");

	notify_send("READY=1\nSTATUS=%d workers ready", m.nworkers);
	marcd_loop(&m, sfd);

	pool_stop(&m);
	while ((c = m.conns) != NULL)
		server_close(&m, c);
	if (m.listen_fd >= 0) {
		close(m.listen_fd);
		if (!m.activated)
			unlink(m.socket_path);
	}
	sched_free_all(&m);
	for (i = 0; i < m.ntenants; i++)
		tenant_free(&m.tenants[i]);
	log_info("stopped");
	return 0;
}
