/* common/arena.c: the shared-memory arena, created or attached. */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "ring.h"

#define ARENA_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define ROUNDUP(x, a)	(((x) + (a) - 1) / (a) * (a))

_Static_assert(ARENA_PAGE % SHM_CACHELINE == 0, "page and cache line");

/* Smallest power of two >= n, for ring sizes (n <= RING_MAX_SLOTS). */
static uint32_t
arena_pow2(uint64_t n)
{
	uint32_t	p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * Work out where rings and blocks go.  Ring size depends on the block count
 * and the block count on what the rings leave, so size the rings for every
 * block that could fit, then shrink them to what did fit.
 */
static int
arena_layout(struct arena *a, size_t size, uint32_t block_size,
    uint32_t nrings)
{
	uint64_t	rings_off, blocks_off, stride, n;
	uint32_t	slots;
	int		pass;

	if (block_size == 0 || block_size % ARENA_PAGE != 0 || nrings == 0 ||
	    nrings > ARENA_MAX_RINGS || (uint64_t)size > INT64_MAX / 2)
		return -1;
	rings_off = ROUNDUP(sizeof(struct arena_hdr), SHM_CACHELINE);
	if (size < rings_off)
		return -1;
	n = (size - rings_off) / block_size;
	for (pass = 0; pass < 2; pass++) {
		if (n > RING_MAX_SLOTS)
			n = RING_MAX_SLOTS;
		slots = arena_pow2(n < ARENA_MIN_SLOTS ? ARENA_MIN_SLOTS : n);
		stride = ring_bytes(slots);
		blocks_off = ROUNDUP(rings_off + nrings * stride, ARENA_PAGE);
		if (blocks_off >= size)
			return -1;
		if (pass == 0)
			n = (size - blocks_off) / block_size;
	}
	if (n == 0)
		return -1;
	a->block_size = block_size;
	a->nblocks = (uint32_t)n;
	a->nrings = nrings;
	a->ring_slots = slots;
	a->rings_off = rings_off;
	a->ring_stride = stride;
	a->blocks_off = blocks_off;
	return 0;
}

/* The one creation path, so tests can hand in a file on a small tmpfs. */
int
arena_create_fd(struct arena *a, int fd, size_t size, uint32_t block_size,
    uint32_t nrings)
{
	struct arena_hdr	*h;
	struct stat		 st;
	uint32_t		 i;
	int			 e;

	memset(a, 0, sizeof *a);
	a->fd = -1;
	if (arena_layout(a, size, block_size, nrings) == -1) {
		e = EINVAL;
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		e = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size != 0) {
		e = EINVAL;
		goto fail;
	}
	/* Own every page now: a full tmpfs fails here, not as SIGBUS later. */
	if ((e = posix_fallocate(fd, 0, (off_t)size)) != 0)
		goto fail;
	if (fchmod(fd, 0600) == -1 ||
	    fcntl(fd, F_ADD_SEALS, ARENA_SEALS) == -1) {
		e = errno;
		goto fail;
	}
	a->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a->base == MAP_FAILED) {
		e = errno;
		a->base = NULL;
		goto fail;
	}
	a->size = size;
	a->fd = fd;
	a->hdr = h = (struct arena_hdr *)a->base;
	for (i = 0; i < nrings; i++) {
		if (ring_init(arena_ring(a, i), a->ring_slots) == -1) {
			e = errno;
			while (i-- > 0)
				ring_destroy(arena_ring(a, i));
			munmap(a->base, size);
			a->base = NULL;
			goto fail;
		}
	}
	h->layout_version = MARCD_LAYOUT_VERSION;
	h->hdr_size = sizeof *h;
	h->arena_size = size;
	h->block_size = a->block_size;
	h->nblocks = a->nblocks;
	h->blocks_off = a->blocks_off;
	h->nrings = a->nrings;
	h->ring_slots = a->ring_slots;
	h->rings_off = a->rings_off;
	h->ring_stride = a->ring_stride;
	atomic_store_explicit(&h->state, ARENA_RUNNING, memory_order_relaxed);
	h->magic = ARENA_MAGIC;
	atomic_thread_fence(memory_order_release);
	a->owner = 1;
	return 0;

fail:
	close(fd);
	memset(a, 0, sizeof *a);
	a->fd = -1;
	errno = e;
	return -1;
}

/* Supervisor entry point: the arena lives in an anonymous sealed memfd. */
int
arena_create(struct arena *a, size_t size, uint32_t block_size,
    uint32_t nrings, const char *name)
{
	int	fd;

	memset(a, 0, sizeof *a);
	a->fd = -1;
	/* Check the arguments before making anything. */
	if (arena_layout(a, size, block_size, nrings) == -1) {
		memset(a, 0, sizeof *a);
		a->fd = -1;
		errno = EINVAL;
		return -1;
	}
	fd = memfd_create(name != NULL ? name : "marcd-arena",
	    MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1)
		return -1;
	return arena_create_fd(a, fd, size, block_size, nrings);
}

/*
 * Check a header copy against the file size; every sum is ordered so that
 * it cannot overflow, since any field may hold anything.
 */
static int
arena_valid(const struct arena_hdr *h, uint64_t size)
{
	uint64_t	rings_end;

	if (h->magic != ARENA_MAGIC ||
	    h->layout_version != MARCD_LAYOUT_VERSION ||
	    h->hdr_size != sizeof *h || h->arena_size != size)
		return 0;
	if (h->block_size == 0 || h->block_size % ARENA_PAGE != 0 ||
	    h->nblocks == 0 || h->blocks_off % ARENA_PAGE != 0 ||
	    h->blocks_off > size ||
	    h->nblocks > (size - h->blocks_off) / h->block_size)
		return 0;
	if (h->nrings == 0 || h->nrings > ARENA_MAX_RINGS ||
	    ring_bytes(h->ring_slots) == 0 || h->ring_slots < h->nblocks ||
	    h->ring_stride < ring_bytes(h->ring_slots) ||
	    h->ring_stride % SHM_CACHELINE != 0 ||
	    h->ring_stride > size)
		return 0;
	if (h->rings_off < sizeof *h || h->rings_off % SHM_CACHELINE != 0 ||
	    h->rings_off > h->blocks_off)
		return 0;
	/* The division catches a product that wrapped. */
	rings_end = h->nrings * h->ring_stride;
	if (rings_end / h->nrings != h->ring_stride ||
	    rings_end > h->blocks_off - h->rings_off)
		return 0;
	return 1;
}

/* Client entry point: trust the fd only after the header checks out. */
int
arena_attach(struct arena *a, int fd)
{
	struct arena_hdr	 h;
	struct ring_hdr		*r;
	struct stat		 st;
	uint8_t			*base;
	size_t			 size;
	uint32_t		 i;
	int			 seals, e;

	memset(a, 0, sizeof *a);
	a->fd = -1;
	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof h ||
	    (uintmax_t)st.st_size > SIZE_MAX || st.st_size > INT64_MAX / 2) {
		errno = EPROTO;
		return -1;
	}
	/* Unsealed, another holder of the fd could shrink it under us. */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals == -1 || (seals & ARENA_SEALS) != ARENA_SEALS) {
		errno = EPROTO;
		return -1;
	}
	size = (size_t)st.st_size;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -1;
	/* Validate a snapshot, so nobody can change it between check and use. */
	atomic_thread_fence(memory_order_acquire);
	memcpy(&h, base, sizeof h);
	if (!arena_valid(&h, size)) {
		e = EPROTO;
		goto fail;
	}
	a->base = base;
	a->size = size;
	a->hdr = (struct arena_hdr *)base;
	a->block_size = h.block_size;
	a->nblocks = h.nblocks;
	a->nrings = h.nrings;
	a->ring_slots = h.ring_slots;
	a->blocks_off = h.blocks_off;
	a->rings_off = h.rings_off;
	a->ring_stride = h.ring_stride;
	for (i = 0; i < a->nrings; i++) {
		r = arena_ring(a, i);
		if (r->slots != a->ring_slots || r->mask != a->ring_slots - 1) {
			e = EPROTO;
			goto fail;
		}
	}
	a->fd = fd;
	return 0;

fail:
	munmap(base, size);
	memset(a, 0, sizeof *a);
	a->fd = -1;
	errno = e;
	return -1;
}

/* Drop the mapping and the fd; safe on a zeroed or closed arena. */
void
arena_close(struct arena *a)
{
	uint32_t	i;

	if (a->base != NULL) {
		if (a->owner)
			for (i = 0; i < a->nrings; i++)
				ring_destroy(arena_ring(a, i));
		munmap(a->base, a->size);
	}
	if (a->fd != -1)
		close(a->fd);
	memset(a, 0, sizeof *a);
	a->fd = -1;
}

/* Address ring i from the private geometry, never from the header. */
struct ring_hdr *
arena_ring(const struct arena *a, uint32_t i)
{
	if (a->base == NULL || i >= a->nrings)
		return NULL;
	return (struct ring_hdr *)(a->base + a->rings_off +
	    (uint64_t)i * a->ring_stride);
}

/* Address block i from the private geometry, never from the header. */
uint8_t *
arena_block(const struct arena *a, uint32_t i)
{
	if (a->base == NULL || i >= a->nblocks)
		return NULL;
	return a->base + a->blocks_off + (uint64_t)i * a->block_size;
}
