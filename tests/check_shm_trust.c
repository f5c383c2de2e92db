/*
 * tests/check_shm_trust.c: what a client of a tenant can do to shared
 * memory, and what it cannot do to the daemon or to the tenant's other
 * clients.
 *
 * A client maps the tenant's arena read-only (no writable mapping of any
 * kind can be had) and its own ring read-write; the ring is nobody else's.
 * These tests play the hostile client from inside libmarcd's process: they
 * find the mappings in /proc/self/maps and write to them as a client
 * program could.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "libmarcd_py.h"
#include "ring.h"
#include "service_harness.h"
#include "shm.h"

#define BIG_MIN		(24u * MIB)
#define ARENA_NAME	"/memfd:marcd-default "
#define RING_NAME	"/memfd:marcd-ring "
#define CHILD_ALARM	120

/* One shared mapping of this process. */
struct shmap {
	uint8_t	*addr;
	size_t	 len;
	char	 perm[5];
};

/* Find the mapping of the memfd called name (with the trailing space that
 * ends it in /proc/self/maps): 1 found, 0 not. */
static int
shm_find(const char *name, struct shmap *m)
{
	unsigned long	 lo, hi;
	char		 line[512];
	FILE		*f;
	int		 found = 0;

	f = fopen("/proc/self/maps", "re");
	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof line, f) != NULL) {
		if (strstr(line, name) == NULL ||
		    sscanf(line, "%lx-%lx %4s", &lo, &hi, m->perm) != 3)
			continue;
		m->addr = (uint8_t *)lo;
		m->len = hi - lo;
		found = 1;
	}
	fclose(f);
	return found;
}

/* The fd of this process whose link names the memfd, or -1. */
static int
shm_fd(const char *name)
{
	char	path[64], link[256];
	ssize_t	n;
	int	fd;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if ((n = readlink(path, link, sizeof link - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, name, strlen(name)) == 0)
			return fd;
	}
	return -1;
}

/* Whether storing a byte at p kills a forked child with SIGSEGV. */
static int
store_faults(volatile uint8_t *p)
{
	uint64_t	ksa[4] = { 0, 0, 0, 0 };	/* SIG_DFL */
	int		st;
	pid_t		pid;

	if ((pid = fork()) == 0) {
		alarm(CHILD_ALARM);
		/* Past the sanitizer's handler, which would exit instead. */
		syscall(SYS_rt_sigaction, SIGSEGV, ksa, NULL, 8);
		*p = (uint8_t)(*p + 1);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
}

/*
 * A client can write nothing of the arena: its mapping is read-only and
 * stays so, its fd gives no writable mapping (nor does the file reopened
 * through /proc), a store faults; so the header (state, magic, geometry)
 * and every block are as the daemon wrote them, for every later client.
 */
START_TEST(test_arena_read_only)
{
	struct daemon	 d;
	struct shmap	 a, r;
	marcd_client	*c, *c2;
	char		 path[64];
	int		 fd, rw;

	daemon_start(&d, 2, "8M", "1M");
	c = client_connect(&d);
	ck_assert_msg(shm_find(ARENA_NAME, &a), "no arena mapping");
	ck_assert_str_eq(a.perm, "r--s");
	ck_assert_msg(shm_find(RING_NAME, &r), "no ring mapping");
	ck_assert_str_eq(r.perm, "rw-s");

	errno = 0;
	ck_assert_int_eq(mprotect(a.addr, a.len, PROT_READ | PROT_WRITE), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert(store_faults(a.addr));			/* magic */
	ck_assert(store_faults(a.addr + offsetof(struct arena_hdr, state)));
	ck_assert(store_faults(a.addr + a.len - 1));		/* a block */

	ck_assert_int_ge(fd = shm_fd(ARENA_NAME), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	errno = 0;
	ck_assert_ptr_eq(mmap(NULL, a.len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0), MAP_FAILED);
	ck_assert_int_eq(errno, EACCES);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if ((rw = open(path, O_RDWR | O_CLOEXEC)) >= 0) {
		errno = 0;
		ck_assert_ptr_eq(mmap(NULL, a.len, PROT_READ | PROT_WRITE,
		    MAP_SHARED, rw, 0), MAP_FAILED);
		ck_assert_int_eq(errno, EPERM);
		ck_assert_int_eq(pwrite(rw, "x", 1, 0), -1);
		close(rw);
	}

	/* The arena is intact: this client and a new one work. */
	run_batch(c, &g_small, "after the attempts");
	c2 = client_connect(&d);
	run_batch(c2, &g_small, "a later client");
	marcd_close(c2);
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/* What a hostile client does to its own ring. */
enum scribble {
	SCRIB_ALL,	/* every byte, the count and its waiters included */
	SCRIB_TAIL,	/* tail far ahead of head */
	SCRIB_MASK,	/* mask and slot count: nobody reads them */
	SCRIB_COUNT
};

static const char *const scrib_name[] = { "all", "tail", "mask" };

/*
 * Child: connect, take one chunk of a big batch, try to write the arena
 * (it cannot), scribble on its ring, and read on.  Exit status: 0 when the
 * outcome is the expected one for the scribble (MARCD_E_CORRUPT, or for
 * SCRIB_MASK every record exactly once).
 */
static void
scribbler_main(const char *sock, enum scribble how, int ready, int go)
{
	struct shmap	 a, r;
	struct consume	 k;
	struct ring_hdr	*h;
	marcd_client	*c;
	marcd_chunk	*ch;
	uint64_t	 id;
	char		 b;
	int		 rc;

	alarm(CHILD_ALARM);
	if (marcd_connect(sock, NULL, &c) != 0 ||
	    marcd_submit_file(c, g_big.path, NULL, &id) != 0)
		_exit(2);
	consume_init(&k, &g_big);
	if ((rc = marcd_next_chunk(c, id, NEXT_TIMEOUT, &ch)) != 1) {
		fprintf(stderr, "scribbler: first chunk: %d (%s: %s)\n", rc,
		    marcd_strerror(rc), marcd_last_error(c));
		_exit(3);
	}
	consume_chunk(&k, ch);
	marcd_chunk_release(c, ch);
	if (!shm_find(ARENA_NAME, &a) || !shm_find(RING_NAME, &r))
		_exit(4);
	/* What broke everybody once: the header and the other rings. */
	if (mprotect(a.addr, a.len, PROT_READ | PROT_WRITE) == 0) {
		memset(a.addr, 0x5a, a.len / 2);
		_exit(5);
	}
	h = (struct ring_hdr *)r.addr;
	switch (how) {
	case SCRIB_ALL:
		memset(r.addr, 0x5a, r.len);
		break;
	case SCRIB_TAIL:
		atomic_store(&h->tail, atomic_load(&h->head) + 1000);
		atomic_fetch_add(&h->items, 1);
		break;
	case SCRIB_MASK:
		h->mask = UINT32_MAX;
		h->slots = 1u << 31;
		break;
	case SCRIB_COUNT:
		break;
	}
	/* Read on once the other client is reading too. */
	if (write(ready, "s", 1) != 1 || read(go, &b, 1) != 1)
		_exit(6);
	consume_batch(c, id, &k);
	rc = k.rc;
	if (how == SCRIB_MASK) {
		if (rc != 0 || k.dups || k.unknown || k.corrupt ||
		    k.nrec != g_big.n) {
			fprintf(stderr, "scribbler (mask): rc %d, %llu of %zu "
			    "records, %llu dups\n", rc,
			    (unsigned long long)k.nrec, g_big.n,
			    (unsigned long long)k.dups);
			_exit(7);
		}
	} else if (rc != MARCD_E_CORRUPT) {
		fprintf(stderr, "scribbler (%s): rc %d (%s), want "
		    "MARCD_E_CORRUPT\n", scrib_name[how], rc,
		    marcd_strerror(rc));
		_exit(8);
	}
	marcd_close(c);
	_exit(0);
}

/*
 * A client that scribbles on its own ring fails on its own (never a crash,
 * never a hang), and the other client of the same tenant, reading a big
 * batch at the same time, gets every record exactly once.
 */
START_TEST(test_scribbler_alone)
{
	struct daemon	 d;
	struct consume	 k;
	marcd_client	*v;
	uint64_t	 id;
	pid_t		 pid;
	char		 b;
	int		 p[2], g[2], st, rc;

	daemon_start(&d, 2, "8M", "1M");
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(g), 0);
	/* Forked before this process maps anything of the daemon's. */
	if ((pid = fork()) == 0) {
		close(p[0]);
		close(g[1]);
		scribbler_main(d.sock, (enum scribble)_i, p[1], g[0]);
	}
	ck_assert_int_gt(pid, 0);
	close(p[1]);
	close(g[0]);
	if (read(p[0], &b, 1) != 1) {
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_abort_msg("the scribbler did not get as far as scribbling: "
		    "%s %d", WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ?
		    WEXITSTATUS(st) : WTERMSIG(st));
	}
	close(p[0]);
	v = client_connect(&d);
	rc = marcd_submit_file(v, g_big.path, NULL, &id);
	ck_assert_msg(rc == 0, "submit: %s", marcd_strerror(rc));
	ck_assert_int_eq(write(g[1], "g", 1), 1);
	close(g[1]);
	consume_init(&k, &g_big);
	consume_batch(v, id, &k);
	consume_assert(&k, "the other client");
	free(k.seen);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "scribbler "
	    "(%s): %s %d", scrib_name[_i], WIFEXITED(st) ? "exit" : "signal",
	    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	printf("scribble %s: the scribbler %s, the other client got %llu "
	    "records once each\n", scrib_name[_i], _i == SCRIB_MASK ?
	    "read on unharmed" : "failed alone", (unsigned long long)k.nrec);
	/* And the daemon serves on. */
	run_batch(v, &g_small, "after the scribbler");
	marcd_close(v);
	daemon_finish(&d);
}
END_TEST

/* Wait until the ring holds at least n published descriptors. */
static void
ring_wait_items(struct ring_hdr *h, int n)
{
	uint64_t	deadline = now_ms() + NEXT_TIMEOUT;
	for (;;) {
		if (atomic_load(&h->items) >= (uint32_t)n)
			return;
		ck_assert_msg(now_ms() < deadline, "%d descriptors never came",
		    n);
		sleep_ms(5);
	}
}

/*
 * A chunk delivered twice (a descriptor pushed back onto the ring) or one
 * skipped (a descriptor taken off it behind the client's back) is
 * MARCD_E_CORRUPT, not records read twice or lost without a word.
 */
START_TEST(test_seq_dup_gap)
{
	struct daemon	 d;
	struct shmap	 r;
	struct ring_hdr	*h;
	marcd_client	*c;
	marcd_chunk	*ch;
	uint64_t	 id, t;
	uint32_t	 slots;
	int		 rc, dup = _i == 0;

	daemon_start(&d, 2, "8M", "1M");
	c = client_connect(&d);
	ck_assert(shm_find(RING_NAME, &r));
	h = (struct ring_hdr *)r.addr;
	slots = h->slots;
	rc = marcd_submit_file(c, g_big.path, NULL, &id);
	ck_assert_msg(rc == 0, "submit: %s", marcd_strerror(rc));
	ck_assert_int_eq(marcd_next_chunk(c, id, NEXT_TIMEOUT, &ch), 1);
	marcd_chunk_release(c, ch);
	ring_wait_items(h, 2);
	t = atomic_load(&h->tail);
	if (dup) {
		/* Put the descriptor just taken back in front. */
		atomic_store(&h->slot[(t - 1) & (slots - 1)].seq, t);
		atomic_store(&h->tail, t - 1);
		atomic_fetch_add(&h->items, 1);
	} else {
		/* Take the next one away. */
		atomic_fetch_sub(&h->items, 1);
		atomic_store(&h->slot[t & (slots - 1)].seq, t + slots);
		atomic_store(&h->tail, t + 1);
	}
	do {
		rc = marcd_next_chunk(c, id, NEXT_TIMEOUT, &ch);
		if (rc == 1)
			marcd_chunk_release(c, ch);
	} while (rc == 1);
	ck_assert_msg(rc == MARCD_E_CORRUPT, "%s chunk: %d (%s), want "
	    "MARCD_E_CORRUPT", dup ? "duplicated" : "missing", rc,
	    marcd_strerror(rc));
	printf("%s chunk: \"%s\"\n", dup ? "duplicated" : "missing",
	    marcd_last_error(c));
	marcd_close(c);
	daemon_finish(&d);
}
END_TEST

/*
 * The Python package's block helpers on a block whose record index points
 * every entry at the same record: refused (MARCD_E_CORRUPT), rather than
 * giving tables and values many times the block's size (which then do not
 * fit the buffers the package sizes from the block).
 */
START_TEST(test_py_overlapping_entries)
{
	enum { SIZE = 4096, NREC = 60, AT = 304, VLEN = 900 };
	struct chunk_hdr	 h;
	struct rec_hdr		 r;
	struct marc_field	 f;
	uint32_t		 nrec, nf, none[NREC], nnone, i, off = AT;
	uint8_t			*blk, buf[SIZE + NREC];
	size_t			 used;

	blk = calloc(1, SIZE);
	ck_assert_ptr_nonnull(blk);
	memset(&h, 0, sizeof h);
	h.magic = CHUNK_MAGIC;
	h.layout_version = MARCD_LAYOUT_VERSION;
	h.used = SIZE;
	h.nrecords = NREC;
	h.index_off = sizeof h;
	h.errors_off = sizeof h;
	memcpy(blk, &h, sizeof h);
	for (i = 0; i < NREC; i++)
		memcpy(blk + sizeof h + i * 4, &off, 4);
	memset(&r, 0, sizeof r);
	r.iso_len = MARC_LEADER_LEN + VLEN + 1;
	r.nfields = 1;
	r.size = sizeof r + sizeof f + r.iso_len;
	memcpy(r.leader, "00000nam a2200000 a 4500", MARC_LEADER_LEN);
	memcpy(blk + AT, &r, sizeof r);
	memset(&f, 0, sizeof f);
	memcpy(f.tag, "001", 3);
	f.off = MARC_LEADER_LEN;
	f.len = VLEN;
	memcpy(blk + AT + sizeof r, &f, sizeof f);
	memset(blk + AT + sizeof r + sizeof f + MARC_LEADER_LEN, 'x', VLEN);
	ck_assert_uint_le(AT + r.size, SIZE);

	ck_assert_int_eq(marcd_py_block_count(blk, SIZE, &nrec, &nf),
	    MARCD_E_CORRUPT);
	ck_assert_int_eq(marcd_py_block_orphans(blk, SIZE, NULL, 0),
	    MARCD_E_CORRUPT);
	ck_assert_int_eq(marcd_py_block_values(blk, SIZE, "001", -1, buf,
	    sizeof buf, &used, none, &nnone), MARCD_E_CORRUPT);
	/* One entry alone is a good block. */
	h.nrecords = 1;
	memcpy(blk, &h, sizeof h);
	ck_assert_int_eq(marcd_py_block_count(blk, SIZE, &nrec, &nf), 0);
	ck_assert_uint_eq(nrec, 1);
	ck_assert_uint_eq(nf, 1);
	ck_assert_int_eq(marcd_py_block_values(blk, SIZE, "001", -1, buf,
	    sizeof buf, &used, none, &nnone), 1);
	ck_assert_uint_eq(used, VLEN);
	free(blk);
}
END_TEST

/* The suite, with time limits sized for ASan on two cores. */
static Suite *
trust_suite(void)
{
	Suite	*s = suite_create("shm_trust");
	TCase	*tc;

	tc = tcase_create("block");
	tcase_add_test(tc, test_py_overlapping_entries);
	suite_add_tcase(s, tc);

	tc = tcase_create("arena");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_arena_read_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("ring");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_scribbler_alone, 0, SCRIB_COUNT);
	tcase_add_loop_test(tc, test_seq_dup_gap, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(trust_suite, BIG_MIN);
}
