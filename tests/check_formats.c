/*
 * tests/check_formats.c: the input formats: detection, --from names, the
 * text readers on small inputs, and the splitter's invariant: a file cut
 * into chunks at the format's record boundaries, each chunk read on its
 * own, gives every record and error exactly once and exactly as reading
 * the whole file does, whatever the chunk size.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "format.h"
#include "input.h"
#include "write.h"

/* Everything a reading gives, as text: items, errors, records as marcjson. */
static uint32_t
read_all(int from, const uint8_t *buf, size_t len, size_t size,
    struct mbuf *out)
{
	struct marc_freader	r;
	struct marc_writer	w;
	struct marc_record	rec;
	struct marc_errlist	errs;
	char			line[96];
	uint64_t		k;
	size_t			s, e;
	uint32_t		recno = 0, nrec = 0, i;
	int			rc;

	memset(&r, 0, sizeof r);
	marc_writer_init(&w, MARC_FMT_MARCJSON);
	out->len = 0;
	for (k = 0; k * size < len || k == 0; k++) {
		marc_from_range_bounds(from, buf, len, k * size, size, &s, &e);
		if (e <= s)
			continue;
		ck_assert_int_eq(marc_freader_init_range(&r, from, buf, s, e,
		    len, MARC_CS_AUTO, recno), 0);
		while ((rc = marc_freader_next(&r, &rec)) != MARC_NEXT_END) {
			ck_assert_int_ge(rc, 0);
			for (i = 0; i < rec.errors->n; i++) {
				snprintf(line, sizeof line, "E %u %u %llu\n",
				    rec.errors->e[i].code,
				    rec.errors->e[i].recno,
				    (unsigned long long)rec.errors->e[i].offset);
				ck_assert_int_eq(mbuf_adds(out, line), 0);
			}
			if (rc != MARC_NEXT_RECORD)
				continue;
			nrec++;
			snprintf(line, sizeof line, "R %u %llu ", rec.recno,
			    (unsigned long long)rec.offset);
			memset(&errs, 0, sizeof errs);
			ck_assert_int_eq(mbuf_adds(out, line), 0);
			ck_assert_int_eq(marc_writer_record(&w, out, &rec,
			    &errs), 0);
		}
		recno = r.r.recno;
	}
	marc_freader_free(&r);
	marc_writer_free(&w);
	return nrec;
}

/* Count the records of a string in a format, and its errors. */
static uint32_t
count_str(int from, const char *s, uint32_t *nerr, struct mbuf *out)
{
	uint32_t	 n;
	const char	*p;

	n = read_all(from, (const uint8_t *)s, strlen(s), MARC_SLICE_SIZE,
	    out);
	*nerr = 0;
	for (p = (const char *)out->p; p && p < (const char *)out->p +
	    out->len; p = memchr(p, '\n', (size_t)((const char *)out->p +
	    out->len - p)), p = p ? p + 1 : NULL)
		if (*p == 'E')
			(*nerr)++;
	return n;
}

START_TEST(test_detect)
{
	struct mbuf	out = { NULL, 0, 0 };
	uint32_t	n, nerr;

	ck_assert_int_eq(marc_from_detect((const uint8_t *)"", 0),
	    MARC_FROM_ISO2709);
	ck_assert_int_eq(marc_from_detect((const uint8_t *)"00714cam", 8),
	    MARC_FROM_ISO2709);
	ck_assert_int_eq(marc_from_detect((const uint8_t *)
	    "\xEF\xBB\xBF \n<?xml", 10), MARC_FROM_MARCXML);
	ck_assert_int_eq(marc_from_detect((const uint8_t *)"  [{", 4),
	    MARC_FROM_MARCJSON);
	ck_assert_int_eq(marc_from_detect((const uint8_t *)"{\"leader\"", 9),
	    MARC_FROM_MARCJSON);
	ck_assert_int_eq(marc_from_detect((const uint8_t *)"\n=LDR  0", 8),
	    MARC_FROM_MRK);
	ck_assert_int_eq(marc_from_detect((const uint8_t *)"hello", 5),
	    MARC_FROM_UNKNOWN);
	ck_assert_int_eq(marc_from_detect((const uint8_t *)"\x1f\x8b\x08", 3),
	    MARC_FROM_UNKNOWN);
	ck_assert_int_eq(marc_from_detect((const uint8_t *)"0071x", 5),
	    MARC_FROM_UNKNOWN);
	ck_assert_int_eq(marc_from_parse("marcxml"), MARC_FROM_MARCXML);
	ck_assert_int_eq(marc_from_parse("json"), MARC_FROM_MARCJSON);
	ck_assert_int_eq(marc_from_parse("mrk"), MARC_FROM_MRK);
	ck_assert_int_eq(marc_from_parse("iso2709"), MARC_FROM_ISO2709);
	ck_assert_int_eq(marc_from_parse("csv"), MARC_FROM_UNKNOWN);
	ck_assert_str_eq(marc_from_name(MARC_FROM_MRK), "mrk");
	/* A bare "=LDR" at the end of the input (a fuzzing finding). */
	n = count_str(MARC_FROM_MRK, "=LDR", &nerr, &out);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(nerr, 1);
	mbuf_free(&out);
	ck_assert_str_eq(marc_code_name(MARC_E_BAD_XML), "bad-xml");
	ck_assert_str_eq(marc_code_name(MARC_E_BAD_JSON), "bad-json");
	ck_assert_str_eq(marc_code_name(MARC_E_BAD_MRK), "bad-mrk");
	ck_assert_str_eq(marc_code_name(MARC_E_UNKNOWN_FORMAT),
	    "unknown-format");
	ck_assert_str_eq(marc_code_name(MARC_E_BAD_COMPRESSION),
	    "bad-compression");
}
END_TEST

/* The same record in every text format gives the same marcjson. */
START_TEST(test_same_record)
{
	static const char *want = "{\"leader\":\"00000nam a2200000 a 4500\","
	    "\"fields\":[{\"001\":\"x1\"},{\"245\":{\"subfields\":[{\"a\":"
	    "\"A $ {b} \\\\ \\u00e9\xc3\xa9\"}],\"ind1\":\"1\",\"ind2\":\" \"}}]}\n";
	static const char *in[3] = {
	    "<record xmlns='http://www.loc.gov/MARC21/slim'><leader>00000nam "
	    "a2200000 a 4500</leader><controlfield tag='001'>x1</controlfield>"
	    "<datafield tag='245' ind1='1' ind2=' '><subfield code='a'>A $ "
	    "{b} \\ &#xe9;\xc3\xa9</subfield></datafield></record>",
	    "{\"leader\":\"00000nam a2200000 a 4500\",\"fields\":[{\"001\":"
	    "\"x1\"},{\"245\":{\"ind2\":\" \",\"subfields\":[{\"a\":\"A $ {b}"
	    " \\\\ \\u00e9\xc3\xa9\"}],\"ind1\":\"1\"}}]}",
	    "=LDR  00000nam\\a2200000\\a\\4500\n=001  x1\n=245  1\\$aA "
	    "{dollar} {lcub}b{rcub} {bsol} \xc3\xa9\xc3\xa9\n",
	};
	static const int from[3] = { MARC_FROM_MARCXML, MARC_FROM_MARCJSON,
	    MARC_FROM_MRK };
	struct mbuf	out = { NULL, 0, 0 };
	uint32_t	nerr;
	int		i;
	char		*p;

	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(count_str(from[i], in[i], &nerr, &out), 1);
		ck_assert_uint_eq(nerr, 0);
		ck_assert_int_eq(mbuf_addc(&out, 0), 0);
		p = strchr((char *)out.p, '{');
		ck_assert_ptr_nonnull(p);
		/* "\u00e9" as written by JSON: the writer keeps é as is. */
		ck_assert_msg(strncmp(p, want, 80) == 0, "%d: %s", i, p);
	}
	mbuf_free(&out);
}
END_TEST

/* A broken record costs only itself, in every format. */
START_TEST(test_broken_record_alone)
{
	static const char *in[3] = {
	    "<collection xmlns='http://www.loc.gov/MARC21/slim'>"
	    "<record><leader>00000nam a2200000 a 4500</leader><controlfield "
	    "tag='001'>1</controlfield></record>"
	    "<record><leader>00000nam a2200000 a 4500</leader><controlfield "
	    "tag='001'>2</controlfield><b></record>"
	    "<record><leader>00000nam a2200000 a 4500</leader><controlfield "
	    "tag='001'>3</controlfield></record></collection>",
	    "[{\"leader\":\"00000nam a2200000 a 4500\",\"fields\":[{\"001\":"
	    "\"1\"}]},{\"leader\":\"00000nam a2200000 a 4500\",\"fields\":"
	    "[{\"001\" \"2\"}]},{\"leader\":\"00000nam a2200000 a 4500\","
	    "\"fields\":[{\"001\":\"3\"}]}]",
	    "=LDR  00000nam a2200000 a 4500\n=001  1\n\n"
	    "=LDR  00000nam a22\n=001  2\n\n"
	    "=LDR  00000nam a2200000 a 4500\n=001  3\n",
	};
	static const int from[3] = { MARC_FROM_MARCXML, MARC_FROM_MARCJSON,
	    MARC_FROM_MRK };
	static const uint32_t want[3] = { 2, 2, 3 };
	struct mbuf	out = { NULL, 0, 0 };
	uint32_t	nerr;
	int		i;

	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(count_str(from[i], in[i], &nerr, &out),
		    want[i]);
		ck_assert_uint_ge(nerr, 1);
		ck_assert_int_eq(mbuf_addc(&out, 0), 0);
		ck_assert_msg(strstr((char *)out.p, "\"001\":\"3\"") != NULL,
		    "%d: record 3 lost: %s", i, (char *)out.p);
		ck_assert_msg(strstr((char *)out.p, "R 3 ") != NULL,
		    "%d: record 3 numbered: %s", i, (char *)out.p);
	}
	mbuf_free(&out);
}
END_TEST

/* An OAI-PMH envelope: the MARC records, not the wrappers. */
START_TEST(test_oai_envelope)
{
	static const char *in = "<?xml version='1.0'?><OAI-PMH xmlns="
	    "'http://www.openarchives.org/OAI/2.0/'><ListRecords xmlns:m="
	    "'http://www.loc.gov/MARC21/slim'><record><header/><metadata>"
	    "<m:record><m:leader>00000nam a2200000 a 4500</m:leader>"
	    "<m:controlfield tag='001'>1</m:controlfield></m:record></metadata>"
	    "</record><record><header status='deleted'/></record><record>"
	    "<header/><metadata><m:record><m:leader>00000nam a2200000 a 4500"
	    "</m:leader><m:controlfield tag='001'>2</m:controlfield></m:record>"
	    "</metadata></record></ListRecords></OAI-PMH>";
	struct mbuf	out = { NULL, 0, 0 };
	uint32_t	nerr;

	ck_assert_uint_eq(count_str(MARC_FROM_MARCXML, in, &nerr, &out), 2);
	ck_assert_uint_eq(nerr, 0);
	/* Cut short: the records before the cut, and an error. */
	ck_assert_uint_eq(count_str(MARC_FROM_MARCXML, "<a xmlns:m='http://"
	    "www.loc.gov/MARC21/slim'><m:record><m:leader>00000nam a2200000 a "
	    "4500</m:leader><m:controlfield tag='001'>1</m:controlfield>"
	    "</m:record><b>", &nerr, &out), 1);
	ck_assert_uint_eq(nerr, 1);
	mbuf_free(&out);
}
END_TEST

/*
 * A chunk that ends where a record nested in another `record` starts must
 * not take the outer one for a record (a fuzzing finding).
 */
START_TEST(test_nested_cut)
{
	static const char *in = "<c><record> text <record><leader>00000nam"
	    " a2200000 a 4500</leader><controlfield tag='001'>1</controlfield>"
	    "</record></record></c>";
	struct mbuf	 whole = { NULL, 0, 0 }, cut = { NULL, 0, 0 };
	size_t		 len = strlen(in), at = (size_t)(strstr(in, "<record") -
			    in);

	ck_assert_uint_eq(read_all(MARC_FROM_MARCXML, (const uint8_t *)in,
	    len, len + 1, &whole), 1);
	ck_assert_uint_eq(read_all(MARC_FROM_MARCXML, (const uint8_t *)in,
	    len, at + 1, &cut), 1);
	ck_assert(cut.len == whole.len && memcmp(cut.p, whole.p, whole.len) ==
	    0);
	mbuf_free(&whole);
	mbuf_free(&cut);
}
END_TEST

#define XR_HEAD	"<collection xmlns='http://www.loc.gov/MARC21/slim'>"
#define XR(id, text) "<record><leader>00000nam a2200000 a 4500</leader>" \
	"<controlfield tag='001'>" id "</controlfield><datafield tag='245' " \
	"ind1='0' ind2='0'><subfield code='a'>" text "</subfield></datafield>" \
	"</record>"

/*
 * The head's DOCTYPE: its internal entities serve every record; an external
 * one is never loaded and reads as nothing; an undeclared one breaks only
 * its record.
 */
START_TEST(test_xml_entities)
{
	static const char *in = "<?xml version='1.0'?>\n<!DOCTYPE collection "
	    "[<!ENTITY e 'ent&#233;'> <!ENTITY x SYSTEM '/etc/hostname'> "
	    "<!ENTITY % p 'ignored'>]>\n" XR_HEAD XR("1", "a &e; b") "\n"
	    XR("2", "c &x;d") "\n" XR("3", "&nope;") "\n" XR("4", "&e;&e;")
	    "</collection>\n";
	struct mbuf	out = { NULL, 0, 0 };
	uint32_t	nerr;

	ck_assert_uint_eq(count_str(MARC_FROM_MARCXML, in, &nerr, &out), 3);
	ck_assert_uint_eq(nerr, 1);
	ck_assert_int_eq(mbuf_addc(&out, 0), 0);
	ck_assert_msg(strstr((char *)out.p, "\"a\":\"a ent\xc3\xa9 b\"") &&
	    strstr((char *)out.p, "\"a\":\"c d\"") &&
	    strstr((char *)out.p, "\"a\":\"ent\xc3\xa9" "ent\xc3\xa9\""),
	    "%s", (char *)out.p);
	ck_assert_msg(strstr((char *)out.p, "E 16 3 ") != NULL, "%s",
	    (char *)out.p);
	mbuf_free(&out);
}
END_TEST

/* Entities that expand without end are refused, and cost one record. */
START_TEST(test_xml_entity_bomb)
{
	struct mbuf	in = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	char		decl[128];
	uint32_t	nerr;
	int		i, j;

	ck_assert_int_eq(mbuf_adds(&in, "<!DOCTYPE collection [<!ENTITY l0 "
	    "'lollollollollollollollollollol'>"), 0);
	for (i = 1; i <= 12; i++) {
		snprintf(decl, sizeof decl, "<!ENTITY l%d '", i);
		ck_assert_int_eq(mbuf_adds(&in, decl), 0);
		for (j = 0; j < 10; j++) {
			snprintf(decl, sizeof decl, "&l%d;", i - 1);
			ck_assert_int_eq(mbuf_adds(&in, decl), 0);
		}
		ck_assert_int_eq(mbuf_adds(&in, "'>"), 0);
	}
	ck_assert_int_eq(mbuf_adds(&in, "]>" XR_HEAD XR("1", "&l12;")
	    XR("2", "after") "</collection>"), 0);
	ck_assert_int_eq(mbuf_addc(&in, 0), 0);
	ck_assert_uint_eq(count_str(MARC_FROM_MARCXML, (char *)in.p, &nerr,
	    &out), 1);
	ck_assert_uint_eq(nerr, 1);
	ck_assert_int_eq(mbuf_addc(&out, 0), 0);
	ck_assert_msg(strstr((char *)out.p, "\"a\":\"after\""), "%s",
	    (char *)out.p);
	mbuf_free(&in);
	mbuf_free(&out);
}
END_TEST

/*
 * A record that is not well-formed (and has no element MARCXML lacks) is
 * one error: the parser's reset for the next record adds none.
 */
START_TEST(test_xml_one_error)
{
	static const char *in = XR_HEAD XR("1", "a") XR("2", "b & c")
	    XR("3", "d") "</collection>";
	struct mbuf	out = { NULL, 0, 0 };
	uint32_t	nerr;
	const char	*e;

	ck_assert_uint_eq(count_str(MARC_FROM_MARCXML, in, &nerr, &out), 2);
	ck_assert_uint_eq(nerr, 1);
	ck_assert_int_eq(mbuf_addc(&out, 0), 0);
	/* The error is in record 2, at or after the '&'. */
	e = strstr((char *)out.p, "E 16 2 ");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_ge(strtoul(e + 7, NULL, 10),
	    (unsigned long)(strchr(in, '&') - in));
	ck_assert_uint_lt(strtoul(e + 7, NULL, 10),
	    (unsigned long)(strstr(in, "<record><leader>00000nam a2200000 a "
	    "4500</leader><controlfield tag='001'>3") - in));
	mbuf_free(&out);
}
END_TEST

/*
 * Namespace errors are XML errors: a prefix bound to nothing breaks its
 * record (libxml2 alone would let it through).
 */
START_TEST(test_xml_unbound_prefix)
{
	static const char *in = XR_HEAD XR("1", "a") "<m:record><m:leader>"
	    "00000nam a2200000 a 4500</m:leader><m:controlfield tag='001'>2"
	    "</m:controlfield></m:record>" XR("3", "c") "</collection>";
	struct mbuf	out = { NULL, 0, 0 };
	uint32_t	nerr;

	ck_assert_uint_eq(count_str(MARC_FROM_MARCXML, in, &nerr, &out), 2);
	ck_assert_uint_eq(nerr, 1);
	mbuf_free(&out);
}
END_TEST

/*
 * A head whose prefix is made of Latin-1 bytes that are no name in the
 * records' parser: once "out of memory" and nothing read; now the head is
 * an error and each record using the prefix is one, the reader going on.
 */
START_TEST(test_xml_prefix_unreadable)
{
	static const char *in = "<?xml version='1.0' encoding='ISO-8859-1'?>"
	    "<m:collection xmlns:\xff\xffm='http://www.loc.gov/MARC21/slim'>"
	    "<m:record><m:leader>00000nam a2200000 a 4500</m:leader>"
	    "<m:controlfield tag='001'>1</m:controlfield></m:record>"
	    "<m:record><m:leader>00000nam a2200000 a 4500</m:leader>"
	    "<m:controlfield tag='001'>2</m:controlfield></m:record>"
	    "</m:collection>";
	struct mbuf	out = { NULL, 0, 0 };
	uint32_t	nerr;

	ck_assert_uint_eq(count_str(MARC_FROM_MARCXML, in, &nerr, &out), 0);
	ck_assert_uint_ge(nerr, 2);
	mbuf_free(&out);
}
END_TEST

/* Text after a JSON record's object (here an open string) is an error of
 * that record and never reaches the next one: read whole or cut into 30
 * byte slices, the same items (make fuzz found the difference). */
START_TEST(test_json_trailing_text)
{
	static const char *in = "{\"leader\":\"00000nam a2200000 a 4500\","
	    "\"fields\":[{\"001&:\"c1\"}]}{\"leader\":\"00000nam a2200000 a "
	    "4500\",\"fields\":[{\"001\":\"c2\"}]}\"";
	struct mbuf	whole = { NULL, 0, 0 }, cut = { NULL, 0, 0 };

	ck_assert_uint_eq(read_all(MARC_FROM_MARCJSON, (const uint8_t *)in,
	    strlen(in), MARC_SLICE_SIZE, &whole), 1);
	ck_assert_uint_eq(read_all(MARC_FROM_MARCJSON, (const uint8_t *)in,
	    strlen(in), 30, &cut), 1);
	ck_assert_uint_eq(cut.len, whole.len);
	ck_assert(memcmp(cut.p, whole.p, whole.len) == 0);
	ck_assert_ptr_nonnull(memmem(whole.p, whole.len, "E 17 2 ", 7));
	mbuf_free(&whole);
	mbuf_free(&cut);
}
END_TEST

/*
 * Raw control characters in a JSON string (a newline typed into a field):
 * the record is read with them, with one bad-json error at the first; the
 * same whole and cut; text after such a record's object is still its
 * error; a record with no control character after it reads cleanly.
 */
START_TEST(test_json_raw_controls)
{
	static const char *in = "{\"leader\":\"00000nam a2200000 a 4500\","
	    "\"fields\":[{\"245\":{\"ind1\":\"1\",\"ind2\":\"0\","
	    "\"subfields\":[{\"a\":\"one\ntwo\\\"\tthree\"}]}}]}\n"
	    "{\"leader\":\"00000nam a2200000 a 4500\",\"fields\":"
	    "[{\"001\":\"c\r2\"}]} x\n"
	    "{\"leader\":\"00000nam a2200000 a 4500\",\"fields\":"
	    "[{\"001\":\"c3\"}]}\n";
	struct mbuf	whole = { NULL, 0, 0 }, cut = { NULL, 0, 0 };
	const char	*nl = strchr(in, '\n'), *cr = strchr(in, '\r');
	char		want[64];

	ck_assert_uint_eq(read_all(MARC_FROM_MARCJSON, (const uint8_t *)in,
	    strlen(in), MARC_SLICE_SIZE, &whole), 3);
	ck_assert_uint_eq(read_all(MARC_FROM_MARCJSON, (const uint8_t *)in,
	    strlen(in), 40, &cut), 3);
	ck_assert_uint_eq(cut.len, whole.len);
	ck_assert(memcmp(cut.p, whole.p, whole.len) == 0);
	ck_assert_int_eq(mbuf_addc(&whole, 0), 0);
	/* The values as typed; the errors where the characters are. */
	ck_assert_msg(strstr((char *)whole.p,
	    "\"a\":\"one\\ntwo\\\"\\tthree\"") != NULL, "%s", whole.p);
	ck_assert_msg(strstr((char *)whole.p, "\"001\":\"c\\r2\"") != NULL,
	    "%s", whole.p);
	snprintf(want, sizeof want, "E %u 1 %zu\n", MARC_E_BAD_JSON,
	    (size_t)(nl - in));
	ck_assert_msg(strstr((char *)whole.p, want) != NULL, "%s", whole.p);
	snprintf(want, sizeof want, "E %u 2 %zu\n", MARC_E_BAD_JSON,
	    (size_t)(cr - in));
	ck_assert_msg(strstr((char *)whole.p, want) != NULL, "%s", whole.p);
	/* " x" after the second object: one more error of record 2. */
	ck_assert_msg(strstr((char *)whole.p, "E 17 2 ") != NULL, "%s",
	    whole.p);
	ck_assert_ptr_null(strstr((char *)whole.p, "E 17 3 "));
	mbuf_free(&whole);
	mbuf_free(&cut);
}
END_TEST

/*
 * Encodings: ISO-8859-1 and US-ASCII are read; one the reader does not
 * have (libxml2 would go to iconv) is an error of the head, said once at
 * the declaration, and the records are read as UTF-8.
 */
START_TEST(test_xml_encodings)
{
	static const char *latin = "<?xml version='1.0' encoding='iso-8859-1'"
	    "?>" XR_HEAD XR("1", "caf\xe9") "</collection>";
	static const char *other = "\xEF\xBB\xBF<?xml version='1.0' "
	    "encoding='windows-1252'?>" XR_HEAD XR("1", "caf\xc3\xa9")
	    XR("2", "b") "</collection>";
	struct mbuf	out = { NULL, 0, 0 };
	uint32_t	nerr;

	ck_assert_uint_eq(count_str(MARC_FROM_MARCXML, latin, &nerr, &out),
	    1);
	ck_assert_uint_eq(nerr, 0);
	ck_assert_int_eq(mbuf_addc(&out, 0), 0);
	ck_assert_msg(strstr((char *)out.p, "\"a\":\"caf\xc3\xa9\""), "%s",
	    (char *)out.p);
	ck_assert_uint_eq(count_str(MARC_FROM_MARCXML, other, &nerr, &out),
	    2);
	ck_assert_uint_eq(nerr, 1);
	ck_assert_int_eq(mbuf_addc(&out, 0), 0);
	ck_assert_msg(strncmp((char *)out.p, "E 16 1 3\n", 9) == 0 &&
	    strstr((char *)out.p, "\"a\":\"caf\xc3\xa9\""), "%s",
	    (char *)out.p);
	mbuf_free(&out);
}
END_TEST

/*
 * In ISO-8859-1 an error's offset is still a byte of the input (libxml2
 * counts in the UTF-8 it decodes to), and the same whatever came before:
 * read whole or cut anywhere.
 */
START_TEST(test_xml_latin1_offsets)
{
	static const char *in = "<?xml version='1.0' encoding='ISO-8859-1'?>"
	    XR_HEAD XR("1", "\xe9\xe9\xe9\xe9\xe9\xe9")
	    XR("2", "\xe9\xe9<oops/>")
	    XR("3", "\xe9\xe9\xe9</wrong>")
	    XR("4", "\xe0\xe0") "</collection>";
	struct mbuf	whole = { NULL, 0, 0 }, cut = { NULL, 0, 0 };
	const char	*oops, *wrong;
	char		want[64];
	size_t		len = strlen(in), size;

	oops = strstr(in, "<oops/>");
	wrong = strstr(in, "</wrong>");
	ck_assert_uint_eq(read_all(MARC_FROM_MARCXML, (const uint8_t *)in, len,
	    len + 1, &whole), 3);
	ck_assert_int_eq(mbuf_addc(&whole, 0), 0);
	snprintf(want, sizeof want, "E 16 2 %zu\n", (size_t)(oops - in));
	ck_assert_msg(strstr((char *)whole.p, want) != NULL, "%s wanted in %s",
	    want, (char *)whole.p);
	/* Not well-formed: the parser stops inside the bad end tag. */
	snprintf(want, sizeof want, "E 16 3 ");
	ck_assert_msg(strstr((char *)whole.p, want) != NULL, "%s", whole.p);
	{
		unsigned long long at = strtoull(strstr((char *)whole.p,
		    want) + strlen(want), NULL, 10);
		ck_assert_msg(at >= (size_t)(wrong - in) &&
		    at <= (size_t)(wrong - in) + 8, "record 3 at %llu, "
		    "</wrong> at %zu", at, (size_t)(wrong - in));
	}
	whole.len--;
	for (size = 7; size < len; size += 13) {
		read_all(MARC_FROM_MARCXML, (const uint8_t *)in, len, size,
		    &cut);
		ck_assert_msg(cut.len == whole.len &&
		    memcmp(cut.p, whole.p, whole.len) == 0,
		    "cut every %zu bytes: %.*s", size, (int)cut.len,
		    (char *)cut.p);
	}
	mbuf_free(&whole);
	mbuf_free(&cut);
}
END_TEST

/* Compare whole and chunked readings of one file. */
static void
split_file(const char *path, int *nfiles)
{
	struct marc_input	in;
	struct mbuf		whole = { NULL, 0, 0 }, cut = { NULL, 0, 0 };
	size_t			sizes[5], i;
	int			from;

	ck_assert_int_eq(input_open(&in, path), 0);
	from = marc_from_detect(in.p, in.len);
	if (from == MARC_FROM_UNKNOWN || in.len == 0) {
		input_close(&in);
		return;
	}
	read_all(from, in.p, in.len, in.len + 1, &whole);
	sizes[0] = in.len / 150 + 1;
	sizes[1] = in.len / 31 + 1;
	sizes[2] = in.len / 7 + 1;
	sizes[3] = in.len / 2 + 1;
	sizes[4] = 4096;
	for (i = 0; i < 5; i++) {
		read_all(from, in.p, in.len, sizes[i], &cut);
		ck_assert_msg(cut.len == whole.len &&
		    memcmp(cut.p, whole.p, whole.len) == 0,
		    "%s: cut every %zu bytes differs from the whole", path,
		    sizes[i]);
	}
	(*nfiles)++;
	mbuf_free(&whole);
	mbuf_free(&cut);
	input_close(&in);
}

/* Every file of a directory through split_file. */
static void
split_dir(const char *dir, int *nfiles)
{
	char		 path[1024];
	DIR		*d;
	struct dirent	*de;

	d = opendir(dir);
	ck_assert_msg(d != NULL, "%s missing", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		split_file(path, nfiles);
	}
	closedir(d);
}

START_TEST(test_split_invariant)
{
	int n = 0;

	split_dir(SRCDIR "/tests/data/text/valid", &n);
	split_dir(SRCDIR "/tests/data/text/malformed", &n);
	split_dir(SRCDIR "/tests/data/text/own", &n);
	/* Fuzzer findings in the text formats, too. */
	split_dir(SRCDIR "/tests/data/fuzz-regressions", &n);
	ck_assert_int_ge(n, 100);
}
END_TEST

static Suite *
formats_suite(void)
{
	Suite	*s = suite_create("formats");
	TCase	*tc = tcase_create("formats");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_detect);
	tcase_add_test(tc, test_same_record);
	tcase_add_test(tc, test_broken_record_alone);
	tcase_add_test(tc, test_oai_envelope);
	tcase_add_test(tc, test_nested_cut);
	tcase_add_test(tc, test_xml_entities);
	tcase_add_test(tc, test_xml_entity_bomb);
	tcase_add_test(tc, test_xml_one_error);
	tcase_add_test(tc, test_xml_unbound_prefix);
	tcase_add_test(tc, test_xml_encodings);
	tcase_add_test(tc, test_xml_latin1_offsets);
	tcase_add_test(tc, test_xml_prefix_unreadable);
	tcase_add_test(tc, test_json_trailing_text);
	tcase_add_test(tc, test_json_raw_controls);
	tcase_add_test(tc, test_split_invariant);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(formats_suite());
}
