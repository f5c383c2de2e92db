/*
 * tests/check_corpus.c: the reader against the real-file corpus.
 *
 * Valid files must give exactly the record count yaz and MARC::Batch give,
 * with no error.  Malformed files and fuzzer regressions must be read to the
 * end without a crash or hang, every error must be well formed, and at least
 * the records yaz-marcdump recovers (tests/data/corpus/yaz-good) must come
 * out.  Every usable record also goes through marc_record_check_text and the
 * marcjson writer.  The file list comes from tests/data/corpus/manifest.tsv.
 *
 * Define CORPUS_NO_WRITERS to build without common/write*.c.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "marcd/marc.h"
#include "buf.h"
#include "text.h"
#ifndef CORPUS_NO_WRITERS
#include "write.h"
#endif

#define CORPUS_DIR	SRCDIR "/tests/data/corpus"
#define REGRESS_DIR	SRCDIR "/tests/data/fuzz-regressions"
#define KEY_MAX		128

/*
 * Assert without Check's per-assertion bookkeeping (a pipe write for every
 * passing ck_assert in forked mode), which is too slow inside record loops.
 */
#define REQUIRE(cond, ...) do {						\
	if (!(cond))							\
		ck_abort_msg(__VA_ARGS__);				\
} while (0)

/* One manifest row: what we expect of a file. */
struct corpus_file {
	char	*name;		/* relative to CORPUS_DIR, e.g. valid/x.mrc */
	int	 valid;
	long	 yaz;
	long	 batch;
};

/* A record as the yaz-good files name it: its start offset and 001. */
struct corpus_key {
	char		id001[KEY_MAX];	/* trimmed 001, "" if none usable */
	uint64_t	offset;
	int		used;
};

/* What one pass over a buffer found. */
struct corpus_pass {
	size_t			 records;	/* MARC_NEXT_RECORD items */
	size_t			 skipped;	/* MARC_NEXT_SKIPPED items */
	size_t			 errors;	/* reader errors, kept + lost */
	size_t			 text_errors;	/* from marc_record_check_text */
	struct corpus_key	*keys;		/* one per record */
};

static struct corpus_file	*files;
static size_t			 nfiles;
static size_t			*valid_idx, nvalid;
static size_t			*bad_idx, nbad;
static char			**regress;
static size_t			 nregress;

/* Tests need whole files in memory; the reader works on buffers. */
static uint8_t *
slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	uint8_t	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*lenp = len;
	return buf;
}

/* Split a line at tabs in place; the manifest and yaz-good files are TSV. */
static size_t
split_tabs(char *line, char **col, size_t max)
{
	size_t n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		col[n++] = line;
		if ((line = strchr(line, '\t')) == NULL)
			break;
		*line++ = '\0';
	}
	return n;
}

/* Load the manifest once, before the suites are built (loop counts). */
static void
manifest_load(void)
{
	FILE	*f;
	char	 line[8192], *col[12];
	size_t	 n;

	if ((f = fopen(CORPUS_DIR "/manifest.tsv", "r")) == NULL) {
		perror(CORPUS_DIR "/manifest.tsv");
		exit(1);
	}
	while (fgets(line, sizeof line, f) != NULL) {
		n = split_tabs(line, col, 12);
		if (n < 9 || strcmp(col[0], "file") == 0)
			continue;
		files = realloc(files, (nfiles + 1) * sizeof(*files));
		if (files == NULL)
			abort();
		files[nfiles].name = strdup(col[0]);
		files[nfiles].valid = strcmp(col[1], "valid") == 0;
		files[nfiles].yaz = strtol(col[7], NULL, 10);
		files[nfiles].batch = strtol(col[8], NULL, 10);
		nfiles++;
	}
	fclose(f);
	valid_idx = calloc(nfiles + 1, sizeof(*valid_idx));
	bad_idx = calloc(nfiles + 1, sizeof(*bad_idx));
	if (valid_idx == NULL || bad_idx == NULL)
		abort();
	for (n = 0; n < nfiles; n++) {
		if (files[n].valid)
			valid_idx[nvalid++] = n;
		else
			bad_idx[nbad++] = n;
	}
}

/* Regression inputs are whatever the fuzzer once found; list the directory. */
static void
regress_load(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[4096];

	if ((d = opendir(REGRESS_DIR)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".md") != NULL)
			continue;
		snprintf(path, sizeof path, "%s/%s", REGRESS_DIR, de->d_name);
		regress = realloc(regress, (nregress + 1) * sizeof(*regress));
		if (regress == NULL)
			abort();
		regress[nregress++] = strdup(path);
	}
	closedir(d);
}

/* Every error must name a real code, lie inside the input and a record. */
static void
check_errors(const char *name, const struct marc_errlist *l, size_t len,
    uint32_t maxrecno)
{
	uint32_t i;

	REQUIRE(l->n <= MARC_MAX_ERRORS, "%s: error list overflow", name);
	for (i = 0; i < l->n; i++) {
		const struct marc_error *e = &l->e[i];

		REQUIRE(e->code > MARC_OK && e->code < MARC_E_COUNT_,
		    "%s: error code %u out of range", name, e->code);
		REQUIRE(strcmp(marc_code_name(e->code), "unknown") != 0,
		    "%s: code %u has no name", name, e->code);
		REQUIRE(e->offset <= len,
		    "%s: error %s at offset %llu past end %zu", name,
		    marc_code_name(e->code), (unsigned long long)e->offset, len);
		REQUIRE(e->recno >= 1 && e->recno <= maxrecno,
		    "%s: error %s with record number %u (last %u)", name,
		    marc_code_name(e->code), e->recno, maxrecno);
	}
}

/* The record view must stay inside the input: writers trust it. */
static void
check_record(const char *name, const uint8_t *buf, size_t len,
    const struct marc_record *rec)
{
	uint32_t i;

	REQUIRE(rec->data >= buf && rec->len <= len &&
	    (size_t)(rec->data - buf) <= len - rec->len,
	    "%s: record %u lies outside the input", name, rec->recno);
	REQUIRE(rec->offset == (uint64_t)(rec->data - buf),
	    "%s: record %u offset %llu, data at %td", name, rec->recno,
	    (unsigned long long)rec->offset, rec->data - buf);
	REQUIRE(rec->len >= MARC_LEADER_LEN,
	    "%s: record %u shorter than a leader", name, rec->recno);
	REQUIRE(rec->charset == MARC_CS_MARC8 ||
	    rec->charset == MARC_CS_UTF8,
	    "%s: record %u charset %d", name, rec->recno, rec->charset);
	REQUIRE(rec->nfields == 0 || rec->fields != NULL,
	    "%s: record %u has fields but no table", name, rec->recno);
	for (i = 0; i < rec->nfields; i++) {
		const struct marc_field *f = &rec->fields[i];

		REQUIRE((uint64_t)f->off + f->len <= rec->len,
		    "%s: record %u field %u (%.3s) at %u+%u past %zu", name,
		    rec->recno, i, f->tag, f->off, f->len, rec->len);
		REQUIRE(f->off >= MARC_LEADER_LEN,
		    "%s: record %u field %u (%.3s) inside the leader", name,
		    rec->recno, i, f->tag);
	}
}

/* The key yaz-good files use: the first 001, spaces trimmed. */
static void
record_key(const struct marc_record *rec, struct corpus_key *k)
{
	uint32_t	 i;
	const uint8_t	*p;
	size_t		 n;

	memset(k, 0, sizeof(*k));
	k->offset = rec->offset;
	for (i = 0; i < rec->nfields; i++) {
		if (memcmp(rec->fields[i].tag, "001", 3) != 0)
			continue;
		p = rec->data + rec->fields[i].off;
		n = rec->fields[i].len;
		while (n > 0 && p[0] == ' ')
			p++, n--;
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n < sizeof(k->id001)) {
			memcpy(k->id001, p, n);
			k->id001[n] = '\0';
		}
		break;
	}
}

/* Decoding and writing must cope with whatever the reader hands out. */
static void
check_text(const char *name, size_t len, const struct marc_record *rec,
    struct mbuf *scratch, size_t *nerr)
{
	struct marc_errlist	errs;

	memset(&errs, 0, sizeof errs);
	scratch->len = 0;
	REQUIRE(marc_record_check_text(rec, scratch, &errs) == 0,
	    "%s: record %u: check_text failed", name, rec->recno);
	check_errors(name, &errs, len, rec->recno);
	*nerr += errs.n + errs.lost;
#ifndef CORPUS_NO_WRITERS
	{
		struct marc_writer	w;
		struct mbuf		out = { NULL, 0, 0 };
		size_t			i;

		memset(&errs, 0, sizeof errs);
		marc_writer_init(&w, MARC_FMT_MARCJSON);
		REQUIRE(marc_writer_begin(&w, &out) == 0, "%s: writer begin", name);
		REQUIRE(marc_writer_record(&w, &out, rec, &errs) == 0,
		    "%s: record %u: marcjson writer failed", name, rec->recno);
		REQUIRE(marc_writer_end(&w, &out) == 0, "%s: writer end", name);
		check_errors(name, &errs, len, rec->recno);
		REQUIRE(out.len >= 2 && out.p[0] == '{' &&
		    out.p[out.len - 1] == '\n',
		    "%s: record %u: marcjson is not one {...} line", name,
		    rec->recno);
		REQUIRE(utf8_valid_len(out.p, out.len) == out.len,
		    "%s: record %u: marcjson is not valid UTF-8", name,
		    rec->recno);
		for (i = 0; i + 1 < out.len; i++)
			REQUIRE(out.p[i] >= 0x20,
			    "%s: record %u: raw control byte 0x%02x in marcjson",
			    name, rec->recno, out.p[i]);
		mbuf_free(&out);
		marc_writer_free(&w);
	}
#endif
}

/*
 * Read a whole buffer as marcctl does, checking every invariant on the way.
 * The reader must advance on every item, so the loop is bounded by len.
 */
static void
corpus_read(const char *name, const uint8_t *buf, size_t len,
    struct corpus_pass *p)
{
	struct marc_reader	r;
	struct marc_record	rec;
	struct mbuf		scratch = { NULL, 0, 0 };
	size_t			items = 0, lastpos = 0, cap = 0;
	uint32_t		lastrec = 0;
	int			ret;

	memset(p, 0, sizeof(*p));
	marc_reader_init(&r, buf, len, MARC_CS_AUTO, 0, 0);
	for (;;) {
		ret = marc_reader_next(&r, &rec);
		REQUIRE(ret == MARC_NEXT_END || ret == MARC_NEXT_RECORD ||
		    ret == MARC_NEXT_SKIPPED, "%s: reader returned %d", name,
		    ret);
		if (ret == MARC_NEXT_END)
			break;
		REQUIRE(++items <= len + 1, "%s: reader does not advance",
		    name);
		REQUIRE(r.pos > lastpos, "%s: reader stuck at %zu", name,
		    r.pos);
		REQUIRE(r.pos <= len, "%s: reader past end", name);
		lastpos = r.pos;
		REQUIRE(rec.recno > lastrec, "%s: record number %u after %u",
		    name, rec.recno, lastrec);
		lastrec = rec.recno;
		REQUIRE(rec.errors != NULL, "%s: no error list", name);
		check_errors(name, rec.errors, len, rec.recno);
		p->errors += rec.errors->n + rec.errors->lost;
		if (ret == MARC_NEXT_SKIPPED) {
			REQUIRE(rec.errors->n > 0,
			    "%s: skipped bytes at item %u without an error",
			    name, rec.recno);
			p->skipped++;
			continue;
		}
		check_record(name, buf, len, &rec);
		if (p->records == cap) {
			cap = cap ? cap * 2 : 64;
			p->keys = realloc(p->keys, cap * sizeof(*p->keys));
			REQUIRE(p->keys != NULL, "out of memory");
		}
		record_key(&rec, &p->keys[p->records++]);
		check_text(name, len, &rec, &scratch, &p->text_errors);
	}
	REQUIRE(r.pos == len, "%s: reader ended at %zu of %zu", name,
	    r.pos, len);
	REQUIRE(marc_reader_next(&r, &rec) == MARC_NEXT_END,
	    "%s: reader goes on after its end", name);
	marc_reader_free(&r);
	mbuf_free(&scratch);
}

/* Load a corpus file by manifest index or fail the test. */
static uint8_t *
corpus_load(size_t idx, size_t *len)
{
	char	 path[4096];
	uint8_t	*buf;

	snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, files[idx].name);
	buf = slurp(path, len);
	ck_assert_msg(buf != NULL, "%s: %s", path, strerror(errno));
	return buf;
}

/* Valid files: exactly the peers' count, and nothing to complain about. */
START_TEST(test_valid_file)
{
	const struct corpus_file	*cf = &files[valid_idx[_i]];
	struct corpus_pass		 p;
	uint8_t				*buf;
	size_t				 len;

	buf = corpus_load(valid_idx[_i], &len);
	corpus_read(cf->name, buf, len, &p);
	ck_assert_msg(cf->yaz == cf->batch,
	    "%s: manifest yaz %ld != MARC::Batch %ld", cf->name, cf->yaz,
	    cf->batch);
	ck_assert_msg((long)p.records == cf->yaz,
	    "%s: %zu records, yaz and MARC::Batch read %ld", cf->name,
	    p.records, cf->yaz);
	ck_assert_msg(p.skipped == 0, "%s: %zu items skipped", cf->name,
	    p.skipped);
	ck_assert_msg(p.errors == 0, "%s: %zu reader errors", cf->name,
	    p.errors);
	ck_assert_msg(p.text_errors == 0, "%s: %zu text errors", cf->name,
	    p.text_errors);
	free(p.keys);
	free(buf);
}
END_TEST

/*
 * Take the record yaz found at off (with 001 id, maybe "") off the records
 * read: the one starting at the same offset, else one with the same 001.
 * 0 if none is left.
 */
static int
take_key(struct corpus_pass *p, uint64_t off, const char *id)
{
	size_t i;

	for (i = 0; i < p->records; i++) {
		if (!p->keys[i].used && p->keys[i].offset == off) {
			p->keys[i].used = 1;
			return 1;
		}
	}
	for (i = 0; *id != '\0' && i < p->records; i++) {
		if (!p->keys[i].used && strcmp(p->keys[i].id001, id) == 0) {
			p->keys[i].used = 1;
			return 1;
		}
	}
	return 0;
}

/* Malformed files: no crash, sane errors, at least what yaz recovers. */
START_TEST(test_malformed_file)
{
	const struct corpus_file	*cf = &files[bad_idx[_i]];
	struct corpus_pass		 p;
	uint8_t				*buf;
	size_t				 len, want = 0, got = 0, n;
	char				 path[4096], line[1024], *col[2];
	const char			*base;
	FILE				*f;

	buf = corpus_load(bad_idx[_i], &len);
	corpus_read(cf->name, buf, len, &p);

	base = strrchr(cf->name, '/') + 1;
	snprintf(path, sizeof path, "%s/yaz-good/%s.txt", CORPUS_DIR, base);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		n = split_tabs(line, col, 2);
		ck_assert_msg(n == 2, "%s: bad line", path);
		want++;
		if (take_key(&p, strtoull(col[0], NULL, 10), col[1]))
			got++;
		else
			fprintf(stderr, "%s: yaz record at offset %s (001 %s) "
			    "not read\n", cf->name, col[0], col[1]);
	}
	fclose(f);
	ck_assert_msg(got == want, "%s: %zu of %zu yaz-good records read",
	    cf->name, got, want);
	ck_assert_msg(p.records + p.skipped > 0 || len == 0,
	    "%s: nothing read from %zu bytes", cf->name, len);
	free(p.keys);
	free(buf);
}
END_TEST

/* Fuzzer findings: read them like any file; surviving is the test. */
START_TEST(test_regression)
{
	struct corpus_pass	 p;
	uint8_t			*buf;
	size_t			 len;

	buf = slurp(regress[_i], &len);
	ck_assert_msg(buf != NULL, "%s: %s", regress[_i], strerror(errno));
	corpus_read(regress[_i], buf, len, &p);
	ck_assert_msg(p.records + p.skipped <= len,
	    "%s: more items than bytes", regress[_i]);
	free(p.keys);
	free(buf);
}
END_TEST

/* One item as a reader hands it out: enough to tell two readings apart. */
struct corpus_item {
	int		rc;
	uint64_t	offset;
	size_t		len;
	uint32_t	recno;
	uint32_t	nfields;
	uint32_t	nerr;
	uint64_t	errsum;		/* codes, offsets and record numbers */
};

/* Append the items of a reader to a list until it ends. */
static void
items_read(const char *name, struct marc_reader *r, struct corpus_item **v,
    size_t *n, size_t *cap)
{
	struct marc_record	 rec;
	struct corpus_item	*it;
	uint32_t		 i;
	int			 rc;

	while ((rc = marc_reader_next(r, &rec)) != MARC_NEXT_END) {
		REQUIRE(rc > 0, "%s: reader returned %d", name, rc);
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*v = realloc(*v, *cap * sizeof(**v));
			REQUIRE(*v != NULL, "out of memory");
		}
		it = &(*v)[(*n)++];
		memset(it, 0, sizeof(*it));
		it->rc = rc;
		it->offset = rec.offset;
		it->len = rc == MARC_NEXT_RECORD ? rec.len : 0;
		it->recno = rec.recno;
		it->nfields = rec.nfields;
		it->nerr = rec.errors->n + rec.errors->lost;
		for (i = 0; i < rec.errors->n; i++)
			it->errsum = it->errsum * 1000003 +
			    rec.errors->e[i].code * 7919 +
			    rec.errors->e[i].offset * 31 +
			    rec.errors->e[i].recno;
	}
}

/*
 * Cut buf into ranges of `size` bytes, read each on its own (as the daemon's
 * chunks and `marcctl dump --range` do) and compare with the whole reading.
 */
static void
ranges_compare(const char *name, const uint8_t *buf, size_t len, size_t size,
    const struct corpus_item *want, size_t nwant)
{
	struct marc_reader	 r;
	struct corpus_item	*got = NULL;
	size_t			 ngot = 0, cap = 0, i;
	uint64_t		 off;
	uint32_t		 recno = 0;

	for (off = 0; off < len || (len == 0 && off == 0); off += size) {
		marc_reader_init_range(&r, buf, len, off, size, MARC_CS_AUTO,
		    recno);
		items_read(name, &r, &got, &ngot, &cap);
		recno = r.recno;
		marc_reader_free(&r);
	}
	REQUIRE(ngot == nwant, "%s: ranges of %zu bytes give %zu items, "
	    "the whole file %zu", name, size, ngot, nwant);
	for (i = 0; i < ngot; i++)
		REQUIRE(memcmp(&got[i], &want[i], sizeof(got[i])) == 0,
		    "%s: ranges of %zu bytes: item %zu (offset %llu, record "
		    "%u) differs from the whole file's (offset %llu, record %u)",
		    name, size, i, (unsigned long long)got[i].offset,
		    got[i].recno, (unsigned long long)want[i].offset,
		    want[i].recno);
	free(got);
}

/*
 * Any cut into ranges reads every record and error of a file exactly once,
 * in order, as one reader of the whole file does: ranges of 1 byte, random
 * small and large sizes, and the daemon's chunk size.
 */
static void
ranges_check(const char *name, const uint8_t *buf, size_t len, unsigned seed)
{
	struct marc_reader	 r;
	struct corpus_item	*want = NULL;
	size_t			 nwant = 0, cap = 0, sizes[5];
	unsigned		 i;

	marc_reader_init(&r, buf, len, MARC_CS_AUTO, 0, 0);
	items_read(name, &r, &want, &nwant, &cap);
	marc_reader_free(&r);
	sizes[0] = 1;
	sizes[1] = 2 + (size_t)rand_r(&seed) % 63;
	sizes[2] = 65 + (size_t)rand_r(&seed) % 4096;
	sizes[3] = 1 + (size_t)rand_r(&seed) % (len + 1);
	sizes[4] = MARC_SLICE_SIZE;
	for (i = 0; i < 5; i++)
		ranges_compare(name, buf, len, sizes[i], want, nwant);
	free(want);
}

/* Every corpus file, valid or not, cut into ranges of random sizes. */
START_TEST(test_ranges)
{
	uint8_t	*buf;
	size_t	 len;

	if ((size_t)_i < nfiles) {
		buf = corpus_load((size_t)_i, &len);
		ranges_check(files[_i].name, buf, len, (unsigned)_i);
	} else {
		buf = slurp(regress[_i - nfiles], &len);
		ck_assert_ptr_nonnull(buf);
		ranges_check(regress[_i - nfiles], buf, len, (unsigned)_i);
	}
	free(buf);
}
END_TEST

/* The manifest itself must describe the corpus the tests rely on. */
START_TEST(test_manifest)
{
	ck_assert_msg(nvalid >= 100, "only %zu valid files", nvalid);
	ck_assert_msg(nbad >= 50, "only %zu malformed files", nbad);
	ck_assert_msg(nregress >= 1, "no fuzz regression inputs in %s",
	    REGRESS_DIR);
}
END_TEST

/* The reader must also survive every prefix of a malformed file. */
START_TEST(test_truncations)
{
	const struct corpus_file	*cf = &files[bad_idx[_i]];
	struct corpus_pass		 p;
	uint8_t				*buf, *cut;
	size_t				 len, n, step;

	buf = corpus_load(bad_idx[_i], &len);
	step = len > 4096 ? len / 64 : (len > 256 ? 7 : 1);
	for (n = 0; n < len; n += step) {
		/* A copy of exactly n bytes, so ASan sees any overread. */
		cut = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(cut);
		memcpy(cut, buf, n);
		corpus_read(cf->name, cut, n, &p);
		free(p.keys);
		free(cut);
	}
	free(buf);
}
END_TEST

/* Build the suite with one loop test per file so failures name the file. */
static Suite *
corpus_suite(void)
{
	Suite	*s = suite_create("corpus");
	TCase	*tc;

	tc = tcase_create("manifest");
	tcase_add_test(tc, test_manifest);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_valid_file, 0, (int)nvalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_malformed_file, 0, (int)nbad);
	suite_add_tcase(s, tc);

	tc = tcase_create("truncations");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_truncations, 0, (int)nbad);
	suite_add_tcase(s, tc);

	tc = tcase_create("ranges");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_ranges, 0, (int)(nfiles + nregress));
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz-regressions");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_regression, 0, (int)nregress);
	suite_add_tcase(s, tc);
	return s;
}

/* Load the file lists, then run every case; non-zero exit on any failure. */
int
main(void)
{
	manifest_load();
	regress_load();
	return check_run(corpus_suite());
}
