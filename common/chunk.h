/*
 * common/chunk.h: writing a parsed chunk into an arena block (workers) and
 * reading one back with every offset checked (clients).
 */
#ifndef MARCD_CHUNK_H
#define MARCD_CHUNK_H

#include <stdint.h>

#include "buf.h"
#include "marcd/marc.h"
#include "shm.h"
#include "write.h"

/* Worker side: fills one block; tables are reused from chunk to chunk. */
struct chunk_writer {
	uint8_t			*blk;
	uint32_t		 size;
	uint32_t		 pos;
	uint32_t		 nrec;
	uint32_t		 nerr;
	uint32_t		 nskipped;
	uint32_t		*index;
	uint32_t		 index_cap;
	struct chunk_err	*errs;
	uint32_t		 errs_cap;
	struct marc_writer	 iso;
	struct mbuf		 tmp;
	struct marc_reader	 rd;
	struct marc_errlist	 enc;
};

void	chunk_writer_init(struct chunk_writer *);
void	chunk_writer_free(struct chunk_writer *);
/* Start filling blk with the chunk that begins at src_off. */
void	chunk_begin(struct chunk_writer *, uint8_t *blk, uint32_t size,
	    uint64_t batch_id, uint32_t seq, uint64_t src_off);
/*
 * Add one item the reader handed out (rc from marc_reader_next).  Returns 0
 * when added, 1 when the block has no room left for it (the caller ends the
 * chunk and reads the item again into the next block), -1 on ENOMEM.
 */
int	chunk_add(struct chunk_writer *, int rc, const struct marc_record *);
/* Write the index and error table; the block is then complete. */
void	chunk_finish(struct chunk_writer *, uint64_t src_end, uint32_t recnos,
	    uint32_t flags);

/* Client side: a validated view of one block. */
struct chunk_view {
	const uint8_t		*blk;
	uint32_t		 size;
	uint32_t		 nrecords;
	uint32_t		 nerrors;
	uint32_t		 index_off;
	uint32_t		 errors_off;
	uint64_t		 batch_id;
	uint64_t		 src_off;
	uint64_t		 src_len;
	uint32_t		 seq;
	uint32_t		 flags;
	uint32_t		 recnos;
};

/* Check a block's header and tables against its size; -1 if corrupt. */
int	chunk_open(struct chunk_view *, const uint8_t *blk, uint32_t size);
/* One record entry of a block, its header copied out and checked. */
struct chunk_entry {
	struct rec_hdr	 h;
	uint32_t	 off;		/* entry offset in the block */
	const uint8_t	*table;		/* struct marc_field[h.nfields] */
	const uint8_t	*iso;		/* h.iso_len bytes */
};
/* Entry i with every bound of its header checked against the block (its
 * field table is not: see chunk_record); -1 if corrupt. */
int	chunk_entry_open(const struct chunk_view *, uint32_t i,
	    struct chunk_entry *);
/*
 * Record i as a view.  The field table is copied into *fields (grown as
 * needed) and checked there, so nothing in shared memory can change it after
 * the check.  Returns 0, or -1 if the entry is corrupt or on ENOMEM.
 */
struct chunk_rec_errs {
	uint32_t	first;		/* index in the chunk's error table */
	uint32_t	n;
	uint32_t	lost;		/* errors beyond those, counted only */
};
int	chunk_record(const struct chunk_view *, uint32_t i,
	    struct marc_record *rec, struct marc_field **fields,
	    uint32_t *fields_cap, struct chunk_rec_errs *);
/* The 24 bytes of record i's leader in the block, or NULL if the entry is
 * corrupt (as chunk_entry_open checks it). */
const uint8_t	*chunk_leader(const struct chunk_view *, uint32_t i);
/* Error j of the chunk's table, copied out; -1 if out of range. */
int	chunk_error(const struct chunk_view *, uint32_t j, struct marc_error *);

#endif
