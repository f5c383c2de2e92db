/* common/arena.c: the shared-memory arena, created or attached. */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "ring.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010	/* Linux 5.1 */
#endif

#define ARENA_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW)
/* Added once the creator's writable mapping exists. */
#define ARENA_WSEALS	(F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)
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
 * Work out where the blocks go: after the header, on a page boundary, as
 * many as fit; every client ring has a slot for each of them.
 */
static int
arena_layout(struct arena *a, size_t size, uint32_t block_size)
{
	uint64_t	blocks_off, n;

	if (block_size == 0 || block_size % ARENA_PAGE != 0 ||
	    (uint64_t)size > INT64_MAX / 2)
		return -1;
	blocks_off = ROUNDUP(sizeof(struct arena_hdr), ARENA_PAGE);
	if (size <= blocks_off)
		return -1;
	n = (size - blocks_off) / block_size;
	if (n > RING_MAX_SLOTS)
		n = RING_MAX_SLOTS;
	if (n == 0)
		return -1;
	a->block_size = block_size;
	a->nblocks = (uint32_t)n;
	a->ring_slots = arena_pow2(n < ARENA_MIN_SLOTS ? ARENA_MIN_SLOTS : n);
	a->blocks_off = blocks_off;
	return 0;
}

/*
 * A read-only descriptor of the arena for clients.  Reopening the memfd
 * through /proc gives one; without /proc a duplicate does, and the
 * F_SEAL_FUTURE_WRITE seal alone still keeps clients from mapping it
 * writable.
 */
static int
arena_ro_fd(int fd)
{
	char	path[64];
	int	ro;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if ((ro = open(path, O_RDONLY | O_CLOEXEC)) != -1)
		return ro;
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* The one creation path, so tests can hand in a file on a small tmpfs. */
int
arena_create_fd(struct arena *a, int fd, size_t size, uint32_t block_size)
{
	struct arena_hdr	*h;
	struct stat		 st;
	int			 e, ro;

	memset(a, 0, sizeof *a);
	a->fd = -1;
	if (arena_layout(a, size, block_size) == -1) {
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
	/*
	 * From here on nobody can map it writable: the mapping above, and the
	 * workers' (forked from us, they inherit it), are the only ones.
	 */
	if (fcntl(fd, F_ADD_SEALS, ARENA_WSEALS) == -1 ||
	    (ro = arena_ro_fd(fd)) == -1) {
		e = errno;
		munmap(a->base, size);
		a->base = NULL;
		goto fail;
	}
	close(fd);
	a->size = size;
	a->fd = ro;
	a->hdr = h = (struct arena_hdr *)a->base;
	h->layout_version = MARCD_LAYOUT_VERSION;
	h->hdr_size = sizeof *h;
	h->arena_size = size;
	h->block_size = a->block_size;
	h->nblocks = a->nblocks;
	h->blocks_off = a->blocks_off;
	h->ring_slots = a->ring_slots;
	atomic_store_explicit(&h->state, ARENA_RUNNING, memory_order_relaxed);
	h->magic = ARENA_MAGIC;
	atomic_thread_fence(memory_order_release);
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
    const char *name)
{
	int	fd;

	memset(a, 0, sizeof *a);
	a->fd = -1;
	/* Check the arguments before making anything. */
	if (arena_layout(a, size, block_size) == -1) {
		memset(a, 0, sizeof *a);
		a->fd = -1;
		errno = EINVAL;
		return -1;
	}
	fd = memfd_create(name != NULL ? name : "marcd-arena",
	    MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1)
		return -1;
	return arena_create_fd(a, fd, size, block_size);
}

/*
 * Check a header copy against the file size; every sum is ordered so that
 * it cannot overflow, since any field may hold anything.
 */
static int
arena_valid(const struct arena_hdr *h, uint64_t size)
{
	if (h->magic != ARENA_MAGIC ||
	    h->layout_version != MARCD_LAYOUT_VERSION ||
	    h->hdr_size != sizeof *h || h->arena_size != size)
		return 0;
	if (h->block_size == 0 || h->block_size % ARENA_PAGE != 0 ||
	    h->nblocks == 0 || h->blocks_off % ARENA_PAGE != 0 ||
	    h->blocks_off < sizeof *h || h->blocks_off > size ||
	    h->nblocks > (size - h->blocks_off) / h->block_size)
		return 0;
	if (ring_bytes(h->ring_slots) == 0 || h->ring_slots < h->nblocks)
		return 0;
	return 1;
}

/* Client entry point: trust the fd only after the header checks out. */
int
arena_attach(struct arena *a, int fd)
{
	struct arena_hdr	 h;
	struct stat		 st;
	uint8_t			*base;
	size_t			 size;
	int			 seals;

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
	if (seals == -1 || (seals & (ARENA_SEALS | ARENA_WSEALS)) !=
	    (ARENA_SEALS | ARENA_WSEALS)) {
		errno = EPROTO;
		return -1;
	}
	size = (size_t)st.st_size;
	base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -1;
	/* Validate a snapshot, so nobody can change it between check and use. */
	atomic_thread_fence(memory_order_acquire);
	memcpy(&h, base, sizeof h);
	if (!arena_valid(&h, size)) {
		munmap(base, size);
		errno = EPROTO;
		return -1;
	}
	a->base = base;
	a->size = size;
	a->hdr = (struct arena_hdr *)base;
	a->block_size = h.block_size;
	a->nblocks = h.nblocks;
	a->ring_slots = h.ring_slots;
	a->blocks_off = h.blocks_off;
	a->fd = fd;
	return 0;
}

/* Drop the mapping and the fd; safe on a zeroed or closed arena. */
void
arena_close(struct arena *a)
{
	if (a->base != NULL)
		munmap(a->base, a->size);
	if (a->fd != -1)
		close(a->fd);
	memset(a, 0, sizeof *a);
	a->fd = -1;
}

/* Address block i from the private geometry, never from the header. */
uint8_t *
arena_block(const struct arena *a, uint32_t i)
{
	if (a->base == NULL || i >= a->nblocks)
		return NULL;
	return a->base + a->blocks_off + (uint64_t)i * a->block_size;
}
