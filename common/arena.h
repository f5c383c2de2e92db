/*
 * common/arena.h: create (supervisor) or attach (client) the shared-memory
 * arena laid out in common/shm.h.
 *
 * The supervisor makes a sealed memfd (it cannot shrink or grow, so a client
 * holding the fd can never make the supervisor fault), allocates every page
 * up front, maps it and lays out the header and the blocks, then seals it
 * against any further writable mapping (F_SEAL_FUTURE_WRITE): its own
 * mapping, and the workers' it forks later, stay writable; nobody else's
 * can be.  The creator then keeps only a read-only descriptor of the file
 * (fd), which is what clients get over the socket; they attach it
 * read-only, checking every header field before using any of it.  The rings are not in the arena: each client
 * connection has its own (common/ring.h).
 *
 * The geometry is copied into struct arena once (computed by the creator,
 * validated by an attacher) and only those copies are used afterwards.
 */
#ifndef MARCD_ARENA_H
#define MARCD_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "shm.h"

#define ARENA_PAGE		4096
#define ARENA_MIN_SLOTS		64

struct arena {
	uint8_t			*base;
	size_t			 size;
	int			 fd;	/* read-only: what clients get */
	struct arena_hdr	*hdr;	/* shared: read only state from it */

	/* Private, trusted copies of the geometry. */
	uint32_t		 block_size;
	uint32_t		 nblocks;
	uint32_t		 ring_slots;	/* for every client ring */
	uint64_t		 blocks_off;
};

/* Supervisor: new memfd arena.  0, or -1 with errno (EINVAL when the size
 * holds no block or an argument is bad, ENOSPC/ENOMEM/EFBIG when the pages
 * cannot be allocated); on failure nothing is left open or mapped. */
int	arena_create(struct arena *, size_t size, uint32_t block_size,
	    const char *name);
/* As arena_create, in an empty file the caller made (it must allow sealing
 * with F_SEAL_FUTURE_WRITE, like a memfd with MFD_ALLOW_SEALING).  The fd
 * is the arena's on success and closed on failure. */
int	arena_create_fd(struct arena *, int fd, size_t size,
	    uint32_t block_size);
/* Client: map a received fd read-only and validate it: 0, or -1 with errno
 * (EPROTO for anything wrong with the file or header).  On success the fd
 * belongs to the arena; on failure it is still the caller's. */
int	arena_attach(struct arena *, int fd);
/* Unmap and close. */
void	arena_close(struct arena *);
/* Block i, or NULL when i is out of range. */
uint8_t	*arena_block(const struct arena *, uint32_t);

#endif
