/* common/ring.c: lock-free MPMC descriptor ring in shared memory. */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/futex.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"

/* The ring is shared between processes: its atomics must not hide a lock. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(unsigned long long) == sizeof(uint64_t), "uint64_t size");
_Static_assert(sizeof(struct ring_hdr) % SHM_CACHELINE == 0, "ring header");

#define RING_PUSH_TRIES	4096	/* a legitimate push needs a handful */
#define RING_SLICE_MS	200	/* longest sleep before looking at *stop */
#define RING_SPIN	32	/* pauses, then as many yields, then naps */
#define RING_STALL_MS	5000	/* a claimed slot unpublished this long: the
				 * ring was scribbled on */
#define RING_MAX_EMPTY	4096	/* counts without a descriptor, per pop */
#define RING_PAGE	4096
#define RING_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW)


/* Unsigned distance a - b read as signed: true when a is before b. */
#define SEQ_BEFORE(a, b)	((uint64_t)((a) - (b)) > UINT64_MAX / 2)

/* Size rings from the slot count alone so both sides agree on the layout. */
size_t
ring_bytes(uint32_t slots)
{
	size_t	n;

	if (slots == 0 || (slots & (slots - 1)) != 0 || slots > RING_MAX_SLOTS)
		return 0;
	n = sizeof(struct ring_hdr) + (size_t)slots * sizeof(struct ring_slot);
	return (n + SHM_CACHELINE - 1) & ~(size_t)(SHM_CACHELINE - 1);
}

/* Put a ring in its empty state: slot i expects position i first. */
int
ring_init(struct ring_hdr *r, uint32_t slots)
{
	uint32_t	i;

	if (ring_bytes(slots) == 0) {
		errno = EINVAL;
		return -1;
	}
	r->slots = slots;
	r->mask = slots - 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	for (i = 0; i < slots; i++) {
		atomic_init(&r->slot[i].seq, i);
		memset(&r->slot[i].d, 0, sizeof r->slot[i].d);
	}
	atomic_init(&r->items, 0);
	atomic_init(&r->waiters, 0);
	atomic_thread_fence(memory_order_release);
	return 0;
}

/* The futex system call, shared between processes (no PRIVATE flag). */
static long
ring_futex(_Atomic uint32_t *addr, int op, uint32_t val,
    const struct timespec *until)
{
	return syscall(SYS_futex, addr, op, val, until, NULL,
	    FUTEX_BITSET_MATCH_ANY);
}

/* Count one descriptor in and wake a sleeper; a count or waiter number a
 * client scribbled on costs it a wake-up, never us a crash. */
static void
ring_post(struct ring_hdr *r)
{
	atomic_fetch_add(&r->items, 1);
	if (atomic_load(&r->waiters) != 0)
		(void)ring_futex(&r->items, FUTEX_WAKE, 1, NULL);
}

/* Take a count if there is one: 0, or -1 with EAGAIN. */
static int
ring_trywait(struct ring_hdr *r)
{
	uint32_t	c = atomic_load(&r->items);

	do {
		if (c == 0) {
			errno = EAGAIN;
			return -1;
		}
	} while (!atomic_compare_exchange_weak(&r->items, &c, c - 1));
	return 0;
}

/* Sleep until a count can be taken or a CLOCK_MONOTONIC deadline passes:
 * 0, or -1 with ETIMEDOUT, EINTR or what the kernel said. */
static int
ring_semwait(struct ring_hdr *r, const struct timespec *until)
{
	int	rc;

	atomic_fetch_add(&r->waiters, 1);
	for (;;) {
		if ((rc = ring_trywait(r)) == 0)
			break;
		/* Asleep only while the count is still 0. */
		if (ring_futex(&r->items, FUTEX_WAIT_BITSET, 0, until) == -1 &&
		    errno != EAGAIN) {
			rc = -1;
			break;
		}
	}
	atomic_fetch_sub(&r->waiters, 1);
	return rc;
}

/* Bytes of the memfd that holds a ring of that many slots. */
static size_t
ring_file_bytes(uint32_t slots)
{
	return (ring_bytes(slots) + RING_PAGE - 1) / RING_PAGE * RING_PAGE;
}

/*
 * One ring per client connection, in memory nobody but that client and
 * the supervisor maps: sealed so that the client cannot shrink it under
 * the supervisor, every page allocated now.
 */
int
ring_create(struct ring_map *m, uint32_t slots)
{
	size_t	size = ring_file_bytes(slots);
	void	*p;
	int	fd, e;

	memset(m, 0, sizeof *m);
	m->fd = -1;
	if (ring_bytes(slots) == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = memfd_create("marcd-ring", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return -1;
	if ((e = posix_fallocate(fd, 0, (off_t)size)) != 0)
		goto fail;
	if (fchmod(fd, 0600) == -1 ||
	    fcntl(fd, F_ADD_SEALS, RING_SEALS | F_SEAL_SEAL) == -1) {
		e = errno;
		goto fail;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		e = errno;
		goto fail;
	}
	if (ring_init(p, slots) == -1) {
		e = errno;
		munmap(p, size);
		goto fail;
	}
	m->r = p;
	m->size = size;
	m->slots = slots;
	m->fd = fd;
	return 0;

fail:
	close(fd);
	errno = e;
	return -1;
}

/* Map the ring the supervisor sent, sized by our own slot count. */
int
ring_attach(struct ring_map *m, int fd, uint32_t slots)
{
	struct stat	 st;
	size_t		 size = ring_file_bytes(slots);
	void		*p;
	int		 seals;

	memset(m, 0, sizeof *m);
	m->fd = -1;
	if (ring_bytes(slots) == 0) {
		errno = EINVAL;
		return -1;
	}
	if (fstat(fd, &st) == -1)
		return -1;
	seals = fcntl(fd, F_GET_SEALS);
	if (!S_ISREG(st.st_mode) || st.st_size != (off_t)size ||
	    seals == -1 || (seals & RING_SEALS) != RING_SEALS) {
		errno = EPROTO;
		return -1;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	m->r = p;
	m->size = size;
	m->slots = slots;
	return 0;
}

/* Drop a ring mapping and its fd. */
void
ring_unmap(struct ring_map *m)
{
	if (m->r != NULL) {
		munmap(m->r, m->size);
		if (m->fd >= 0)
			close(m->fd);
	}
	memset(m, 0, sizeof *m);
	m->fd = -1;
}

/* Give up the CPU for a moment while a producer finishes a claimed slot. */
static void
ring_backoff(unsigned *n)
{
	struct timespec	ts = { 0, 20000 };

	if (*n < RING_SPIN) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#elif defined(__aarch64__)
		__asm__ __volatile__("yield");
#endif
	} else if (*n < 2 * RING_SPIN)
		sched_yield();
	else
		nanosleep(&ts, NULL);
	(*n)++;
}

/* Whether the owner of the arena asked everybody to stop waiting. */
static int
ring_stopped(_Atomic uint64_t *stop)
{
	return stop != NULL &&
	    atomic_load_explicit(stop, memory_order_acquire) != ARENA_RUNNING;
}

/*
 * Publish one descriptor; only shared-memory values are read, always masked
 * with the caller's slot count, and the loop is bounded, because clients can
 * write this memory.
 */
int
ring_push(struct ring_hdr *r, uint32_t slots, const struct chunk_desc *d)
{
	uint64_t		 mask = (uint64_t)slots - 1, pos, seq, h;
	struct ring_slot	*s;
	int			 i;

	if (slots == 0 || (slots & mask) != 0) {
		errno = EINVAL;
		return -1;
	}
	pos = atomic_load_explicit(&r->head, memory_order_acquire);
	for (i = 0; i < RING_PUSH_TRIES; i++) {
		s = &r->slot[pos & mask];
		seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (seq == pos) {
			if (atomic_compare_exchange_weak_explicit(&r->head,
			    &pos, pos + 1, memory_order_acq_rel,
			    memory_order_acquire))
				goto claimed;
			continue;
		}
		if (SEQ_BEFORE(seq, pos)) {
			/* Last lap's descriptor not taken yet: full. */
			errno = EAGAIN;
			return -1;
		}
		/* Another producer took pos; head must have moved. */
		h = atomic_load_explicit(&r->head, memory_order_acquire);
		if (h == pos) {
			errno = EPROTO;
			return -1;
		}
		pos = h;
	}
	errno = EAGAIN;
	return -1;

claimed:
	s->d = *d;
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
	/*
	 * The descriptor is out, whatever a client did to the count: the
	 * caller must not hand the block out twice.
	 */
	ring_post(r);
	return 0;
}

/* Milliseconds on the monotonic clock, to bound a wait. */
static uint64_t
ring_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Dequeue once a count is held.  Returns 1 with *d filled, 0 when
 * nothing was claimed at all (the count was a ring_wake() or we gave up on a
 * slow producer and handed the count back), -1 when stopping or corrupt.
 * Indexes are masked with the caller's slot count, never the ring's, and
 * every wait is bounded, since the ring is writable memory.
 */
static int
ring_take(struct ring_hdr *r, uint32_t slots, struct chunk_desc *d,
    _Atomic uint64_t *stop, int patient)
{
	uint64_t		 mask = (uint64_t)slots - 1, pos, seq, t, h;
	uint64_t		 since = 0;
	struct ring_slot	*s;
	unsigned		 spins = 0;
	int			 stopping;

	if (ring_bytes(slots) == 0) {
		errno = EINVAL;
		return -1;
	}
	pos = atomic_load_explicit(&r->tail, memory_order_acquire);
	for (;;) {
		h = atomic_load_explicit(&r->head, memory_order_acquire);
		if (h - pos > slots) {
			/*
			 * Tail ahead of head, or more than a lap behind it:
			 * only a stale read of a tail that has since moved
			 * explains that in a sound ring.
			 */
			t = atomic_load_explicit(&r->tail,
			    memory_order_acquire);
			if (t == pos) {
				errno = EPROTO;
				return -1;
			}
			pos = t;
			continue;
		}
		s = &r->slot[pos & mask];
		seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (seq == pos + 1) {
			if (atomic_compare_exchange_weak_explicit(&r->tail,
			    &pos, pos + 1, memory_order_acq_rel,
			    memory_order_acquire))
				break;
			continue;
		}
		if (SEQ_BEFORE(seq, pos + 1)) {
			/*
			 * Not published at pos.  If no producer claimed it,
			 * the count we hold had no descriptor behind it.
			 */
			if (h == pos)
				return 0;
			/* A producer is between its claim and publish. */
			stopping = ring_stopped(stop);
			if (stopping || (!patient && spins >= 2 * RING_SPIN)) {
				/* Hand the count back for whoever comes next. */
				ring_post(r);
				if (stopping) {
					errno = ECANCELED;
					return -1;
				}
				return 0;
			}
			if (spins == 2 * RING_SPIN)
				since = ring_now_ms();
			else if (spins > 2 * RING_SPIN &&
			    ring_now_ms() - since > RING_STALL_MS) {
				/* No producer takes seconds to publish. */
				ring_post(r);
				errno = EPROTO;
				return -1;
			}
			ring_backoff(&spins);
			pos = atomic_load_explicit(&r->tail,
			    memory_order_acquire);
			continue;
		}
		/* Taken by another consumer; tail must have moved. */
		t = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (t == pos) {
			errno = EPROTO;
			return -1;
		}
		pos = t;
	}
	*d = s->d;
	atomic_store_explicit(&s->seq, pos + mask + 1, memory_order_release);
	return 1;
}

/* Take a descriptor without ever sleeping, for callers that poll. */
int
ring_trypop(struct ring_hdr *r, uint32_t slots, struct chunk_desc *d)
{
	if (ring_trywait(r) == -1)
		return 0;
	/* 0: a wake-up with the ring empty, or a producer still writing. */
	return ring_take(r, slots, d, NULL, 0);
}

/* Add ms milliseconds to a timespec. */
static void
ring_ts_add(struct timespec *ts, long ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Order two timespecs. */
static int
ring_ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

/* Wait for a descriptor asleep, waking at least every RING_SLICE_MS to
 * notice a stopping daemon, so that nothing ever spins on an empty ring. */
int
ring_pop(struct ring_hdr *r, uint32_t slots, struct chunk_desc *d,
    int timeout_ms, _Atomic uint64_t *stop)
{
	struct timespec	now, end = { 0, 0 }, until;
	int		rc, have_end = 0, empty = 0;

	for (;;) {
		if (ring_trywait(r) == -1) {
			if (ring_stopped(stop)) {
				errno = ECANCELED;
				return -1;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			/* The clock is read only once sleeping is likely. */
			if (timeout_ms >= 0 && !have_end) {
				end = now;
				ring_ts_add(&end, timeout_ms);
				have_end = 1;
			}
			if (timeout_ms >= 0 && ring_ts_cmp(&now, &end) >= 0)
				return 0;
			until = now;
			ring_ts_add(&until, RING_SLICE_MS);
			if (timeout_ms >= 0 && ring_ts_cmp(&end, &until) < 0)
				until = end;
			if (ring_semwait(r, &until) == -1) {
				if (errno == ETIMEDOUT || errno == EINTR)
					continue;
				return -1;
			}
		}
		if ((rc = ring_take(r, slots, d, stop, 1)) != 0)
			return rc;
		/* Wake-ups come one per stop: thousands of counts with
		 * nothing behind them are a count scribbled on. */
		if (++empty > RING_MAX_EMPTY) {
			errno = EPROTO;
			return -1;
		}
	}
}

/* Wake sleeping consumers at shutdown; they find no descriptor behind the
 * count and, seeing the stop state, return. */
int
ring_wake(struct ring_hdr *r, int n)
{
	int	i;

	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++)
		ring_post(r);
	return 0;
}
