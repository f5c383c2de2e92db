/*
 * fuzz/fuzz_decomp.c: libFuzzer target for the decompression layer and the
 * ISO 2709 stream feed.  The first byte picks a format whose magic is put
 * in front of the rest (unless the rest already starts with one), so every
 * decoder sees arbitrary bytes behind a valid magic.  UTF-16 (after a byte
 * order mark) must come out as valid UTF-8, at most 3 bytes per 2 in.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decomp.h"
#include "isofeed.h"
#include "text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define OUT_MAX	(8u << 20)	/* stop reading a bomb after this much */

static const struct {
	const char	*magic;
	size_t		 len;
} magics[] = {
	{ "\x1f\x8b", 2 },
	{ "BZh", 3 },
	{ "\xfd" "7zXZ\0", 6 },
	{ "\x28\xb5\x2f\xfd", 4 },
	{ "\xff\xfe", 2 },
	{ "\xfe\xff", 2 },
};
#define NMAGICS	(sizeof(magics) / sizeof(magics[0]))

/* Read all in odd-sized pieces; abort on any broken promise of the API. */
static void
fuzz_read(int kind, const uint8_t *p, size_t n)
{
	struct decomp	 d;
	uint8_t		 buf[4099];
	uint64_t	 total = 0;
	size_t		 step = 1;
	ssize_t		 k;

	if (decomp_open_mem(&d, kind, p, n) != 0)
		return;
	while ((k = decomp_read(&d, buf, step)) > 0) {
		if ((size_t)k > step)
			abort();
		total += (uint64_t)k;
		if (d.out != total || total > OUT_MAX)
			break;
		step = step * 3 % sizeof(buf) + 1;
	}
	if (d.out != total)
		abort();
	if (k < 0 && (d.err == DECOMP_E_NONE || decomp_read(&d, buf, 1) != -1))
		abort();
	if (k == 0 && (d.err != DECOMP_E_NONE || decomp_read(&d, buf, 1) != 0))
		abort();
	decomp_close(&d);
}

/* UTF-16 read whole: valid UTF-8, no more than 3 bytes for 2. */
static void
fuzz_utf16(int kind, const uint8_t *p, size_t n)
{
	struct decomp	 d;
	uint8_t		*out;
	size_t		 cap = n / 2 * 3 + 3, got = 0;
	ssize_t		 k;

	if (kind != DECOMP_UTF16LE && kind != DECOMP_UTF16BE)
		return;
	if ((out = malloc(cap + 1)) == NULL)
		return;
	if (decomp_open_mem(&d, kind, p, n) != 0) {
		free(out);
		return;
	}
	/* One byte of room more than it may give: it must not use it. */
	while ((k = decomp_read(&d, out + got, cap + 1 - got)) > 0) {
		got += (size_t)k;
		if (got > cap)
			abort();
	}
	if (utf8_valid_len(out, got) != got)
		abort();
	decomp_close(&d);
	free(out);
}

/* Read records through the feed with a small chunk and window. */
static void
fuzz_feed(int kind, const uint8_t *p, size_t n)
{
	struct decomp		d;
	struct iso_feed		f;
	struct marc_reader	r;
	struct marc_record	rec;
	int			rc, fr;

	if (decomp_open_mem(&d, kind, p, n) != 0)
		return;
	if (iso_feed_init(&f, &d, 512, 1 << 16) != 0) {
		decomp_close(&d);
		return;
	}
	memset(&r, 0, sizeof(r));
	while ((fr = iso_feed_next(&f, &r, MARC_CS_AUTO)) != ISO_FEED_END) {
		if (fr < 0 || f.w.cap > (1 << 16) || d.out > OUT_MAX)
			break;
		if (fr != ISO_FEED_SLICE)
			continue;
		while ((rc = marc_reader_next(&r, &rec)) != MARC_NEXT_END) {
			if (rc < 0)
				abort();
			if (rc == MARC_NEXT_RECORD && rec.offset + rec.len >
			    d.out)
				abort();
		}
	}
	marc_reader_free(&r);
	iso_feed_free(&f);
	decomp_close(&d);
}

/* Pick a format, give it the bytes behind its magic. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	*buf;
	size_t	 n, m;
	int	 kind, i;

	if (size < 1)
		return 0;
	i = data[0] % NMAGICS;
	data++;
	size--;
	kind = decomp_detect(data, size);
	if (kind != DECOMP_NONE) {
		fuzz_read(kind, data, size);
		fuzz_utf16(kind, data, size);
		fuzz_feed(kind, data, size);
		return 0;
	}
	m = magics[i].len;
	n = size + m;
	if ((buf = malloc(n)) == NULL)
		return 0;
	memcpy(buf, magics[i].magic, m);
	memcpy(buf + m, data, size);
	kind = decomp_detect(buf, n);
	if (kind != i + 1)
		abort();
	fuzz_read(kind, buf, n);
	fuzz_utf16(kind, buf, n);
	fuzz_feed(kind, buf, n);
	fuzz_read(DECOMP_NONE, data, size);
	free(buf);
	return 0;
}
