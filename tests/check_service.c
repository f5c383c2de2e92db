/*
 * tests/check_service.c: the marcd daemon under faults, end to end.
 *
 * Every test starts its own marcd (BUILDDIR/marcd, or $MARCD) on a socket
 * in a fresh temporary directory (tests/service_harness.c).  Inputs are
 * real corpus records: tests/data/corpus/valid (else tests/data/marc8)
 * concatenated once ("small", about 11 MB) and repeated to at least 64 MiB
 * ("big"), read offline first so that every record's offset is known.  A
 * batch is right when every record comes back exactly once (its source
 * offset is one of the offline ones, and none twice) and the count is the
 * offline count.
 *
 * Environment: MARCD (the daemon binary), SERVICE_SEED (random victims),
 * SERVICE_KEEP=1 (keep the temporary directory and the daemon logs).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
#include "service_harness.h"

#define BIG_MIN		(64u * MIB)

/* ------------------------------------------------------------------ */
/* Killing workers in the middle of a batch. */

#define KILLS	20

/*
 * The killer, run after each chunk the client takes.  A chunk that kills
 * workers twice is failed by design, so the killer must never hit the same
 * chunk twice.  The chunk c of a killed worker goes back to the queue when
 * the supervisor reaps the worker (seen in stats: that slot shows a new pid
 * or 0).  Continuations may be queued ahead of it, so the killer then waits
 * for a snapshot with an empty queue: from there on c is running on some
 * worker or done, and never queued again.  A worker that has completed a
 * piece since that snapshot is running something it took later, so not c
 * (nor any earlier victim's chunk, by the same argument): only such busy
 * workers are victims.
 */
struct killer {
	marcd_client	*stats;		/* own connection for stats */
	pid_t		 daemon;
	int		 kills;
	int		 phase;		/* KILL_* */
	int		 slot;		/* of the last victim */
	long		 victim;
	uint64_t	 base[MAX_WORKERS];
};
enum { KILL_READY, KILL_REAP, KILL_QUEUE };

/* After a chunk: maybe kill one worker (see struct killer). */
static void
killer_hook(struct consume *k)
{
	struct killer	*kl = k->arg;
	struct sstat	 s;
	int		 cand[MAX_WORKERS], n = 0, i, v;

	if (kl->kills >= KILLS)
		return;
	stats_get(kl->stats, &s, NULL);
	if (kl->phase == KILL_REAP) {
		if (s.w[kl->slot].pid == kl->victim)
			return;
		kl->phase = KILL_QUEUE;
	}
	if (kl->phase == KILL_QUEUE) {
		if (s.queue_depth != 0)
			return;
		for (i = 0; i < s.nworkers; i++)
			kl->base[i] = s.w[i].chunks;
		kl->phase = KILL_READY;
		return;
	}
	for (i = 0; i < s.nworkers; i++)
		if (s.w[i].pid > 0 && s.w[i].busy &&
		    s.w[i].chunks > kl->base[i])
			cand[n++] = i;
	if (n == 0)
		return;
	v = cand[rand() % n];
	ck_assert_int_eq(proc_ppid(s.w[v].pid), kl->daemon);
	ck_assert_int_eq(kill((pid_t)s.w[v].pid, SIGKILL), 0);
	kl->kills++;
	kl->victim = s.w[v].pid;
	kl->slot = v;
	kl->phase = KILL_REAP;
}

/* SIGKILL 20 busy workers during big batches: every record arrives once. */
START_TEST(test_kill_workers)
{
	struct daemon	d;
	struct killer	kl;
	struct consume	k;
	struct sstat	s;
	marcd_client	*c;
	uint64_t	 id, restarts = 0, t0 = now_ms();
	int		 batches = 0, rc, i, j, alive = 0, mid;
	long		 pids[MAX_WORKERS * 2];

	daemon_start(&d, 4, "16M", "1M");
	c = client_connect(&d);
	memset(&kl, 0, sizeof(kl));
	kl.stats = client_connect(&d);
	kl.daemon = d.pid;
	ck_assert_int_eq(proc_children(d.pid, pids, MAX_WORKERS * 2), 4);
	/* Big batches until 20 workers were killed during them (at most 4). */
	while (kl.kills < KILLS && batches < 4) {
		rc = marcd_submit_file(c, g_big.path, NULL, &id);
		ck_assert_msg(rc == 0, "submit: %s", marcd_strerror(rc));
		consume_init(&k, &g_big);
		k.hook = killer_hook;
		k.arg = &kl;
		consume_batch(c, id, &k);
		consume_assert(&k, "batch with workers killed");
		free(k.seen);
		batches++;
	}
	ck_assert_msg(kl.kills == KILLS, "only %d kills in %d batches",
	    kl.kills, batches);

	/* Every kill was a restart; all four workers are back. */
	for (i = 0; i < 200; i++) {
		stats_get(kl.stats, &s, NULL);
		restarts = 0;
		alive = 0;
		for (j = 0; j < s.nworkers; j++) {
			restarts += s.w[j].restarts;
			alive += s.w[j].pid > 0;
		}
		if (alive == 4)
			break;
		sleep_ms(50);
	}
	ck_assert_int_eq(s.nworkers, 4);
	ck_assert_msg(alive == 4, "%d of 4 workers alive after the kills",
	    alive);
	ck_assert_msg(restarts == KILLS, "stats count %llu restarts for %d "
	    "kills", (unsigned long long)restarts, KILLS);
	ck_assert_int_eq(proc_children(d.pid, pids, MAX_WORKERS * 2), 4);
	ck_assert_msg(stats_wait_arena_free(kl.stats, 5000, &s),
	    "arena_used %llu after the batches",
	    (unsigned long long)s.arena_used);
	mid = file_count(d.log, "during a task");
	ck_assert_int_eq(file_count(d.log, "killed by signal 9"), KILLS);
	ck_assert_int_eq(file_count(d.log, "killed workers twice"), 0);
	/* Most victims were busy; at least a few must have held a chunk. */
	ck_assert_msg(mid >= KILLS / 4, "only %d of %d kills hit a worker "
	    "during a task", mid, KILLS);
	printf("kill_workers: %d kills (%d during a task) in %d batches of "
	    "%zu records, %llu ms\n", KILLS, mid, batches, g_big.n,
	    (unsigned long long)(now_ms() - t0));
	marcd_close(kl.stats);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A chunk that kills its worker every time. */

/* Copy the first n bytes of a file to a new one: its fd, read-write. */
static int
copy_prefix(const char *from, const char *to, size_t n)
{
	uint8_t	*buf;
	size_t	 off;
	ssize_t	 r;
	int	 in, out;

	buf = malloc(n);
	ck_assert_ptr_nonnull(buf);
	in = open(from, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(in, 0);
	for (off = 0; off < n; off += (size_t)r)
		ck_assert_int_gt(r = read(in, buf + off, n - off), 0);
	close(in);
	out = open(to, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(out, 0);
	for (off = 0; off < n; off += (size_t)r)
		ck_assert_int_gt(r = write(out, buf + off, n - off), 0);
	free(buf);
	return out;
}

/*
 * No honest input crashes a worker, but a client can: workers map the
 * batch file once per batch, so truncating the file after two workers
 * mapped it would make the next access of both SIGBUS, and the chunk
 * would be blamed (chunk-failed, twice).  With the arena full and both
 * workers idle, releasing one block makes the next task: the supervisor
 * sees first that the input shrank, and the batch ends with one
 * input-changed error; no worker dies for it.  (Chunks that do kill
 * workers twice: tests/check_harden.c, test_sandbox.)
 */
START_TEST(test_chunk_kills_twice)
{
	struct daemon	 d;
	struct consume	 k;
	struct sstat	 s, prev;
	marcd_client	*c, *st;
	marcd_chunk	*first;
	struct marcd_batch_status bs;
	char		 path[300];
	uint64_t	 id, deadline;
	int		 fd, rc, stable = 0, i;

	daemon_start(&d, 2, "8M", "1M");
	c = client_connect(&d);
	st = client_connect(&d);
	/* A private 24 MiB copy we may truncate. */
	snprintf(path, sizeof(path), "%s/trunc.mrc", d.dir);
	fd = copy_prefix(g_big.path, path, 24 * MIB);
	rc = marcd_submit_fd(c, fd, NULL, &id);
	ck_assert_msg(rc == 0, "submit: %s", marcd_strerror(rc));
	rc = marcd_next_chunk(c, id, NEXT_TIMEOUT, &first);
	ck_assert_int_eq(rc, 1);
	/* Wait for the arena to fill: no worker busy, arena_used steady. */
	memset(&prev, 0, sizeof(prev));
	deadline = now_ms() + 10000;
	while (stable < 5) {
		ck_assert_msg(now_ms() < deadline, "arena never filled");
		sleep_ms(20);
		stats_get(st, &s, NULL);
		if (s.arena_used == prev.arena_used && !s.w[0].busy &&
		    !s.w[1].busy && s.w[0].chunks > 0 && s.w[1].chunks > 0)
			stable++;
		else
			stable = 0;
		prev = s;
	}
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	marcd_chunk_release(c, first);
	consume_init(&k, &g_big);
	consume_batch(c, id, &k);
	ck_assert_msg(k.rc == 0, "the batch did not end: %s",
	    marcd_strerror(k.rc));
	ck_assert_msg(k.failed == 0 && k.nerr == 1, "%llu chunk-failed "
	    "errors, %llu errors in all (%llu records): want one, "
	    "input-changed", (unsigned long long)k.failed,
	    (unsigned long long)k.nerr, (unsigned long long)k.nrec);
	ck_assert_int_eq(k.dups, 0);
	ck_assert_int_eq(k.unknown, 0);
	rc = marcd_batch_status(c, id, &bs);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(bs.state == 3, "batch state %u", bs.state);
	ck_assert_msg(strstr(bs.error, "input-changed") != NULL, "batch "
	    "error '%s'", bs.error);
	ck_assert_uint_eq(bs.slices_failed, 0);
	ck_assert_int_eq(file_count(d.log, "killed workers twice"), 0);
	ck_assert_int_eq(file_count(d.log, "cannot be read as submitted"), 1);
	stats_get(st, &s, NULL);
	ck_assert_msg(s.w[0].restarts + s.w[1].restarts == 0, "workers "
	    "died for a shrunk input (restarts %llu, %llu)",
	    (unsigned long long)s.w[0].restarts,
	    (unsigned long long)s.w[1].restarts);
	free(k.seen);
	close(fd);
	/* The daemon goes on: workers respawn, a normal batch is whole. */
	run_batch(c, &g_small, "batch after the failed chunk");
	for (i = 0; i < 100; i++) {
		stats_get(st, &s, NULL);
		if (s.w[0].pid > 0 && s.w[1].pid > 0)
			break;
		sleep_ms(50);
	}
	ck_assert(s.w[0].pid > 0 && s.w[1].pid > 0);
	marcd_close(st);
	marcd_close(c);
	/* No worker died: the log is clean. */
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A client that dies holding chunks. */

/* Child: take three chunks, keep them, say so, and wait to be killed. */
static void
hoarder_main(const char *sock, int ready)
{
	marcd_client	*c;
	marcd_chunk	*ch;
	uint64_t	 id;
	int		 i;

	if (marcd_connect(sock, NULL, &c) != 0 ||
	    marcd_submit_file(c, g_big.path, NULL, &id) != 0)
		_exit(2);
	for (i = 0; i < 3; i++)
		if (marcd_next_chunk(c, id, NEXT_TIMEOUT, &ch) != 1)
			_exit(3);
	if (write(ready, "r", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

/* Child: a whole batch of the small input; exit 0 when it was right. */
static void
steady_main(const char *sock, const struct input *in, int nbatches)
{
	struct consume	 k;
	marcd_client	*c;
	uint64_t	 id;
	int		 i;

	if (marcd_connect(sock, NULL, &c) != 0)
		_exit(2);
	for (i = 0; i < nbatches; i++) {
		if (marcd_submit_file(c, in->path, NULL, &id) != 0)
			_exit(3);
		consume_init(&k, in);
		consume_batch(c, id, &k);
		if (k.rc != 0 || k.failed || k.dups || k.unknown || k.corrupt ||
		    k.nrec != in->n) {
			fprintf(stderr, "client %ld batch %d: rc %d, %llu of "
			    "%zu records, %llu dups, %llu unknown, %llu "
			    "failed\n", (long)getpid(), i, k.rc,
			    (unsigned long long)k.nrec, in->n,
			    (unsigned long long)k.dups,
			    (unsigned long long)k.unknown,
			    (unsigned long long)k.failed);
			_exit(1);
		}
		free(k.seen);
	}
	marcd_close(c);
	_exit(0);
}

/* Wait for a child up to ms: its exit status, or -1 (then killed). */
static int
child_wait(pid_t pid, unsigned ms)
{
	uint64_t	deadline = now_ms() + ms;
	int		status;

	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ms(10);
	}
}

/* A client killed holding chunks: its blocks come back, others go on. */
START_TEST(test_client_killed_holding)
{
	struct daemon	 d;
	struct sstat	 s;
	marcd_client	*st;
	pid_t		 hoarder, steady;
	char		 b;
	int		 p[2], rc;

	daemon_start(&d, 2, "8M", "1M");
	st = client_connect(&d);
	ck_assert_int_eq(pipe(p), 0);
	hoarder = fork();
	ck_assert_int_ge(hoarder, 0);
	if (hoarder == 0) {
		close(p[0]);
		hoarder_main(d.sock, p[1]);
	}
	close(p[1]);
	ck_assert_msg(read(p[0], &b, 1) == 1, "the hoarding client failed");
	close(p[0]);
	/* It holds three blocks and its batch fills the rest of the arena. */
	sleep_ms(300);
	stats_get(st, &s, NULL);
	ck_assert_uint_ge(s.arena_used, 3 * MIB);
	/* A second client's batch waits for blocks... */
	steady = fork();
	ck_assert_int_ge(steady, 0);
	if (steady == 0)
		steady_main(d.sock, &g_small, 1);
	sleep_ms(300);
	/* ...until the hoarder dies; then its blocks all come back. */
	ck_assert_int_eq(kill(hoarder, SIGKILL), 0);
	ck_assert_int_eq(waitpid(hoarder, NULL, 0), hoarder);
	rc = child_wait(steady, 60000);
	ck_assert_msg(rc == 0, "the other client's batch: status %d", rc);
	ck_assert_msg(stats_wait_arena_free(st, 5000, &s), "arena_used %llu "
	    "5 s after both clients ended", (unsigned long long)s.arena_used);
	ck_assert_uint_eq(s.clients, 1);
	/* And it keeps working for the next client. */
	run_batch(st, &g_small, "batch after the client died");
	marcd_close(st);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* SIGTERM while a batch runs. */

/* SIGTERM mid-batch: exit 0 in 5 s, the client told, nothing left. */
START_TEST(test_sigterm_during_batch)
{
	struct daemon	 d;
	marcd_chunk	*ch;
	marcd_client	*c;
	char		*before, *after;
	long		 pids[MAX_WORKERS * 2];
	uint64_t	 id, took, t0;
	int		 rc, n, i, nw, got = 0;

	before = shm_list();
	daemon_start(&d, 2, "16M", "1M");
	nw = proc_children(d.pid, pids, MAX_WORKERS * 2);
	ck_assert_int_eq(nw, 2);
	c = client_connect(&d);
	rc = marcd_submit_file(c, g_big.path, NULL, &id);
	ck_assert_int_eq(rc, 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(marcd_next_chunk(c, id, NEXT_TIMEOUT, &ch), 1);
		marcd_chunk_release(c, ch);
	}
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	/* The client drains what was published, then gets an error. */
	t0 = now_ms();
	while ((rc = marcd_next_chunk(c, id, 10000, &ch)) == 1) {
		marcd_chunk_release(c, ch);
		got++;
	}
	took = now_ms() - t0;
	ck_assert_msg(rc == MARCD_E_CLOSED, "after SIGTERM marcd_next_chunk "
	    "returned %d (%s) after %d more chunks, not MARCD_E_CLOSED", rc,
	    marcd_strerror(rc), got);
	ck_assert_msg(took < 6000, "the client waited %llu ms",
	    (unsigned long long)took);
	/* The daemon exits 0 within 5 s of the signal. */
	for (;;) {
		int status;
		if (waitpid(d.pid, &status, WNOHANG) == d.pid) {
			ck_assert_msg(WIFEXITED(status) &&
			    WEXITSTATUS(status) == 0, "marcd status 0x%x",
			    status);
			d.pid = 0;
			break;
		}
		ck_assert_msg(now_ms() - t0 < 5000, "marcd still running 5 s "
		    "after SIGTERM");
		sleep_ms(10);
	}
	/* Its workers are gone, its socket too, and /dev/shm is as before. */
	for (i = 0; i < nw; i++) {
		for (n = 0; n < 100 && kill((pid_t)pids[i], 0) == 0; n++)
			sleep_ms(10);
		ck_assert_msg(kill((pid_t)pids[i], 0) != 0, "worker %ld "
		    "survived the daemon", pids[i]);
	}
	ck_assert_int_ne(access(d.sock, F_OK), 0);
	after = shm_list();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* A request on the dead connection fails cleanly, no SIGPIPE. */
	rc = marcd_submit_file(c, g_small.path, NULL, &id);
	ck_assert_int_lt(rc, 0);
	marcd_close(c);
	log_assert_clean(&d);
	ck_assert_int_eq(file_count(d.log, "stopped"), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Eight clients at once. */

/* Eight client processes with a batch each, at once. */
START_TEST(test_eight_clients)
{
	struct daemon	 d;
	struct sstat	 s;
	marcd_client	*st;
	pid_t		 pid[8];
	int		 i, rc;

	daemon_start(&d, 2, "32M", "1M");
	for (i = 0; i < 8; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0)
			steady_main(d.sock, &g_small, 1);
	}
	for (i = 0; i < 8; i++) {
		rc = child_wait(pid[i], 90000);
		ck_assert_msg(rc == 0, "client %d: status %d", i, rc);
	}
	st = client_connect(&d);
	ck_assert_msg(stats_wait_arena_free(st, 5000, &s), "arena_used %llu "
	    "after eight clients", (unsigned long long)s.arena_used);
	ck_assert_uint_eq(s.clients, 1);
	marcd_close(st);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Batches larger than the arena. */

struct rss {
	pid_t		daemon;
	struct mem	sup;		/* at the supervisor's largest VmRSS */
	struct mem	worker;		/* at the largest VmRSS of a worker */
};

/* After a chunk: note the largest RSS of the supervisor and workers. */
static void
rss_hook(struct consume *k)
{
	struct rss	*r = k->arg;
	struct mem	 m;
	long		 pids[MAX_WORKERS * 2];
	int		 n, i;

	if (k->chunks % 4 != 0)
		return;
	proc_mem(r->daemon, &m);
	if (m.rss > r->sup.rss)
		r->sup = m;
	n = proc_children(r->daemon, pids, MAX_WORKERS * 2);
	for (i = 0; i < n; i++) {
		proc_mem(pids[i], &m);
		if (m.rss > r->worker.rss)
			r->worker = m;
	}
}

/* A 64 MiB batch through an 8 MiB arena, with bounded daemon memory. */
START_TEST(test_batch_larger_than_arena)
{
	struct daemon	 d;
	struct consume	 k;
	struct rss	 r;
	struct sstat	 s;
	marcd_client	*c;
	uint64_t	 id;
	int		 rc;

	daemon_start(&d, 2, "8M", "1M");
	c = client_connect(&d);
	rc = marcd_submit_file(c, g_big.path, NULL, &id);
	ck_assert_int_eq(rc, 0);
	memset(&r, 0, sizeof(r));
	r.daemon = d.pid;
	r.sup.rss = r.worker.rss = -1;
	consume_init(&k, &g_big);
	k.hook = rss_hook;
	k.arg = &r;
	consume_batch(c, id, &k);
	consume_assert(&k, "64 MiB through an 8 MiB arena");
	free(k.seen);
	printf("larger_than_arena: %llu MB in %llu chunks; largest VmRSS: "
	    "supervisor %ld kB (anon %ld, file %ld, shmem %ld), worker %ld kB "
	    "(anon %ld, file %ld, shmem %ld)\n",
	    (unsigned long long)(g_big.size / MIB),
	    (unsigned long long)k.chunks, r.sup.rss, r.sup.anon, r.sup.file,
	    r.sup.shmem, r.worker.rss, r.worker.anon, r.worker.file,
	    r.worker.shmem);
	ck_assert_int_gt(r.sup.rss, 0);
	ck_assert_int_gt(r.worker.rss, 0);
	ck_assert_msg(r.sup.rss < 64 * 1024, "supervisor VmRSS %ld kB (anon "
	    "%ld, file %ld, shmem %ld)", r.sup.rss, r.sup.anon, r.sup.file,
	    r.sup.shmem);
	ck_assert_msg(r.worker.rss < 64 * 1024, "worker VmRSS %ld kB (anon %ld, "
	    "file %ld, shmem %ld): it grows with the batch", r.worker.rss,
	    r.worker.anon, r.worker.file, r.worker.shmem);
	stats_get(c, &s, NULL);
	ck_assert_uint_eq(s.arena_size, 8 * MIB);
	ck_assert_msg(stats_wait_arena_free(c, 5000, &s), "arena_used %llu",
	    (unsigned long long)s.arena_used);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/*
 * More workers than blocks to spare: pieces of later chunks, held for
 * their turn in an ordered batch, must not take the last block the piece
 * they wait for needs.
 */
START_TEST(test_small_arena_many_workers)
{
	struct daemon	 d;
	marcd_client	*c;

	daemon_start(&d, 4, "4M", "1M");
	c = client_connect(&d);
	run_batch_wait(c, &g_small, "4 workers, 4 MiB arena", 10000);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/*
 * Cancel after the whole batch is parsed: every chunk on the client's ring
 * goes back before marcd_cancel returns (the stats that follow on the same
 * connection see only the chunk still held), the batch reads as ended,
 * and the connection serves the next batch.
 */
START_TEST(test_cancel_gives_back)
{
	struct daemon			 d;
	struct marcd_batch_status	 st;
	struct sstat			 ss;
	marcd_client			*c;
	marcd_chunk			*k, *k2;
	uint64_t			 id;
	uint32_t			 bs, nb;
	int				 i;

	daemon_start(&d, 2, "64M", "4M");
	c = client_connect(&d);
	ck_assert_int_eq(marcd_arena_info(c, NULL, &bs, &nb), 0);
	ck_assert_uint_eq(bs, 4u << 20);
	ck_assert_uint_ge(nb, 12);	/* the header and rings take one */
	ck_assert_uint_lt(g_small.size, 12u << 20);
	ck_assert_int_eq(marcd_submit_fd(c, g_small.fd, NULL, &id), 0);
	ck_assert_int_eq(marcd_next_chunk(c, id, 10000, &k), 1);
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(marcd_batch_status(c, id, &st), 0);
		if (st.state == 2)
			break;
		sleep_ms(10);
	}
	ck_assert_uint_eq(st.state, 2);
	stats_get(c, &ss, NULL);
	ck_assert_uint_gt(ss.arena_used, (uint64_t)bs);
	ck_assert_int_eq(marcd_cancel(c, id), 0);
	stats_get(c, &ss, NULL);
	ck_assert_uint_eq(ss.arena_used, (uint64_t)bs);
	ck_assert_int_eq(marcd_next_chunk(c, id, 0, &k2), 0);
	marcd_chunk_release(c, k);
	stats_get(c, &ss, NULL);
	ck_assert_uint_eq(ss.arena_used, 0);
	run_batch_wait(c, &g_small, "after a cancel", 10000);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Inputs the daemon refuses, and inputs it lets go of. */

/* True if /proc/PID/maps shows a mapping whose name contains needle. */
static int
maps_has(long pid, const char *needle)
{
	char	path[64];

	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	return file_count(path, needle) > 0;
}

/*
 * A sparse memfd of 1 GiB is refused at Submit with a clear error (mapped,
 * its holes would cost the daemon a gigabyte of shared memory), and so is
 * one of 2^52 bytes (its chunk count once wrapped to 0: a batch queued
 * forever), for its size.  The daemon's processes do not grow, and the
 * connection goes on serving.
 */
START_TEST(test_sparse_refused)
{
	struct daemon	 d;
	struct sstat	 s;
	struct mem	 before, after;
	marcd_client	*c;
	uint64_t	 id;
	int		 fd, rc, i;

	daemon_start(&d, 2, "16M", "1M");
	c = client_connect(&d);
	stats_get(c, &s, NULL);
	ck_assert(s.w[0].pid > 0 && s.w[1].pid > 0);
	proc_mem(s.w[0].pid, &before);
	fd = memfd_create("sparse", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)1 << 30), 0);
	ck_assert_int_eq(pwrite(fd, "00042", 5, 0), 5);
	rc = marcd_submit_fd(c, fd, NULL, &id);
	ck_assert_msg(rc == MARCD_E_SERVICE, "sparse submit: %s",
	    marcd_strerror(rc));
	ck_assert_msg(strstr(marcd_last_error(c), "holes") != NULL,
	    "sparse submit: %s", marcd_last_error(c));
	ck_assert_int_eq(ftruncate(fd, (off_t)1 << 52), 0);
	rc = marcd_submit_fd(c, fd, NULL, &id);
	ck_assert_msg(rc == MARCD_E_SERVICE, "2^52-byte submit: %s",
	    marcd_strerror(rc));
	ck_assert_msg(strstr(marcd_last_error(c), "larger than") != NULL,
	    "2^52-byte submit: %s", marcd_last_error(c));
	for (i = 0; i < 2; i++)
		ck_assert(!maps_has(s.w[i].pid, "sparse"));
	proc_mem(s.w[0].pid, &after);
	ck_assert_int_lt(after.rss, before.rss + 64 * 1024);
	close(fd);
	run_batch(c, &g_small, "batch after the refusals");
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/*
 * A worker that has nothing to do lets go of the input it mapped: after a
 * batch, no worker keeps it (it once held hundreds of MiB, and a memfd
 * alive, after the client cancelled and left).
 */
START_TEST(test_idle_worker_unmaps)
{
	struct daemon	 d;
	struct sstat	 s;
	marcd_client	*c;
	const char	*name;
	int		 i, mapped = 1;

	daemon_start(&d, 2, "64M", "1M");
	c = client_connect(&d);
	run_batch(c, &g_small, "batch before idling");
	name = strrchr(g_small.path, '/') + 1;
	for (i = 0; i < 600 && mapped; i++) {
		sleep_ms(100);
		stats_get(c, &s, NULL);
		ck_assert(s.w[0].pid > 0 && s.w[1].pid > 0);
		mapped = maps_has(s.w[0].pid, name) ||
		    maps_has(s.w[1].pid, name);
	}
	ck_assert_msg(!mapped, "an idle worker still maps %s", name);
	run_batch(c, &g_small, "batch after idling");
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* What one range holds, by the daemon or offline: records (offset, recno)
 * and errors (code, recno, offset), in input order. */
struct rangeout {
	uint64_t	 rec[2][16384];
	uint32_t	 nrec;
	struct marc_error err[1024];
	uint32_t	 nerr;
};

/* Offline: the reader of the range, as marcctl dump --range reads it. */
static void
range_offline(const uint8_t *map, size_t size, uint64_t off, uint64_t len,
    struct rangeout *o)
{
	struct marc_reader	r;
	struct marc_record	rec;
	uint32_t		j;
	int			rc;

	memset(o, 0, sizeof(*o));
	marc_reader_init_range(&r, map, size, off, len, MARC_CS_AUTO, 0);
	while ((rc = marc_reader_next(&r, &rec)) != MARC_NEXT_END) {
		ck_assert_int_ge(rc, 0);
		for (j = 0; j < r.errors.n && o->nerr < 1024; j++)
			o->err[o->nerr++] = r.errors.e[j];
		if (rc == MARC_NEXT_RECORD && o->nrec < 16384) {
			o->rec[0][o->nrec] = rec.offset;
			o->rec[1][o->nrec++] = rec.recno;
		}
	}
	marc_reader_free(&r);
}

/* The daemon: one ranged batch, taken whole. */
static void
range_daemon(marcd_client *c, int fd, uint64_t off, uint64_t len,
    struct rangeout *o, struct consume *k)
{
	struct marcd_submit_opts	 so = { .ordered = 1 };
	struct marcd_batch_status	 st;
	struct marc_record		 rec;
	marcd_chunk			*ch;
	uint64_t			 id;
	uint32_t			 i, n;
	int				 rc;

	memset(o, 0, sizeof(*o));
	rc = marcd_submit_range(c, fd, off, len, &so, &id);
	ck_assert_msg(rc == 0, "range %llu:%llu: %s: %s",
	    (unsigned long long)off, (unsigned long long)len,
	    marcd_strerror(rc), marcd_last_error(c));
	while ((rc = marcd_next_chunk(c, id, NEXT_TIMEOUT, &ch)) == 1) {
		n = marcd_chunk_records(ch);
		for (i = 0; i < n && o->nrec < 16384; i++) {
			ck_assert_int_eq(marcd_chunk_record(ch, i, &rec), 0);
			o->rec[0][o->nrec] = rec.offset;
			o->rec[1][o->nrec++] = rec.recno;
		}
		for (i = 0; i < marcd_chunk_nerrors(ch) && o->nerr < 1024; i++)
			ck_assert_int_eq(marcd_chunk_error(ch, i,
			    &o->err[o->nerr++]), 0);
		consume_chunk(k, ch);
		marcd_chunk_release(c, ch);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(marcd_batch_status(c, id, &st), 0);
	ck_assert_uint_eq(st.bytes_total, len ? len : g_small.size - off);
	ck_assert_uint_eq(st.records, o->nrec);
}

/*
 * Byte ranges: the batches of a cut of the input (ranges of 1.5 MiB, over
 * two slices, down to 40009 bytes) hold exactly what the offline reader of
 * each range holds (records, record numbers from the range's start, errors
 * and their offsets), and all together every record once.  A range past
 * the end is refused, and a format forced wrong gives its error, no
 * records.
 */
START_TEST(test_ranges)
{
	static const uint64_t	 steps[] = { 3 * MIB / 2, 333333, 40009 };
	struct daemon		 d;
	struct consume		 k;
	struct marcd_submit_opts so = { .ordered = 1 };
	static struct rangeout	 got, want;
	marcd_client		*c;
	marcd_chunk		*ch;
	struct marc_error	 e;
	const uint8_t		*map;
	uint64_t		 off, len, id, nrec;
	size_t			 si, size = g_small.size;
	uint32_t		 i;
	int			 rc;

	map = mmap(NULL, size, PROT_READ, MAP_SHARED, g_small.fd, 0);
	ck_assert(map != MAP_FAILED);
	daemon_start(&d, 2, "32M", "1M");
	c = client_connect(&d);
	for (si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
		consume_init(&k, &g_small);
		for (off = 0; off < size; off += steps[si]) {
			len = steps[si] < size - off ? steps[si] : size - off;
			range_offline(map, size, off, len, &want);
			range_daemon(c, g_small.fd, off, len, &got, &k);
			ck_assert_msg(got.nrec == want.nrec, "range %llu:%llu: "
			    "%u records, offline %u", (unsigned long long)off,
			    (unsigned long long)len, got.nrec, want.nrec);
			for (i = 0; i < want.nrec; i++)
				ck_assert_msg(got.rec[0][i] == want.rec[0][i] &&
				    got.rec[1][i] == want.rec[1][i],
				    "range %llu: record %u at %llu no. %llu, "
				    "offline at %llu no. %llu",
				    (unsigned long long)off, i,
				    (unsigned long long)got.rec[0][i],
				    (unsigned long long)got.rec[1][i],
				    (unsigned long long)want.rec[0][i],
				    (unsigned long long)want.rec[1][i]);
			ck_assert_uint_eq(got.nerr, want.nerr);
			for (i = 0; i < want.nerr; i++)
				ck_assert(got.err[i].code == want.err[i].code &&
				    got.err[i].recno == want.err[i].recno &&
				    got.err[i].offset == want.err[i].offset);
		}
		consume_assert(&k, "the union of the ranges");
		free(k.seen);
	}

	/* To the end (length 0), from the middle. */
	range_offline(map, size, size / 2, size, &want);
	consume_init(&k, &g_small);
	range_daemon(c, g_small.fd, size / 2, 0, &got, &k);
	ck_assert_uint_eq(got.nrec, want.nrec);
	ck_assert_uint_gt(got.nrec, 10);
	free(k.seen);

	rc = marcd_submit_range(c, g_small.fd, size + 1, 10, &so, &id);
	ck_assert_msg(rc == MARCD_E_SERVICE, "past the end: %s",
	    marcd_strerror(rc));
	ck_assert_msg(strstr(marcd_last_error(c), "past the end") != NULL,
	    "past the end: %s", marcd_last_error(c));
	so.from = MARCD_FROM_MRK + 1;
	rc = marcd_submit_range(c, g_small.fd, 0, 0, &so, &id);
	ck_assert_int_eq(rc, MARCD_E_INVALID);

	/* ISO 2709 read as MARCXML: bad-xml at record 1, no records. */
	so.from = MARCD_FROM_MARCXML;
	ck_assert_int_eq(marcd_submit_range(c, g_small.fd, 0, 0, &so, &id), 0);
	nrec = 0;
	e.code = 0;
	while ((rc = marcd_next_chunk(c, id, NEXT_TIMEOUT, &ch)) == 1) {
		nrec += marcd_chunk_records(ch);
		if (e.code == 0 && marcd_chunk_nerrors(ch) > 0)
			ck_assert_int_eq(marcd_chunk_error(ch, 0, &e), 0);
		marcd_chunk_release(c, ch);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(nrec, 0);
	ck_assert_uint_eq(e.code, MARC_E_BAD_XML);
	ck_assert_uint_eq(e.recno, 1);

	/* Forced right, the same records as detected. */
	so.from = MARCD_FROM_ISO2709;
	consume_init(&k, &g_small);
	ck_assert_int_eq(marcd_submit_range(c, g_small.fd, 0, 0, &so, &id), 0);
	consume_batch(c, id, &k);
	consume_assert(&k, "--from iso2709");
	free(k.seen);
	munmap((void *)map, size);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* ------------------------------------------------------------------ */

/* The suite, with time limits sized for ASan on two cores. */
static Suite *
service_suite(void)
{
	Suite	*s = suite_create("service");
	TCase	*tc;

	tc = tcase_create("kill_workers");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_kill_workers);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunk_kills_twice");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_chunk_kills_twice);
	suite_add_tcase(s, tc);

	tc = tcase_create("clients");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_client_killed_holding);
	tcase_add_test(tc, test_eight_clients);
	suite_add_tcase(s, tc);

	tc = tcase_create("stop");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sigterm_during_batch);
	suite_add_tcase(s, tc);

	tc = tcase_create("arena");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_batch_larger_than_arena);
	tcase_add_test(tc, test_small_arena_many_workers);
	tcase_add_test(tc, test_cancel_gives_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("inputs");
	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, test_sparse_refused);
	tcase_add_test(tc, test_idle_worker_unmaps);
	suite_add_tcase(s, tc);

	tc = tcase_create("ranges");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_ranges);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the fault tests on a small and a big input. */
int
main(void)
{
	return harness_main(service_suite, BIG_MIN);
}
