/*
 * client/libmarcd_py.h: whole-block helpers for the Python package.
 *
 * Python pays for every call into C, so these work on one parsed block at a
 * time (marcd_chunk_block's bytes, or a private copy of them): they lay the
 * block's records out in flat tables the package indexes without parsing
 * anything itself, and pull one value out of every record at once.  Every
 * offset read from the block is checked first; a block that fails a check
 * gives MARCD_E_CORRUPT.  Record indexes below count from 0 within the
 * block.  Not a stable API: only the Python package (client/python) should
 * call these.
 */
#ifndef MARCD_MARCD_PY_H
#define MARCD_MARCD_PY_H

#include <stddef.h>
#include <stdint.h>

#include "marcd/marcd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records and fields in a block, to size marcd_py_block_tables' tables. */
int	marcd_py_block_count(const uint8_t *blk, uint32_t size,
	    uint32_t *nrecords, uint32_t *nfields);

/*
 * The layout of every record of a block, nrecords records of nfields
 * fields in all (as marcd_py_block_count gave them):
 *   rec_off[i]	offset of record i's entry (struct rec_hdr) in the block;
 *   rec_first[i]	4 times the number of fields before record i (so
 *			record i's tags start at tags[rec_first[i]]), and
 *			rec_first[nrecords] = 4 * nfields: record i has fields
 *			rec_first[i] / 4 to rec_first[i + 1] / 4 - 1;
 *   tags[4 k]	tag of field k, three bytes, then a NUL;
 *   fstart[k], fend[k]	where field k's data lies in the block.
 */
int	marcd_py_block_tables(const uint8_t *blk, uint32_t size,
	    uint32_t nrecords, uint32_t nfields, uint32_t *rec_off,
	    uint32_t *rec_first, char *tags, uint32_t *fstart, uint32_t *fend);

/*
 * Errors of the block's error table that belong to no record (bytes that
 * held no record: junk, truncated or skipped records): their indexes go to
 * out[0..cap); returns how many there are.
 */
int	marcd_py_block_orphans(const uint8_t *blk, uint32_t size,
	    uint32_t *out, uint32_t cap);

/*
 * One value per record, for bulk reads.  The value of a record is taken
 * from the first field tagged `tag` (nothing if there is none): for a
 * control field (tag 00X) its data when code is -1; for a data field the
 * data of its first subfield coded `code` (as marc_subfields_next finds
 * them).  Anything else is no value.  The values go to buf joined by 0x1F
 * (which no value holds), a record with no value giving an empty string;
 * *used is set to the bytes written and the indexes of the records with no
 * value go to none[0..nrecords), their count to *nnone.  buf needs at most
 * size + nrecords bytes.  Returns the number of records.
 */
int	marcd_py_block_values(const uint8_t *blk, uint32_t size,
	    const char *tag, int code, uint8_t *buf, size_t cap, size_t *used,
	    uint32_t *none, uint32_t *nnone);

/*
 * Record i of a block as UTF-8 ISO 2709 in out[0..cap), with the fields
 * ridx[0..nrepl) (indexes within the record, ascending) given new tags
 * (rtags, three bytes each) and data (rdata, rlen[j] bytes each, one after
 * the other, without the field terminator); *used is set to the length.
 * MARCD_E_INVALID when a length does not fit ISO 2709's digits,
 * MARCD_E_NOMEM when out is too small.
 */
int	marcd_py_block_rebuild(const uint8_t *blk, uint32_t size, uint32_t i,
	    uint32_t nrepl, const uint32_t *ridx, const char *rtags,
	    const uint8_t *rdata, const uint32_t *rlen, uint8_t *out,
	    size_t cap, size_t *used);

/*
 * MARC-8 bytes in[0..n) to NFC UTF-8, as the daemon converts them: *out
 * gets a NUL-terminated copy (free it with marcd_py_free), *outlen its
 * length without the NUL, *nerrors the number of bytes or escapes that
 * mapped to nothing (each became U+FFFD).  half_marks non-zero: the
 * ligature and double tilde halves become U+FE20..U+FE23 as in pymarc
 * (common/marc8.h, MARC8_HALF_MARKS).  Returns 0 or MARCD_E_*.
 */
int	marcd_py_marc8_to_utf8(const uint8_t *in, size_t n, int half_marks,
	    uint8_t **out, size_t *outlen, uint32_t *nerrors);
/*
 * Where each record was: offsets[i] its byte offset in the input, recnos[i]
 * its 1-based number within the chunk.  Returns the number of records.
 */
int	marcd_py_block_positions(const uint8_t *blk, uint32_t size,
	    uint64_t *offsets, uint32_t *recnos);

/*
 * Every value per record, for columns of repeated values: the data of every
 * control field tagged `tag` (code -1), or of every subfield coded `code`
 * of every data field tagged `tag`, in record order.  The values of all the
 * block's records go to buf joined by 0x1F, *used is set to the bytes
 * written and counts[i] to how many values record i gave.  buf needs at
 * most 2 * size bytes.  Returns the number of records.
 */
int	marcd_py_block_values_all(const uint8_t *blk, uint32_t size,
	    const char *tag, int code, uint8_t *buf, size_t cap, size_t *used,
	    uint32_t *counts);

/* Free what the library allocated (marcd_stats_json's text). */
void	marcd_py_free(void *);

#ifdef __cplusplus
}
#endif

#endif
