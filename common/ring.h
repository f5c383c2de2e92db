/*
 * common/ring.h: bounded lock-free MPMC ring of chunk descriptors in shared
 * memory (struct ring_hdr, common/shm.h).
 *
 * Vyukov's bounded queue: every slot carries a 64-bit sequence number, so
 * positions never wrap in practice and there is no ABA; differences are taken
 * modulo 2^64, so even a wrap would be harmless.  A count of published
 * descriptors, a futex in the ring, acts as a process-shared semaphore:
 * consumers sleep on it, and one that took a count is owed a descriptor, so the dequeue loop only retries on contention
 * (or, for a few instructions, while a concurrent producer finishes the slot
 * it claimed).
 *
 * Trust.  Each ring lives in a memfd of its own that only the supervisor
 * and one client map (read-write: the client takes descriptors and sleeps
 * on the count).  The futex is driven by raw system calls, which report
 * a count a client broke as an error; the C library's sem_post would abort
 * the supervisor on one.
 * - The producer (the supervisor) trusts nothing in the ring: it takes the
 *   slot count from its own copy (the slots argument, never r->slots or
 *   r->mask), masks every index with it, bounds every loop, and treats any
 *   sequence value it cannot explain as "full" (EAGAIN) or "corrupt"
 *   (EPROTO).  A scribbling client can only lose or garble its own
 *   descriptors and make its own ring look full.
 * - The consumer (the client) also takes the slot count from its own copy,
 *   fixed at attach time from the read-only arena header, so that whatever
 *   is in the ring it never indexes outside it; a tail ahead of head or
 *   more than a ring behind it, or a claimed slot that stays unpublished
 *   for seconds (the supervisor publishes it a few instructions after the
 *   claim), is reported as EPROTO rather than waited on.
 * - No other client can reach the ring at all.
 * - A consumer killed while asleep in ring_pop() leaves the ring intact.  One
 *   killed between taking a count and finishing the dequeue (a few
 *   instructions) loses a wake-up or leaves its slot unreleased, so that
 *   ring later looks full: a ring is never reused once its consumer is gone
 *   (the supervisor makes a new one for every connection).
 */
#ifndef MARCD_RING_H
#define MARCD_RING_H

#include <stddef.h>
#include <stdint.h>

#include "shm.h"

#define RING_MAX_SLOTS	(1u << 24)	/* 16M descriptors, 640 MiB of ring */

/* A ring in its own memfd, as the supervisor or the client maps it. */
struct ring_map {
	struct ring_hdr	*r;
	size_t		 size;		/* bytes mapped */
	uint32_t	 slots;		/* this side's own copy */
	int		 fd;		/* -1 once it is not needed */
};

/* Bytes a ring of that many slots needs, a multiple of SHM_CACHELINE; 0 if
 * slots is not a power of two in [1, RING_MAX_SLOTS]. */
size_t	ring_bytes(uint32_t slots);
/* Empty ring, count at 0: 0, or -1 with errno (EINVAL: bad slots). */
int	ring_init(struct ring_hdr *, uint32_t slots);
/* Supervisor: a new sealed memfd holding an empty ring of that many slots,
 * mapped: 0, or -1 with errno; on failure nothing is left open. */
int	ring_create(struct ring_map *, uint32_t slots);
/* Client: map a received ring fd, whose slot count the client fixed itself
 * (arena ring_slots): 0, or -1 with errno (EPROTO when the file is not a
 * sealed ring of that size).  The fd is the caller's either way. */
int	ring_attach(struct ring_map *, int fd, uint32_t slots);
/* Unmap and close; safe on a zeroed map. */
void	ring_unmap(struct ring_map *);
/* Supervisor: publish d, never blocking.  slots is the supervisor's own copy
 * of the ring size.  0 when published; -1 with EAGAIN (full, or a slot
 * value that can only mean the client is slow or scribbling), EPROTO (ring
 * memory inconsistent) or EINVAL (bad slots). */
int	ring_push(struct ring_hdr *, uint32_t slots, const struct chunk_desc *);
/* Client: take one if there is one: 1 got, 0 empty, -1 corrupt (EPROTO).
 * slots is the client's own copy of the ring size. */
int	ring_trypop(struct ring_hdr *, uint32_t slots, struct chunk_desc *);
/* Client: wait up to timeout_ms (-1: no limit) for a descriptor, sleeping on
 * the count in slices of at most 200 ms so that *stop (arena state) other
 * than ARENA_RUNNING is noticed; stop may be NULL.  Descriptors already
 * published are still handed out while stopping.  1 got, 0 timed out, -1
 * with ECANCELED (stopping), EPROTO (corrupt) or a futex errno. */
int	ring_pop(struct ring_hdr *, uint32_t slots, struct chunk_desc *,
	    int timeout_ms, _Atomic uint64_t *stop);
/* Supervisor, at shutdown, after setting the arena state to ARENA_STOPPING:
 * post n wake-ups so sleeping consumers see the stop at once.  0 or -1. */
int	ring_wake(struct ring_hdr *, int n);

#endif
