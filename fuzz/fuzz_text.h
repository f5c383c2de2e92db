/*
 * fuzz/fuzz_text.h: the body of the text-format fuzz targets (fuzz_xml.c,
 * fuzz_json.c, fuzz_mrk.c), each of which defines FUZZ_FROM first.
 *
 * The input is read in that format, whole: every item has a known return,
 * the reader ends, every error a known code, an offset inside the input
 * and a record number; every record lies in its own buffer with its fields
 * inside it and past the leader, and writes as one line of valid UTF-8
 * marcjson and as ISO 2709 that reads back as one record.  Then the
 * splitter's invariant: the input cut into chunks at the format's record
 * boundaries (a size taken from the first byte), each chunk read on its
 * own, gives exactly what the whole reading gave, records and errors.  A
 * broken invariant aborts, which libFuzzer reports as a crash.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marcd/marc.h"
#include "buf.h"
#include "format.h"
#include "text.h"
#include "write.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Say which invariant broke before aborting, so findings are readable. */
#define FUZZ_REQUIRE(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__,		\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

static struct marc_writer	wj, wi;
static struct mbuf		whole, cut, line;
static struct marc_freader	fr;
static int			ready;

/* The record view must hold: every consumer trusts it. */
static void
fuzz_text_record(const struct marc_record *rec, size_t size)
{
	struct marc_reader	r;
	struct marc_record	back;
	struct marc_errlist	errs;
	uint32_t		i;

	FUZZ_REQUIRE(rec->data != NULL && rec->len >= MARC_LEADER_LEN + 2);
	FUZZ_REQUIRE(rec->offset <= size);
	FUZZ_REQUIRE(rec->charset == MARC_CS_MARC8 ||
	    rec->charset == MARC_CS_UTF8);
	FUZZ_REQUIRE(rec->data[rec->len - 1] == MARC_RT);
	for (i = 0; i < rec->nfields; i++) {
		FUZZ_REQUIRE(rec->fields[i].off > MARC_LEADER_LEN);
		FUZZ_REQUIRE((uint64_t)rec->fields[i].off +
		    rec->fields[i].len < rec->len);
	}
	memset(&errs, 0, sizeof errs);
	line.len = 0;
	FUZZ_REQUIRE(marc_writer_record(&wj, &line, rec, &errs) == 0);
	FUZZ_REQUIRE(line.len >= 2 && line.p[0] == '{' &&
	    line.p[line.len - 1] == '\n');
	FUZZ_REQUIRE(utf8_valid_len(line.p, line.len) == line.len);
	for (i = 0; i + 1 < line.len; i++)
		FUZZ_REQUIRE(line.p[i] >= 0x20);
	line.len = 0;
	FUZZ_REQUIRE(marc_writer_record(&wi, &line, rec, &errs) == 0);
	marc_reader_init(&r, line.p, line.len, MARC_CS_AUTO, 0, 0);
	FUZZ_REQUIRE(marc_reader_next(&r, &back) == MARC_NEXT_RECORD);
	FUZZ_REQUIRE(marc_reader_next(&r, &back) == MARC_NEXT_END);
	marc_reader_free(&r);
}

/* Read data in chunks of `size` (or whole), noting everything in out. */
static void
fuzz_text_read(const uint8_t *data, size_t len, size_t size,
    struct mbuf *out, int check)
{
	struct marc_record	rec;
	struct marc_errlist	errs;
	char			buf[96];
	uint64_t		k;
	size_t			s, e, items = 0;
	uint32_t		recno = 0, i, last = 0;
	int			rc;

	out->len = 0;
	for (k = 0; k == 0 || k * size < len; k++) {
		marc_from_range_bounds(FUZZ_FROM, data, len, k * size, size,
		    &s, &e);
		FUZZ_REQUIRE(e >= s && e <= len);
		if (e == s)
			continue;
		FUZZ_REQUIRE(marc_freader_init_range(&fr, FUZZ_FROM, data, s,
		    e, len, MARC_CS_AUTO, recno) == 0);
		while ((rc = marc_freader_next(&fr, &rec)) != MARC_NEXT_END) {
			FUZZ_REQUIRE(rc == MARC_NEXT_RECORD ||
			    rc == MARC_NEXT_SKIPPED);
			FUZZ_REQUIRE(++items <= len + 2);
			FUZZ_REQUIRE(rec.errors != NULL &&
			    rec.errors->n <= MARC_MAX_ERRORS);
			FUZZ_REQUIRE(rc == MARC_NEXT_RECORD ||
			    rec.errors->n > 0);
			FUZZ_REQUIRE(rec.recno >= last);
			last = rec.recno;
			for (i = 0; i < rec.errors->n; i++) {
				FUZZ_REQUIRE(rec.errors->e[i].code > MARC_OK &&
				    rec.errors->e[i].code < MARC_E_COUNT_);
				FUZZ_REQUIRE(rec.errors->e[i].offset <= len);
				FUZZ_REQUIRE(rec.errors->e[i].recno >= 1);
				snprintf(buf, sizeof buf, "E %u %u %llu\n",
				    rec.errors->e[i].code,
				    rec.errors->e[i].recno,
				    (unsigned long long)
				    rec.errors->e[i].offset);
				FUZZ_REQUIRE(mbuf_adds(out, buf) == 0);
			}
			if (rc != MARC_NEXT_RECORD)
				continue;
			if (check)
				fuzz_text_record(&rec, len);
			snprintf(buf, sizeof buf, "R %u %llu ", rec.recno,
			    (unsigned long long)rec.offset);
			memset(&errs, 0, sizeof errs);
			FUZZ_REQUIRE(mbuf_adds(out, buf) == 0);
			FUZZ_REQUIRE(marc_writer_record(&wj, out, &rec,
			    &errs) == 0);
		}
		FUZZ_REQUIRE(fr.r.pos <= e);
		recno = fr.r.recno;
	}
}

/* One input: whole, then cut; both must say the same. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk;

	if (!ready) {
		marc_writer_init(&wj, MARC_FMT_MARCJSON);
		marc_writer_init(&wi, MARC_FMT_ISO2709);
		ready = 1;
	}
	fuzz_text_read(data, size, size + 1, &whole, 1);
	if (size == 0)
		return 0;
	chunk = size / 48 + 1 + data[0] % 32;
	fuzz_text_read(data, size, chunk, &cut, 0);
	/* Nothing said has no buffer: memcmp takes no NULL. */
	FUZZ_REQUIRE(cut.len == whole.len && (whole.len == 0 ||
	    memcmp(cut.p, whole.p, whole.len) == 0));
	return 0;
}
