/*
 * common/chunk.c: parsed chunks in arena blocks.
 *
 * A worker converts each record to UTF-8 ISO 2709 (the iso2709 writer), lets
 * the reader index the result, and appends header, field table and bytes to
 * the block; the record index and the error table go at the end.  A client
 * trusts none of it: every offset and count is checked before use.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "scan.h"
#include "text.h"

#define ALIGN8(x)	(((x) + 7u) & ~(size_t)7u)

static const struct marc_errlist no_errors;

/* Set up the reusable scratch of a worker. */
void
chunk_writer_init(struct chunk_writer *cw)
{
	memset(cw, 0, sizeof(*cw));
	marc_writer_init(&cw->iso, MARC_FMT_ISO2709);
	cw->iso.transport = 1;
}

/* Free the scratch and tables. */
void
chunk_writer_free(struct chunk_writer *cw)
{
	marc_writer_free(&cw->iso);
	mbuf_free(&cw->tmp);
	marc_reader_free(&cw->rd);
	free(cw->index);
	free(cw->errs);
	memset(cw, 0, sizeof(*cw));
}

/* Begin a block: the header is written by chunk_finish. */
void
chunk_begin(struct chunk_writer *cw, uint8_t *blk, uint32_t size,
    uint64_t batch_id, uint32_t seq, uint64_t src_off)
{
	struct chunk_hdr *h = (struct chunk_hdr *)blk;

	cw->blk = blk;
	cw->size = size;
	cw->pos = sizeof(struct chunk_hdr);
	cw->nrec = cw->nerr = cw->nskipped = 0;
	memset(h, 0, sizeof(*h));
	h->batch_id = batch_id;
	h->seq = seq;
	h->src_off = src_off;
}

/* Grow a table by doubling: amortised, never once per record. */
static int
table_grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t	 n = *cap ? *cap : 1024;
	void		*np;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((np = realloc(*p, (size_t)n * elem)) == NULL)
		return -1;
	*p = np;
	*cap = n;
	return 0;
}

/* Append errors to the chunk's table with their record numbers. */
static int
chunk_add_errors(struct chunk_writer *cw, const struct marc_errlist *l)
{
	uint32_t i;

	if (table_grow((void **)&cw->errs, &cw->errs_cap, cw->nerr + l->n,
	    sizeof(*cw->errs)) != 0)
		return -1;
	for (i = 0; i < l->n; i++) {
		cw->errs[cw->nerr].code = l->e[i].code;
		cw->errs[cw->nerr].recno = l->e[i].recno;
		cw->errs[cw->nerr].offset = l->e[i].offset;
		cw->nerr++;
	}
	return 0;
}

/* Bytes the index and error table will take if n records and e errors. */
static inline size_t
chunk_tail(uint32_t n, uint32_t e)
{
	return ALIGN8((size_t)n * 4) + (size_t)e * sizeof(struct chunk_err);
}

/*
 * A record that needs no conversion: no structural errors, and its data is
 * valid UTF-8 (or MARC-8 that is plain ASCII), as the writers would find.
 */
static int
chunk_clean(struct chunk_writer *cw, const struct marc_record *rec)
{
	if (rec->errors->n != 0 || rec->errors->lost != 0)
		return 0;
	/* MARC-8 that is plain ASCII is all the text check would accept. */
	if (rec->charset != MARC_CS_UTF8)
		return scan_plain(rec->data, rec->len, 1);
	if (marc_record_check_text(rec, &cw->tmp, &cw->enc) != 0 ||
	    cw->enc.n != 0 || cw->enc.lost != 0)
		return 0;
	return 1;
}

/* Add one item from the reader: a record, or the errors of skipped bytes. */
int
chunk_add(struct chunk_writer *cw, int rc, const struct marc_record *rec)
{
	struct marc_record	 iso;
	struct rec_hdr		 h;
	size_t			 need, fbytes;
	uint32_t		 nerr;
	uint8_t			*p;

	if (rc != MARC_NEXT_RECORD) {
		if (cw->pos + chunk_tail(cw->nrec, cw->nerr + rec->errors->n) >
		    cw->size)
			return 1;
		if (chunk_add_errors(cw, rec->errors) != 0)
			return -1;
		cw->nskipped++;
		return 0;
	}

	cw->tmp.len = 0;
	cw->enc.n = cw->enc.lost = 0;
	if (chunk_clean(cw, rec)) {
		/* Already UTF-8 ISO 2709 with nothing wrong: the bytes as read
		 * and the reader's field table are what a conversion would
		 * give, at the cost of a copy. */
		iso = *rec;
	} else {
		cw->tmp.len = 0;
		cw->enc.n = cw->enc.lost = 0;
		if (marc_writer_record(&cw->iso, &cw->tmp, rec, &cw->enc) != 0)
			return -1;
		marc_reader_reset_one(&cw->rd, cw->tmp.p, cw->tmp.len,
		    MARC_CS_UTF8);
		if (marc_reader_next(&cw->rd, &iso) != MARC_NEXT_RECORD)
			return -1;
	}
	fbytes = (size_t)iso.nfields * sizeof(struct marc_field);
	need = ALIGN8(sizeof(h) + fbytes + iso.len);
	nerr = rec->errors->n + cw->enc.n;
	if (cw->pos + need + chunk_tail(cw->nrec + 1, cw->nerr + nerr) >
	    cw->size) {
		struct marc_errlist big;

		if (cw->nrec != 0 || cw->nskipped != 0)
			return 1;
		/* Alone in an empty block and still too large: skip it. */
		big = *rec->errors;
		marc_errlist_add(&big, MARC_E_TOO_LARGE, rec->recno,
		    rec->offset);
		if (chunk_add_errors(cw, &big) != 0)
			return -1;
		cw->nskipped++;
		return 0;
	}
	if (table_grow((void **)&cw->index, &cw->index_cap, cw->nrec + 1,
	    sizeof(*cw->index)) != 0)
		return -1;

	memset(&h, 0, sizeof(h));
	h.size = (uint32_t)need;
	h.recno = rec->recno;
	h.src_off = rec->offset;
	h.iso_len = (uint32_t)iso.len;
	h.nfields = iso.nfields;
	h.err_first = cw->nerr;
	h.nerrors = nerr;
	h.nlost = rec->errors->lost + cw->enc.lost;
	memcpy(h.leader, rec->leader, MARC_LEADER_LEN);
	h.leader[9] = 'a';
	p = cw->blk + cw->pos;
	memcpy(p, &h, sizeof(h));
	if (fbytes != 0)	/* a record without fields may have no table */
		memcpy(p + sizeof(h), iso.fields, fbytes);
	memcpy(p + sizeof(h) + fbytes, iso.data, iso.len);
	p[sizeof(h) + fbytes + 9] = 'a';	/* the bytes are UTF-8 */
	cw->index[cw->nrec++] = cw->pos;
	cw->pos += (uint32_t)need;
	if (chunk_add_errors(cw, rec->errors) != 0 ||
	    chunk_add_errors(cw, &cw->enc) != 0)
		return -1;
	return 0;
}

/* Close the block: index, error table, then the header last. */
void
chunk_finish(struct chunk_writer *cw, uint64_t src_end, uint32_t recnos,
    uint32_t flags)
{
	struct chunk_hdr	*h = (struct chunk_hdr *)cw->blk;
	uint32_t		 pos = cw->pos;

	h->index_off = pos;
	if (cw->nrec != 0)
		memcpy(cw->blk + pos, cw->index, (size_t)cw->nrec * 4);
	pos += (uint32_t)ALIGN8((size_t)cw->nrec * 4);
	h->errors_off = pos;
	if (cw->nerr != 0)
		memcpy(cw->blk + pos, cw->errs,
		    (size_t)cw->nerr * sizeof(struct chunk_err));
	pos += cw->nerr * (uint32_t)sizeof(struct chunk_err);
	h->used = pos;
	h->nrecords = cw->nrec;
	h->nerrors = cw->nerr;
	h->recnos = recnos;
	h->src_len = src_end - h->src_off;
	h->flags = flags;
	h->layout_version = MARCD_LAYOUT_VERSION;
	h->magic = CHUNK_MAGIC;
}

/* Validate a block header before anything in it is used. */
int
chunk_open(struct chunk_view *v, const uint8_t *blk, uint32_t size)
{
	struct chunk_hdr h;

	memset(v, 0, sizeof(*v));
	if (blk == NULL || size < sizeof(h))
		return -1;
	memcpy(&h, blk, sizeof(h));
	if (h.magic != CHUNK_MAGIC || h.layout_version != MARCD_LAYOUT_VERSION ||
	    h.used > size || h.index_off < sizeof(h) || h.index_off % 4 ||
	    (uint64_t)h.index_off + (uint64_t)h.nrecords * 4 > size ||
	    h.errors_off % 8 ||
	    (uint64_t)h.errors_off + (uint64_t)h.nerrors *
	    sizeof(struct chunk_err) > size)
		return -1;
	v->blk = blk;
	v->size = size;
	v->nrecords = h.nrecords;
	v->nerrors = h.nerrors;
	v->index_off = h.index_off;
	v->errors_off = h.errors_off;
	v->batch_id = h.batch_id;
	v->src_off = h.src_off;
	v->src_len = h.src_len;
	v->seq = h.seq;
	v->flags = h.flags;
	v->recnos = h.recnos;
	return 0;
}

/*
 * Entry i of the block, its header copied out and every bound in it checked
 * against the block: the one place that trusts nothing of a record entry,
 * for chunk_record, chunk_leader and the Python helpers alike.
 */
int
chunk_entry_open(const struct chunk_view *v, uint32_t i, struct chunk_entry *e)
{
	uint64_t	fbytes;

	if (i >= v->nrecords)
		return -1;
	memcpy(&e->off, v->blk + v->index_off + (size_t)i * 4, 4);
	if (e->off % 8 || e->off < sizeof(struct chunk_hdr) ||
	    (uint64_t)e->off + sizeof(e->h) > v->size)
		return -1;
	memcpy(&e->h, v->blk + e->off, sizeof(e->h));
	fbytes = (uint64_t)e->h.nfields * sizeof(struct marc_field);
	if (e->h.iso_len < MARC_LEADER_LEN ||
	    (uint64_t)sizeof(e->h) + fbytes + e->h.iso_len > e->h.size ||
	    (uint64_t)e->off + e->h.size > v->size ||
	    (uint64_t)e->h.err_first + e->h.nerrors > v->nerrors)
		return -1;
	e->table = v->blk + e->off + sizeof(e->h);
	e->iso = e->table + fbytes;
	return 0;
}

/* Build a record view from entry i, copying and checking its field table. */
int
chunk_record(const struct chunk_view *v, uint32_t i, struct marc_record *rec,
    struct marc_field **fields, uint32_t *fields_cap,
    struct chunk_rec_errs *re)
{
	struct chunk_entry	e;
	uint32_t		k;

	if (chunk_entry_open(v, i, &e) != 0)
		return -1;
	if (table_grow((void **)fields, fields_cap, e.h.nfields ?
	    e.h.nfields : 1, sizeof(**fields)) != 0)
		return -1;
	memcpy(*fields, e.table, (size_t)e.h.nfields *
	    sizeof(struct marc_field));
	for (k = 0; k < e.h.nfields; k++)
		if ((uint64_t)(*fields)[k].off + (*fields)[k].len >
		    e.h.iso_len)
			return -1;
	memset(rec, 0, sizeof(*rec));
	rec->data = e.iso;
	rec->leader = v->blk + e.off + offsetof(struct rec_hdr, leader);
	rec->len = e.h.iso_len;
	rec->offset = e.h.src_off;
	rec->recno = e.h.recno;
	rec->nfields = e.h.nfields;
	rec->fields = *fields;
	rec->charset = MARC_CS_UTF8;
	rec->errors = &no_errors;
	re->first = e.h.err_first;
	re->n = e.h.nerrors;
	re->lost = e.h.nlost;
	return 0;
}

/* Record i's leader in place, for readers that look no further. */
const uint8_t *
chunk_leader(const struct chunk_view *v, uint32_t i)
{
	struct chunk_entry	e;

	if (chunk_entry_open(v, i, &e) != 0)
		return NULL;
	return v->blk + e.off + offsetof(struct rec_hdr, leader);
}

/* Copy error j out of the table. */
int
chunk_error(const struct chunk_view *v, uint32_t j, struct marc_error *e)
{
	struct chunk_err ce;

	if (j >= v->nerrors)
		return -1;
	memcpy(&ce, v->blk + v->errors_off + (size_t)j * sizeof(ce),
	    sizeof(ce));
	e->code = ce.code;
	e->recno = ce.recno;
	e->offset = ce.offset;
	return 0;
}
