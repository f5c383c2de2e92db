/*
 * tests/check_utf16.c: UTF-16 read as UTF-8 (common/utf16.c) through the
 * decompression layer: the characters of the BMP and beyond it, unpaired
 * surrogates and a cut final unit (U+FFFD and an error), the XML
 * declaration's encoding, and input and output cut at every byte.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "decomp.h"
#include "utf16.h"

#define CAP	4096

static const char FFFD[] = "\xef\xbf\xbd";

/* UTF-16 of UTF-8 text s, after a byte order mark; returns its length. */
static size_t
to16(const char *s, int be, uint8_t *out)
{
	const uint8_t	*p = (const uint8_t *)s;
	uint32_t	 cp, u[2];
	size_t		 n = 0, k, i;

	out[n++] = be ? 0xfe : 0xff;
	out[n++] = be ? 0xff : 0xfe;
	while (*p) {
		if (*p < 0x80)
			cp = *p++;
		else if (*p < 0xe0) {
			cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
			p += 2;
		} else if (*p < 0xf0) {
			cp = (uint32_t)(p[0] & 0x0f) << 12 |
			    (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
			p += 3;
		} else {
			cp = (uint32_t)(p[0] & 0x07) << 18 |
			    (uint32_t)(p[1] & 0x3f) << 12 |
			    (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
			p += 4;
		}
		k = 1;
		u[0] = cp;
		if (cp >= 0x10000) {
			u[0] = 0xd800 + ((cp - 0x10000) >> 10);
			u[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			k = 2;
		}
		for (i = 0; i < k; i++) {
			out[n++] = (uint8_t)(be ? u[i] >> 8 : u[i] & 0xff);
			out[n++] = (uint8_t)(be ? u[i] & 0xff : u[i] >> 8);
		}
	}
	return n;
}

/* Raw code units (surrogates alone too), after a byte order mark. */
static size_t
units16(const uint16_t *u, size_t k, int be, uint8_t *out)
{
	size_t	n = 0, i;

	out[n++] = be ? 0xfe : 0xff;
	out[n++] = be ? 0xff : 0xfe;
	for (i = 0; i < k; i++) {
		out[n++] = (uint8_t)(be ? u[i] >> 8 : u[i] & 0xff);
		out[n++] = (uint8_t)(be ? u[i] & 0xff : u[i] >> 8);
	}
	return n;
}

/*
 * Convert in[0..len) handing utf16_step ichunk input bytes and ochunk
 * output bytes at a time; returns the final enum utf16_rc, or -1 when a
 * step promised more than it did (OK with neither the output full nor
 * input wanted).  No ck_assert here: it runs for every cut.
 */
static int
conv(const uint8_t *in, size_t len, int be, size_t ichunk, size_t ochunk,
    uint8_t *out, size_t *outlen)
{
	struct utf16	 u;
	const uint8_t	*cur = in, *ip;
	uint8_t		*op;
	size_t		 given = 0, avail = 0, o = 0, il, ol, n;
	int		 rc, fin, guard;

	utf16_init(&u, be);
	for (guard = 0; guard < 1000000; guard++) {
		if (avail == 0 && given < len) {
			n = len - given < ichunk ? len - given : ichunk;
			cur = in + given;
			avail = n;
			given += n;
		}
		fin = given == len;
		ol = CAP - o < ochunk ? CAP - o : ochunk;
		op = out + o;
		ip = cur;
		il = avail;
		rc = utf16_step(&u, &ip, &il, &op, &ol, fin);
		cur = ip;
		avail = il;
		o = (size_t)(op - out);
		if (rc != UTF16_OK)
			break;
		if (ol != 0 && (avail != 0 || fin))
			return -1;
	}
	*outlen = o;
	return rc;
}

/* Convert whole and at every cut, the result always the same. */
static void
check_conv(const uint8_t *in, size_t len, int be, const char *want,
    size_t wantlen, int wantrc)
{
	uint8_t	out[CAP];
	size_t	n, i, o, bad_i = 0, bad_o = 0;
	int	rc;

	rc = conv(in, len, be, len, CAP, out, &n);
	ck_assert_int_eq(rc, wantrc);
	ck_assert_uint_eq(n, wantlen);
	ck_assert_mem_eq(out, want, wantlen);
	/* One byte in at a time, one byte out at a time. */
	rc = conv(in, len, be, 1, 1, out, &n);
	ck_assert_int_eq(rc, wantrc);
	ck_assert_uint_eq(n, wantlen);
	ck_assert_mem_eq(out, want, wantlen);
	/* Input in pieces of every size, output in small pieces. */
	for (i = 1; i < len; i++) {
		rc = conv(in, len, be, i, CAP, out, &n);
		if (rc != wantrc || n != wantlen || memcmp(out, want, n) != 0)
			bad_i = i;
	}
	for (o = 1; o < 9; o++) {
		rc = conv(in, len, be, 3, o, out, &n);
		if (rc != wantrc || n != wantlen || memcmp(out, want, n) != 0)
			bad_o = o;
	}
	ck_assert_msg(bad_i == 0, "input cut at %zu differs", bad_i);
	ck_assert_msg(bad_o == 0, "output of %zu bytes differs", bad_o);
}

/* Text that converts cleanly: the same UTF-8 back, either byte order. */
static void
check_text(const char *s, const char *want)
{
	uint8_t	in[CAP];
	size_t	len;
	int	be;

	for (be = 0; be < 2; be++) {
		len = to16(s, be, in);
		check_conv(in, len, be, want, strlen(want), UTF16_END);
	}
}

START_TEST(test_detect)
{
	ck_assert_int_eq(decomp_detect("\xff\xfe<\0", 4), DECOMP_UTF16LE);
	ck_assert_int_eq(decomp_detect("\xfe\xff\0<", 4), DECOMP_UTF16BE);
	ck_assert_int_eq(decomp_detect("\xff\xfe", 2), DECOMP_UTF16LE);
	/* No BOM, no UTF-16. */
	ck_assert_int_eq(decomp_detect("<\0?\0", 4), DECOMP_NONE);
	ck_assert_int_eq(decomp_detect("\xff", 1), DECOMP_NONE);
	ck_assert_str_eq(decomp_name(DECOMP_UTF16LE), "utf-16le");
	ck_assert_str_eq(decomp_name(DECOMP_UTF16BE), "utf-16be");
}
END_TEST

START_TEST(test_bmp)
{
	check_text("", "");
	check_text("A", "A");
	check_text("caf\xc3\xa9 \xe2\x82\xac \xe4\xb8\xad \xef\xbf\xbf x",
	    "caf\xc3\xa9 \xe2\x82\xac \xe4\xb8\xad \xef\xbf\xbf x");
	/* U+FEFF after the BOM is text, kept. */
	check_text("\xef\xbb\xbf" "a", "\xef\xbb\xbf" "a");
}
END_TEST

START_TEST(test_pair)
{
	/* U+1D11E, U+10000, U+10FFFF: surrogate pairs. */
	check_text("<a>\xf0\x9d\x84\x9e</a>", "<a>\xf0\x9d\x84\x9e</a>");
	check_text("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
}
END_TEST

/* Units that end badly: U+FFFD where it went wrong, then the error. */
static void
check_units(const uint16_t *u, size_t k, const char *want, int wantrc)
{
	uint8_t	in[CAP];
	size_t	len;
	int	be;

	for (be = 0; be < 2; be++) {
		len = units16(u, k, be, in);
		check_conv(in, len, be, want, strlen(want), wantrc);
	}
}

START_TEST(test_unpaired)
{
	static const uint16_t hi_then_a[] = { 'x', 0xd834, 'A', 'B' };
	static const uint16_t lone_lo[] = { 'x', 0xdd1e, 'A' };
	static const uint16_t hi_hi[] = { 0xd834, 0xd834, 0xdd1e };
	static const uint16_t hi_end[] = { 'x', 'y', 0xd834 };
	char	 want[16];

	/* Nothing after the error: the stream ends there. */
	snprintf(want, sizeof(want), "x%s", FFFD);
	check_units(hi_then_a, 4, want, UTF16_CORRUPT);
	check_units(lone_lo, 3, want, UTF16_CORRUPT);
	check_units(hi_hi, 3, FFFD, UTF16_CORRUPT);
	/* A high surrogate last: cut inside a pair. */
	snprintf(want, sizeof(want), "xy%s", FFFD);
	check_units(hi_end, 3, want, UTF16_TRUNCATED);
}
END_TEST

START_TEST(test_odd)
{
	uint8_t	in[CAP];
	size_t	len;
	char	want[16];
	int	be;

	snprintf(want, sizeof(want), "<a>%s", FFFD);
	for (be = 0; be < 2; be++) {
		len = to16("<a>b", be, in) - 1;
		check_conv(in, len, be, want, strlen(want), UTF16_TRUNCATED);
	}
	/* Only the BOM and one byte. */
	len = to16("b", 0, in) - 1;
	check_conv(in, len, 0, FFFD, 3, UTF16_TRUNCATED);
}
END_TEST

START_TEST(test_decl)
{
	/* encoding="UTF-16" says UTF-8 in as many bytes. */
	check_text("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<c/>",
	    "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<c/>");
	check_text("<?xml version='1.0' encoding = 'utf-16le' standalone='no'?>"
	    "<r>\xc3\xa9</r>",
	    "<?xml version='1.0' encoding = 'UTF-8'    standalone='no'?>"
	    "<r>\xc3\xa9</r>");
	check_text("<?xml version=\"1.0\" encoding=\"Utf-16BE\"?><c/>",
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"   ?><c/>");
	/* No declaration, none with an encoding, another encoding, another
	 * processing instruction: left as they are. */
	check_text("<collection/>", "<collection/>");
	check_text("<?xml version=\"1.0\"?><c/>", "<?xml version=\"1.0\"?><c/>");
	check_text("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><c/>",
	    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><c/>");
	check_text("<?xml-stylesheet encoding=\"UTF-16\"?><c/>",
	    "<?xml-stylesheet encoding=\"UTF-16\"?><c/>");
	check_text("{\"leader\":\"x\"}", "{\"leader\":\"x\"}");
	/* Only in the declaration at the start. */
	check_text("<c/><?xml version=\"1.0\" encoding=\"UTF-16\"?>",
	    "<c/><?xml version=\"1.0\" encoding=\"UTF-16\"?>");
}
END_TEST

/* Through decomp_read, in reads of every small size, as readers do. */
START_TEST(test_decomp)
{
	static const char *const s = "<?xml version=\"1.0\" encoding="
	    "\"UTF-16\"?>\n<record>\xc3\xa9\xf0\x9d\x84\x9e</record>";
	static const char *const want = "<?xml version=\"1.0\" encoding="
	    "\"UTF-8\" ?>\n<record>\xc3\xa9\xf0\x9d\x84\x9e</record>";
	struct decomp	 d;
	uint8_t		 in[CAP], out[CAP];
	size_t		 len, n, step, bad = 0;
	ssize_t		 k;
	int		 be, kind;

	for (be = 0; be < 2; be++) {
		len = to16(s, be, in);
		kind = decomp_detect(in, len);
		ck_assert_int_eq(kind, be ? DECOMP_UTF16BE : DECOMP_UTF16LE);
		for (step = 1; step < 8; step++) {
			/* Cut inside the last unit: truncated. */
			ck_assert_int_eq(decomp_open_mem(&d, kind, in, len - 1),
			    0);
			n = 0;
			while ((k = decomp_read(&d, out + n, step)) > 0)
				n += (size_t)k;
			if (k != -1 || d.err != DECOMP_E_TRUNCATED ||
			    d.out != n || n != strlen(want) - 1 + 3 ||
			    memcmp(out, want, n - 3) != 0 ||
			    memcmp(out + n - 3, FFFD, 3) != 0 ||
			    decomp_read(&d, out, 1) != -1)
				bad = step;
			decomp_close(&d);
			/* Whole: clean. */
			ck_assert_int_eq(decomp_open_mem(&d, kind, in, len), 0);
			n = 0;
			while ((k = decomp_read(&d, out + n, step)) > 0)
				n += (size_t)k;
			if (k != 0 || d.err != DECOMP_E_NONE || n !=
			    strlen(want) || memcmp(out, want, n) != 0 ||
			    decomp_read(&d, out, 1) != 0)
				bad = step + 100;
			decomp_close(&d);
		}
	}
	ck_assert_msg(bad == 0, "reads of %zu bytes differ", bad % 100);
	/* A lone surrogate: corrupt. */
	len = units16((const uint16_t[]){ 'a', 0xdc00, 'b' }, 3, 0, in);
	ck_assert_int_eq(decomp_open_mem(&d, DECOMP_UTF16LE, in, len), 0);
	ck_assert_int_eq(decomp_read(&d, out, sizeof(out)), 4);
	ck_assert_mem_eq(out, "a\xef\xbf\xbd", 4);
	ck_assert_int_eq(decomp_read(&d, out, sizeof(out)), -1);
	ck_assert_int_eq(d.err, DECOMP_E_CORRUPT);
	ck_assert_uint_eq(d.out, 4);
	decomp_close(&d);
}
END_TEST

static Suite *
utf16_suite(void)
{
	Suite	*s = suite_create("utf16");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_detect);
	tcase_add_test(tc, test_bmp);
	tcase_add_test(tc, test_pair);
	tcase_add_test(tc, test_unpaired);
	tcase_add_test(tc, test_odd);
	tcase_add_test(tc, test_decl);
	tcase_add_test(tc, test_decomp);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(utf16_suite());
}
