/*
 * common/arena.h: create (supervisor) or attach (client) the shared-memory
 * arena laid out in common/shm.h.
 *
 * The supervisor makes a sealed memfd (it cannot shrink or grow, so a client
 * holding the fd can never make the supervisor fault), allocates every page
 * up front and lays out the header, the rings and the blocks.  A client gets
 * the fd over the socket and attaches it, checking every header field before
 * using any of it.
 *
 * The geometry is copied into struct arena once (computed by the creator,
 * validated by an attacher) and only those copies are used afterwards:
 * clients can write the whole mapping, header included, so the supervisor
 * never reads offsets or sizes back from it.
 */
#ifndef MARCD_ARENA_H
#define MARCD_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "shm.h"

#define ARENA_PAGE		4096
#define ARENA_MAX_RINGS		4096
#define ARENA_MIN_SLOTS		64

struct arena {
	uint8_t			*base;
	size_t			 size;
	int			 fd;
	struct arena_hdr	*hdr;	/* shared: read only state from it */

	/* Private, trusted copies of the geometry. */
	uint32_t		 block_size;
	uint32_t		 nblocks;
	uint32_t		 nrings;
	uint32_t		 ring_slots;
	uint64_t		 blocks_off;
	uint64_t		 rings_off;
	uint64_t		 ring_stride;
	int			 owner;	/* created here: destroy rings at close */
};

/* Supervisor: new memfd arena.  0, or -1 with errno (EINVAL when the size
 * holds no block or an argument is bad, ENOSPC/ENOMEM/EFBIG when the pages
 * cannot be allocated); on failure nothing is left open or mapped. */
int	arena_create(struct arena *, size_t size, uint32_t block_size,
	    uint32_t nrings, const char *name);
/* As arena_create, in an empty file the caller made (it must allow sealing,
 * like a memfd with MFD_ALLOW_SEALING).  The fd is the arena's on success
 * and closed on failure. */
int	arena_create_fd(struct arena *, int fd, size_t size,
	    uint32_t block_size, uint32_t nrings);
/* Client: map a received fd and validate it: 0, or -1 with errno (EPROTO
 * for anything wrong with the file or header).  On success the fd belongs
 * to the arena; on failure it is still the caller's. */
int	arena_attach(struct arena *, int fd);
/* Unmap and close; the creator also destroys the ring semaphores. */
void	arena_close(struct arena *);
/* Ring i or block i, or NULL when i is out of range. */
struct ring_hdr	*arena_ring(const struct arena *, uint32_t);
uint8_t		*arena_block(const struct arena *, uint32_t);

#endif
