/*
 * fuzz/fuzz_reader.c: libFuzzer target for the reader and what reads its
 * records (text decoding, the writers).
 *
 * The input is a whole file, read with charset auto.  For every item the
 * reader hands out: the return value is known, the reader moved forward,
 * record numbers grow, every error has a known code, an offset inside the
 * input and a record number; every usable record lies inside the input with
 * every field inside the record and past the leader.  Each usable record is
 * then checked with marc_record_check_text and written as marcjson (one
 * line of valid UTF-8 without raw control bytes), marcxml, mrk and iso2709;
 * the iso2709 output must read back as exactly one record.  Each record
 * also goes through an arena block as a worker writes it and a client reads
 * it back (common/chunk.c): its marcjson from there must be the same as
 * from the input, which is what `marcctl submit --follow` = `marcctl dump`
 * rests on.  A broken invariant aborts, which libFuzzer reports as a crash.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marcd/marc.h"
#include "buf.h"
#include "chunk.h"
#include "text.h"
#include "write.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Say which invariant broke before aborting, so findings are readable. */
#define FUZZ_REQUIRE(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_reader: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

static struct marc_writer	writers[4];
static struct mbuf		out, out2, scratch;
static struct chunk_writer	cw;
static uint8_t			*blk;
static struct marc_field	*cfields;
static uint32_t			 cfields_cap;
static int			ready;

#define FUZZ_BLOCK	(1u << 20)

/* Writers keep scratch buffers; make them once, as marcctl does. */
static void
fuzz_init(void)
{
	static const int fmts[4] = { MARC_FMT_MARCJSON, MARC_FMT_MARCXML,
	    MARC_FMT_MRK, MARC_FMT_ISO2709 };
	int i;

	for (i = 0; i < 4; i++)
		marc_writer_init(&writers[i], fmts[i]);
	chunk_writer_init(&cw);
	blk = aligned_alloc(8, FUZZ_BLOCK);
	FUZZ_REQUIRE(blk != NULL);
	ready = 1;
}

/* Every error is one a user could act on: known code, real place. */
static void
fuzz_errors(const struct marc_errlist *l, size_t size, uint32_t recno)
{
	uint32_t i;

	FUZZ_REQUIRE(l->n <= MARC_MAX_ERRORS);
	for (i = 0; i < l->n; i++) {
		FUZZ_REQUIRE(l->e[i].code > MARC_OK &&
		    l->e[i].code < MARC_E_COUNT_);
		FUZZ_REQUIRE(l->e[i].offset <= size);
		FUZZ_REQUIRE(l->e[i].recno >= 1 && l->e[i].recno <= recno);
	}
}

/* The record view must stay inside the input: every consumer trusts it. */
static void
fuzz_record(const uint8_t *data, size_t size, const struct marc_record *rec)
{
	uint32_t i;

	FUZZ_REQUIRE(rec->data >= data && rec->len <= size &&
	    (size_t)(rec->data - data) <= size - rec->len);
	FUZZ_REQUIRE(rec->offset == (uint64_t)(rec->data - data));
	FUZZ_REQUIRE(rec->len >= MARC_LEADER_LEN);
	FUZZ_REQUIRE(rec->charset == MARC_CS_MARC8 ||
	    rec->charset == MARC_CS_UTF8);
	FUZZ_REQUIRE(rec->nfields == 0 || rec->fields != NULL);
	for (i = 0; i < rec->nfields; i++) {
		FUZZ_REQUIRE(rec->fields[i].off >= MARC_LEADER_LEN);
		FUZZ_REQUIRE((uint64_t)rec->fields[i].off +
		    rec->fields[i].len <= rec->len);
	}
}

/* marcjson: one line of valid UTF-8, no raw control bytes inside. */
static void
fuzz_marcjson(const uint8_t *p, size_t n)
{
	size_t i;

	FUZZ_REQUIRE(n >= 2 && p[0] == '{' && p[n - 1] == '\n');
	FUZZ_REQUIRE(utf8_valid_len(p, n) == n);
	for (i = 0; i + 1 < n; i++)
		FUZZ_REQUIRE(p[i] >= 0x20);
}

/* What the writers produce as ISO 2709 must read back as one record. */
static void
fuzz_reread(const uint8_t *p, size_t n, uint32_t nfields)
{
	struct marc_reader	r;
	struct marc_record	rec;
	int			ret;

	marc_reader_init(&r, p, n, MARC_CS_AUTO, 0, 0);
	ret = marc_reader_next(&r, &rec);
	FUZZ_REQUIRE(ret == MARC_NEXT_RECORD);
	FUZZ_REQUIRE(rec.len == n);
	FUZZ_REQUIRE(rec.charset == MARC_CS_UTF8);
	/* Lengths past 9999/99999 are written as zeros and cannot be exact. */
	if (n <= 99999 && rec.errors->n == 0)
		FUZZ_REQUIRE(rec.nfields == nfields);
	FUZZ_REQUIRE(marc_reader_next(&r, &rec) == MARC_NEXT_END);
	marc_reader_free(&r);
}

/* Through a block and back: the same marcjson as the record itself. */
static void
fuzz_chunk(const struct marc_record *rec)
{
	struct chunk_view	v;
	struct chunk_rec_errs	re;
	struct marc_record	rec2;
	struct marc_errlist	errs;

	chunk_begin(&cw, blk, FUZZ_BLOCK, 1, 0, 0);
	FUZZ_REQUIRE(chunk_add(&cw, MARC_NEXT_RECORD, rec) == 0);
	chunk_finish(&cw, rec->offset + rec->len, rec->recno, 0);
	FUZZ_REQUIRE(chunk_open(&v, blk, FUZZ_BLOCK) == 0);
	if (v.nrecords == 0)		/* too large for the block: skipped */
		return;
	FUZZ_REQUIRE(v.nrecords == 1);
	FUZZ_REQUIRE(chunk_record(&v, 0, &rec2, &cfields, &cfields_cap,
	    &re) == 0);
	memset(&errs, 0, sizeof errs);
	out.len = out2.len = 0;
	FUZZ_REQUIRE(marc_writer_record(&writers[0], &out, rec, &errs) == 0);
	FUZZ_REQUIRE(marc_writer_record(&writers[0], &out2, &rec2,
	    &errs) == 0);
	FUZZ_REQUIRE(out.len == out2.len &&
	    memcmp(out.p, out2.p, out.len) == 0);
}

/* Decode and write one usable record in every format. */
static void
fuzz_write(const struct marc_record *rec, size_t size)
{
	struct marc_errlist	errs;
	int			i;

	memset(&errs, 0, sizeof errs);
	scratch.len = 0;
	FUZZ_REQUIRE(marc_record_check_text(rec, &scratch, &errs) == 0);
	fuzz_errors(&errs, size, rec->recno);
	for (i = 0; i < 4; i++) {
		memset(&errs, 0, sizeof errs);
		out.len = 0;
		FUZZ_REQUIRE(marc_writer_begin(&writers[i], &out) == 0);
		FUZZ_REQUIRE(marc_writer_record(&writers[i], &out, rec,
		    &errs) == 0);
		fuzz_errors(&errs, size, rec->recno);
		if (writers[i].format == MARC_FMT_MARCJSON)
			fuzz_marcjson(out.p, out.len);
		else if (writers[i].format == MARC_FMT_MARCXML) {
			FUZZ_REQUIRE(marc_writer_end(&writers[i], &out) == 0);
			FUZZ_REQUIRE(utf8_valid_len(out.p, out.len) == out.len);
		} else if (writers[i].format == MARC_FMT_MRK)
			FUZZ_REQUIRE(utf8_valid_len(out.p, out.len) == out.len);
		else
			fuzz_reread(out.p, out.len, rec->nfields);
	}
}

/* One input: the whole buffer through the reader, as marcctl reads a file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct marc_reader	r;
	struct marc_record	rec;
	size_t			lastpos = 0, items = 0;
	uint32_t		lastrec = 0;
	int			ret;

	if (!ready)
		fuzz_init();
	marc_reader_init(&r, data, size, MARC_CS_AUTO, 0, 0);
	while ((ret = marc_reader_next(&r, &rec)) != MARC_NEXT_END) {
		FUZZ_REQUIRE(ret == MARC_NEXT_RECORD ||
		    ret == MARC_NEXT_SKIPPED);
		FUZZ_REQUIRE(++items <= size);
		FUZZ_REQUIRE(r.pos > lastpos && r.pos <= size);
		lastpos = r.pos;
		FUZZ_REQUIRE(rec.recno > lastrec);
		lastrec = rec.recno;
		FUZZ_REQUIRE(rec.errors != NULL);
		fuzz_errors(rec.errors, size, rec.recno);
		if (ret == MARC_NEXT_SKIPPED) {
			FUZZ_REQUIRE(rec.errors->n > 0);
			continue;
		}
		fuzz_record(data, size, &rec);
		fuzz_write(&rec, size);
		fuzz_chunk(&rec);
	}
	FUZZ_REQUIRE(r.pos == size);
	marc_reader_free(&r);
	return 0;
}
