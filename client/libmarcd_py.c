/*
 * client/libmarcd_py.c: whole-block helpers for the Python package.
 *
 * The package reads records straight from a parsed block.  Rather than
 * have Python unpack record headers and walk field tables one record at a
 * time, one call here lays out the whole block in flat tables (record
 * offsets, a string of tags, field data ranges), and another pulls one
 * value out of every record.  The block is shared memory: every value is
 * read once into a local and checked before it is used, and nothing is
 * copied that is not needed (chunk_record copies whole field tables, too
 * slow for a pass over every record).
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chunk.h"
#include "marc8.h"
#include "marcd/marcd.h"
#include "libmarcd_py.h"
#include "shm.h"

/* Check a block's header before any of it is used. */
static int
pyblock_open(struct chunk_view *v, const uint8_t *blk, uint32_t size)
{
	if (blk == NULL || chunk_open(v, blk, size) != 0)
		return MARCD_E_CORRUPT;
	return 0;
}

/*
 * Entry i of a pass over every record: checked by chunk_entry_open, and
 * after the previous one's end (*end), as a worker writes them.  Entries
 * that overlap could make the tables of a small block as large as its
 * square, and the values of its records longer than the block.
 */
static int
pyrec_next(const struct chunk_view *v, uint32_t i, struct chunk_entry *r,
    uint64_t *end)
{
	if (chunk_entry_open(v, i, r) != 0)
		return MARCD_E_CORRUPT;
	if (r->off < *end)
		return MARCD_E_CORRUPT;
	*end = (uint64_t)r->off + r->h.size;
	return 0;
}

/* Field j of a record, copied out and checked against the record. */
static int
pyrec_field(const struct chunk_entry *r, uint32_t j, struct marc_field *f)
{
	memcpy(f, r->table + (size_t)j * sizeof(*f), sizeof(*f));
	if ((uint64_t)f->off + f->len > r->h.iso_len)
		return MARCD_E_CORRUPT;
	return 0;
}

/* Size the tables: records and fields in the block. */
int
marcd_py_block_count(const uint8_t *blk, uint32_t size, uint32_t *nrecords,
    uint32_t *nfields)
{
	struct chunk_view	v;
	struct chunk_entry	r;
	uint64_t		nf = 0, end = 0;
	uint32_t		i;
	int			rc;

	if (nrecords == NULL || nfields == NULL)
		return MARCD_E_INVALID;
	if ((rc = pyblock_open(&v, blk, size)) != 0)
		return rc;
	for (i = 0; i < v.nrecords; i++) {
		if ((rc = pyrec_next(&v, i, &r, &end)) != 0)
			return rc;
		nf += r.h.nfields;
	}
	if (nf > UINT32_MAX / 4)
		return MARCD_E_CORRUPT;
	*nrecords = v.nrecords;
	*nfields = (uint32_t)nf;
	return 0;
}

/* Lay the block out in the flat tables Python indexes. */
int
marcd_py_block_tables(const uint8_t *blk, uint32_t size, uint32_t nrecords,
    uint32_t nfields, uint32_t *rec_off, uint32_t *rec_first, char *tags,
    uint32_t *fstart, uint32_t *fend)
{
	struct chunk_view	v;
	struct chunk_entry	r;
	struct marc_field	f;
	uint64_t		end = 0;
	uint32_t		i, j, k = 0, iso;
	int			rc;

	if (rec_off == NULL || rec_first == NULL ||
	    (nfields != 0 && (tags == NULL || fstart == NULL || fend == NULL)))
		return MARCD_E_INVALID;
	if ((rc = pyblock_open(&v, blk, size)) != 0)
		return rc;
	if (v.nrecords != nrecords)
		return MARCD_E_INVALID;
	for (i = 0; i < nrecords; i++) {
		if ((rc = pyrec_next(&v, i, &r, &end)) != 0)
			return rc;
		if (r.h.nfields > nfields - k)
			return MARCD_E_INVALID;
		rec_off[i] = r.off;
		rec_first[i] = k * 4;
		iso = (uint32_t)(r.iso - blk);
		for (j = 0; j < r.h.nfields; j++, k++) {
			if ((rc = pyrec_field(&r, j, &f)) != 0)
				return rc;
			memcpy(tags + (size_t)k * 4, f.tag, 3);
			tags[(size_t)k * 4 + 3] = '\0';
			fstart[k] = iso + f.off;
			fend[k] = iso + f.off + f.len;
		}
	}
	rec_first[nrecords] = k * 4;
	return k == nfields ? 0 : MARCD_E_INVALID;
}

/* Errors of skipped bytes: those between the records' own ranges. */
int
marcd_py_block_orphans(const uint8_t *blk, uint32_t size, uint32_t *out,
    uint32_t cap)
{
	struct chunk_view	v;
	struct chunk_entry	r;
	uint64_t		end = 0;
	uint32_t		i, j, first, next = 0, n = 0;
	int			rc;

	if ((rc = pyblock_open(&v, blk, size)) != 0)
		return rc;
	for (i = 0; i <= v.nrecords; i++) {
		if (i < v.nrecords) {
			if ((rc = pyrec_next(&v, i, &r, &end)) != 0)
				return rc;
			first = r.h.err_first;
		} else {
			first = v.nerrors;
			r.h.nerrors = 0;
		}
		/* The table is in input order: what precedes a record's own
		 * errors and follows the last record's is nobody's. */
		for (j = next; j < first; j++)
			if (out != NULL && n < cap)
				out[n++] = j;
		if (first + r.h.nerrors > next)
			next = first + r.h.nerrors;
	}
	return (int)n;
}

/* The value of one record, or NULL; see marcd_py_block_values. */
static const uint8_t *
pyrec_value(const struct chunk_entry *r, const char *tag, int code, size_t *len)
{
	struct marc_subfield_iter	it;
	struct marc_subfield		sf;
	struct marc_field		f;
	const uint8_t			*d;
	uint32_t			j;

	for (j = 0; j < r->h.nfields; j++) {
		memcpy(f.tag, r->table + (size_t)j * sizeof(f), 3);
		if (memcmp(f.tag, tag, 3) == 0)
			break;
	}
	if (j == r->h.nfields || pyrec_field(r, j, &f) != 0)
		return NULL;
	d = r->iso + f.off;
	if (marc_field_is_control(&f)) {
		if (code >= 0)
			return NULL;
		*len = f.len;
		return d;
	}
	if (code < 0)
		return NULL;
	marc_subfields_begin(&it, d, f.len);
	while (marc_subfields_next(&it, &sf))
		if (sf.code == (uint8_t)code) {
			*len = sf.len;
			return sf.data;
		}
	return NULL;
}

/* One value per record, joined by 0x1F, for Python's one decode and split. */
int
marcd_py_block_values(const uint8_t *blk, uint32_t size, const char *tag,
    int code, uint8_t *buf, size_t cap, size_t *used, uint32_t *none,
    uint32_t *nnone)
{
	struct chunk_view	 v;
	struct chunk_entry	 r;
	const uint8_t		*val;
	size_t			 pos = 0, len;
	uint64_t		 end = 0;
	uint32_t		 i, nn = 0;
	int			 rc;

	if (tag == NULL || strlen(tag) != 3 || code > 255 || buf == NULL ||
	    used == NULL || none == NULL || nnone == NULL)
		return MARCD_E_INVALID;
	if ((rc = pyblock_open(&v, blk, size)) != 0)
		return rc;
	for (i = 0; i < v.nrecords; i++) {
		if ((rc = pyrec_next(&v, i, &r, &end)) != 0)
			return rc;
		if (i != 0) {
			if (pos >= cap)
				return MARCD_E_NOMEM;
			buf[pos++] = MARC_SD;
		}
		len = 0;
		if ((val = pyrec_value(&r, tag, code, &len)) == NULL) {
			none[nn++] = i;
			continue;
		}
		if (len > cap - pos)
			return MARCD_E_NOMEM;
		memcpy(buf + pos, val, len);
		pos += len;
	}
	*used = pos;
	*nnone = nn;
	return (int)v.nrecords;
}

/*
 * An edited record's ISO 2709 in one call: record i of the block with the
 * data (and tag) of some fields replaced, so writing a record after
 * changing one subfield costs no Python work per field.
 */
int
marcd_py_block_rebuild(const uint8_t *blk, uint32_t size, uint32_t i,
    uint32_t nrepl, const uint32_t *ridx, const char *rtags,
    const uint8_t *rdata, const uint32_t *rlen, uint8_t *out, size_t cap,
    size_t *used)
{
	struct chunk_view	 v;
	struct chunk_entry	 r;
	struct marc_field	 f;
	const uint8_t		*data;
	const char		*tag;
	size_t			 base, total, pos, dpos, roff = 0;
	uint32_t		 j, nr, len;
	int			 rc;

	if ((nrepl != 0 && (ridx == NULL || rtags == NULL || rlen == NULL ||
	    rdata == NULL)) || out == NULL || used == NULL)
		return MARCD_E_INVALID;
	if ((rc = pyblock_open(&v, blk, size)) != 0)
		return rc;
	if (chunk_entry_open(&v, i, &r) != 0)
		return MARCD_E_CORRUPT;
	for (j = 0; j < nrepl; j++)
		if (ridx[j] >= r.h.nfields || (j > 0 && ridx[j] <= ridx[j - 1]))
			return MARCD_E_INVALID;
	base = MARC_LEADER_LEN + (size_t)r.h.nfields * 12 + 1;
	total = base + 1;
	for (j = 0, nr = 0; j < r.h.nfields; j++) {
		if ((rc = pyrec_field(&r, j, &f)) != 0)
			return rc;
		len = nr < nrepl && ridx[nr] == j ? rlen[nr++] : f.len;
		if ((size_t)len + 1 > 9999)
			return MARCD_E_INVALID;
		total += (size_t)len + 1;
	}
	if (total > 99999)
		return MARCD_E_INVALID;
	if (total > cap)
		return MARCD_E_NOMEM;
	memcpy(out, r.iso, MARC_LEADER_LEN);
	buf_digits(out, total, 5);
	buf_digits(out + 12, base, 5);
	dpos = MARC_LEADER_LEN;
	pos = base;
	for (j = 0, nr = 0; j < r.h.nfields; j++) {
		/* shared memory: read again, so checked again */
		if ((rc = pyrec_field(&r, j, &f)) != 0)
			return rc;
		if (nr < nrepl && ridx[nr] == j) {
			len = rlen[nr];
			data = rdata + roff;
			tag = rtags + (size_t)nr * 3;
			roff += len;
			nr++;
		} else {
			len = f.len;
			data = r.iso + f.off;
			tag = f.tag;
		}
		if ((size_t)len + 1 > total - 1 - pos)
			return MARCD_E_CORRUPT;
		memcpy(out + dpos, tag, 3);
		buf_digits(out + dpos + 3, (size_t)len + 1, 4);
		buf_digits(out + dpos + 7, pos - base, 5);
		dpos += 12;
		if (len != 0)
			memcpy(out + pos, data, len);
		pos += len;
		out[pos++] = MARC_FT;
	}
	out[dpos] = MARC_FT;
	out[pos++] = MARC_RT;
	*used = pos;
	return 0;
}

/* The package's marc8_to_unicode: the daemon's decoder, not a second table. */
int
marcd_py_marc8_to_utf8(const uint8_t *in, size_t n, int half_marks,
    uint8_t **out, size_t *outlen, uint32_t *nerrors)
{
	struct mbuf	b = { NULL, 0, 0 };
	int		rc;

	if ((in == NULL && n != 0) || out == NULL || outlen == NULL ||
	    nerrors == NULL)
		return MARCD_E_INVALID;
	rc = marc8_to_utf8_flags(&b, in, n, NULL, 0,
	    half_marks ? MARC8_HALF_MARKS : 0);
	if (rc < 0 || mbuf_addc(&b, 0) != 0) {
		mbuf_free(&b);
		return MARCD_E_NOMEM;
	}
	*out = b.p;
	*outlen = b.len - 1;
	*nerrors = (uint32_t)rc;
	return 0;
}

/* Where every record came from, for the offset and recno columns. */
int
marcd_py_block_positions(const uint8_t *blk, uint32_t size, uint64_t *offsets,
    uint32_t *recnos)
{
	struct chunk_view	v;
	struct chunk_entry	r;
	uint32_t		i;
	int			rc;

	if (offsets == NULL || recnos == NULL)
		return MARCD_E_INVALID;
	if ((rc = pyblock_open(&v, blk, size)) != 0)
		return rc;
	for (i = 0; i < v.nrecords; i++) {
		if (chunk_entry_open(&v, i, &r) != 0)
			return MARCD_E_CORRUPT;
		offsets[i] = r.h.src_off;
		recnos[i] = r.h.recno;
	}
	return (int)v.nrecords;
}

/* Append one value to buf, after a 0x1F unless it is the first. */
static int
pybuf_put(uint8_t *buf, size_t cap, size_t *pos, const uint8_t *val,
    size_t len)
{
	if (*pos != 0) {
		if (*pos >= cap)
			return MARCD_E_NOMEM;
		buf[(*pos)++] = MARC_SD;
	}
	if (len > cap - *pos)
		return MARCD_E_NOMEM;
	memcpy(buf + *pos, val, len);
	*pos += len;
	return 0;
}

/* Every value of every field with a tag, for columns of repeated values. */
int
marcd_py_block_values_all(const uint8_t *blk, uint32_t size, const char *tag,
    int code, uint8_t *buf, size_t cap, size_t *used, uint32_t *counts)
{
	struct marc_subfield_iter	 it;
	struct marc_subfield		 sf;
	struct chunk_view		 v;
	struct marc_field		 f;
	struct chunk_entry		 r;
	size_t				 pos = 0;
	uint32_t			 i, j;
	int				 rc;

	if (tag == NULL || strlen(tag) != 3 || code > 255 || buf == NULL ||
	    used == NULL || counts == NULL)
		return MARCD_E_INVALID;
	if ((rc = pyblock_open(&v, blk, size)) != 0)
		return rc;
	for (i = 0; i < v.nrecords; i++) {
		if (chunk_entry_open(&v, i, &r) != 0)
			return MARCD_E_CORRUPT;
		counts[i] = 0;
		for (j = 0; j < r.h.nfields; j++) {
			if (memcmp(r.table + (size_t)j * sizeof(f), tag, 3) != 0)
				continue;
			if ((rc = pyrec_field(&r, j, &f)) != 0)
				return rc;
			if (marc_field_is_control(&f)) {
				if (code >= 0)
					continue;
				if ((rc = pybuf_put(buf, cap, &pos,
				    r.iso + f.off, f.len)) != 0)
					return rc;
				counts[i]++;
				continue;
			}
			if (code < 0)
				continue;
			marc_subfields_begin(&it, r.iso + f.off, f.len);
			while (marc_subfields_next(&it, &sf)) {
				if (sf.code != (uint8_t)code)
					continue;
				if ((rc = pybuf_put(buf, cap, &pos, sf.data,
				    sf.len)) != 0)
					return rc;
				counts[i]++;
			}
		}
	}
	*used = pos;
	return (int)v.nrecords;
}

/* Python cannot know which allocator the library used: free it here. */
void
marcd_py_free(void *p)
{
	free(p);
}
