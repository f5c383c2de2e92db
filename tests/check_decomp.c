/*
 * tests/check_decomp.c: the decompression layer, the bounded window and
 * ISO 2709 read from a stream, against reading the plain data whole.
 */
#include "config.h"

#include <bzlib.h>
#include <check.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "check_util.h"
#include "decomp.h"
#include "isofeed.h"
#include "marcd/marc.h"
#include "window.h"

static const int KINDS[] = { DECOMP_GZIP, DECOMP_BZIP2, DECOMP_XZ,
    DECOMP_ZSTD };

/* Whole file into memory. */
static uint8_t *
slurp(const char *rel, size_t *len)
{
	char	 path[4096];
	FILE	*f;
	uint8_t	*p;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", SRCDIR, rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Compress src as one member of the kind, with checksums on. */
static uint8_t *
compress_one(int kind, const uint8_t *src, size_t len, size_t *outlen)
{
	size_t	 cap = len + len / 2 + 65536;
	uint8_t	*out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	switch (kind) {
	case DECOMP_GZIP: {
		z_stream z;

		memset(&z, 0, sizeof(z));
		ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 31, 8,
		    Z_DEFAULT_STRATEGY), Z_OK);
		z.next_in = (Bytef *)(uintptr_t)src;
		z.avail_in = (uInt)len;
		z.next_out = out;
		z.avail_out = (uInt)cap;
		ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
		*outlen = cap - z.avail_out;
		deflateEnd(&z);
		break;
	}
	case DECOMP_BZIP2: {
		unsigned int n = (unsigned int)cap;

		ck_assert_int_eq(BZ2_bzBuffToBuffCompress((char *)out, &n,
		    (char *)(uintptr_t)src, (unsigned int)len, 9, 0, 0), BZ_OK);
		*outlen = n;
		break;
	}
	case DECOMP_XZ:
		*outlen = 0;
		ck_assert_int_eq(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64,
		    NULL, src, len, out, outlen, cap), LZMA_OK);
		break;
	default: {
		ZSTD_CCtx *c = ZSTD_createCCtx();

		ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
		*outlen = ZSTD_compress2(c, out, cap, src, len);
		ck_assert(!ZSTD_isError(*outlen));
		ZSTD_freeCCtx(c);
		break;
	}
	}
	return out;
}

/* Decompress all of p[0..len) in reads of `step` bytes; returns the data. */
static uint8_t *
decompress_all(int kind, const uint8_t *p, size_t len, size_t step,
    size_t *outlen, int *err)
{
	struct decomp	 d;
	size_t		 cap = 1 << 16, n = 0;
	uint8_t		*out = malloc(cap);
	ssize_t		 k;
	int		 bad = 0;

	/* No ck_assert in the loop: Check logs each one through a pipe. */
	ck_assert_int_eq(decomp_open_mem(&d, kind, p, len), 0);
	for (;;) {
		while (cap - n < step) {
			cap *= 2;
			if ((out = realloc(out, cap)) == NULL)
				abort();
		}
		k = decomp_read(&d, out + n, step);
		if (k <= 0)
			break;
		n += (size_t)k;
		bad |= d.out != n;
	}
	ck_assert_msg(!bad, "d.out does not follow the bytes read");
	*err = k < 0 ? d.err : DECOMP_E_NONE;
	ck_assert_uint_eq(d.out, n);
	decomp_close(&d);
	*outlen = n;
	return out;
}

START_TEST(test_detect)
{
	ck_assert_int_eq(decomp_detect("\x1f\x8b\x08", 3), DECOMP_GZIP);
	ck_assert_int_eq(decomp_detect("BZh9", 4), DECOMP_BZIP2);
	ck_assert_int_eq(decomp_detect("\xfd" "7zXZ\0", 6), DECOMP_XZ);
	ck_assert_int_eq(decomp_detect("\xfd" "7zXZ", 5), DECOMP_NONE);
	ck_assert_int_eq(decomp_detect("\x28\xb5\x2f\xfd", 4), DECOMP_ZSTD);
	ck_assert_int_eq(decomp_detect("00714cam", 8), DECOMP_NONE);
	ck_assert_int_eq(decomp_detect("\x1f", 1), DECOMP_NONE);
	ck_assert_int_eq(decomp_detect("", 0), DECOMP_NONE);
	ck_assert_str_eq(decomp_name(DECOMP_ZSTD), "zstd");
}
END_TEST

/* Every format, two members back to back, read in odd-sized pieces. */
START_TEST(test_members)
{
	int		 kind = KINDS[_i], err;
	size_t		 len, c1, c2, n, steps[] = { 7, 4096, 1 << 20 }, j;
	uint8_t		*src = slurp("tests/data/corpus/valid/"
			    "solrmarc__uva_001-200.mrc", &len);
	uint8_t		*a = compress_one(kind, src, len / 3, &c1);
	uint8_t		*b = compress_one(kind, src + len / 3, len - len / 3,
			    &c2);
	uint8_t		*both = malloc(c1 + c2), *out;

	memcpy(both, a, c1);
	memcpy(both + c1, b, c2);
	ck_assert_int_eq(decomp_detect(both, c1 + c2), kind);
	for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
		out = decompress_all(kind, both, c1 + c2, steps[j], &n, &err);
		ck_assert_msg(err == DECOMP_E_NONE, "%s: %s",
		    decomp_name(kind), decomp_strerror(err));
		ck_assert_uint_eq(n, len);
		ck_assert(memcmp(out, src, len) == 0);
		free(out);
	}
	free(src);
	free(a);
	free(b);
	free(both);
}
END_TEST

/* Cut anywhere: an error, and what came out is a prefix of the data. */
START_TEST(test_truncated)
{
	int		 kind = KINDS[_i], err;
	size_t		 len, clen, n, cut;
	uint8_t		*src = slurp("tests/data/corpus/valid/"
			    "solrmarc__uva_001-200.mrc", &len);
	uint8_t		*c = compress_one(kind, src, len, &clen), *out;

	for (cut = 1; cut < clen; cut += 1 + clen / 37) {
		out = decompress_all(kind, c, cut, 5000, &n, &err);
		ck_assert_msg(err == DECOMP_E_TRUNCATED ||
		    err == DECOMP_E_CORRUPT, "%s cut at %zu: err %d",
		    decomp_name(kind), cut, err);
		ck_assert_uint_lt(n, len);
		ck_assert(memcmp(out, src, n) == 0);
		free(out);
	}
	out = decompress_all(kind, c, clen - 1, 5000, &n, &err);
	ck_assert_int_ne(err, DECOMP_E_NONE);
	free(out);
	free(src);
	free(c);
}
END_TEST

/* A flipped byte or junk after the end is an error, never a clean end. */
START_TEST(test_corrupt)
{
	int		 kind = KINDS[_i], err;
	size_t		 len, clen, n;
	uint8_t		*src = slurp("tests/data/corpus/valid/"
			    "solrmarc__uva_001-200.mrc", &len);
	uint8_t		*c = compress_one(kind, src, len, &clen), *out;
	uint8_t		*t = malloc(clen + 8);

	memcpy(t, c, clen);
	memcpy(t + clen, "garbage!", 8);
	out = decompress_all(kind, t, clen + 8, 65536, &n, &err);
	ck_assert_int_ne(err, DECOMP_E_NONE);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(out, src, len) == 0);
	free(out);

	t[clen / 2] ^= 0x55;
	out = decompress_all(kind, t, clen, 65536, &n, &err);
	ck_assert_msg(err == DECOMP_E_CORRUPT, "%s: flipped byte gave err %d",
	    decomp_name(kind), err);
	free(out);
	free(t);
	free(src);
	free(c);
}
END_TEST

/* From a descriptor, with the magic already read by the caller. */
START_TEST(test_fd)
{
	int		 kind = KINDS[_i], fd;
	size_t		 len, clen, n = 0;
	uint8_t		*src = slurp("tests/data/corpus/valid/"
			    "solrmarc__uva_001-200.mrc", &len);
	uint8_t		*c = compress_one(kind, src, len, &clen);
	uint8_t		*out = malloc(len + 1);
	char		 path[] = "/tmp/check_decomp.XXXXXX";
	struct decomp	 d;
	ssize_t		 k;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	unlink(path);
	ck_assert_int_eq(write(fd, c, clen), (ssize_t)clen);
	ck_assert_int_eq(lseek(fd, 3, SEEK_SET), 3);
	ck_assert_int_eq(decomp_open_fd(&d, kind, fd, c, 3), 0);
	while ((k = decomp_read(&d, out + n, len + 1 - n < 9999 ?
	    len + 1 - n : 9999)) > 0)
		n += (size_t)k;
	ck_assert_int_eq(k, 0);
	ck_assert_uint_eq(n, len);
	ck_assert_uint_eq(d.in, clen);
	ck_assert(memcmp(out, src, len) == 0);
	decomp_close(&d);
	close(fd);
	free(out);
	free(src);
	free(c);
}
END_TEST

/* One line per item the reader hands out: enough to tell any change. */
static void
trace_item(FILE *t, int rc, const struct marc_record *rec)
{
	uint32_t i;

	fprintf(t, "%d %llu %u %zu %u:", rc, (unsigned long long)rec->offset,
	    rec->recno, rec->len, rec->nfields);
	for (i = 0; i < rec->errors->n; i++)
		fprintf(t, " %u/%u/%llu", rec->errors->e[i].code,
		    rec->errors->e[i].recno,
		    (unsigned long long)rec->errors->e[i].offset);
	if (rc == MARC_NEXT_RECORD && rec->len)
		fprintf(t, " %08lx", crc32(0, rec->data, (uInt)rec->len));
	fputc('\n', t);
}

/* Read a whole buffer as marcctl reads a mapped file, chunk by chunk. */
static char *
trace_whole(const uint8_t *p, size_t len, size_t chunk)
{
	struct marc_reader	r;
	struct marc_record	rec;
	char			*s = NULL;
	size_t			 sl, cs, ce;
	uint64_t		 k;
	uint32_t		 recno = 0;
	int			 rc;
	FILE			*t = open_memstream(&s, &sl);

	memset(&r, 0, sizeof(r));
	for (k = 0; k * chunk < len; k++) {
		marc_range_bounds(p, len, k * chunk, chunk, &cs, &ce);
		if (ce <= cs)
			continue;
		marc_reader_free(&r);
		marc_reader_init_range(&r, p, len, k * chunk, chunk,
		    MARC_CS_AUTO, recno);
		while ((rc = marc_reader_next(&r, &rec)) != MARC_NEXT_END)
			trace_item(t, rc, &rec);
		recno = r.recno;
	}
	marc_reader_free(&r);
	fclose(t);
	return s;
}

/* Read the same through the feed; trailing feed errors are traced too. */
static char *
trace_feed(int kind, const uint8_t *p, size_t len, size_t chunk, size_t max)
{
	struct decomp		d;
	struct iso_feed		f;
	struct marc_reader	r;
	struct marc_record	rec;
	char			*s = NULL;
	size_t			 sl;
	uint32_t		 i;
	int			 rc, fr;
	FILE			*t = open_memstream(&s, &sl);

	ck_assert_int_eq(decomp_open_mem(&d, kind, p, len), 0);
	ck_assert_int_eq(iso_feed_init(&f, &d, chunk, max), 0);
	memset(&r, 0, sizeof(r));
	while ((fr = iso_feed_next(&f, &r, MARC_CS_AUTO)) != ISO_FEED_END) {
		ck_assert_int_ge(fr, 0);
		if (fr == ISO_FEED_ERRORS) {
			for (i = 0; i < f.errs.n; i++)
				fprintf(t, "feed %u/%u/%llu\n", f.errs.e[i].code,
				    f.errs.e[i].recno, (unsigned long long)
				    f.errs.e[i].offset);
			continue;
		}
		if (f.w.cap > max)
			ck_abort_msg("window over its maximum");
		while ((rc = marc_reader_next(&r, &rec)) != MARC_NEXT_END)
			trace_item(t, rc, &rec);
	}
	marc_reader_free(&r);
	iso_feed_free(&f);
	decomp_close(&d);
	fclose(t);
	return s;
}

static const char *const FEED_FILES[] = {
	"tests/data/corpus/valid/solrmarc__uva_001-200.mrc",
	"tests/data/corpus/valid/folio-mod-data-import__61PRINT160129.mrc",
	"tests/data/corpus/malformed/marc-perl__badldr.usmarc",
	"tests/data/corpus/malformed/marc4j__not_unimarc_errors_3.mrc",
	"tests/data/corpus/malformed/folio-mod-data-import__sample100.mrc",
};

/* The feed decides exactly as reading whole does, for many chunk sizes. */
START_TEST(test_feed_same)
{
	size_t		 len, clen[4], chunks[] = { 100, 999, 4096, 65536,
			    MARC_SLICE_SIZE }, j;
	uint8_t		*src = slurp(FEED_FILES[_i], &len), *c[4];
	char		*a, *b;
	unsigned	 k;

	for (k = 0; k < 4; k++)
		c[k] = compress_one(KINDS[k], src, len, &clen[k]);
	for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
		a = trace_whole(src, len, chunks[j]);
		b = trace_feed(DECOMP_NONE, src, len, chunks[j], 1 << 24);
		ck_assert_msg(strcmp(a, b) == 0, "%s chunk %zu: plain feed "
		    "differs", FEED_FILES[_i], chunks[j]);
		free(b);
		for (k = 0; k < 4; k++) {
			b = trace_feed(KINDS[k], c[k], clen[k], chunks[j],
			    1 << 24);
			ck_assert_msg(strcmp(a, b) == 0, "%s chunk %zu %s: "
			    "differs", FEED_FILES[_i], chunks[j],
			    decomp_name(KINDS[k]));
			free(b);
		}
		free(a);
	}
	for (k = 0; k < 4; k++)
		free(c[k]);
	free(src);
}
END_TEST

/* Truncated stream: the records before are all there, then one error. */
START_TEST(test_feed_bad_compression)
{
	size_t		 len, clen, cut, n;
	uint8_t		*src = slurp(FEED_FILES[0], &len), *c, *part;
	char		*a, *b, *last, want[128];
	int		 err;

	c = compress_one(DECOMP_GZIP, src, len, &clen);
	cut = clen * 2 / 3;
	part = decompress_all(DECOMP_GZIP, c, cut, 65536, &n, &err);
	ck_assert_int_ne(err, DECOMP_E_NONE);
	a = trace_whole(part, n, 4096);
	b = trace_feed(DECOMP_GZIP, c, cut, 4096, 1 << 24);
	ck_assert_msg(strncmp(a, b, strlen(a)) == 0, "records before differ");
	last = b + strlen(a);
	snprintf(want, sizeof(want), "feed %u/", MARC_E_BAD_COMPRESSION);
	ck_assert_msg(strncmp(last, want, strlen(want)) == 0,
	    "no bad-compression after the records: '%s'", last);
	snprintf(want, sizeof(want), "/%zu\n", n);
	ck_assert_msg(strstr(last, want) != NULL, "offset not %zu: %s", n,
	    last);
	ck_assert_str_eq(marc_code_name(MARC_E_BAD_COMPRESSION), "bad-compression");
	free(a);
	free(b);
	free(part);
	free(c);
	free(src);
}
END_TEST

/* A chunk over the window's maximum is skipped as record-too-large. */
START_TEST(test_feed_too_large)
{
	size_t		 len;
	uint8_t		*src = slurp(FEED_FILES[0], &len);
	char		*b, want[64];

	b = trace_feed(DECOMP_NONE, src, len, 100000, 150000);
	snprintf(want, sizeof(want), "feed %u/", MARC_E_TOO_LARGE);
	ck_assert_ptr_null(strstr(b, want));
	free(b);
	b = trace_feed(DECOMP_NONE, src, len, 100000, 50000);
	ck_assert_ptr_nonnull(strstr(b, want));
	ck_assert_int_gt(strlen(b), 0);
	free(b);
	free(src);
}
END_TEST

/* The window never grows past its maximum and drops what is done. */
START_TEST(test_window)
{
	struct decomp	d;
	struct window	w;
	const char	data[] = "0123456789abcdefghij";

	ck_assert_int_eq(decomp_open_mem(&d, DECOMP_NONE, data, 20), 0);
	ck_assert_int_eq(window_init(&w, &d, 4, 8), 0);
	ck_assert_int_eq(window_fill(&w, 6), 0);
	ck_assert_uint_ge(w.len, 6);
	ck_assert_int_eq(window_fill(&w, 9), 1);
	ck_assert_uint_eq(w.len, 8);
	ck_assert_int_eq(window_more(&w), 1);
	window_drop(&w, 5);
	ck_assert_uint_eq(w.base, 5);
	ck_assert_int_eq(memcmp(w.buf, "567", 3), 0);
	while (!w.eof) {
		if (window_more(&w) == -1)
			ck_abort_msg("window_more failed");
		window_drop(&w, w.base + w.len);
	}
	ck_assert_uint_eq(w.base + w.len, 20);
	ck_assert_uint_eq(w.len, 0);
	ck_assert_int_eq(w.err, 0);
	ck_assert_uint_le(w.cap, 8);
	window_free(&w);
	decomp_close(&d);
}
END_TEST

static Suite *
decomp_suite(void)
{
	Suite	*s = suite_create("decomp");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_detect);
	tcase_add_loop_test(tc, test_members, 0, 4);
	tcase_add_loop_test(tc, test_truncated, 0, 4);
	tcase_add_loop_test(tc, test_corrupt, 0, 4);
	tcase_add_loop_test(tc, test_fd, 0, 4);
	tcase_add_loop_test(tc, test_feed_same, 0,
	    (int)(sizeof(FEED_FILES) / sizeof(FEED_FILES[0])));
	tcase_add_test(tc, test_feed_bad_compression);
	tcase_add_test(tc, test_feed_too_large);
	tcase_add_test(tc, test_window);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(decomp_suite());
}
