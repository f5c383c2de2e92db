/* fuzz/fuzz_marc8.c: libFuzzer target for the MARC-8 decoder. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "marc8.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Strict UTF-8 check (no overlongs, surrogates or values past U+10FFFF). */
static int
fuzz_utf8_ok(const uint8_t *p, size_t n)
{
	size_t		 i = 0, k, len;
	uint32_t	 cp, min;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			len = 2;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			len = 3;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			len = 4;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/*
 * Convert the input, appended to a non-empty buffer so offsets matter, and
 * abort unless the output is valid UTF-8 within the documented bound.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbuf		 out = { 0 };
	struct marc8_err	 errs[4];
	int			 rv, i;

	if (mbuf_adds(&out, "x") != 0)
		abort();
	rv = marc8_to_utf8(&out, data, size, errs, 4);
	if (rv < 0)
		abort();
	if (out.p[0] != 'x' || !fuzz_utf8_ok(out.p, out.len))
		abort();
	if (out.len - 1 > size * 4)
		abort();
	for (i = 0; i < rv && i < 4; i++) {
		if (errs[i].pos >= size)
			abort();
		if (i > 0 && errs[i].pos <= errs[i - 1].pos)
			abort();
	}
	mbuf_free(&out);
	return 0;
}
