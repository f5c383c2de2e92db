/*
 * common/shm.h: the shared-memory layout, version 2.
 *
 * Words, each with one meaning in code, comments and docs:
 *   batch   one input a client submitted (a file, a descriptor, bytes).
 *   slice   a byte range of a batch's input, cut at record boundaries: slice
 *           k holds the records that begin in [k, k + 1) * MARC_SLICE_SIZE
 *           (marc_range_bounds), counted from the start of the batch's
 *           range when it was submitted with one (batch_slice).  The unit
 *           of parallel work.
 *   task    one worker assignment: a slice, or the rest of one, and a block
 *           to parse it into (daemon/daemon.h struct wtask).
 *   block   a fixed-size region of a tenant's arena.
 *   chunk   what one block holds once a task is done: the parsed records of
 *           a slice or of part of one (struct chunk_hdr), published on the
 *           client's ring (struct chunk_desc) and taken by the client.
 *   part    when a slice's records overflow a block they come in several
 *           chunks, parts 0, 1, ... of that slice (CHUNK_MORE on all but
 *           the last).
 *
 * Two kinds of shared memory, both memfds created by the supervisor and
 * handed over the Unix socket (SCM_RIGHTS), never reachable by path:
 *
 * - The arena, one per tenant: [arena_hdr][pad to a page][block 0]...
 *   A block holds one parsed chunk (struct chunk_hdr, then records, then
 *   the record index and the error table).  Only the supervisor and its
 *   workers (which inherit its mapping) can write it: the memfd is sealed
 *   with F_SEAL_FUTURE_WRITE once the supervisor has mapped it, and clients
 *   get a read-only descriptor of it, so a client can map it read-only and
 *   nothing else (no PROT_WRITE mmap, no mprotect to PROT_WRITE, no write).
 *   Nothing a client does reaches the header or another client's blocks.
 *
 * - The ring, one per client connection, in a memfd of its own shared by
 *   that client and the supervisor alone: [ring_hdr][slot 0]...  A bounded
 *   MPMC queue of chunk descriptors (Vyukov: per-slot 64-bit sequence
 *   numbers) with a count of published ones that the client sleeps on: a
 *   futex used through raw system calls, which fail with an error on a
 *   count a client scribbled on (the C library's semaphores abort the
 *   process that posts to a broken one: the supervisor).  The supervisor publishes a chunk
 *   only once it is complete, so a worker that dies mid-chunk never exposes
 *   half a chunk, and a chunk is published exactly once.  A client that
 *   scribbles its ring harms itself only; both sides use the slot count
 *   they fixed themselves (the client's from the read-only arena header),
 *   never the one in the ring.
 *
 * Every offset is relative to the start of its memfd, never a pointer;
 * readers bounds-check every offset they read.
 *
 * Other languages read this layout too (client/python/marcd: _chunk.py,
 * _record.py): the offsets they rely on are pinned by the _Static_asserts
 * at the end.  A change to any of them must bump MARCD_LAYOUT_VERSION and
 * the Python constants together.
 */
#ifndef MARCD_SHM_H
#define MARCD_SHM_H

#include <stdalign.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "marcd/marc.h"

#define MARCD_LAYOUT_VERSION	2
#define ARENA_MAGIC		0x32414e5241444d4dULL	/* "MMDARNA2" */
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
	uint32_t		ring_slots;	/* slots of every client's ring:
						 * a power of two, >= nblocks */
	uint32_t		reserved;
	alignas(SHM_CACHELINE) _Atomic uint64_t	state;	/* ARENA_* below */
};

#define ARENA_RUNNING	0
#define ARENA_STOPPING	1	/* the daemon is going away: stop waiting */

/* What a ring carries: which block holds which chunk of which batch. */
struct chunk_desc {
	uint64_t	batch_id;
	uint64_t	src_off;	/* where the chunk starts in the input */
	uint32_t	block;		/* block index, or ~0 with CHUNK_EMPTY */
	uint32_t	seq;		/* its slice's number in the batch, from 0 */
	uint32_t	flags;		/* CHUNK_* below */
	uint32_t	nrecords;
};

#define CHUNK_LAST	0x1u	/* no chunk of this batch follows */
#define CHUNK_FAILED	0x2u	/* its slice killed workers twice; no records */
#define CHUNK_EMPTY	0x4u	/* no block: no records in this chunk */
#define CHUNK_MORE	0x8u	/* the block filled: another chunk of the same
				 * slice follows */
#define CHUNK_ABORT	0x10u	/* the batch failed: nothing more follows */

struct ring_slot {
	_Atomic uint64_t	seq;
	struct chunk_desc	d;
};

/* One ring, at the start of its memfd.  head and tail live on their own
 * cache lines. */
struct ring_hdr {
	_Atomic uint32_t	items;		/* published, not yet taken: a
						 * counting futex */
	_Atomic uint32_t	waiters;	/* consumers asleep on items */
	uint32_t		slots;		/* informative: nobody trusts */
	uint32_t		mask;		/* these two */
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
	uint32_t	recnos;		/* record numbers this chunk used */
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

/*
 * Offsets client/python/marcd reads at fixed positions (_chunk.py:
 * _CHUNK_USED, _CHUNK_ERRORS_OFF; _record.py: _LEADER_AT, and the struct
 * formats that unpack these records).  Changing one means bumping
 * MARCD_LAYOUT_VERSION and those constants in the same commit.
 */
_Static_assert(offsetof(struct chunk_hdr, magic) == 0, "python: chunk magic");
_Static_assert(offsetof(struct chunk_hdr, used) == 40, "python: _CHUNK_USED");
_Static_assert(offsetof(struct chunk_hdr, nrecords) == 44,
    "python: chunk nrecords");
_Static_assert(offsetof(struct chunk_hdr, nerrors) == 48,
    "python: chunk nerrors");
_Static_assert(offsetof(struct chunk_hdr, index_off) == 52,
    "python: chunk index_off");
_Static_assert(offsetof(struct chunk_hdr, errors_off) == 56,
    "python: _CHUNK_ERRORS_OFF");
_Static_assert(sizeof(struct chunk_hdr) == 64, "python: chunk header size");
_Static_assert(offsetof(struct rec_hdr, size) == 0, "python: record size");
_Static_assert(offsetof(struct rec_hdr, recno) == 4, "python: record recno");
_Static_assert(offsetof(struct rec_hdr, src_off) == 8, "python: record offset");
_Static_assert(offsetof(struct rec_hdr, iso_len) == 16, "python: iso_len");
_Static_assert(offsetof(struct rec_hdr, nfields) == 20, "python: nfields");
_Static_assert(offsetof(struct rec_hdr, err_first) == 24, "python: err_first");
_Static_assert(offsetof(struct rec_hdr, nerrors) == 28, "python: nerrors");
_Static_assert(offsetof(struct rec_hdr, nlost) == 32, "python: nlost");
_Static_assert(offsetof(struct rec_hdr, leader) == 40, "python: _LEADER_AT");
_Static_assert(sizeof(struct rec_hdr) == 64, "python: record header size");
_Static_assert(sizeof(struct chunk_err) == 16, "python: error entry size");
_Static_assert(offsetof(struct chunk_err, code) == 0, "python: error code");
_Static_assert(offsetof(struct chunk_err, recno) == 4, "python: error recno");
_Static_assert(offsetof(struct chunk_err, offset) == 8, "python: error offset");

#endif
