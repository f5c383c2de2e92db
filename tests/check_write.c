/* tests/check_write.c: the four record writers, exact output and escaping. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "chunk.h"
#include "text.h"
#include "write.h"

#define SF	"\x1f"

/* A field to build a test record from: tag and raw data (no terminator). */
struct tf {
	const char	*tag;
	const char	*data;
};

/* Build an ISO 2709 record with leader/09 ld9 (lengths as marc4j writes). */
static size_t
mkrec(struct mbuf *out, char ld9, const struct tf *f, int n)
{
	size_t	base = 24 + 12 * (size_t)n + 1, pos = 0, len, i, fl;
	uint8_t	*p;
	char	tmp[32];

	for (i = 0; i < (size_t)n; i++)
		pos += strlen(f[i].data) + 1;
	len = base + pos + 1;
	out->len = 0;
	ck_assert_int_eq(mbuf_reserve(out, len), 0);
	p = out->p;
	snprintf(tmp, sizeof tmp, "%05zunam %c22%05zu   4500", len % 100000,
	    ld9, base);
	memcpy(p, tmp, 24);
	pos = 0;
	for (i = 0; i < (size_t)n; i++) {
		fl = strlen(f[i].data) + 1;
		snprintf(tmp, sizeof tmp, "%.3s%04zu%05zu", f[i].tag,
		    fl % 10000, pos % 100000);
		memcpy(p + 24 + 12 * i, tmp, 12);
		memcpy(p + base + pos, f[i].data, fl - 1);
		p[base + pos + fl - 1] = MARC_FT;
		pos += fl;
	}
	p[24 + 12 * n] = MARC_FT;
	p[len - 1] = MARC_RT;
	out->len = len;
	return len;
}

/* Read the one record in buf (input offset base) into rec. */
static void
readrec(struct marc_reader *r, const struct mbuf *buf, uint64_t base,
    struct marc_record *rec)
{
	marc_reader_init(r, buf->p, buf->len, MARC_CS_AUTO, base, 0);
	ck_assert_int_eq(marc_reader_next(r, rec), MARC_NEXT_RECORD);
}

/* Write rec in format fmt (with begin/end) into out as a C string. */
static void
writeall(int fmt, const struct marc_record *rec, struct mbuf *out,
    struct marc_errlist *errs)
{
	struct marc_writer	w;

	marc_writer_init(&w, fmt);
	out->len = 0;
	ck_assert_int_eq(marc_writer_begin(&w, out), 0);
	ck_assert_int_eq(marc_writer_record(&w, out, rec, errs), 0);
	ck_assert_int_eq(marc_writer_end(&w, out), 0);
	ck_assert_int_eq(mbuf_addc(out, 0), 0);
	out->len--;
	marc_writer_free(&w);
}

static const struct tf SMALL[] = {
	{ "001", "ocm 123" },
	{ "245", "10" SF "aTitle /" SF "cAuthor." },
	{ "650", " 0" SF "aSubject" SF "vHistory" },
};


static const struct tf ESC[] = {
	{ "001", "a\"b\\c{$} \x7f" },
	{ "245", "\\0" SF "aq\"\\\n\t\r\b\f\x01\x7f \xc3\xa9/" SF "\"x"
	    SF "b<&>'\"" SF "c\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd" },
	{ "246", "'\x01" SF "'it's" SF "$\\{$}{}" },
};

/* A hand-built record view (for shapes the reader would not produce). */
static void
mkview(struct marc_record *rec, const char *data, size_t len, int cs,
    const struct marc_field *f, uint32_t nf)
{
	memset(rec, 0, sizeof *rec);
	rec->data = (const uint8_t *)data;
	rec->len = len;
	rec->offset = 0;
	rec->recno = 1;
	rec->charset = cs;
	rec->fields = f;
	rec->nfields = nf;
}

/* Write with a fresh writer and compare with the expected output. */
static void
expect(int fmt, const struct marc_record *rec, const char *want,
    uint32_t nerr)
{
	struct mbuf		out = { 0 };
	struct marc_errlist	errs = { 0 };

	writeall(fmt, rec, &out, &errs);
	ck_assert_str_eq((const char *)out.p, want);
	ck_assert_uint_eq(errs.n, nerr);
	mbuf_free(&out);
}

/* Build and read a record, then expect() each format's output. */
static void
expect_built(int fmt, char ld9, const struct tf *f, int n, const char *want,
    uint32_t nerr)
{
	struct marc_reader	r;
	struct marc_record	rec;
	struct mbuf		in = { 0 };

	mkrec(&in, ld9, f, n);
	readrec(&r, &in, 0, &rec);
	expect(fmt, &rec, want, nerr);
	marc_reader_free(&r);
	mbuf_free(&in);
}

#define XML_HEAD	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n"
#define XML_TAIL	"</collection>\n"

START_TEST(test_json_exact)
{
	expect_built(MARC_FMT_MARCJSON, ' ', SMALL, 3,
	    "{\"leader\":\"00112nam a2200061   4500\",\"fields\":["
	    "{\"001\":\"ocm 123\"},"
	    "{\"245\":{\"subfields\":[{\"a\":\"Title /\"},{\"c\":\"Author.\"}],"
	    "\"ind1\":\"1\",\"ind2\":\"0\"}},"
	    "{\"650\":{\"subfields\":[{\"a\":\"Subject\"},{\"v\":\"History\"}],"
	    "\"ind1\":\" \",\"ind2\":\"0\"}}]}\n", 0);
}
END_TEST

START_TEST(test_xml_exact)
{
	expect_built(MARC_FMT_MARCXML, ' ', SMALL, 3, XML_HEAD
	    "<record>\n"
	    "  <leader>00112nam a2200061   4500</leader>\n"
	    "  <controlfield tag=\"001\">ocm 123</controlfield>\n"
	    "  <datafield tag=\"245\" ind1=\"1\" ind2=\"0\">\n"
	    "    <subfield code=\"a\">Title /</subfield>\n"
	    "    <subfield code=\"c\">Author.</subfield>\n"
	    "  </datafield>\n"
	    "  <datafield tag=\"650\" ind1=\" \" ind2=\"0\">\n"
	    "    <subfield code=\"a\">Subject</subfield>\n"
	    "    <subfield code=\"v\">History</subfield>\n"
	    "  </datafield>\n"
	    "</record>\n" XML_TAIL, 0);
}
END_TEST

START_TEST(test_mrk_exact)
{
	expect_built(MARC_FMT_MRK, ' ', SMALL, 3,
	    "=LDR  00112nam\\a2200061\\\\\\4500\n"
	    "=001  ocm\\123\n"
	    "=245  10$aTitle /$cAuthor.\n"
	    "=650  \\0$aSubject$vHistory\n"
	    "\n", 0);
}
END_TEST

/* A normal UTF-8 record comes out byte for byte as it went in. */
START_TEST(test_iso_exact)
{
	struct marc_reader	r;
	struct marc_record	rec;
	struct mbuf		in = { 0 }, out = { 0 };
	struct marc_errlist	errs = { 0 };

	mkrec(&in, 'a', SMALL, 3);
	readrec(&r, &in, 0, &rec);
	writeall(MARC_FMT_ISO2709, &rec, &out, &errs);
	ck_assert_uint_eq(out.len, in.len);
	ck_assert(memcmp(out.p, in.p, in.len) == 0);
	ck_assert_uint_eq(errs.n, 0);
	marc_reader_free(&r);

	/* MARC-8 but ASCII: only leader/09 changes. */
	mkrec(&in, ' ', SMALL, 3);
	readrec(&r, &in, 0, &rec);
	writeall(MARC_FMT_ISO2709, &rec, &out, &errs);
	ck_assert_uint_eq(out.len, in.len);
	ck_assert_int_eq(out.p[9], 'a');
	in.p[9] = 'a';
	ck_assert(memcmp(out.p, in.p, in.len) == 0);
	marc_reader_free(&r);
	mbuf_free(&in);
	mbuf_free(&out);
}
END_TEST

START_TEST(test_json_escape)
{
	expect_built(MARC_FMT_MARCJSON, 'a', ESC, 3,
	    "{\"leader\":\"00130nam a2200061   4500\",\"fields\":["
	    "{\"001\":\"a\\\"b\\\\c{$} \\u007f\"},"
	    "{\"245\":{\"subfields\":["
	    "{\"a\":\"q\\\"\\\\\\n\\t\\r\\b\\f\\u0001\\u007f \xc3\xa9/\"},"
	    "{\"\\\"\":\"x\"},{\"b\":\"<&>'\\\"\"},"
	    "{\"c\":\"\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd\"}],"
	    "\"ind1\":\"\\\\\",\"ind2\":\"0\"}},"
	    "{\"246\":{\"subfields\":[{\"'\":\"it's\"},"
	    "{\"$\":\"\\\\{$}{}\"}],\"ind1\":\"'\",\"ind2\":\"\\u0001\"}}]}\n",
	    0);
}
END_TEST

START_TEST(test_xml_escape)
{
	expect_built(MARC_FMT_MARCXML, 'a', ESC, 3, XML_HEAD
	    "<record>\n"
	    "  <leader>00130nam a2200061   4500</leader>\n"
	    "  <controlfield tag=\"001\">a&quot;b\\c{$} \x7f</controlfield>\n"
	    "  <datafield tag=\"245\" ind1=\"\\\" ind2=\"0\">\n"
	    "    <subfield code=\"a\">q&quot;\\\n\t&#13;"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\x7f \xc3\xa9/</subfield>\n"
	    "    <subfield code=\"&quot;\">x</subfield>\n"
	    "    <subfield code=\"b\">&lt;&amp;&gt;'&quot;</subfield>\n"
	    "    <subfield code=\"c\">"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd</subfield>\n"
	    "  </datafield>\n"
	    "  <datafield tag=\"246\" ind1=\"&apos;\" ind2=\"\xef\xbf\xbd\">\n"
	    "    <subfield code=\"&apos;\">it's</subfield>\n"
	    "    <subfield code=\"$\">\\{$}{}</subfield>\n"
	    "  </datafield>\n"
	    "</record>\n" XML_TAIL, 0);
}
END_TEST

START_TEST(test_mrk_escape)
{
	expect_built(MARC_FMT_MRK, 'a', ESC, 3,
	    "=LDR  00130nam\\a2200061\\\\\\4500\n"
	    "=001  a\"b\\c{$}\\{7F}\n"
	    "=245  \\0$aq\"{bsol}{0A}{09}{0D}{08}{0C}{01}{7F} \xc3\xa9/"
	    "$\"x$b<&>'\"$c\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd\n"
	    "=246  '{01}$'it's$${bsol}{lcub}{dollar}{rcub}{lcub}{rcub}\n"
	    "\n", 0);
}
END_TEST

/* NUL and other bytes the builder cannot hold, in a hand-built view. */
START_TEST(test_nul_and_structure_bytes)
{
	static const char	data[] = "00000nam a2200000   4500"
	    "a\0b\x1f" "c\x1e"		/* 24: control field, 6 bytes */
	    "\x1f\x1e\x1f" "ax\x1e" "y";	/* 30: data field, 7 bytes */
	static const struct marc_field f[] = {
		{ { '0', '0', '5' }, 0, 24, 6 },
		{ { '5', '0', '0' }, 0, 30, 7 },
	};
	struct marc_record	rec;
	struct mbuf		out = { 0 };
	struct marc_errlist	errs = { 0 };
	const char		*want;

	mkview(&rec, data, sizeof data - 1, MARC_CS_UTF8, f, 2);
	expect(MARC_FMT_MARCJSON, &rec, "{\"leader\":\"00000nam a2200000   "
	    "4500\",\"fields\":[{\"005\":\"a\\u0000b\\u001fc\\u001e\"},"
	    "{\"500\":{\"subfields\":[{\"a\":\"x\\u001ey\"}],"
	    "\"ind1\":\"\\u001f\",\"ind2\":\"\\u001e\"}}]}\n", 0);
	expect(MARC_FMT_MRK, &rec, "=LDR  00000nam\\a2200000\\\\\\4500\n"
	    "=005  a{00}b{1F}c{1E}\n=500  {1F}{1E}$ax{1E}y\n\n", 0);
	expect(MARC_FMT_MARCXML, &rec, XML_HEAD "<record>\n"
	    "  <leader>00000nam a2200000   4500</leader>\n"
	    "  <controlfield tag=\"005\">a\xef\xbf\xbd" "b\xef\xbf\xbd"
	    "c\xef\xbf\xbd</controlfield>\n"
	    "  <datafield tag=\"500\" ind1=\"\xef\xbf\xbd\" ind2=\""
	    "\xef\xbf\xbd\">\n"
	    "    <subfield code=\"a\">x\xef\xbf\xbdy</subfield>\n"
	    "  </datafield>\n</record>\n" XML_TAIL, 0);

	/* ISO 2709: delimiters in text become U+FFFD, in indicators blanks. */
	writeall(MARC_FMT_ISO2709, &rec, &out, &errs);
	want = "a\0b\xef\xbf\xbd" "c\xef\xbf\xbd\x1e"
	    "  \x1f" "ax\xef\xbf\xbdy\x1e\x1d";
	ck_assert_uint_eq(out.len, 24 + 2 * 12 + 1 + 22);
	ck_assert(memcmp(out.p + 49, want, 22) == 0);
	ck_assert(memcmp(out.p + 24, "005001100000500001000011\x1e", 25) ==
	    0);
	ck_assert(memcmp(out.p, "00071nam a2200049   4500", 24) == 0);
	mbuf_free(&out);
}
END_TEST

/* Invalid UTF-8 becomes U+FFFD, with an error at its offset in the input. */
START_TEST(test_invalid_utf8)
{
	static const struct tf	bad[] = {
		{ "001", "ab\xff" },
		{ "245", "00" SF "aok" SF "bx\xc3(y" },
	};
	static const char *const want[] = {
		"{\"leader\":\"00067nam a2200049   4500\",\"fields\":["
		    "{\"001\":\"ab\xef\xbf\xbd\"},{\"245\":{\"subfields\":["
		    "{\"a\":\"ok\"},{\"b\":\"x\xef\xbf\xbd(y\"}],"
		    "\"ind1\":\"0\",\"ind2\":\"0\"}}]}\n",
		NULL,
		"=LDR  00067nam\\a2200049\\\\\\4500\n=001  ab\xef\xbf\xbd\n"
		    "=245  00$aok$bx\xef\xbf\xbd(y\n\n",
		NULL,
	};
	struct marc_reader	r;
	struct marc_record	rec;
	struct mbuf		in = { 0 }, out = { 0 };
	struct marc_errlist	errs;
	int			fmt;

	mkrec(&in, 'a', bad, 2);
	readrec(&r, &in, 5000, &rec);
	ck_assert_uint_eq(rec.errors->n, 0);
	for (fmt = 0; fmt < 4; fmt++) {
		memset(&errs, 0, sizeof errs);
		writeall(fmt, &rec, &out, &errs);
		if (want[fmt] != NULL)
			ck_assert_str_eq((const char *)out.p, want[fmt]);
		ck_assert_ptr_nonnull(memmem(out.p, out.len,
		    "x\xef\xbf\xbd(y", 6));
		ck_assert_uint_eq(utf8_valid_len(out.p, out.len), out.len);
		ck_assert_uint_eq(errs.n, 2);
		ck_assert_uint_eq(errs.e[0].code, MARC_E_UTF8);
		ck_assert_uint_eq(errs.e[0].offset, 5000 + 49 + 2);
		ck_assert_uint_eq(errs.e[0].recno, 1);
		ck_assert_uint_eq(errs.e[1].code, MARC_E_UTF8);
		ck_assert_uint_eq(errs.e[1].offset, 5000 + 49 + 4 + 9);
	}
	marc_reader_free(&r);
	mbuf_free(&in);
	mbuf_free(&out);
}
END_TEST

/* Leader bytes that are not ASCII: U+FFFD in text formats, blank in ISO. */
START_TEST(test_leader_non_ascii)
{
	struct marc_reader	r;
	struct marc_record	rec;
	struct mbuf		in = { 0 }, out = { 0 };
	struct marc_errlist	errs = { 0 };

	mkrec(&in, 'a', SMALL, 1);
	in.p[7] = 0xC3;
	in.p[8] = 0x01;
	readrec(&r, &in, 0, &rec);
	expect(MARC_FMT_MARCJSON, &rec, "{\"leader\":\"00046na\xef\xbf\xbd"
	    "\\u0001a2200037   4500\",\"fields\":[{\"001\":\"ocm 123\"}]}\n",
	    0);
	expect(MARC_FMT_MRK, &rec, "=LDR  00046na\xef\xbf\xbd{01}a2200037"
	    "\\\\\\4500\n=001  ocm\\123\n\n", 0);
	expect(MARC_FMT_MARCXML, &rec, XML_HEAD "<record>\n  <leader>00046na"
	    "\xef\xbf\xbd\xef\xbf\xbd" "a2200037   4500</leader>\n"
	    "  <controlfield tag=\"001\">ocm 123</controlfield>\n</record>\n"
	    XML_TAIL, 0);
	writeall(MARC_FMT_ISO2709, &rec, &out, &errs);
	ck_assert(memcmp(out.p, "00046na  a2200037   4500", 24) == 0);
	marc_reader_free(&r);
	mbuf_free(&in);
	mbuf_free(&out);
}
END_TEST

/* Fields of two records compare equal (tags and bytes). */
static void
same_fields(const struct marc_record *a, const struct marc_record *b)
{
	uint32_t	i;

	ck_assert_uint_eq(a->nfields, b->nfields);
	for (i = 0; i < a->nfields; i++) {
		ck_assert(memcmp(a->fields[i].tag, b->fields[i].tag, 3) == 0);
		ck_assert_uint_eq(a->fields[i].len, b->fields[i].len);
		ck_assert(memcmp(a->data + a->fields[i].off,
		    b->data + b->fields[i].off, a->fields[i].len) == 0);
	}
}

START_TEST(test_iso_roundtrip)
{
	static const struct tf	f[] = {
		{ "001", "12345" },
		{ "005", "20240101120000.0" },
		{ "008", "240101s2024    xx            000 0 eng d" },
		{ "100", "1 " SF "aM\xc3\xbcller, J\xc3\xb6rg," SF "d1950-" },
		{ "245", "10" SF "a\xd0\x92\xd0\xbe\xd0\xb9\xd0\xbd\xd0\xb0 /"
		    SF "c\xe6\x9d\xb1\xe4\xba\xac." },
		{ "880", "  " SF "6245-01" SF "a\xf0\x9f\x93\x9a" },
		{ "999", "  " SF "a" },
	};
	struct marc_reader	r1, r2;
	struct marc_record	rec1, rec2;
	struct marc_writer	w;
	struct mbuf		in = { 0 }, out = { 0 }, out2 = { 0 };
	struct marc_errlist	errs = { 0 };

	mkrec(&in, 'a', f, 7);
	readrec(&r1, &in, 0, &rec1);
	writeall(MARC_FMT_ISO2709, &rec1, &out, &errs);
	readrec(&r2, &out, 0, &rec2);
	ck_assert_uint_eq(rec2.errors->n, 0);
	ck_assert_int_eq(rec2.charset, MARC_CS_UTF8);
	same_fields(&rec1, &rec2);

	/* Writing twice into one buffer appends, and output is stable. */
	marc_writer_init(&w, MARC_FMT_ISO2709);
	ck_assert_int_eq(marc_writer_record(&w, &out2, &rec2, &errs), 0);
	ck_assert_int_eq(marc_writer_record(&w, &out2, &rec2, &errs), 0);
	ck_assert_uint_eq(out2.len, 2 * out.len);
	ck_assert(memcmp(out2.p, out.p, out.len) == 0);
	ck_assert(memcmp(out2.p + out.len, out.p, out.len) == 0);
	ck_assert_uint_eq(errs.n, 0);
	marc_writer_free(&w);
	marc_reader_free(&r1);
	marc_reader_free(&r2);
	mbuf_free(&in);
	mbuf_free(&out);
	mbuf_free(&out2);
}
END_TEST

/* Transport mode keeps structural bytes and text as read; a terminator
 * goes from a tag, an indicator or a code, not from text.  A code byte
 * over 0x7F gets pymarc's code in both modes (0x80 has no letter: the
 * next one, 'x'), with a bad-subfield-code. */
START_TEST(test_iso_transport)
{
	static const char	data[] = "00000nam a2200000   4500"
	    "a\x1f" "b"				/* 24: control field */
	    "\x01\x80\x1f\x80x\x1e" "y";	/* 27: data field */
	static const struct marc_field f[] = {
		{ { '0', '0', '1' }, 0, 24, 3 },
		{ { '5', '\x01', '0' }, 0, 27, 7 },
	};
	static const char	plain[] = "a\xef\xbf\xbd" "b\x1e"
	    "  \x1fxx\xef\xbf\xbdy\x1e\x1d";
	static const char	kept[] = "a\x1f" "b\x1e"
	    "\x01\x80\x1fxx\x1ey\x1e\x1d";
	struct marc_record	rec;
	struct marc_writer	w;
	struct mbuf		out = { 0 };
	struct marc_errlist	errs = { 0 };

	mkview(&rec, data, sizeof data - 1, MARC_CS_UTF8, f, 2);
	marc_writer_init(&w, MARC_FMT_ISO2709);
	ck_assert_int_eq(marc_writer_record(&w, &out, &rec, &errs), 0);
	ck_assert_uint_eq(out.len, 49 + sizeof plain - 1);
	ck_assert(memcmp(out.p + 49, plain, sizeof plain - 1) == 0);
	ck_assert(memcmp(out.p + 36, "5 0", 3) == 0);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.e[0].code, MARC_E_SUBFIELD_CODE);
	ck_assert_uint_eq(errs.e[0].offset, 27 + 3);

	w.transport = 1;
	out.len = 0;
	errs.n = 0;
	ck_assert_int_eq(marc_writer_record(&w, &out, &rec, &errs), 0);
	ck_assert_uint_eq(out.len, 49 + sizeof kept - 1);
	ck_assert(memcmp(out.p + 49, kept, sizeof kept - 1) == 0);
	ck_assert(memcmp(out.p + 36, "5\x01" "0", 3) == 0);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.e[0].code, MARC_E_SUBFIELD_CODE);
	marc_writer_free(&w);
	mbuf_free(&out);
}
END_TEST

/*
 * Transport mode copies plain ASCII fields of a MARC-8 record as they are;
 * anything the subfield walk or the decoder would change still changes,
 * on either side of the sixteen-byte steps of the scan.
 */
START_TEST(test_iso_transport_plain)
{
	static const struct tf	f[] = {
		{ "001", "ab" SF "c" },				/* kept */
		{ "245", "10" SF "aHello" SF "bWorld" },	/* kept */
		{ "246", "10xy" SF "aX" },			/* junk */
		{ "500", "  " SF "axxxxxxxxxxx" SF SF "bY" },	/* 15, 16 */
		{ "501", "  " SF "aX" SF },			/* lone end */
		{ "502", "  " SF "axxxxxxxxxxxxx" SF SF "bYZ" },	/* 17, 18 */
		{ "503", "  " SF "a\x1b(BX" },			/* ESC */
		{ "504", "  " SF "axxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
		{ "505", "1" },					/* short */
	};
	static const char	*want[] = {
		"ab" SF "c",
		"10" SF "aHello" SF "bWorld",
		"10" SF "aX",
		"  " SF "axxxxxxxxxxx" SF "bY",
		"  " SF "aX",
		"  " SF "axxxxxxxxxxxxx" SF "bYZ",
		"  " SF "aX",
		"  " SF "axxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		"1 ",
	};
	struct marc_reader	r1, r2;
	struct marc_record	rec1, rec2;
	struct marc_writer	w;
	struct mbuf		in = { 0 }, out = { 0 };
	struct marc_errlist	errs = { 0 };
	size_t			i, n = sizeof(f) / sizeof(f[0]);

	mkrec(&in, ' ', f, (int)n);
	readrec(&r1, &in, 0, &rec1);
	ck_assert_int_eq(rec1.charset, MARC_CS_MARC8);
	marc_writer_init(&w, MARC_FMT_ISO2709);
	w.transport = 1;
	ck_assert_int_eq(marc_writer_record(&w, &out, &rec1, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	readrec(&r2, &out, 0, &rec2);
	ck_assert_uint_eq(rec2.nfields, n);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(rec2.fields[i].len, strlen(want[i]));
		ck_assert_msg(memcmp(rec2.data + rec2.fields[i].off, want[i],
		    strlen(want[i])) == 0, "field %zu", i);
	}
	marc_writer_free(&w);
	marc_reader_free(&r1);
	marc_reader_free(&r2);
	mbuf_free(&in);
	mbuf_free(&out);
}
END_TEST

/*
 * A record terminator inside text stays in transport mode while the
 * record's length digits are exact (the length, landing on the last 0x1D,
 * ends it), and becomes U+FFFD in a record over 99,999 bytes, which the
 * first 0x1D would end.
 */
START_TEST(test_iso_transport_rt)
{
	static const struct tf	f[] = { { "500", "  " SF "ax\x1dy" } };
	struct marc_field	big[12];
	struct marc_reader	r1, r2;
	struct marc_record	rec1, rec2;
	struct marc_writer	w;
	struct mbuf		in = { 0 }, out = { 0 };
	struct marc_errlist	errs = { 0 };
	char			*data;
	size_t			 i, flen = 10001, len = 24 + 12 * flen;

	marc_writer_init(&w, MARC_FMT_ISO2709);
	w.transport = 1;
	mkrec(&in, 'a', f, 1);
	readrec(&r1, &in, 0, &rec1);
	ck_assert_int_eq(marc_writer_record(&w, &out, &rec1, &errs), 0);
	readrec(&r2, &out, 0, &rec2);
	ck_assert_uint_eq(rec2.nfields, 1);
	ck_assert_uint_eq(rec2.fields[0].len, 7);
	ck_assert(memcmp(rec2.data + rec2.fields[0].off, "  " SF "ax\x1dy",
	    7) == 0);
	marc_reader_free(&r1);
	marc_reader_free(&r2);

	data = malloc(len);
	ck_assert_ptr_nonnull(data);
	memcpy(data, "00000nam a2200000   4500", 24);
	for (i = 0; i < 12; i++) {
		memcpy(big[i].tag, "500", 3);
		big[i].flags = 0;
		big[i].off = (uint32_t)(24 + i * flen);
		big[i].len = (uint32_t)flen;
		memcpy(data + big[i].off, "  " SF "a", 4);
		memset(data + big[i].off + 4, 'x', flen - 4);
	}
	data[24 + 5 * flen + 100] = MARC_RT;
	mkview(&rec1, data, len, MARC_CS_UTF8, big, 12);
	out.len = 0;
	ck_assert_int_eq(marc_writer_record(&w, &out, &rec1, &errs), 0);
	ck_assert_uint_gt(out.len, 99999);
	ck_assert_ptr_null(memchr(out.p + 24, MARC_RT, out.len - 25));
	ck_assert_uint_eq(out.p[out.len - 1], MARC_RT);
	ck_assert_uint_eq(errs.n, 0);
	free(data);
	marc_writer_free(&w);
	mbuf_free(&in);
	mbuf_free(&out);
}
END_TEST

/*
 * A record the worker must convert (it has an error) goes through a block
 * whole even when a record terminator it keeps in a tag or field is
 * followed by what looks like a leader: the conversion is read back as one
 * record, not cut at that terminator.
 */
START_TEST(test_chunk_inner_rt)
{
	static const char	data[] = "00000nam a2200000   4500"
	    "  " SF "ax\x1d" "00000nam a2200000   4500y"	/* 24 */
	    "10" SF "bz";				/* 55 */
	static const struct marc_field f[] = {
		{ { '5', '0', '0' }, 0, 24, 31 },
		{ { '\x80', 'P', '\x1d' }, 0, 55, 5 },
	};
	static uint64_t		blk[8192];
	struct marc_record	rec, back;
	struct marc_errlist	errs = { 0 };
	struct chunk_writer	cw;
	struct chunk_view	v;
	struct chunk_rec_errs	re;
	struct marc_field	*fields = NULL;
	uint32_t		cap = 0, i;

	mkview(&rec, data, sizeof data - 1, MARC_CS_UTF8, f, 2);
	rec.leader = rec.data;
	marc_errlist_add(&errs, MARC_E_DIRECTORY, 1, 30);
	rec.errors = &errs;
	chunk_writer_init(&cw);
	chunk_begin(&cw, (uint8_t *)blk, sizeof blk, 1, 0, 0);
	ck_assert_int_eq(chunk_add(&cw, MARC_NEXT_RECORD, &rec), 0);
	chunk_finish(&cw, sizeof data - 1, 1, 0);
	ck_assert_int_eq(chunk_open(&v, (uint8_t *)blk, sizeof blk), 0);
	ck_assert_uint_eq(v.nrecords, 1);
	ck_assert_int_eq(chunk_record(&v, 0, &back, &fields, &cap, &re), 0);
	ck_assert_uint_eq(back.nfields, 2);
	ck_assert_uint_eq(re.n, 1);
	for (i = 0; i < 2; i++) {
		ck_assert(memcmp(back.fields[i].tag, f[i].tag, 3) == 0);
		ck_assert_uint_eq(back.fields[i].len, f[i].len);
		ck_assert(memcmp(back.data + back.fields[i].off,
		    data + f[i].off, f[i].len) == 0);
	}
	free(fields);
	chunk_writer_free(&cw);
}
END_TEST

/* Lengths and offsets too large for their digits are written as zeros. */
START_TEST(test_iso_oversized)
{
	struct tf		f[12];
	struct marc_reader	r1, r2;
	struct marc_record	rec1, rec2;
	struct mbuf		in = { 0 }, out = { 0 };
	struct marc_errlist	errs = { 0 };
	char			*big;
	size_t			 i;

	big = malloc(10001);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "  " SF "a", 4);
	memset(big + 4, 'x', 9996);
	big[10000] = '\0';			/* 10,000 bytes + FT */
	f[0].tag = "001";
	f[0].data = "1";
	f[1].tag = "500";
	f[1].data = big;
	mkrec(&in, 'a', f, 2);
	readrec(&r1, &in, 0, &rec1);
	writeall(MARC_FMT_ISO2709, &rec1, &out, &errs);
	ck_assert(memcmp(out.p + 24, "001000200000", 12) == 0);
	ck_assert(memcmp(out.p + 36, "500000000002", 12) == 0);
	ck_assert(memcmp(out.p, "10053", 5) == 0);
	readrec(&r2, &out, 0, &rec2);
	same_fields(&rec1, &rec2);
	marc_reader_free(&r1);
	marc_reader_free(&r2);

	/* Over 99,999 bytes: record length and late offsets are zeros. */
	for (i = 0; i < 12; i++) {
		f[i].tag = "500";
		f[i].data = big;
	}
	mkrec(&in, 'a', f, 12);
	readrec(&r1, &in, 0, &rec1);
	ck_assert_uint_eq(rec1.nfields, 12);
	writeall(MARC_FMT_ISO2709, &rec1, &out, &errs);
	ck_assert_uint_eq(out.len, 24 + 12 * 12 + 1 + 12 * 10001 + 1);
	ck_assert(memcmp(out.p, "00000", 5) == 0);
	ck_assert(memcmp(out.p + 12, "00169", 5) == 0);
	ck_assert(memcmp(out.p + 24 + 9 * 12, "500000090009", 12) == 0);
	ck_assert(memcmp(out.p + 24 + 10 * 12, "500000000000", 12) == 0);
	readrec(&r2, &out, 0, &rec2);
	same_fields(&rec1, &rec2);
	ck_assert_uint_eq(errs.n, 0);
	marc_reader_free(&r1);
	marc_reader_free(&r2);
	free(big);
	mbuf_free(&in);
	mbuf_free(&out);
}
END_TEST

/* Empty subfields (delimiter then delimiter or end) are not written. */
START_TEST(test_empty_subfields)
{
	static const struct tf	f[] = {
		{ "245", "10" SF SF "aX" SF SF "b" SF },
	};
	struct marc_reader	r;
	struct marc_record	rec;
	struct mbuf		in = { 0 }, out = { 0 };
	struct marc_errlist	errs = { 0 };

	mkrec(&in, 'a', f, 1);
	readrec(&r, &in, 0, &rec);
	expect(MARC_FMT_MARCJSON, &rec, "{\"leader\":\"00049nam a2200037   "
	    "4500\",\"fields\":[{\"245\":{\"subfields\":[{\"a\":\"X\"},"
	    "{\"b\":\"\"}],\"ind1\":\"1\",\"ind2\":\"0\"}}]}\n", 0);
	expect(MARC_FMT_MRK, &rec, "=LDR  00049nam\\a2200037\\\\\\4500\n"
	    "=245  10$aX$b\n\n", 0);
	writeall(MARC_FMT_ISO2709, &rec, &out, &errs);
	ck_assert(memcmp(out.p + 37, "10\x1f" "aX\x1f" "b\x1e\x1d", 9) == 0);
	ck_assert_uint_eq(out.len, 46);
	marc_reader_free(&r);
	mbuf_free(&in);
	mbuf_free(&out);
}
END_TEST

/* A data field under two bytes: the missing indicators read as blanks. */
START_TEST(test_short_datafield)
{
	static const char	data[] = "00000nam a2200000   4500" "1";
	static const struct marc_field f[] = {
		{ { '5', '0', '0' }, 0, 24, 1 },
		{ { '5', '0', '1' }, 0, 25, 0 },
		{ { '5', '0', '2' }, 0, 99, 9 },	/* past the end */
	};
	struct marc_record	rec;
	struct mbuf		out = { 0 };
	struct marc_errlist	errs = { 0 };

	mkview(&rec, data, sizeof data - 1, MARC_CS_UTF8, f, 3);
	expect(MARC_FMT_MARCJSON, &rec, "{\"leader\":\"00000nam a2200000   "
	    "4500\",\"fields\":["
	    "{\"500\":{\"subfields\":[],\"ind1\":\"1\",\"ind2\":\" \"}},"
	    "{\"501\":{\"subfields\":[],\"ind1\":\" \",\"ind2\":\" \"}},"
	    "{\"502\":{\"subfields\":[],\"ind1\":\" \",\"ind2\":\" \"}}]}\n",
	    0);
	expect(MARC_FMT_MRK, &rec, "=LDR  00000nam\\a2200000\\\\\\4500\n"
	    "=500  1\\\n=501  \\\\\n=502  \\\\\n\n", 0);
	expect(MARC_FMT_MARCXML, &rec, XML_HEAD "<record>\n"
	    "  <leader>00000nam a2200000   4500</leader>\n"
	    "  <datafield tag=\"500\" ind1=\"1\" ind2=\" \">\n  </datafield>\n"
	    "  <datafield tag=\"501\" ind1=\" \" ind2=\" \">\n  </datafield>\n"
	    "  <datafield tag=\"502\" ind1=\" \" ind2=\" \">\n  </datafield>\n"
	    "</record>\n" XML_TAIL, 0);
	writeall(MARC_FMT_ISO2709, &rec, &out, &errs);
	ck_assert_uint_eq(out.len, 24 + 36 + 1 + 9 + 1);
	ck_assert(memcmp(out.p + 61, "1 \x1e  \x1e  \x1e\x1d", 10) == 0);
	mbuf_free(&out);
}
END_TEST

/* MARC-8 data is converted (combining mark after its base, NFC). */
START_TEST(test_marc8)
{
	static const struct tf	f[] = {
		{ "001", "x\xff" "y" },
		{ "245", "10" SF "aCaf\xe2" "e" SF "bplain" },
	};
	struct marc_reader	r;
	struct marc_record	rec;
	struct mbuf		in = { 0 };

	mkrec(&in, ' ', f, 2);
	readrec(&r, &in, 100, &rec);
	ck_assert_int_eq(rec.charset, MARC_CS_MARC8);
	expect(MARC_FMT_MARCJSON, &rec, "{\"leader\":\"00071nam a2200049   "
	    "4500\",\"fields\":[{\"001\":\"x\xef\xbf\xbdy\"},"
	    "{\"245\":{\"subfields\":[{\"a\":\"Caf\xc3\xa9\"},"
	    "{\"b\":\"plain\"}],\"ind1\":\"1\",\"ind2\":\"0\"}}]}\n", 1);
	marc_reader_free(&r);
	mbuf_free(&in);
}
END_TEST

/* MARC-8 problems are reported at their offsets in the whole input. */
START_TEST(test_marc8_error_offset)
{
	static const struct tf	f[] = {
		{ "001", "x\xff" "y" },
	};
	struct marc_reader	r;
	struct marc_record	rec;
	struct mbuf		in = { 0 }, out = { 0 };
	struct marc_errlist	errs = { 0 };

	mkrec(&in, ' ', f, 1);
	readrec(&r, &in, 100, &rec);
	writeall(MARC_FMT_MARCJSON, &rec, &out, &errs);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.e[0].code, MARC_E_MARC8_CHAR);
	ck_assert_uint_eq(errs.e[0].offset, 100 + 37 + 1);
	errs.n = 0;
	ck_assert_int_eq(marc_record_check_text(&rec, &out, &errs), 0);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.e[0].offset, 100 + 37 + 1);
	marc_reader_free(&r);
	mbuf_free(&in);
	mbuf_free(&out);
}
END_TEST

/* Remove every copy of pat from the C string s, in place. */
static void
strip(char *s, const char *pat)
{
	size_t	n = strlen(pat);
	char	*p;

	while ((p = strstr(s, pat)) != NULL)
		memmove(p, p + n, strlen(p + n) + 1);
}

/* A control field and a data field holding pre, the bytes b[0..bn), post. */
static void
padded(struct mbuf *out, int fmt, const char *pre, const uint8_t *b,
    size_t bn, const char *post)
{
	char			data[200];
	struct marc_field	f[2];
	struct marc_record	rec;
	struct marc_errlist	errs = { 0 };
	size_t			n, m;
	const char		*p;

	memcpy(data, "00000nam a2200000   4500", 24);
	n = 24;
	memcpy(data + n, pre, strlen(pre));
	n += strlen(pre);
	memcpy(data + n, b, bn);
	n += bn;
	memcpy(data + n, post, strlen(post));
	n += strlen(post);
	memcpy(f[0].tag, "001", 3);
	f[0].flags = 0;
	f[0].off = 24;
	f[0].len = (uint32_t)(n - 24);
	memcpy(data + n, "  \x1f" "a", 4);
	m = n;
	n += 4;
	memcpy(data + n, data + 24, m - 24);
	n += m - 24;
	memcpy(f[1].tag, "500", 3);
	f[1].flags = 0;
	f[1].off = (uint32_t)m;
	f[1].len = (uint32_t)(n - m);
	mkview(&rec, data, n, MARC_CS_UTF8, f, 2);
	writeall(fmt, &rec, out, &errs);
	if (fmt == MARC_FMT_ISO2709) {
		/* Only the data: lengths in the directory differ. */
		p = (const char *)out->p + 24 + 2 * 12 + 1;
		memmove(out->p, p, strlen(p) + 1);
	}
}

/*
 * The word-at-a-time scans agree with the byte tables: every byte value
 * (and a few sequences) is escaped the same alone and inside long runs, at
 * every alignment.
 */
START_TEST(test_escape_runs)
{
	static const char *const seq[] = { "\xc3\xa9", "\xef\xbf\xbe",
	    "\xef\xbf\xbf", "\xef\xbf\xbd", "\xef\xbf", "\xe2\x82\xac",
	    "\xf0\x9f\x93\x9a", "\xed\xa0\x80" };
	static const char pad[] = "QZQZQZQZQZQZQZQZQZQZ";
	struct mbuf	alone = { 0 }, runs = { 0 };
	uint8_t		b[4];
	size_t		bn;
	int		fmt, v, i, j;

	for (fmt = 0; fmt < 4; fmt++) {
		for (v = 0; v < 256 + 8; v++) {
			if (v == MARC_SD || v == 0 || v == 'Q' || v == 'Z')
				continue;
			if (v < 256) {
				b[0] = (uint8_t)v;
				bn = 1;
			} else {
				bn = strlen(seq[v - 256]);
				memcpy(b, seq[v - 256], bn);
			}
			padded(&alone, fmt, "", b, bn, "");
			for (i = 0; i <= 17; i += (i < 10 ? 1 : 7)) {
				for (j = 0; j <= 17; j += 4) {
					padded(&runs, fmt, pad + 20 - i, b, bn,
					    pad + 20 - j);
					strip((char *)runs.p, "QZ");
					strip((char *)runs.p, "Q");
					strip((char *)runs.p, "Z");
					ck_assert_msg(strcmp((char *)runs.p,
					    (char *)alone.p) == 0,
					    "format %d byte %d pad %d/%d", fmt,
					    v, i, j);
				}
			}
		}
	}
	mbuf_free(&alone);
	mbuf_free(&runs);
}
END_TEST

START_TEST(test_format_parse)
{
	struct marc_writer	w;
	struct mbuf		out = { 0 };
	struct marc_record	rec;

	ck_assert_int_eq(marc_format_parse("marcjson"), MARC_FMT_MARCJSON);
	ck_assert_int_eq(marc_format_parse("json"), MARC_FMT_MARCJSON);
	ck_assert_int_eq(marc_format_parse("marcxml"), MARC_FMT_MARCXML);
	ck_assert_int_eq(marc_format_parse("xml"), MARC_FMT_MARCXML);
	ck_assert_int_eq(marc_format_parse("mrk"), MARC_FMT_MRK);
	ck_assert_int_eq(marc_format_parse("iso2709"), MARC_FMT_ISO2709);
	ck_assert_int_eq(marc_format_parse("marc"), MARC_FMT_ISO2709);
	ck_assert_int_eq(marc_format_parse("yaml"), -1);
	ck_assert_int_eq(marc_format_parse(""), -1);

	/* An unknown format writes nothing and fails. */
	mkview(&rec, "", 0, MARC_CS_UTF8, NULL, 0);
	marc_writer_init(&w, 42);
	ck_assert_int_eq(marc_writer_begin(&w, &out), -1);
	ck_assert_int_eq(marc_writer_record(&w, &out, &rec, NULL), -1);
	ck_assert_int_eq(marc_writer_end(&w, &out), -1);
	ck_assert_uint_eq(out.len, 0);
	marc_writer_free(&w);

	/* Begin and end are empty except for XML. */
	marc_writer_init(&w, MARC_FMT_MARCJSON);
	ck_assert_int_eq(marc_writer_begin(&w, &out), 0);
	ck_assert_int_eq(marc_writer_end(&w, &out), 0);
	ck_assert_uint_eq(out.len, 0);
	marc_writer_free(&w);
	mbuf_free(&out);
}
END_TEST

/* All writer tests, by theme. */
static Suite *
write_suite(void)
{
	Suite	*s = suite_create("write");
	TCase	*tc;

	tc = tcase_create("exact");
	tcase_add_test(tc, test_json_exact);
	tcase_add_test(tc, test_xml_exact);
	tcase_add_test(tc, test_mrk_exact);
	tcase_add_test(tc, test_iso_exact);
	tcase_add_test(tc, test_format_parse);
	suite_add_tcase(s, tc);

	tc = tcase_create("escape");
	tcase_add_test(tc, test_json_escape);
	tcase_add_test(tc, test_xml_escape);
	tcase_add_test(tc, test_mrk_escape);
	tcase_add_test(tc, test_nul_and_structure_bytes);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_leader_non_ascii);
	tcase_add_test(tc, test_escape_runs);
	/* ~40,000 writes under ASan: seconds on a busy 2-core host. */
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("structure");
	tcase_add_test(tc, test_iso_roundtrip);
	tcase_add_test(tc, test_iso_transport);
	tcase_add_test(tc, test_iso_transport_plain);
	tcase_add_test(tc, test_iso_transport_rt);
	tcase_add_test(tc, test_chunk_inner_rt);
	tcase_add_test(tc, test_iso_oversized);
	tcase_add_test(tc, test_empty_subfields);
	tcase_add_test(tc, test_short_datafield);
	suite_add_tcase(s, tc);

	tc = tcase_create("marc8");
	tcase_add_test(tc, test_marc8);
	tcase_add_test(tc, test_marc8_error_offset);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; non-zero exit on any failure. */
int
main(void)
{
	return check_run(write_suite());
}
