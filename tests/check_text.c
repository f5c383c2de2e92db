/* tests/check_text.c: UTF-8 validation, repair, decoding and text checks. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "text.h"

/* Input, and what Python's bytes.decode('utf-8', 'replace') makes of it. */
static const struct {
	const char	*in;
	size_t		 inlen;
	const char	*out;
	size_t		 outlen;
	int		 nrep;
	size_t		 first_bad;	/* = inlen when valid */
} vec[] = {
	{ "", 0, "", 0, 0, 0 },
	{ "abc", 3, "abc", 3, 0, 3 },
	{ "\xc3\xa9", 2, "\xc3\xa9", 2, 0, 2 },
	{ "\xc0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6, 2, 0 },
	{ "\xc1\xbf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6, 2, 0 },
	{ "\xe0\x80\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 3, 0 },
	{ "\xe0\x9f\xbf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 3, 0 },
	{ "\xe0\xa0\x80", 3, "\xe0\xa0\x80", 3, 0, 3 },
	{ "\xf0\x80\x80\x80", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12, 4, 0 },
	{ "\xf0\x8f\xbf\xbf", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12, 4, 0 },
	{ "\xf0\x90\x80\x80", 4, "\xf0\x90\x80\x80", 4, 0, 4 },
	{ "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 3, 0 },
	{ "\xed\xbf\xbf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 3, 0 },
	{ "\xed\x9f\xbf", 3, "\xed\x9f\xbf", 3, 0, 3 },
	{ "\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf", 4, 0, 4 },
	{ "\xf4\x90\x80\x80", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12, 4, 0 },
	{ "\xf5\x80\x80\x80", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12, 4, 0 },
	{ "\xff", 1, "\xef\xbf\xbd", 3, 1, 0 },
	{ "\xfe\xff", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6, 2, 0 },
	{ "\xe2\x82", 2, "\xef\xbf\xbd", 3, 1, 0 },
	{ "a\xe2\x82", 3, "a\xef\xbf\xbd", 4, 1, 1 },
	{ "\xf0\x9f\x98", 3, "\xef\xbf\xbd", 3, 1, 0 },
	{ "\xf0\x9f\x98" "A", 4, "\xef\xbf\xbd" "A", 4, 1, 0 },
	{ "\x80\x80\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 3, 0 },
	{ "\xe2\x82\xac\xe2", 4, "\xe2\x82\xac\xef\xbf\xbd", 6, 1, 3 },
	{ "ab\xc3", 3, "ab\xef\xbf\xbd", 5, 1, 2 },
	{ "\xc3\xc3\xa9", 3, "\xef\xbf\xbd\xc3\xa9", 5, 1, 0 },
	{ "\xf1\x80\x80\xe1\x80\xc2", 6,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 3, 0 },
	{ "\xed\xa0\x80\xed\xb0\x80", 6,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 18, 6, 0 },
	{ "0123456\xc3\xa9" "789abcdef\xe0", 19,
	    "0123456\xc3\xa9" "789abcdef\xef\xbf\xbd", 21, 1, 18 },
	{ "\xc2\x80\xdf\xbf\xef\xbf\xbf\xf4\x80\x80\x80", 11,
	    "\xc2\x80\xdf\xbf\xef\xbf\xbf\xf4\x80\x80\x80", 11, 0, 11 },
	{ "abcdefgh\x80ijklmnop", 17,
	    "abcdefgh\xef\xbf\xbdijklmnop", 19, 1, 8 },
	{ "\xe1\x80" "A\xe1\x80\x80\x80", 7,
	    "\xef\xbf\xbd" "A\xe1\x80\x80\xef\xbf\xbd", 10, 2, 0 },
};

#define NVEC	(sizeof vec / sizeof vec[0])

/* Reference validator, decoding code points the slow obvious way. */
static size_t
ref_valid_len(const uint8_t *p, size_t n)
{
	size_t		i = 0, len, k;
	uint32_t	c, cp;

	while (i < n) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else
			return i;
		if (n - i < len)
			return i;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return i;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += len;
	}
	return n;
}

/* Deterministic pseudo-random numbers (xorshift64). */
static uint32_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* Mostly letters, some high bytes, many lead and boundary bytes. */
static uint8_t
rnd_byte(uint64_t *s)
{
	static const uint8_t	special[] = { 0x80, 0x8F, 0x90, 0x9F, 0xA0,
	    0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4,
	    0xF5, 0xFF };
	uint32_t		r = rnd(s);

	switch (r % 4) {
	case 0:
	case 1:
		return (uint8_t)('a' + (r >> 8) % 26);
	case 2:
		return (uint8_t)(0x80 + (r >> 8) % 0x80);
	default:
		return special[(r >> 8) % sizeof special];
	}
}

START_TEST(test_vectors_valid_len)
{
	size_t	i;

	for (i = 0; i < NVEC; i++)
		ck_assert_uint_eq(utf8_valid_len((const uint8_t *)vec[i].in,
		    vec[i].inlen), vec[i].first_bad);
}
END_TEST

START_TEST(test_vectors_sanitize)
{
	struct mbuf	b = { 0 };
	size_t		i, bad;
	int		r;

	for (i = 0; i < NVEC; i++) {
		b.len = 0;
		bad = 12345;
		r = utf8_sanitize(&b, (const uint8_t *)vec[i].in, vec[i].inlen,
		    &bad);
		ck_assert_int_eq(r, vec[i].nrep);
		ck_assert_uint_eq(b.len, vec[i].outlen);
		ck_assert(b.len == 0 || memcmp(b.p, vec[i].out, b.len) == 0);
		ck_assert_uint_eq(bad, vec[i].first_bad);
	}
	mbuf_free(&b);
}
END_TEST

/* A bad byte at every position around the 8-byte steps is found. */
START_TEST(test_fast_path_boundaries)
{
	uint8_t	buf[48];
	size_t	n, k;

	for (n = 1; n <= sizeof buf; n++) {
		ck_assert_uint_eq(utf8_valid_len(buf, 0), 0);
		for (k = 0; k < n; k++) {
			memset(buf, 'x', n);
			buf[k] = 0x80;
			ck_assert_uint_eq(utf8_valid_len(buf, n), k);
			buf[k] = 0xC3;	/* truncated, or before 'x' */
			ck_assert_uint_eq(utf8_valid_len(buf, n), k);
			if (k + 1 < n) {
				buf[k + 1] = 0xA9;
				ck_assert_uint_eq(utf8_valid_len(buf, n), n);
			}
			memset(buf, 'x', n);
			buf[n - 1] = 0x7F;
			ck_assert_uint_eq(utf8_valid_len(buf, n), n);
		}
	}
}
END_TEST

/* The fast validator agrees with the obvious one on random input. */
START_TEST(test_random_against_reference)
{
	struct mbuf	b = { 0 };
	uint8_t		buf[64];
	uint64_t	s = 0x9E3779B97F4A7C15ULL;
	size_t		n, i, want, bad;
	int		iter, r;

	for (iter = 0; iter < 200000; iter++) {
		n = rnd(&s) % sizeof buf;
		for (i = 0; i < n; i++)
			buf[i] = rnd_byte(&s);
		want = ref_valid_len(buf, n);
		ck_assert_uint_eq(utf8_valid_len(buf, n), want);
		b.len = 0;
		r = utf8_sanitize(&b, buf, n, &bad);
		ck_assert_int_ge(r, 0);
		ck_assert_int_eq(r == 0, want == n);
		ck_assert_uint_eq(bad, want);
		ck_assert_uint_eq(utf8_valid_len(b.p, b.len), b.len);
		ck_assert(memcmp(b.p, buf, want) == 0);
		if (r == 0)
			ck_assert(b.len == n && memcmp(b.p, buf, n) == 0);
	}
	mbuf_free(&b);
}
END_TEST

/* A hand-built record view over data; fields given as (tag, off, len). */
static void
mkview(struct marc_record *rec, const char *data, size_t len, int cs,
    struct marc_field *f, uint32_t nf)
{
	memset(rec, 0, sizeof *rec);
	rec->data = (const uint8_t *)data;
	rec->len = len;
	rec->offset = 1000;
	rec->recno = 7;
	rec->charset = cs;
	rec->fields = f;
	rec->nfields = nf;
}

START_TEST(test_decode_utf8)
{
	static const char	data[] =
	    "LEADERxxxxabc\xc3\xa9" "def\xff" "gh";
	struct marc_record	rec;
	struct marc_errlist	errs = { 0 };
	struct mbuf		scratch = { 0 };
	struct marc_text	t;
	const uint8_t		*p = (const uint8_t *)data;

	mkview(&rec, data, sizeof data - 1, MARC_CS_UTF8, NULL, 0);
	/* Valid: no copy. */
	ck_assert_int_eq(marc_text_decode(&rec, p + 10, 5, &scratch, &t,
	    &errs), 0);
	ck_assert_ptr_eq(t.p, p + 10);
	ck_assert_uint_eq(t.len, 5);
	ck_assert_uint_eq(scratch.len, 0);
	ck_assert_uint_eq(errs.n, 0);
	/* Invalid: repaired copy, error at the bad byte's input offset. */
	ck_assert_int_eq(marc_text_decode(&rec, p + 10, 11, &scratch, &t,
	    &errs), 0);
	ck_assert_uint_eq(t.len, 13);
	ck_assert(memcmp(t.p, "abc\xc3\xa9" "def\xef\xbf\xbd" "gh", 13) == 0);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.e[0].code, MARC_E_UTF8);
	ck_assert_uint_eq(errs.e[0].recno, 7);
	ck_assert_uint_eq(errs.e[0].offset, 1000 + 18);
	/* A null error list is allowed. */
	ck_assert_int_eq(marc_text_decode(&rec, p + 18, 1, &scratch, &t, NULL),
	    0);
	ck_assert_uint_eq(t.len, 3);
	mbuf_free(&scratch);
}
END_TEST

START_TEST(test_decode_marc8_ascii_no_copy)
{
	static const char	data[] = "LEADERxxxxplain ASCII text here";
	struct marc_record	rec;
	struct marc_errlist	errs = { 0 };
	struct mbuf		scratch = { 0 };
	struct marc_text	t;

	mkview(&rec, data, sizeof data - 1, MARC_CS_MARC8, NULL, 0);
	ck_assert_int_eq(marc_text_decode(&rec, rec.data + 10, rec.len - 10,
	    &scratch, &t, &errs), 0);
	ck_assert_ptr_eq(t.p, rec.data + 10);
	ck_assert_uint_eq(t.len, rec.len - 10);
	ck_assert_uint_eq(scratch.len, 0);
	ck_assert_uint_eq(errs.n, 0);
	mbuf_free(&scratch);
}
END_TEST

/*
 * Every control field and subfield is checked, and a code byte over 0x7F
 * (here U+0080 as Latin-1, no letter: the next one, 'o', is the code);
 * indicators are not.
 */
START_TEST(test_check_text)
{
	/* 0 leader; 24 ab\xff; 27 \x80\x80 \x1f\x80ok \x1fax\xfey \x1fbfine */
	static const char	data[] = "00000nam a2200000   4500"
	    "ab\xff"
	    "\x80\x80\x1f\x80ok\x1f" "ax\xfey\x1f" "bfine";
	struct marc_field	f[2] = {
		{ { '0', '0', '1' }, 0, 24, 3 },
		{ { '2', '4', '5' }, 0, 27, 17 },
	};
	struct marc_record	rec;
	struct marc_errlist	errs = { 0 };
	struct mbuf		scratch = { 0 };

	mkview(&rec, data, sizeof data - 1, MARC_CS_UTF8, f, 2);
	ck_assert_int_eq(marc_record_check_text(&rec, &scratch, &errs), 0);
	ck_assert_uint_eq(errs.n, 3);
	ck_assert_uint_eq(errs.e[0].code, MARC_E_UTF8);
	ck_assert_uint_eq(errs.e[0].offset, 1000 + 26);
	ck_assert_uint_eq(errs.e[1].code, MARC_E_SUBFIELD_CODE);
	ck_assert_uint_eq(errs.e[1].offset, 1000 + 27 + 3);
	ck_assert_uint_eq(errs.e[2].code, MARC_E_UTF8);
	ck_assert_uint_eq(errs.e[2].offset, 1000 + 27 + 9);
	ck_assert_uint_eq(errs.e[2].recno, 7);

	/* Clean text: no errors at all. */
	errs.n = 0;
	f[0].len = 2;
	f[1].off = 36 + 3;
	f[1].len = 5;
	ck_assert_int_eq(marc_record_check_text(&rec, &scratch, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	mbuf_free(&scratch);
}
END_TEST

/* Errors beyond the list's bound are counted, not lost silently. */
START_TEST(test_errlist_bound)
{
	char			data[24 + 100];
	struct marc_field	f = { { '0', '0', '1' }, 0, 24, 100 };
	struct marc_record	rec;
	struct marc_errlist	errs = { 0 };
	struct mbuf		scratch = { 0 };
	int			i;

	memset(data, ' ', 24);
	for (i = 0; i < 100; i++)
		data[24 + i] = 'a';
	mkview(&rec, data, sizeof data, MARC_CS_UTF8, &f, 1);
	for (i = 0; i < 40; i++) {
		ck_assert_int_eq(marc_record_check_text(&rec, &scratch, &errs),
		    0);
	}
	ck_assert_uint_eq(errs.n, 0);
	data[24 + 50] = (char)0xC0;
	for (i = 0; i < 40; i++) {
		ck_assert_int_eq(marc_record_check_text(&rec, &scratch, &errs),
		    0);
	}
	ck_assert_uint_eq(errs.n, MARC_MAX_ERRORS);
	ck_assert_uint_eq(errs.lost, 40 - MARC_MAX_ERRORS);
	ck_assert_uint_eq(errs.e[0].offset, 1000 + 74);
	mbuf_free(&scratch);
}
END_TEST

/* All text tests in one suite. */
static Suite *
text_suite(void)
{
	Suite	*s = suite_create("text");
	TCase	*tc = tcase_create("utf8");

	tcase_add_test(tc, test_vectors_valid_len);
	tcase_add_test(tc, test_vectors_sanitize);
	tcase_add_test(tc, test_fast_path_boundaries);
	tcase_add_test(tc, test_random_against_reference);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("decode");
	tcase_add_test(tc, test_decode_utf8);
	tcase_add_test(tc, test_decode_marc8_ascii_no_copy);
	tcase_add_test(tc, test_check_text);
	tcase_add_test(tc, test_errlist_bound);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; non-zero exit on any failure. */
int
main(void)
{
	return check_run(text_suite());
}
