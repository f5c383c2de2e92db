/* tests/check_marc8.c: MARC-8 to UTF-8 conversion. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "marcd/marc.h"
#include "marc8.h"

#define NERR	8

/* One conversion: output and the problems found. */
struct conv {
	struct mbuf		out;
	int			rv;
	struct marc8_err	err[NERR];
};

/* Convert n bytes into a fresh result. */
static void
conv_run(struct conv *c, const void *in, size_t n)
{
	memset(c, 0, sizeof *c);
	c->rv = marc8_to_utf8(&c->out, in, n, c->err, NERR);
}

/* Convert a string and require exact output and error count. */
static void
expect(const char *in, const char *want, int nerr)
{
	struct conv	c;

	conv_run(&c, in, strlen(in));
	ck_assert_int_eq(c.rv, nerr);
	ck_assert_msg(c.out.len == strlen(want) &&
	    (c.out.len == 0 || memcmp(c.out.p, want, c.out.len) == 0),
	    "input \"%s\": got \"%.*s\", want \"%s\"", in, (int)c.out.len,
	    (const char *)c.out.p, want);
	mbuf_free(&c.out);
}

/* Convert a string expecting one error of a given code at a given byte. */
static void
expect_err(const char *in, const char *want, uint32_t code, uint32_t pos)
{
	struct conv	c;

	conv_run(&c, in, strlen(in));
	ck_assert_int_eq(c.rv, 1);
	ck_assert_uint_eq(c.err[0].code, code);
	ck_assert_uint_eq(c.err[0].pos, pos);
	ck_assert_msg(c.out.len == strlen(want) &&
	    (c.out.len == 0 || memcmp(c.out.p, want, c.out.len) == 0),
	    "input \"%s\": got \"%.*s\", want \"%s\"", in, (int)c.out.len,
	    (const char *)c.out.p, want);
	mbuf_free(&c.out);
}

/* Read a whole test data file. */
static uint8_t *
slurp(const char *name, size_t *len)
{
	char	 path[1024];
	FILE	*f;
	uint8_t	*p;
	long	 sz;

	snprintf(path, sizeof path, "%s/tests/data/marc8/%s", SRCDIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	ck_assert_int_ge(sz, 0);
	rewind(f);
	p = malloc((size_t)sz + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*len = (size_t)sz;
	return p;
}

START_TEST(test_ascii)
{
	struct conv	c;
	const char	*s = "The quick brown fox, 1998. [etc.] {x} ~";

	expect(s, s, 0);
	expect("", "", 0);
	/* Controls other than ESC, and DEL, pass through. */
	expect("a\x01\tb\x1f\x7f", "a\x01\tb\x1f\x7f", 0);
	/* Appending keeps what was there. */
	memset(&c, 0, sizeof c);
	ck_assert_int_eq(mbuf_adds(&c.out, "x"), 0);
	ck_assert_int_eq(marc8_to_utf8(&c.out, (const uint8_t *)"yz", 2,
	    NULL, 0), 0);
	ck_assert_int_eq(marc8_to_utf8(&c.out, (const uint8_t *)"\xe2" "e",
	    2, NULL, 0), 0);
	ck_assert_uint_eq(c.out.len, 5);
	ck_assert_int_eq(memcmp(c.out.p, "xyz\xc3\xa9", 5), 0);
	mbuf_free(&c.out);
}
END_TEST

START_TEST(test_ansel)
{
	/* Acute before e: é, composed. */
	expect("\xe2" "e", "\xc3\xa9", 0);
	expect("Caf\xe2" "e au lait", "Caf\xc3\xa9 au lait", 0);
	/* ANSEL letters that are not combining. */
	expect("\xa2" "rsted \xb5" "sop", "\xc3\x98rsted \xc3\xa6sop", 0);
	/* Two marks in either order give the same composed ậ (U+1EAD). */
	expect("\xe3\xf2" "a", "\xe1\xba\xad", 0);
	expect("\xf2\xe3" "a", "\xe1\xba\xad", 0);
	/* No composite: marks follow the base, same class keeps its order. */
	expect("\xe2\xe8" "q", "q\xcc\x81\xcc\x88", 0);
	expect("\xe8\xe2" "q", "q\xcc\x88\xcc\x81", 0);
	/* A mark blocks a later one of the same class from composing. */
	expect("\xef\xe2" "a", "a\xcc\x90\xcc\x81", 0);
	expect("\xe2\xef" "a", "\xc3\xa1\xcc\x90", 0);
	/* A mark before a space stays with the space (see data/marc8/README). */
	expect("a\xe2 b", "a \xcc\x81" "b", 0);
	/* Ligature halves: one U+0361 between the letters, the right half goes. */
	expect("\xeb" "t\xec" "s", "t\xcd\xa1s", 0);
	/* Hook letters decompose and recompose with a following mark. */
	expect("\xe2\xbd", "\xe1\xbb\xa9", 0);	/* ư + acute = ứ */
}
END_TEST

/*
 * MARC8_HALF_MARKS: the ligature and double tilde halves map to the half
 * marks U+FE20..U+FE23 (pymarc's mapping), each after its letter, in G1 and
 * in G0; without the flag the same input gives U+0361 / U+0360 only.
 */
START_TEST(test_half_marks)
{
	static const struct {
		const char	*in, *plain, *halves;
	} t[] = {
		{ "\xeb" "t\xec" "s", "t\xcd\xa1s",
		    "t\xef\xb8\xa0s\xef\xb8\xa1" },
		{ "\xfa" "n\xfb" "g", "n\xcd\xa0g",
		    "n\xef\xb8\xa2g\xef\xb8\xa3" },
		/* ANSEL in G0: the same bytes without the high bit */
		{ "\x1b(E" "k\x1b(B" "a\x1b(E" "l\x1b(B" "b", "a\xcd\xa1" "b",
		    "a\xef\xb8\xa0" "b\xef\xb8\xa1" },
		/* U+0361 (class 234) lets the acute compose; U+FE20 (230,
		 * as the acute) comes first and keeps it apart */
		{ "\xeb\xe2" "e\xec" "a", "\xc3\xa9\xcd\xa1" "a",
		    "e\xef\xb8\xa0\xcc\x81" "a\xef\xb8\xa1" },
	};
	struct mbuf	out;
	size_t		i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		expect(t[i].in, t[i].plain, 0);
		memset(&out, 0, sizeof(out));
		ck_assert_int_eq(marc8_to_utf8_flags(&out, (const uint8_t *)
		    t[i].in, strlen(t[i].in), NULL, 0, MARC8_HALF_MARKS), 0);
		ck_assert_msg(out.len == strlen(t[i].halves) &&
		    memcmp(out.p, t[i].halves, out.len) == 0,
		    "case %zu: got \"%.*s\"", i, (int)out.len,
		    (const char *)out.p);
		mbuf_free(&out);
	}
}
END_TEST

START_TEST(test_trailing_mark)
{
	/* A mark with no base at the end is dropped, as pymarc does. */
	expect("ab\xe2", "ab", 0);
	expect("\xe2\xe3", "", 0);
	/* ... and only the one at the end. */
	expect("\xe2" "a\xe2", "\xc3\xa1", 0);
}
END_TEST

START_TEST(test_greek)
{
	/* Basic Greek, with its own combining acute: Ά (U+0386). */
	expect("\x1b(S\x22\x41\x42\x1b(B!", "\xce\x86\xce\x92!", 0);
	/* Greek symbols by the short escape, ESC s back to ASCII. */
	expect("\x1bg" "abc\x1bs" "abc", "\xce\xb1\xce\xb2\xce\xb3" "abc", 0);
	/* Greek ano teleia (U+0387) is U+00B7 after NFC. */
	expect("\x1b(S\x3b", "\xc2\xb7", 0);
}
END_TEST

START_TEST(test_cyrillic)
{
	/* й decomposes and recomposes. */
	expect("\x1b(N\x52\x41\x4a", "\xd1\x80\xd0\xb0\xd0\xb9", 0);
	/* Extended Cyrillic in G1; ANSEL back by ESC ) ! E. */
	expect("\x1b)Q\xc4\x1b)!E\xe2" "e", "\xd1\x91\xc3\xa9", 0);
	/* Basic Cyrillic in G1 next to ASCII in G0. */
	expect("\x1b)N" "x\xc1\xc2", "x\xd0\xb0\xd0\xb1", 0);
}
END_TEST

START_TEST(test_hebrew_arabic)
{
	/* Dagesh and patah before bet: canonical order, FB31 not composed. */
	expect("\x1b(2\x4b\x40\x61\x60", "\xd7\x91\xd6\xb7\xd6\xbc\xd7\x90", 0);
	/* Fatha before alef; alef with madda stays one character. */
	expect("\x1b(3\x6e\x47\x42", "\xd8\xa7\xd9\x8e\xd8\xa2", 0);
	/* Superscript alef is not MARC-8 combining but has class 35. */
	expect("\x1b(3\x47\x74", "\xd8\xa7\xd9\xb0", 0);
	/* Extended Arabic in G1. */
	expect("\x1b)4\xee", "\xdb\x80", 0);
}
END_TEST

START_TEST(test_subsup)
{
	expect("H\x1b" "b2\x1bs" "O", "H\xe2\x82\x82O", 0);
	expect("x\x1bp2\x1bs", "x\xc2\xb2", 0);
	/* Technique 2 designation of a technique 1 set works the same. */
	expect("\x1b(p2", "\xc2\xb2", 0);
}
END_TEST

START_TEST(test_eacc)
{
	/* 人 (0x213064) in G0, then back to ASCII. */
	expect("\x1b$1\x21\x30\x64\x1b(B" "a", "\xe4\xba\xba" "a", 0);
	/* ASCII space inside EACC text is one byte. */
	expect("\x1b$1\x21\x30\x64 \x21\x30\x21", "\xe4\xba\xba \xe4\xb8\x80", 0);
	/* Ideographic space has 0x20 as its third byte. */
	expect("\x1b$1\x21\x23\x20", "\xe3\x80\x80", 0);
	/* Beyond the BMP: 0x217559 is U+212C4. */
	expect("\x1b$1\x21\x75\x59", "\xf0\xa1\x8b\x84", 0);
	/* Kana with dakuten (decomposable) stays composed. */
	expect("\x1b$1\x69\x24\x2c", "\xe3\x81\x8c", 0);
	/* In G1 by ESC $ ) 1 and the alternate ESC $ - 1, and ESC $ , 1. */
	expect("\x1b$)1\xa1\xb0\xe4" "a", "\xe4\xba\xba" "a", 0);
	expect("\x1b$-1\xa1\xb0\xe4", "\xe4\xba\xba", 0);
	expect("\x1b$,1\x21\x30\x64", "\xe4\xba\xba", 0);
	/* An ANSEL mark in G1 goes onto an EACC base. */
	expect("\x1b$1\xe2\x21\x30\x64", "\xe4\xba\xba\xcc\x81", 0);
}
END_TEST

START_TEST(test_g1)
{
	/* ASCII in G1, ANSEL in G0; a mark waits across escapes. */
	expect("\x1b)B\xc1\x1b(E" "b\x1b(B" "e", "A\xc3\xa9", 0);
	expect("\x1b(!Eb\x1b,B" "e", "\xc3\xa9", 0);
	/* C1 NSB/NSE and ZWNJ/ZWJ mean the same whatever G1 is. */
	expect("\x88" "The\x89 end\x8d", "\xc2\x98The\xc2\x9c end\xe2\x80\x8d", 0);
	expect("\x1b)N\x8e", "\xe2\x80\x8c", 0);
}
END_TEST

START_TEST(test_errors)
{
	struct conv	c;

	/* Unknown escapes: U+FFFD for the sequence, carry on. */
	expect_err("ab\x1bX" "cd", "ab\xef\xbf\xbd" "cd", MARC_E_MARC8_ESCAPE, 2);
	expect_err("ab\x1b(Zcd", "ab\xef\xbf\xbd" "cd", MARC_E_MARC8_ESCAPE, 2);
	expect_err("ab\x1b", "ab\xef\xbf\xbd", MARC_E_MARC8_ESCAPE, 2);
	expect_err("ab\x1b(", "ab\xef\xbf\xbd", MARC_E_MARC8_ESCAPE, 2);
	expect_err("\x1b$\x01x", "\xef\xbf\xbd\x01x", MARC_E_MARC8_ESCAPE, 0);
	/* Unmapped bytes. */
	expect_err("a\xa0" "b", "a\xef\xbf\xbd" "b", MARC_E_MARC8_CHAR, 1);
	expect_err("a\xff", "a\xef\xbf\xbd", MARC_E_MARC8_CHAR, 1);
	expect_err("a\x80", "a\xef\xbf\xbd", MARC_E_MARC8_CHAR, 1);
	expect_err("\x1bg" "ad", "\xce\xb1\xef\xbf\xbd", MARC_E_MARC8_CHAR, 3);
	expect_err("\x1b$1\x21\x21\x21", "\xef\xbf\xbd", MARC_E_MARC8_CHAR, 3);
	/* A pending mark lands on the replacement character. */
	expect_err("\xe2\xa0", "\xef\xbf\xbd\xcc\x81", MARC_E_MARC8_CHAR, 1);
	/* Truncated EACC: at the end, and cut by an escape. */
	expect_err("\x1b$1\x21\x30", "\xef\xbf\xbd", MARC_E_MARC8_CHAR, 3);
	expect_err("x\x1b$1\x21", "x\xef\xbf\xbd", MARC_E_MARC8_CHAR, 4);
	expect_err("\x1b$1\x21\x30\x1b(Ba", "\xef\xbf\xbd" "a",
	    MARC_E_MARC8_CHAR, 3);
	/* More problems than room: all counted, the first ones kept. */
	conv_run(&c, "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0", 10);
	ck_assert_int_eq(c.rv, 10);
	ck_assert_uint_eq(c.err[NERR - 1].pos, NERR - 1);
	ck_assert_uint_eq(c.out.len, 30);
	mbuf_free(&c.out);
	/* No error array at all. */
	memset(&c, 0, sizeof c);
	ck_assert_int_eq(marc8_to_utf8(&c.out, (const uint8_t *)"\xa0", 1,
	    NULL, 0), 1);
	mbuf_free(&c.out);
}
END_TEST

START_TEST(test_long)
{
	/* Longer than one chunk, with marks across chunk boundaries. */
	struct conv	 c;
	size_t		 i, n = 3 * 5000;
	uint8_t		*in = malloc(n);

	ck_assert_ptr_nonnull(in);
	for (i = 0; i < n; i += 3) {
		in[i] = 0xe2;
		in[i + 1] = 'e';
		in[i + 2] = 'x';
	}
	conv_run(&c, in, n);
	ck_assert_int_eq(c.rv, 0);
	ck_assert_uint_eq(c.out.len, 5000 * 3);
	for (i = 0; i < c.out.len; i += 3)
		ck_assert_int_eq(memcmp(c.out.p + i, "\xc3\xa9x", 3), 0);
	mbuf_free(&c.out);
	/* A long run of marks with no base in between is not lost. */
	memset(in, 0xe2, 100);
	in[100] = 'a';
	conv_run(&c, in, 101);
	ck_assert_int_eq(c.rv, 0);
	ck_assert_uint_eq(c.out.len, 2 + 99 * 2);
	mbuf_free(&c.out);
	free(in);
}
END_TEST

/*
 * Every entry of the LoC tables, in G0 and in G1, against the UTF-8 that
 * tools/gen_marc8.py computed with Python's unicodedata.
 */
START_TEST(test_codetables)
{
	uint8_t		*data, *p, *end, *tab, *nl;
	size_t		 len;
	struct conv	 c;
	int		 line = 0;

	data = slurp("codetables-check.txt", &len);
	end = data + len;
	for (p = data; p < end; p = nl + 1) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		ck_assert_ptr_nonnull(nl);
		tab = memchr(p, '\t', (size_t)(nl - p));
		ck_assert_ptr_nonnull(tab);
		conv_run(&c, p, (size_t)(tab - p));
		ck_assert_msg(c.rv == 0, "line %d: %d errors", line, c.rv);
		ck_assert_msg(c.out.len == (size_t)(nl - tab - 1) &&
		    memcmp(c.out.p, tab + 1, c.out.len) == 0,
		    "codetables-check.txt line %d differs", line);
		mbuf_free(&c.out);
	}
	ck_assert_int_gt(line, 3000);
	free(data);
}
END_TEST

/* The MARC-8 inputs that have a golden .mrk from MARC::Charset. */
static const char *golden[] = {
	"folio-mod-data-import__61PRINT160129.mrc",
	"marc-perl__cjk1.marc",
	"marc-perl__cjk2.marc",
	"marc-perl__cjk3.marc",
	"marc-perl__cjk4.marc",
	"marc-perl__cyrillic.marc",
	"marc-perl__hebrew1.marc",
	"marc-perl__hebrew2.marc",
	"marc-perl__hebrew3.marc",
	"marc-perl__hebrew4.marc",
	"pymarc__marc8.dat",
	"solrmarc__demoRecs.mrc",
	"solrmarc__errorRecs.mrc",
	"solrmarc__field024.mrc",
	"solrmarc__record_set_045.mrc",
	"solrmarc__specTestRecs.mrc",
	"solrmarc__u233.mrc",
	"solrmarc__u399.mrc",
	"solrmarc__u4.mrc",
	"solrmarc__u5278992.mrc",
	"solrmarc__u60.mrc",
	"traject__one-marc8.mrc",
	"yaz__marc7.marc",
	"yaz__marc9.marc",
};

/* Append bytes with control characters as {XX}; mrk_meta adds $ { } \. */
static void
mrk_add(struct mbuf *b, const uint8_t *p, size_t n, int sub, int spaces)
{
	char	 hex[8];
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			snprintf(hex, sizeof hex, "{%02X}", p[i]);
			ck_assert_int_eq(mbuf_adds(b, hex), 0);
		} else if (sub && p[i] == '$')
			ck_assert_int_eq(mbuf_adds(b, "{dollar}"), 0);
		else if (sub && p[i] == '{')
			ck_assert_int_eq(mbuf_adds(b, "{lcub}"), 0);
		else if (sub && p[i] == '}')
			ck_assert_int_eq(mbuf_adds(b, "{rcub}"), 0);
		else if (sub && p[i] == '\\')
			ck_assert_int_eq(mbuf_adds(b, "{bsol}"), 0);
		else if (spaces && p[i] == ' ')
			ck_assert_int_eq(mbuf_addc(b, '\\'), 0);
		else
			ck_assert_int_eq(mbuf_addc(b, p[i]), 0);
	}
}

/* Decode and append MARC-8 text in mrk form. */
static void
mrk_text(struct mbuf *b, struct mbuf *tmp, const uint8_t *p, size_t n,
    int sub)
{
	tmp->len = 0;
	ck_assert_int_ge(marc8_to_utf8(tmp, p, n, NULL, 0), 0);
	mrk_add(b, tmp->p, tmp->len, sub, !sub);
}

/* Parse a decimal field of the leader or directory. */
static size_t
num(const uint8_t *p, int n)
{
	size_t	 v = 0;
	int	 i;

	for (i = 0; i < n; i++) {
		ck_assert(p[i] >= '0' && p[i] <= '9');
		v = v * 10 + (size_t)(p[i] - '0');
	}
	return v;
}

/* A minimal ISO 2709 walk (valid input only) printing mrk lines. */
static void
mrk_record(struct mbuf *b, struct mbuf *tmp, const uint8_t *r, size_t len)
{
	uint8_t		 ldr[MARC_LEADER_LEN];
	const uint8_t	*d, *f, *s, *e, *q;
	size_t		 base, flen, off;

	ck_assert_uint_ge(len, MARC_LEADER_LEN + 1);
	memcpy(ldr, r, MARC_LEADER_LEN);
	ldr[9] = 'a';
	ck_assert_int_eq(mbuf_adds(b, "=LDR  "), 0);
	mrk_add(b, ldr, MARC_LEADER_LEN, 0, 1);
	ck_assert_int_eq(mbuf_addc(b, '\n'), 0);
	base = num(r + 12, 5);
	for (d = r + MARC_LEADER_LEN; *d != MARC_FT; d += MARC_DIRENT_LEN) {
		ck_assert_uint_le((size_t)(d - r) + MARC_DIRENT_LEN, base);
		flen = num(d + 3, 4);
		off = num(d + 7, 5);
		ck_assert_uint_le(base + off + flen, len);
		f = r + base + off;
		if (flen > 0 && f[flen - 1] == MARC_FT)
			flen--;
		ck_assert_int_eq(mbuf_addc(b, '='), 0);
		ck_assert_int_eq(mbuf_add(b, d, 3), 0);
		ck_assert_int_eq(mbuf_adds(b, "  "), 0);
		if (d[0] == '0' && d[1] == '0') {
			mrk_text(b, tmp, f, flen, 0);
			ck_assert_int_eq(mbuf_addc(b, '\n'), 0);
			continue;
		}
		mrk_add(b, flen > 0 ? f : (const uint8_t *)" ", 1, 0, 1);
		mrk_add(b, flen > 1 ? f + 1 : (const uint8_t *)" ", 1, 0, 1);
		e = f + flen;
		s = memchr(f, MARC_SD, flen);
		while (s != NULL && s < e) {
			q = memchr(s + 1, MARC_SD, (size_t)(e - s - 1));
			if (q == NULL)
				q = e;
			if (q > s + 1) {
				ck_assert_int_eq(mbuf_addc(b, '$'), 0);
				mrk_add(b, s + 1, 1, 0, 0);
				mrk_text(b, tmp, s + 2, (size_t)(q - s - 2), 1);
			}
			s = q;
		}
		ck_assert_int_eq(mbuf_addc(b, '\n'), 0);
	}
	ck_assert_int_eq(mbuf_addc(b, '\n'), 0);
}

/* One golden input: every record printed as mrk equals the oracle's. */
START_TEST(test_golden)
{
	char		 name[256];
	const char	*in = golden[_i], *dot;
	uint8_t		*data, *want;
	size_t		 len, wlen, pos, rlen, i, line;
	struct mbuf	 b = { 0 }, tmp = { 0 };

	data = slurp(in, &len);
	dot = strrchr(in, '.');
	snprintf(name, sizeof name, "%.*s.mrk", (int)(dot - in), in);
	want = slurp(name, &wlen);
	for (pos = 0; pos < len; pos += rlen) {
		if (data[pos] == '\n' || data[pos] == '\r' || data[pos] == ' ') {
			rlen = 1;
			continue;
		}
		ck_assert_uint_ge(len - pos, MARC_LEADER_LEN);
		rlen = num(data + pos, 5);
		ck_assert_uint_le(rlen, len - pos);
		mrk_record(&b, &tmp, data + pos, rlen);
	}
	for (i = 0, line = 1; i < b.len && i < wlen && b.p[i] == want[i]; i++)
		if (want[i] == '\n')
			line++;
	ck_assert_msg(b.len == wlen && i == wlen, "%s: differs at line %zu",
	    name, line);
	mbuf_free(&b);
	mbuf_free(&tmp);
	free(data);
	free(want);
}
END_TEST

static Suite *
marc8_suite(void)
{
	Suite	*s = suite_create("marc8");
	TCase	*tc;

	tc = tcase_create("convert");
	tcase_add_test(tc, test_ascii);
	tcase_add_test(tc, test_ansel);
	tcase_add_test(tc, test_half_marks);
	tcase_add_test(tc, test_trailing_mark);
	tcase_add_test(tc, test_greek);
	tcase_add_test(tc, test_cyrillic);
	tcase_add_test(tc, test_hebrew_arabic);
	tcase_add_test(tc, test_subsup);
	tcase_add_test(tc, test_eacc);
	tcase_add_test(tc, test_g1);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("tables");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_codetables);
	tcase_add_loop_test(tc, test_golden, 0,
	    (int)(sizeof golden / sizeof golden[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(marc8_suite());
}
