/*
 * common/shm.h: the shared-memory arena layout, version 1.
 *
 * One arena per tenant: a memfd created and sized by the supervisor, handed
 * to clients over the Unix socket (SCM_RIGHTS), never reachable by path.
 * Everything in it is addressed by offsets from the arena start, never by
 * pointers; readers bounds-check every offset they read from it.
 *
 *   [arena_hdr][ring 0][ring 1]...[ring nrings-1][block 0][block 1]...
 *
 * A block holds one parsed chunk (struct chunk_hdr, then records, then the
 * record index and the error table).  A ring is a bounded MPMC queue of chunk
 * descriptors (Vyukov: per-slot 64-bit sequence numbers) with a process-shared
 * semaphore counting published descriptors, so consumers sleep when it is
 * empty.  Each client connection is given one ring; the supervisor publishes
 * a chunk on it only once the chunk is complete, so a worker that dies
 * mid-chunk never exposes half a chunk, and a chunk is published exactly once.
 */
#ifndef MARCD_SHM_H
#define MARCD_SHM_H

#include <semaphore.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "marcd/marc.h"

#define MARCD_LAYOUT_VERSION	1
#define ARENA_MAGIC		0x31414e5241444d4dULL	/* "MMDARNA1" */
#define CHUNK_MAGIC		0x4b4e4843u		/* "CHNK" */
#define SHM_CACHELINE		64

/* Arena header, at offset 0.  Written once by the supervisor. */
struct arena_hdr {
	uint64_t		magic;
	uint32_t		layout_version;
	uint32_t		hdr_size;	/* sizeof(struct arena_hdr) */
	uint64_t		arena_size;	/* bytes in the mapping */
	uint32_t		block_size;	/* bytes per block, multiple of 4096 */
	uint32_t		nblocks;
	uint64_t		blocks_off;	/* offset of block 0 */
	uint32_t		nrings;
	uint32_t		ring_slots;	/* power of two, >= nblocks */
	uint64_t		rings_off;	/* offset of ring 0 */
	uint64_t		ring_stride;	/* bytes from one ring to the next */
	alignas(SHM_CACHELINE) _Atomic uint64_t	state;	/* ARENA_* below */
};

#define ARENA_RUNNING	0
#define ARENA_STOPPING	1	/* the daemon is going away: stop waiting */

/* What a ring carries: which block holds which chunk of which batch. */
struct chunk_desc {
	uint64_t	batch_id;
	uint64_t	src_off;	/* where the chunk starts in the input */
	uint32_t	block;		/* block index, or ~0 with CHUNK_EMPTY */
	uint32_t	seq;		/* chunk number within the batch, from 0 */
	uint32_t	flags;		/* CHUNK_* below */
	uint32_t	nrecords;
};

#define CHUNK_LAST	0x1u	/* no chunk of this batch follows */
#define CHUNK_FAILED	0x2u	/* the chunk killed workers twice; no records */
#define CHUNK_EMPTY	0x4u	/* no block: nothing in this piece */
#define CHUNK_MORE	0x8u	/* the block filled: another piece of the same
				 * chunk follows */
#define CHUNK_ABORT	0x10u	/* the batch failed: nothing more follows */

struct ring_slot {
	_Atomic uint64_t	seq;
	struct chunk_desc	d;
};

/* One ring.  head and tail live on their own cache lines. */
struct ring_hdr {
	sem_t			items;		/* published, not yet taken */
	uint32_t		slots;		/* copy of arena ring_slots */
	uint32_t		mask;
	alignas(SHM_CACHELINE) _Atomic uint64_t	head;	/* next to publish */
	alignas(SHM_CACHELINE) _Atomic uint64_t	tail;	/* next to take */
	alignas(SHM_CACHELINE) struct ring_slot	slot[];
};

/* Start of a block: one parsed chunk. */
struct chunk_hdr {
	uint32_t	magic;		/* CHUNK_MAGIC */
	uint32_t	layout_version;
	uint64_t	batch_id;
	uint32_t	seq;
	uint32_t	flags;
	uint64_t	src_off;	/* where the chunk starts in the input */
	uint64_t	src_len;
	uint32_t	used;		/* bytes of the block in use */
	uint32_t	nrecords;
	uint32_t	nerrors;	/* entries in the error table */
	uint32_t	index_off;	/* uint32_t[nrecords]: record entry offsets */
	uint32_t	errors_off;	/* struct chunk_err[nerrors] */
	uint32_t	recnos;		/* record numbers this piece used */
};

/* One record in a block, 8-byte aligned, followed by its field table and
 * its UTF-8 ISO 2709 bytes. */
struct rec_hdr {
	uint32_t	size;		/* whole entry, bytes */
	uint32_t	recno;		/* 1-based within the chunk */
	uint64_t	src_off;	/* offset of the record in the input */
	uint32_t	iso_len;	/* UTF-8 ISO 2709 bytes */
	uint32_t	nfields;
	uint32_t	err_first;	/* index into the chunk's error table */
	uint32_t	nerrors;
	uint32_t	nlost;		/* further errors, counted only */
	uint32_t	reserved;
	uint8_t		leader[MARC_LEADER_LEN];	/* as read, leader/09 'a' */
	/* struct marc_field fields[nfields]; offsets relative to the ISO bytes */
	/* uint8_t iso[iso_len]; */
};

/* An error as stored: recno within the chunk, offset in the whole input. */
struct chunk_err {
	uint32_t	code;
	uint32_t	recno;
	uint64_t	offset;
};

_Static_assert(sizeof(struct marc_field) == 12, "field table entry size");
_Static_assert(sizeof(struct rec_hdr) % 8 == 0, "record header alignment");
_Static_assert(sizeof(struct chunk_hdr) % 8 == 0, "chunk header alignment");

#endif
