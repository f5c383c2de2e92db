/* tests/check_ring.c: the shared-memory descriptor ring, across processes. */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_util.h"
#include "ring.h"

#define PAGE		4096
#define NPROD		3
#define NCONS		3
#define NSTRESS		200000
#define CHILD_ALARM	60	/* a wedged child dies rather than linger */

/* A ring in a shared mapping that ends in a PROT_NONE guard page. */
struct shring {
	uint8_t		*map;
	size_t		 maplen;
	struct ring_hdr	*r;
	uint32_t	 slots;
};

/* What the stress processes share besides the ring. */
struct stress {
	_Atomic uint64_t	stop;
	_Atomic uint64_t	got;
	_Atomic uint64_t	dups;
	_Atomic uint64_t	bad;
	_Atomic uint64_t	full;		/* pushes that found it full */
	_Atomic uint64_t	percons[NCONS];
	sem_t			space;		/* free slots, for producers */
	int			use_space;
	_Atomic uint64_t	bitmap[(NSTRESS + 63) / 64];
};

/* Monotonic milliseconds, for timing waits. */
static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU milliseconds of this thread, to time work without counting waits
 * for the scheduler. */
static double
cpu_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Map shared anonymous memory that survives fork. */
static void *
shared_alloc(size_t n)
{
	void	*p;

	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

/* Make a ring flush against a guard page, so a stray index faults. */
static void
shring_new(struct shring *s, uint32_t slots)
{
	size_t	rb = ring_bytes(slots), body;

	ck_assert_uint_ne(rb, 0);
	body = (rb + PAGE - 1) / PAGE * PAGE;
	s->maplen = body + PAGE;
	s->map = shared_alloc(s->maplen);
	ck_assert_int_eq(mprotect(s->map + body, PAGE, PROT_NONE), 0);
	s->r = (struct ring_hdr *)(s->map + body - rb);
	s->slots = slots;
	ck_assert_int_eq(ring_init(s->r, slots), 0);
}

/* Undo shring_new. */
static void
shring_free(struct shring *s)
{
	ck_assert_int_eq(munmap(s->map, s->maplen), 0);
}

/* Put an empty ring at an arbitrary position, as if it had run that long. */
static void
ring_seek(struct ring_hdr *r, uint64_t pos)
{
	uint64_t	p;
	uint32_t	i;

	atomic_store(&r->head, pos);
	atomic_store(&r->tail, pos);
	for (i = 0; i < r->slots; i++) {
		p = pos + i;
		atomic_store(&r->slot[p & r->mask].seq, p);
	}
}

/* Fill every field from the id, so a torn copy is noticed. */
static void
desc_make(uint64_t id, struct chunk_desc *d)
{
	memset(d, 0, sizeof *d);
	d->batch_id = id;
	d->src_off = id * 0x9e3779b97f4a7c15ULL;
	d->block = (uint32_t)id ^ 0xa5a5a5a5u;
	d->seq = ~(uint32_t)id;
	d->flags = (uint32_t)(id & 7);
	d->nrecords = (uint32_t)(id >> 3);
}

/* Whether a descriptor is one desc_make() wrote. */
static int
desc_ok(const struct chunk_desc *d)
{
	struct chunk_desc	e;

	desc_make(d->batch_id, &e);
	return memcmp(d, &e, sizeof e) == 0;
}

/* Wait until a child sleeps in the kernel (futex), bounded to 10 s. */
static int
wait_blocked(pid_t pid)
{
	struct timespec	 ts = { 0, 1000000 };
	char		 path[64], buf[128];
	FILE		*f;
	long		 nr;
	int		 i, n;

	for (i = 0; i < 10000; i++) {
		snprintf(path, sizeof path, "/proc/%ld/syscall", (long)pid);
		if ((f = fopen(path, "r")) != NULL) {
			n = fscanf(f, "%ld", &nr);
			fclose(f);
			if (n == 1 && nr == SYS_futex)
				return 1;
		} else {
			/* No syscall file: settle for "sleeping". */
			snprintf(path, sizeof path, "/proc/%ld/stat",
			    (long)pid);
			if ((f = fopen(path, "r")) == NULL)
				return 0;
			n = fread(buf, 1, sizeof buf - 1, f) > 0;
			fclose(f);
			buf[sizeof buf - 1] = '\0';
			if (n && strstr(buf, ") S ") != NULL)
				return 1;
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

START_TEST(test_bytes)
{
	struct shring		s;
	struct chunk_desc	d;
	uint32_t		n;

	ck_assert_uint_eq(ring_bytes(0), 0);
	ck_assert_uint_eq(ring_bytes(3), 0);
	ck_assert_uint_eq(ring_bytes(96), 0);
	ck_assert_uint_eq(ring_bytes(RING_MAX_SLOTS * 2u), 0);
	for (n = 1; n <= RING_MAX_SLOTS; n <<= 1) {
		ck_assert_uint_eq(ring_bytes(n) % SHM_CACHELINE, 0);
		ck_assert_uint_ge(ring_bytes(n),
		    sizeof(struct ring_hdr) + n * sizeof(struct ring_slot));
	}
	shring_new(&s, 64);
	errno = 0;
	ck_assert_int_eq(ring_init(s.r, 48), -1);
	ck_assert_int_eq(errno, EINVAL);
	desc_make(1, &d);
	errno = 0;
	ck_assert_int_eq(ring_push(s.r, 0, &d), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(ring_push(s.r, 48, &d), -1);
	ck_assert_int_eq(errno, EINVAL);
	shring_free(&s);
}
END_TEST

START_TEST(test_order)
{
	struct shring		s;
	struct chunk_desc	d;
	uint64_t		in = 0, out = 0;
	int			lap, i, k;

	shring_new(&s, 8);
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 0);
	for (lap = 0; lap < 50; lap++) {
		/* Fill completely on even laps, partly on odd ones. */
		k = lap % 2 == 0 ? 8 : 1 + lap % 7;
		for (i = 0; i < k; i++) {
			desc_make(in++, &d);
			ck_assert_int_eq(ring_push(s.r, 8, &d), 0);
		}
		if (k == 8) {
			desc_make(999, &d);
			errno = 0;
			ck_assert_int_eq(ring_push(s.r, 8, &d), -1);
			ck_assert_int_eq(errno, EAGAIN);
		}
		for (i = 0; i < k; i++) {
			ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 1);
			ck_assert(desc_ok(&d));
			ck_assert_uint_eq(d.batch_id, out++);
		}
		ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 0);
	}
	ck_assert_uint_eq(atomic_load(&s.r->head), in);
	ck_assert_uint_eq(atomic_load(&s.r->tail), in);
	shring_free(&s);
}
END_TEST

/* Positions a ring starts at: fresh, about to cross 2^32, 2^63, 2^64. */
static const uint64_t start_pos[] = {
	0, (1ULL << 32) - 5, (1ULL << 63) - 5, UINT64_MAX - 4,
};

START_TEST(test_wrap)
{
	struct shring		s;
	struct chunk_desc	d;
	uint64_t		start = start_pos[_i], in = 0, out = 0;
	int			lap, i, k;

	shring_new(&s, 8);
	ring_seek(s.r, start);
	for (lap = 0; lap < 40; lap++) {
		k = lap % 3 == 0 ? 8 : 1 + lap % 8;
		for (i = 0; i < k; i++) {
			desc_make(in++, &d);
			ck_assert_int_eq(ring_push(s.r, 8, &d), 0);
		}
		if (k == 8) {
			errno = 0;
			ck_assert_int_eq(ring_push(s.r, 8, &d), -1);
			ck_assert_int_eq(errno, EAGAIN);
		}
		for (i = 0; i < k; i++) {
			ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 1);
			ck_assert(desc_ok(&d));
			ck_assert_uint_eq(d.batch_id, out++);
		}
		ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 0);
	}
	/* Positions went past the boundary (mod 2^64) and still agree. */
	ck_assert_uint_eq(atomic_load(&s.r->head), start + in);
	ck_assert_uint_eq(atomic_load(&s.r->tail), start + in);
	ck_assert_uint_gt(in, 5);
	shring_free(&s);
}
END_TEST

/* The producer against ring memory a client has scribbled on. */
START_TEST(test_push_corrupt)
{
	struct shring		s;
	struct chunk_desc	d;
	uint64_t		x = 88172645463325252ULL;
	uint32_t		i;
	int			n, rc, ok = 0, full = 0, proto = 0;

	shring_new(&s, 64);
	desc_make(7, &d);

	/* Slot ahead of head while head stays put: impossible, EPROTO. */
	atomic_store(&s.r->slot[0].seq, 5);
	errno = 0;
	ck_assert_int_eq(ring_push(s.r, 64, &d), -1);
	ck_assert_int_eq(errno, EPROTO);
	/* Slot behind head: looks full. */
	atomic_store(&s.r->slot[0].seq, UINT64_MAX - 3);
	errno = 0;
	ck_assert_int_eq(ring_push(s.r, 64, &d), -1);
	ck_assert_int_eq(errno, EAGAIN);

	/* A lying mask and slot count must not move the producer's index. */
	ck_assert_int_eq(ring_init(s.r, 64), 0);
	s.r->mask = UINT32_MAX;
	s.r->slots = UINT32_MAX;
	for (n = 0; n < 64; n++) {
		atomic_store(&s.r->head, (uint64_t)n << 40 | 0xffffff);
		atomic_store(&s.r->slot[63].seq, (uint64_t)n << 40 | 0xffffff);
		ck_assert_int_eq(ring_push(s.r, 64, &d), 0);
	}

	/* Random garbage everywhere: only ever 0 or -1, and no fault. */
	for (n = 0; n < 100000; n++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (n % 3 == 0)
			atomic_store(&s.r->head, x >> (x & 63));
		i = (uint32_t)(x >> 20) & 63;
		atomic_store(&s.r->slot[i].seq, x % 5 == 0 ?
		    atomic_load(&s.r->head) : x);
		rc = ring_push(s.r, 64, &d);
		if (rc == 0)
			ok++;
		else if (errno == EAGAIN)
			full++;
		else {
			ck_assert_int_eq(errno, EPROTO);
			proto++;
		}
	}
	ck_assert_int_gt(ok, 0);
	ck_assert_int_gt(full + proto, 0);
	shring_free(&s);
}
END_TEST

/* The producer while another process rewrites the ring as fast as it can. */
START_TEST(test_push_hostile)
{
	struct shring		 s;
	struct chunk_desc	 d;
	_Atomic uint64_t	*go;
	uint64_t		 x = 0x2545f4914f6cdd1dULL;
	double			 t0, worst = 0, t;
	pid_t			 pid;
	int			 n, nok = 0;

	shring_new(&s, 64);
	go = shared_alloc(PAGE);
	if ((pid = fork()) == 0) {
		alarm(CHILD_ALARM);
		while (atomic_load(go) == 0) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			atomic_store(&s.r->slot[x & 63].seq, x >> 32);
			atomic_fetch_add(&s.r->head, x & 3);
			atomic_store(&s.r->tail, x);
			s.r->mask = (uint32_t)x;
		}
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	desc_make(3, &d);
	for (n = 0; n < 200000; n++) {
		t0 = cpu_ms();
		if (ring_push(s.r, 64, &d) == 0)
			nok++;
		if ((t = cpu_ms() - t0) > worst)
			worst = t;
	}
	atomic_store(go, 1);
	ck_assert_int_eq(reap(pid), 0);
	printf("hostile: %d of 200000 pushes landed, most CPU %.3f ms\n", nok,
	    worst);
	/* Bounded: 4096 tries take well under a millisecond. */
	ck_assert_msg(worst < 20, "push took %.1f ms of CPU", worst);
	munmap((void *)go, PAGE);
	shring_free(&s);
}
END_TEST

/* Consumers facing a slot claimed but not yet published, or nonsense. */
START_TEST(test_pop_inflight)
{
	struct shring		 s;
	struct chunk_desc	 d;
	_Atomic uint64_t	 stop = ARENA_STOPPING;
	int			 v;

	shring_new(&s, 8);
	/* Position 0 claimed by a producer that has not published yet, and a
	 * count posted (as a later producer would). */
	atomic_store(&s.r->head, 1);
	ck_assert_int_eq(ring_wake(s.r, 1), 0);
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 0);
	v = (int)atomic_load(&s.r->items);
	ck_assert_int_eq(v, 1);		/* the count was handed back */
	errno = 0;
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, -1, &stop), -1);
	ck_assert_int_eq(errno, ECANCELED);
	v = (int)atomic_load(&s.r->items);
	ck_assert_int_eq(v, 1);
	/* The producer finishes: now it is there. */
	desc_make(11, &s.r->slot[0].d);
	atomic_store(&s.r->slot[0].seq, 1);
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 1);
	ck_assert_uint_eq(d.batch_id, 11);
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 0);

	/* A slot ahead of an unmoving tail cannot happen: EPROTO. */
	desc_make(12, &d);
	ck_assert_int_eq(ring_push(s.r, 8, &d), 0);
	atomic_store(&s.r->slot[1].seq, 100);
	errno = 0;
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), -1);
	ck_assert_int_eq(errno, EPROTO);
	shring_free(&s);
}
END_TEST

/*
 * A consumer whose ring was scribbled on (its own client, in the layout
 * where nobody else maps it) never indexes outside the ring and never
 * waits for ever: a nonsense mask or slot count is not read at all, a
 * tail outside [head - slots, head] is EPROTO at once, and a slot claimed
 * but never published is EPROTO after a few seconds.
 */
START_TEST(test_pop_hostile)
{
	struct shring		 s;
	struct chunk_desc	 d;
	_Atomic uint64_t	 stop = ARENA_RUNNING;
	double			 t0, ms;
	uint64_t		 i;

	shring_new(&s, 8);
	/* The ring's own size fields say "huge": the guard page would
	 * catch any index taken from them. */
	s.r->mask = UINT32_MAX;
	s.r->slots = 1u << 31;
	for (i = 1; i <= 20; i++) {
		desc_make(i, &d);
		ck_assert_int_eq(ring_push(s.r, 8, &d), 0);
		ck_assert_int_eq(ring_pop(s.r, s.slots, &d, 1000, &stop), 1);
		ck_assert(desc_ok(&d));
		ck_assert_uint_eq(d.batch_id, i);
	}

	/* Tail ahead of head. */
	desc_make(21, &d);
	ck_assert_int_eq(ring_push(s.r, 8, &d), 0);
	atomic_store(&s.r->tail, atomic_load(&s.r->head) + 1000);
	t0 = now_ms();
	errno = 0;
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, 5000, &stop), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_msg(now_ms() - t0 < 1000, "took %.0f ms", now_ms() - t0);

	/* Tail more than a lap behind head. */
	ck_assert_int_eq(ring_init(s.r, 8), 0);
	desc_make(22, &d);
	ck_assert_int_eq(ring_push(s.r, 8, &d), 0);
	atomic_store(&s.r->tail, (uint64_t)0 - 100);
	errno = 0;
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), -1);
	ck_assert_int_eq(errno, EPROTO);

	/* A claim nobody will publish: a bounded wait, then EPROTO. */
	ck_assert_int_eq(ring_init(s.r, 8), 0);
	atomic_store(&s.r->head, 1);
	ck_assert_int_eq(ring_wake(s.r, 1), 0);
	t0 = now_ms();
	errno = 0;
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, -1, &stop), -1);
	ck_assert_int_eq(errno, EPROTO);
	ms = now_ms() - t0;
	printf("unpublished claim: EPROTO after %.0f ms\n", ms);
	ck_assert(ms >= 4000 && ms < 20000);
	shring_free(&s);
}
END_TEST

/* A ring in its own sealed memfd, created by one side, attached by the
 * other with its own slot count; wrong files are refused. */
START_TEST(test_ring_memfd)
{
	struct ring_map		 a, b;
	struct chunk_desc	 d;
	struct stat		 st;
	int			 fd, seals;

	ck_assert_int_eq(ring_create(&a, 64), 0);
	ck_assert_int_ge(a.fd, 0);
	ck_assert_int_eq(fstat(a.fd, &st), 0);
	ck_assert_int_eq(st.st_size % PAGE, 0);
	ck_assert_int_ge(st.st_size, (off_t)ring_bytes(64));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	seals = fcntl(a.fd, F_GET_SEALS);
	ck_assert_int_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
	    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	ck_assert_int_eq(ftruncate(a.fd, 0), -1);
	/* Another slot count means another size: refused. */
	errno = 0;
	ck_assert_int_eq(ring_attach(&b, a.fd, 128), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_int_eq(ring_attach(&b, a.fd, 48), -1);
	ck_assert_int_eq(ring_attach(&b, a.fd, 64), 0);
	desc_make(5, &d);
	ck_assert_int_eq(ring_push(a.r, a.slots, &d), 0);
	ck_assert_int_eq(ring_trypop(b.r, b.slots, &d), 1);
	ck_assert(desc_ok(&d));
	ck_assert_uint_eq(d.batch_id, 5);
	ring_unmap(&b);
	ck_assert_ptr_null(b.r);
	ring_unmap(&b);	/* harmless twice */
	ring_unmap(&a);
	ck_assert_int_eq(a.fd, -1);

	/* An unsealed file of the right size is not a ring. */
	fd = memfd_create("not-a-ring", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)((ring_bytes(64) + PAGE - 1) /
	    PAGE * PAGE)), 0);
	errno = 0;
	ck_assert_int_eq(ring_attach(&b, fd, 64), -1);
	ck_assert_int_eq(errno, EPROTO);
	close(fd);
	errno = 0;
	ck_assert_int_eq(ring_create(&a, 48), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_pop_timeout)
{
	struct shring		 s;
	struct chunk_desc	 d;
	_Atomic uint64_t	 stop = ARENA_RUNNING;
	double			 t0, dt;

	shring_new(&s, 8);
	t0 = now_ms();
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, 0, &stop), 0);
	ck_assert_double_lt(now_ms() - t0, 50);

	t0 = now_ms();
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, 300, &stop), 0);
	dt = now_ms() - t0;
	ck_assert_double_ge(dt, 295);
	ck_assert_double_lt(dt, 1000);

	/* Longer than one 200 ms slice, without a stop flag. */
	t0 = now_ms();
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, 450, NULL), 0);
	dt = now_ms() - t0;
	ck_assert_double_ge(dt, 445);
	ck_assert_double_lt(dt, 1200);

	desc_make(42, &d);
	ck_assert_int_eq(ring_push(s.r, 8, &d), 0);
	memset(&d, 0, sizeof d);
	t0 = now_ms();
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, 1000, &stop), 1);
	ck_assert_double_lt(now_ms() - t0, 50);
	ck_assert_uint_eq(d.batch_id, 42);
	ck_assert(desc_ok(&d));
	shring_free(&s);
}
END_TEST

START_TEST(test_pop_stop)
{
	struct shring		 s;
	struct chunk_desc	 d;
	_Atomic uint64_t	 stop = ARENA_STOPPING;
	double			 t0;

	shring_new(&s, 8);
	t0 = now_ms();
	errno = 0;
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, -1, &stop), -1);
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert_double_lt(now_ms() - t0, 50);

	/* Published descriptors are still handed out while stopping. */
	desc_make(5, &d);
	ck_assert_int_eq(ring_push(s.r, 8, &d), 0);
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, -1, &stop), 1);
	ck_assert_uint_eq(d.batch_id, 5);
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, -1, &stop), -1);
	shring_free(&s);
}
END_TEST

/* A child asleep in ring_pop notices the stop: by itself within a slice,
 * at once when woken. */
START_TEST(test_pop_stop_sleeper)
{
	struct shring		 s;
	struct chunk_desc	 d;
	_Atomic uint64_t	*stop;
	double			 t0, dt;
	pid_t			 pid;
	int			 wake;

	shring_new(&s, 8);
	stop = shared_alloc(PAGE);
	for (wake = 0; wake < 2; wake++) {
		atomic_store(stop, ARENA_RUNNING);
		if ((pid = fork()) == 0) {
			alarm(CHILD_ALARM);
			errno = 0;
			if (ring_pop(s.r, s.slots, &d, -1, stop) == -1 &&
			    errno == ECANCELED)
				_exit(0);
			_exit(1);
		}
		ck_assert_int_gt(pid, 0);
		ck_assert(wait_blocked(pid));
		t0 = now_ms();
		atomic_store(stop, ARENA_STOPPING);
		if (wake)
			ck_assert_int_eq(ring_wake(s.r, 1), 0);
		ck_assert_int_eq(reap(pid), 0);
		dt = now_ms() - t0;
		printf("stop noticed after %.1f ms (%s)\n", dt,
		    wake ? "ring_wake" : "slice");
		ck_assert_double_lt(dt, wake ? 180 : 700);
	}
	/* The wake-up count was consumed, not left behind. */
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 0);
	munmap((void *)stop, PAGE);
	shring_free(&s);
}
END_TEST

/* A stray wake-up without a stop neither yields a descriptor nor breaks the
 * count. */
START_TEST(test_wake_spurious)
{
	struct shring		s;
	struct chunk_desc	d;
	int			v;

	shring_new(&s, 8);
	ck_assert_int_eq(ring_wake(s.r, 3), 0);
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 0);
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, 0, NULL), 0);
	ck_assert_int_eq(ring_pop(s.r, s.slots, &d, 50, NULL), 0);
	v = (int)atomic_load(&s.r->items);
	ck_assert_int_eq(v, 0);
	desc_make(9, &d);
	ck_assert_int_eq(ring_push(s.r, 8, &d), 0);
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 1);
	ck_assert_uint_eq(d.batch_id, 9);
	ck_assert_int_eq(ring_trypop(s.r, s.slots, &d), 0);
	shring_free(&s);
}
END_TEST

/* Producer process: push ids [lo, hi), waiting politely when full. */
static void
stress_producer(struct stress *st, struct shring *s, uint64_t lo,
    uint64_t hi)
{
	struct chunk_desc	d;
	struct timespec		ts;
	uint64_t		id;

	for (id = lo; id < hi; id++) {
		desc_make(id, &d);
		while (st->use_space) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec++;
			if (sem_timedwait(&st->space, &ts) == 0)
				break;
			if (errno != EINTR && errno != ETIMEDOUT)
				_exit(4);
			if (atomic_load(&st->stop) != ARENA_RUNNING)
				_exit(6);
		}
		while (ring_push(s->r, s->slots, &d) == -1) {
			if (errno != EAGAIN)
				_exit(5);
			if (atomic_load(&st->stop) != ARENA_RUNNING)
				_exit(6);
			atomic_fetch_add(&st->full, 1);
			sched_yield();
		}
	}
	_exit(0);
}

/* Consumer process: take until everything arrived, marking each id. */
static void
stress_consumer(struct stress *st, struct shring *s, int me)
{
	struct chunk_desc	d;
	uint64_t		bit;
	int			rc;

	for (;;) {
		rc = ring_pop(s->r, s->slots, &d, 5000, &st->stop);
		if (rc == 0)
			_exit(2);
		if (rc == -1)
			_exit(errno == ECANCELED ? 0 : 3);
		if (st->use_space)
			sem_post(&st->space);
		if (!desc_ok(&d) || d.batch_id >= NSTRESS) {
			/* Garbled: fail fast, and make everybody stop. */
			atomic_fetch_add(&st->bad, 1);
			atomic_store(&st->stop, ARENA_STOPPING);
			ring_wake(s->r, NCONS);
			_exit(7);
		}
		bit = 1ULL << (d.batch_id % 64);
		if (atomic_fetch_or(&st->bitmap[d.batch_id / 64], bit) & bit)
			atomic_fetch_add(&st->dups, 1);
		atomic_fetch_add(&st->percons[me], 1);
		if (atomic_fetch_add(&st->got, 1) + 1 == NSTRESS) {
			atomic_store(&st->stop, ARENA_STOPPING);
			ring_wake(s->r, NCONS);
		}
	}
}

/* Check that every id arrived exactly once. */
static void
stress_verify(struct stress *st)
{
	uint64_t	missing = 0, id;

	for (id = 0; id < NSTRESS; id++)
		if (!(atomic_load(&st->bitmap[id / 64]) & 1ULL << (id % 64)))
			missing++;
	ck_assert_uint_eq(atomic_load(&st->bad), 0);
	ck_assert_uint_eq(atomic_load(&st->dups), 0);
	ck_assert_uint_eq(missing, 0);
	ck_assert_uint_eq(atomic_load(&st->got), NSTRESS);
}

/* Run NPROD producers and NCONS consumers over one ring. */
static void
stress_run(uint32_t slots, int use_space)
{
	struct shring	 s;
	struct stress	*st;
	pid_t		 pid[NPROD + NCONS];
	double		 t0, dt;
	int		 i;

	shring_new(&s, slots);
	st = shared_alloc(sizeof *st);
	st->use_space = use_space;
	ck_assert_int_eq(sem_init(&st->space, 1, slots), 0);
	t0 = now_ms();
	for (i = 0; i < NCONS; i++) {
		if ((pid[i] = fork()) == 0) {
			alarm(CHILD_ALARM);
			stress_consumer(st, &s, i);
		}
		ck_assert_int_gt(pid[i], 0);
	}
	for (i = 0; i < NPROD; i++) {
		if ((pid[NCONS + i] = fork()) == 0) {
			alarm(CHILD_ALARM);
			stress_producer(st, &s, (uint64_t)NSTRESS * i / NPROD,
			    (uint64_t)NSTRESS * (i + 1) / NPROD);
		}
		ck_assert_int_gt(pid[NCONS + i], 0);
	}
	for (i = 0; i < NPROD + NCONS; i++)
		ck_assert_int_eq(reap(pid[i]), 0);
	dt = now_ms() - t0;
	printf("stress %u slots, %s: %d descriptors in %.0f ms "
	    "(%.0f ns each); consumers got %lu/%lu/%lu; full %lu\n",
	    slots, use_space ? "space semaphore" : "yield when full",
	    NSTRESS, dt, dt * 1e6 / NSTRESS,
	    (unsigned long)st->percons[0], (unsigned long)st->percons[1],
	    (unsigned long)st->percons[2], (unsigned long)st->full);
	stress_verify(st);
	sem_destroy(&st->space);
	munmap(st, sizeof *st);
	shring_free(&s);
}

START_TEST(test_stress_space)
{
	stress_run(16, 1);
}
END_TEST

START_TEST(test_stress_yield)
{
	stress_run(64, 0);
}
END_TEST

/* A consumer killed while asleep in ring_pop costs the others nothing. */
START_TEST(test_kill_sleeper)
{
	struct shring	 s;
	struct stress	*st;
	pid_t		 pid[NCONS], prod;
	int		 i, rc;

	shring_new(&s, 64);
	st = shared_alloc(sizeof *st);
	ck_assert_int_eq(sem_init(&st->space, 1, 64), 0);
	for (i = 0; i < NCONS; i++) {
		if ((pid[i] = fork()) == 0) {
			alarm(CHILD_ALARM);
			stress_consumer(st, &s, i);
		}
		ck_assert_int_gt(pid[i], 0);
	}
	for (i = 0; i < NCONS; i++)
		ck_assert(wait_blocked(pid[i]));
	ck_assert_int_eq(kill(pid[0], SIGKILL), 0);
	ck_assert_int_eq(reap(pid[0]), 128 + SIGKILL);

	if ((prod = fork()) == 0) {
		alarm(CHILD_ALARM);
		stress_producer(st, &s, 0, NSTRESS);
	}
	ck_assert_int_gt(prod, 0);
	ck_assert_int_eq(reap(prod), 0);
	for (i = 1; i < NCONS; i++) {
		rc = reap(pid[i]);
		ck_assert_int_eq(rc, 0);
	}
	ck_assert_uint_eq(st->percons[0], 0);
	printf("after kill -9: survivors got %lu + %lu\n",
	    (unsigned long)st->percons[1], (unsigned long)st->percons[2]);
	stress_verify(st);
	sem_destroy(&st->space);
	munmap(st, sizeof *st);
	shring_free(&s);
}
END_TEST

/* All ring suites. */
static Suite *
ring_suite(void)
{
	Suite	*s = suite_create("ring");
	TCase	*tc;

	tc = tcase_create("unit");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_order);
	tcase_add_loop_test(tc, test_wrap, 0,
	    sizeof start_pos / sizeof start_pos[0]);
	tcase_add_test(tc, test_push_corrupt);
	tcase_add_test(tc, test_push_hostile);
	tcase_add_test(tc, test_pop_inflight);
	tcase_add_test(tc, test_pop_hostile);
	tcase_add_test(tc, test_ring_memfd);
	tcase_add_test(tc, test_pop_timeout);
	tcase_add_test(tc, test_pop_stop);
	tcase_add_test(tc, test_pop_stop_sleeper);
	tcase_add_test(tc, test_wake_spurious);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stress_space);
	tcase_add_test(tc, test_stress_yield);
	tcase_add_test(tc, test_kill_sleeper);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(ring_suite());
}
