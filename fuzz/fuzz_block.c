/*
 * fuzz/fuzz_block.c: libFuzzer target for everything a client runs on an
 * arena block, fed blocks nobody wrote: chunk_open, chunk_record,
 * chunk_leader and chunk_error (common/chunk.c, what libmarcd's
 * marcd_chunk_* calls are made of) and the Python package's whole-block
 * helpers (client/libmarcd_py.c).
 *
 * The first input byte chooses what the input is:
 * - a digit (a record length: the seeds are the MARC corpus): MARC
 *   records, written into a block by the worker's own code (common/
 *   chunk.c), then scribbled on: the last byte gives a number of patches
 *   (0-15), three bytes each before it (a 16-bit offset, a byte), so that
 *   the fuzzer corrupts real record entries, field tables and error tables;
 * - anything else: the block itself (from the second byte), with a valid
 *   chunk header laid over it when bit 0 is set (past chunk_open cheaply).
 * Whatever the bytes, nothing may read or write outside the block or the
 * tables sized from it (ASan), and every view handed out must lie inside
 * the block: a broken invariant aborts.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "marcd/marc.h"
#include "libmarcd_py.h"
#include "shm.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Say which invariant broke before aborting, so findings are readable. */
#define FUZZ_REQUIRE(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_block: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

#define FUZZ_MAX_RECORDS	4096	/* per input, to keep runs short */

#define FUZZ_BLOCK		65536	/* block size of the written mode */

static struct marc_field	*fields;
static uint32_t			 fields_cap;
static struct chunk_writer	 cw;
static int			 ready;

/* Whether p[0..n) lies in blk[0..size). */
static int
inside(const uint8_t *blk, uint32_t size, const uint8_t *p, uint64_t n)
{
	return p >= blk && (uint64_t)(p - blk) <= size &&
	    n <= size - (uint64_t)(p - blk);
}

/* What libmarcd does with a block: open it, then every record and error. */
static void
fuzz_chunk(const uint8_t *blk, uint32_t size)
{
	struct chunk_view	 v;
	struct chunk_rec_errs	 re;
	struct marc_record	 rec;
	struct marc_error	 e;
	const uint8_t		*ld;
	uint32_t		 i, k, n;

	if (chunk_open(&v, blk, size) != 0)
		return;
	FUZZ_REQUIRE((uint64_t)v.index_off + (uint64_t)v.nrecords * 4 <= size);
	n = v.nrecords < FUZZ_MAX_RECORDS ? v.nrecords : FUZZ_MAX_RECORDS;
	for (i = 0; i < n; i++) {
		if ((ld = chunk_leader(&v, i)) != NULL)
			FUZZ_REQUIRE(inside(blk, size, ld, MARC_LEADER_LEN));
		if (chunk_record(&v, i, &rec, &fields, &fields_cap, &re) != 0)
			continue;
		FUZZ_REQUIRE(ld != NULL && rec.leader == ld);
		FUZZ_REQUIRE(inside(blk, size, rec.data, rec.len));
		FUZZ_REQUIRE(rec.len >= MARC_LEADER_LEN);
		FUZZ_REQUIRE((uint64_t)re.first + re.n <= v.nerrors);
		for (k = 0; k < rec.nfields; k++)
			FUZZ_REQUIRE((uint64_t)rec.fields[k].off +
			    rec.fields[k].len <= rec.len);
	}
	n = v.nerrors < FUZZ_MAX_RECORDS ? v.nerrors : FUZZ_MAX_RECORDS;
	for (i = 0; i < n; i++) {
		FUZZ_REQUIRE(chunk_error(&v, i, &e) == 0);
		/* Python names every code it is handed. */
		FUZZ_REQUIRE(marc_code_name(e.code) != NULL);
		FUZZ_REQUIRE(marc_code_message(e.code) != NULL);
	}
	FUZZ_REQUIRE(chunk_error(&v, v.nerrors, &e) == -1);
	FUZZ_REQUIRE(chunk_record(&v, v.nrecords, &rec, &fields, &fields_cap,
	    &re) == -1);
}

/* What the Python package does with a block: the tables, the orphan
 * errors and the bulk values, with buffers sized as it sizes them. */
static void
fuzz_python(const uint8_t *blk, uint32_t size)
{
	uint32_t	 nrec, nf, i, *rec_off, *rec_first, *fstart, *fend;
	uint32_t	*none, nnone, *orph;
	size_t		 used, cap;
	uint8_t		*buf;
	char		*tags;
	int		 n, rc;

	if (marcd_py_block_count(blk, size, &nrec, &nf) != 0)
		return;
	FUZZ_REQUIRE((uint64_t)nf * sizeof(struct marc_field) <= size);
	rec_off = malloc(((size_t)nrec + 1) * 4);
	rec_first = malloc(((size_t)nrec + 1) * 4);
	tags = malloc((size_t)nf * 4 + 1);
	fstart = malloc((size_t)nf * 4 + 4);
	fend = malloc((size_t)nf * 4 + 4);
	none = malloc(((size_t)nrec + 1) * 4);
	cap = (size_t)size + nrec;
	buf = malloc(cap + 1);
	FUZZ_REQUIRE(rec_off && rec_first && tags && fstart && fend && none &&
	    buf);
	/* The tables check every field too: a bad one is a corrupt block. */
	rc = marcd_py_block_tables(blk, size, nrec, nf, rec_off, rec_first,
	    tags, fstart, fend);
	FUZZ_REQUIRE(rc == 0 || rc == MARCD_E_CORRUPT);
	if (rc == 0) {
		for (i = 0; i < nrec; i++) {
			FUZZ_REQUIRE(rec_off[i] % 8 == 0 && (uint64_t)
			    rec_off[i] + sizeof(struct rec_hdr) <= size);
			FUZZ_REQUIRE(rec_first[i] <= rec_first[i + 1]);
		}
		FUZZ_REQUIRE(rec_first[nrec] == nf * 4);
		for (i = 0; i < nf; i++)
			FUZZ_REQUIRE(fstart[i] <= fend[i] && fend[i] <= size);
	}

	n = marcd_py_block_orphans(blk, size, NULL, 0);
	FUZZ_REQUIRE(n >= 0);
	if ((orph = malloc(((size_t)n + 1) * 4)) != NULL) {
		FUZZ_REQUIRE(marcd_py_block_orphans(blk, size, orph,
		    (uint32_t)n) == n);
		free(orph);
	}

	/* A control field and a data field, as Python asks for them; the
	 * buffer Python sizes (size + nrecords) is always enough. */
	rc = marcd_py_block_values(blk, size, "001", -1, buf, cap, &used,
	    none, &nnone);
	FUZZ_REQUIRE(rc == (int)nrec && used <= cap && nnone <= nrec);
	rc = marcd_py_block_values(blk, size, "245", 'a', buf, cap, &used,
	    none, &nnone);
	FUZZ_REQUIRE(rc == (int)nrec && used <= cap && nnone <= nrec);

	free(rec_off);
	free(rec_first);
	free(tags);
	free(fstart);
	free(fend);
	free(none);
	free(buf);
}

/* A block as a worker writes it from the records in p[0..n), then the
 * patches applied. */
static void
fuzz_written(uint8_t *blk, const uint8_t *p, size_t n, const uint8_t *patch,
    int npatch)
{
	struct marc_reader	 r;
	struct marc_record	 rec;
	uint32_t		 off;
	int			 ret, i;

	if (!ready) {
		chunk_writer_init(&cw);
		ready = 1;
	}
	memset(blk, 0, FUZZ_BLOCK);
	chunk_begin(&cw, blk, FUZZ_BLOCK, 1, 0, 0);
	marc_reader_init(&r, p, n, MARC_CS_AUTO, 0, 0);
	while ((ret = marc_reader_next(&r, &rec)) != MARC_NEXT_END)
		if (chunk_add(&cw, ret, &rec) != 0)
			break;
	chunk_finish(&cw, n, 1, CHUNK_LAST);
	marc_reader_free(&r);
	for (i = 0; i < npatch; i++, patch += 3) {
		off = (uint32_t)patch[0] | (uint32_t)patch[1] << 8;
		blk[off % FUZZ_BLOCK] = patch[2];
	}
}

/* One block per input, made as the first byte says. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct chunk_hdr	 h;
	uint8_t			*blk;
	uint32_t		 size;
	int			 npatch;

	if (len < 1 || len - 1 > UINT32_MAX)
		return 0;
	if (data[0] >= '0' && data[0] <= '9') {
		npatch = data[len - 1] & 15;
		if (len - 1 < (size_t)npatch * 3)
			return 0;
		if ((blk = malloc(FUZZ_BLOCK)) == NULL)
			return 0;
		fuzz_written(blk, data, len - 1 - (size_t)npatch * 3,
		    data + len - 1 - (size_t)npatch * 3, npatch);
		fuzz_chunk(blk, FUZZ_BLOCK);
		fuzz_python(blk, FUZZ_BLOCK);
		free(blk);
		return 0;
	}
	size = (uint32_t)(len - 1);
	/* Exactly the block's bytes, so that ASan sees any overrun. */
	if ((blk = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(blk, data + 1, size);
	if ((data[0] & 1) && size >= sizeof(h)) {
		memcpy(&h, blk, sizeof(h));
		h.magic = CHUNK_MAGIC;
		h.layout_version = MARCD_LAYOUT_VERSION;
		h.used = h.used % (size + 1);
		h.index_off = sizeof(h) + (h.index_off % 64) * 4;
		h.nrecords %= 64;
		h.errors_off = sizeof(h) + (h.errors_off % 64) * 8;
		h.nerrors %= 16;
		memcpy(blk, &h, sizeof(h));
	}
	fuzz_chunk(blk, size);
	fuzz_python(blk, size);
	free(blk);
	return 0;
}
