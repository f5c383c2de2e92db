/*
 * common/ring.h: bounded lock-free MPMC ring of chunk descriptors in shared
 * memory (struct ring_hdr, common/shm.h).
 *
 * Vyukov's bounded queue: every slot carries a 64-bit sequence number, so
 * positions never wrap in practice and there is no ABA; differences are taken
 * modulo 2^64, so even a wrap would be harmless.  A process-shared semaphore
 * counts published descriptors: consumers sleep on it, and one that got past
 * it is owed a descriptor, so the dequeue loop only retries on contention
 * (or, for a few instructions, while a concurrent producer finishes the slot
 * it claimed).
 *
 * Trust.  The ring lives in memory that clients map read-write.
 * - The producer (the supervisor) trusts nothing in the ring: it takes the
 *   slot count from its own copy (the slots argument, never r->slots or
 *   r->mask), masks every index with it, bounds every loop, and treats any
 *   sequence value it cannot explain as "full" (EAGAIN) or "corrupt"
 *   (EPROTO).  A scribbling client can only lose or garble its own
 *   descriptors and make its own ring look full.
 * - Consumers (clients) trust r->mask once arena_attach() has checked it
 *   against the header, and trust the supervisor.  Another client mapping
 *   the same arena could still make a consumer wait or fail; clients of one
 *   arena (one tenant) are one trust domain.
 * - A consumer killed while asleep in ring_pop() leaves the ring intact.  One
 *   killed between taking a semaphore count and finishing the dequeue (a few
 *   instructions) loses a wake-up or leaves its slot unreleased, so that
 *   ring later looks full: the supervisor must treat a dead client's ring as
 *   lost and reinitialise it with ring_init() before reuse.
 */
#ifndef MARCD_RING_H
#define MARCD_RING_H

#include <stddef.h>
#include <stdint.h>

#include "shm.h"

#define RING_MAX_SLOTS	(1u << 24)	/* 16M descriptors, 640 MiB of ring */

/* Bytes a ring of that many slots needs, a multiple of SHM_CACHELINE; 0 if
 * slots is not a power of two in [1, RING_MAX_SLOTS]. */
size_t	ring_bytes(uint32_t slots);
/* Empty ring, semaphore at 0 (process-shared): 0, or -1 with errno. */
int	ring_init(struct ring_hdr *, uint32_t slots);
void	ring_destroy(struct ring_hdr *);
/* Supervisor: publish d, never blocking.  slots is the supervisor's own copy
 * of the ring size.  0 when published; -1 with EAGAIN (full, or a slot
 * value that can only mean the client is slow or scribbling), EPROTO (ring
 * memory inconsistent) or EINVAL (bad slots). */
int	ring_push(struct ring_hdr *, uint32_t slots, const struct chunk_desc *);
/* Client: take one if there is one: 1 got, 0 empty, -1 corrupt (EPROTO). */
int	ring_trypop(struct ring_hdr *, struct chunk_desc *);
/* Client: wait up to timeout_ms (-1: no limit) for a descriptor, sleeping on
 * the semaphore in slices of at most 200 ms so that *stop (arena state) other
 * than ARENA_RUNNING is noticed; stop may be NULL.  Descriptors already
 * published are still handed out while stopping.  1 got, 0 timed out, -1
 * with ECANCELED (stopping), EPROTO (corrupt) or a sem_* errno. */
int	ring_pop(struct ring_hdr *, struct chunk_desc *, int timeout_ms,
	    _Atomic uint64_t *stop);
/* Supervisor, at shutdown, after setting the arena state to ARENA_STOPPING:
 * post n wake-ups so sleeping consumers see the stop at once.  0 or -1. */
int	ring_wake(struct ring_hdr *, int n);

#endif
