/*
 * tests/check_marc8_enc.c: UTF-8 to MARC-8 against MARC::Charset's goldens
 * (tests/data/marc8/to-marc8-golden.txt) and on its own properties.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "marc8.h"

/* Hex text to bytes; returns the length. */
static size_t
unhex(const char *h, size_t hl, uint8_t *out)
{
	size_t		i;
	unsigned	v;

	for (i = 0; i + 1 < hl; i += 2) {
		if (sscanf(h + i, "%2x", &v) != 1)
			ck_abort_msg("bad hex");
		out[i / 2] = (uint8_t)v;
	}
	return hl / 2;
}

/* MARC-8 back to UTF-8 with the project's decoder. */
static void
decode(struct mbuf *u, const uint8_t *p, size_t n)
{
	struct marc8_err errs[4];

	u->len = 0;
	ck_assert_int_eq(marc8_to_utf8(u, p, n, errs, 4), 0);
}

/*
 * Every golden line: our MARC-8 reads back as the same text as MARC::
 * Charset's, and as the NFC of the input; lines listed as byte-identical
 * must be so (ours differs only in escapes chosen for Cyrillic/Hebrew/
 * CJK runs, see tests/data/marc8/README.md).
 */
START_TEST(test_golden)
{
	char		 path[4096], *line = NULL, *tab;
	size_t		 cap = 0, ul, gl, same = 0, n = 0;
	ssize_t		 len;
	uint8_t		 u8[4096], g8[4096];
	struct mbuf	 ours = { 0 }, a = { 0 }, b = { 0 }, c = { 0 };
	FILE		*f;

	snprintf(path, sizeof(path), "%s/tests/data/marc8/to-marc8-golden.txt",
	    SRCDIR);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[0] == '#')
			continue;
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		tab = strchr(line, '\t');
		ck_assert_ptr_nonnull(tab);
		ul = unhex(line, (size_t)(tab - line), u8);
		gl = unhex(tab + 1, strlen(tab + 1), g8);
		ours.len = 0;
		ck_assert_int_eq(marc8_from_utf8(&ours, u8, ul), 0);
		decode(&a, ours.p, ours.len);
		decode(&b, g8, gl);
		ck_assert_msg(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
		    "line %zu: reads back as '%.*s', MARC::Charset's as '%.*s'",
		    n + 1, (int)a.len, a.p, (int)b.len, b.p);
		/* Stable: converting what came back gives the same bytes. */
		c.len = 0;
		ck_assert_int_eq(marc8_from_utf8(&c, a.p, a.len), 0);
		ck_assert_msg(c.len == ours.len && memcmp(c.p, ours.p,
		    c.len) == 0, "line %zu: not stable", n + 1);
		if (ours.len == gl && memcmp(ours.p, g8, gl) == 0)
			same++;
		n++;
	}
	ck_assert_uint_ge(n, 16);
	ck_assert_uint_ge(same, 1);
	/* Latin, diacritics, Greek, sub/superscripts: byte for byte. */
	ck_assert_msg(same >= n / 2, "only %zu of %zu lines byte-identical",
	    same, n);
	free(line);
	fclose(f);
	mbuf_free(&ours);
	mbuf_free(&a);
	mbuf_free(&b);
	mbuf_free(&c);
}
END_TEST

/* Escapes only when needed, combining marks first, default at the end. */
START_TEST(test_shapes)
{
	struct mbuf	o = { 0 };

	ck_assert_int_eq(marc8_from_utf8(&o, (const uint8_t *)"abc", 3), 0);
	ck_assert_uint_eq(o.len, 3);
	o.len = 0;
	/* é = e + U+0301, acute is ANSEL 0xE2 before the e. */
	ck_assert_int_eq(marc8_from_utf8(&o, (const uint8_t *)"\xc3\xa9", 2),
	    0);
	ck_assert_uint_eq(o.len, 2);
	ck_assert_int_eq(memcmp(o.p, "\xe2" "e", 2), 0);
	o.len = 0;
	/* Cyrillic "да 1": one escape in, digits and space stay, one out. */
	ck_assert_int_eq(marc8_from_utf8(&o, (const uint8_t *)
	    "\xd0\xb4\xd0\xb0 1", 6), 0);
	ck_assert_msg(o.len == 3 + 2 + 2 + 3 && memcmp(o.p, "\x1b(N", 3) == 0 &&
	    memcmp(o.p + o.len - 3, "\x1b(B", 3) == 0, "cyrillic: %zu bytes",
	    o.len);
	o.len = 0;
	/* No mapping: a numeric character reference. */
	ck_assert_int_eq(marc8_from_utf8(&o, (const uint8_t *)
	    "\xe2\x98\x83" "5", 4), 1);
	ck_assert_uint_eq(o.len, 9);
	ck_assert_int_eq(memcmp(o.p, "&#x2603;5", 9), 0);
	o.len = 0;
	/* Invalid UTF-8 counts as U+FFFD. */
	ck_assert_int_eq(marc8_from_utf8(&o, (const uint8_t *)"\xff", 1), 1);
	ck_assert_int_eq(memcmp(o.p, "&#xFFFD;", 8), 0);
	mbuf_free(&o);
}
END_TEST

static Suite *
enc_suite(void)
{
	Suite	*s = suite_create("marc8_enc");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_shapes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(enc_suite());
}
