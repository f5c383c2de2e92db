/* tests/check_reader.c: leader, directory, reader and resync unit tests. */
#include "config.h"

#include <sys/mman.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "marcd/marc.h"
#include "text.h"
#include "write.h"

/* A field to build a test record from: tag and raw data (no terminator). */
struct tf {
	const char	*tag;
	const char	*data;
};

/* Build an ISO 2709 record into out (lengths overflow as marc4j writes them). */
static size_t
mkrec(uint8_t *out, char ld9, const struct tf *f, int n)
{
	size_t	base = 24 + 12 * (size_t)n + 1, pos = 0, len, i;
	char	tmp[32];

	for (i = 0; i < (size_t)n; i++)
		pos += strlen(f[i].data) + 1;
	len = base + pos + 1;
	snprintf(tmp, sizeof(tmp), "%05zunam %c22%05zu   4500", len % 100000, ld9,
	    base);
	memcpy(out, tmp, 24);
	pos = 0;
	for (i = 0; i < (size_t)n; i++) {
		size_t fl = strlen(f[i].data) + 1;
		snprintf(tmp, sizeof(tmp), "%.3s%04zu%05zu", f[i].tag, fl % 10000,
		    pos % 100000);
		memcpy(out + 24 + 12 * i, tmp, 12);
		memcpy(out + base + pos, f[i].data, fl - 1);
		out[base + pos + fl - 1] = MARC_FT;
		pos += fl;
	}
	out[24 + 12 * n] = MARC_FT;
	out[len - 1] = MARC_RT;
	return len;
}

static const struct tf F3[] = {
	{ "001", "ocm123" },
	{ "245", "10\x1f" "aTitle /\x1f" "cAuthor." },
	{ "650", " 0\x1f" "aSubject" },
};

/* Read everything; collect counts so tests can assert on them. */
struct tally {
	int		records, skipped, errors;
	uint32_t	codes[64];
	uint64_t	offsets[64];
	uint32_t	recnos[64];
	uint32_t	nfields[16];
};

static void
read_all(const uint8_t *buf, size_t len, int cs, struct tally *t)
{
	struct marc_reader	r;
	struct marc_record	rec;
	int			rc;
	uint32_t		i;

	memset(t, 0, sizeof(*t));
	marc_reader_init(&r, buf, len, cs, 0, 0);
	while ((rc = marc_reader_next(&r, &rec)) != MARC_NEXT_END) {
		ck_assert_int_ge(rc, 0);
		for (i = 0; i < rec.errors->n; i++) {
			ck_assert_uint_le(rec.errors->e[i].offset, len);
			ck_assert_uint_ge(rec.errors->e[i].recno, 1);
			if (t->errors < 64) {
				t->codes[t->errors] = rec.errors->e[i].code;
				t->offsets[t->errors] = rec.errors->e[i].offset;
				t->recnos[t->errors] = rec.errors->e[i].recno;
			}
			t->errors++;
		}
		if (rc == MARC_NEXT_SKIPPED) {
			t->skipped++;
			continue;
		}
		for (i = 0; i < rec.nfields; i++) {
			ck_assert_uint_le((size_t)rec.fields[i].off +
			    rec.fields[i].len, rec.len);
			ck_assert_uint_ge(rec.fields[i].off, MARC_LEADER_LEN);
		}
		if (t->records < 16)
			t->nfields[t->records] = rec.nfields;
		t->records++;
	}
	marc_reader_free(&r);
}

START_TEST(test_valid_record)
{
	uint8_t			buf[512];
	size_t			n = mkrec(buf, ' ', F3, 3);
	struct marc_reader	r;
	struct marc_record	rec;

	marc_reader_init(&r, buf, n, MARC_CS_AUTO, 100, 7);
	ck_assert_int_eq(marc_reader_next(&r, &rec), MARC_NEXT_RECORD);
	ck_assert_uint_eq(rec.errors->n, 0);
	ck_assert_uint_eq(rec.nfields, 3);
	ck_assert_uint_eq(rec.recno, 8);
	ck_assert_uint_eq(rec.offset, 100);
	ck_assert_uint_eq(rec.len, n);
	ck_assert_int_eq(rec.charset, MARC_CS_MARC8);
	ck_assert(memcmp(rec.fields[1].tag, "245", 3) == 0);
	ck_assert_uint_eq(rec.fields[0].len, 6);
	ck_assert(memcmp(rec.data + rec.fields[0].off, "ocm123", 6) == 0);
	ck_assert(marc_field_is_control(&rec.fields[0]));
	ck_assert(!marc_field_is_control(&rec.fields[1]));
	ck_assert_int_eq(marc_reader_next(&r, &rec), MARC_NEXT_END);
	marc_reader_free(&r);
}
END_TEST

START_TEST(test_two_records_and_filler)
{
	uint8_t		buf[1024];
	size_t		n = mkrec(buf, 'a', F3, 3);
	struct tally	t;

	memcpy(buf + n, "\r\n", 2);
	n += 2 + mkrec(buf + n + 2, 'a', F3, 2);
	buf[n++] = '\n';
	read_all(buf, n, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 2);
	ck_assert_int_eq(t.errors, 0);
	ck_assert_uint_eq(t.nfields[1], 2);
}
END_TEST

START_TEST(test_junk_between_records)
{
	uint8_t		buf[1024];
	size_t		n = mkrec(buf, 'a', F3, 3), junk;

	junk = n;
	memcpy(buf + n, "garbage!", 8);
	n += 8;
	n += mkrec(buf + n, 'a', F3, 3);
	struct tally t;
	read_all(buf, n, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 2);
	ck_assert_int_eq(t.errors, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_JUNK);
	ck_assert_uint_eq(t.offsets[0], junk);
	ck_assert_uint_eq(t.recnos[0], 2);
}
END_TEST

START_TEST(test_junk_at_end)
{
	uint8_t		buf[1024];
	size_t		n = mkrec(buf, 'a', F3, 3);
	struct tally	t;

	memcpy(buf + n, "xyz", 3);
	read_all(buf, n + 3, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 1);
	ck_assert_int_eq(t.skipped, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_JUNK);
	ck_assert_uint_eq(t.offsets[0], n);
}
END_TEST

START_TEST(test_wrong_record_length)
{
	uint8_t		buf[1024];
	size_t		n = mkrec(buf, 'a', F3, 3), n2;
	struct tally	t;

	memcpy(buf, "00090", 5);	/* too short: does not land on 0x1D */
	n2 = n + mkrec(buf + n, 'a', F3, 3);
	read_all(buf, n2, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 2);
	ck_assert_int_eq(t.errors, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_RECORD_LENGTH);
	ck_assert_uint_eq(t.offsets[0], 0);
	ck_assert_uint_eq(t.nfields[0], 3);
	ck_assert_uint_eq(t.nfields[1], 3);

	mkrec(buf, 'a', F3, 3);
	memcpy(buf, "0x1z9", 5);	/* not numeric */
	read_all(buf, n2, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 2);
	ck_assert_uint_eq(t.codes[0], MARC_E_RECORD_LENGTH);
}
END_TEST

START_TEST(test_missing_record_terminator)
{
	uint8_t		buf[1024];
	size_t		n = mkrec(buf, 'a', F3, 3), n2;
	struct tally	t;

	buf[n - 1] = MARC_FT;
	n2 = n + mkrec(buf + n, 'a', F3, 3);
	read_all(buf, n2, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 2);
	ck_assert_int_eq(t.errors, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_RECORD_TERMINATOR);
	ck_assert_uint_eq(t.offsets[0], n - 1);
}
END_TEST

START_TEST(test_truncated)
{
	uint8_t		buf[1024];
	size_t		n = mkrec(buf, 'a', F3, 3), n2;
	struct tally	t;

	n2 = n + mkrec(buf + n, 'a', F3, 3);
	read_all(buf, n2 - 20, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 2);	/* the first whole, the second salvaged */
	ck_assert_uint_eq(t.codes[0], MARC_E_TRUNCATED);
	ck_assert_uint_eq(t.offsets[0], n2 - 20);
	ck_assert_uint_eq(t.recnos[0], 2);
	ck_assert_uint_lt(t.nfields[1], 3);

	read_all(buf, n + 10, MARC_CS_AUTO, &t);	/* only a bit of leader */
	ck_assert_int_eq(t.records, 1);
	ck_assert_int_eq(t.skipped, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_TRUNCATED);
}
END_TEST

START_TEST(test_bad_directory_digits)
{
	uint8_t		buf[1024];
	size_t		n = mkrec(buf, 'a', F3, 3);
	struct marc_reader r;
	struct marc_record rec;

	memcpy(buf + 24 + 12 + 3, "00x9", 4);	/* 245's length */
	marc_reader_init(&r, buf, n, MARC_CS_AUTO, 0, 0);
	ck_assert_int_eq(marc_reader_next(&r, &rec), MARC_NEXT_RECORD);
	ck_assert_uint_eq(rec.nfields, 3);
	ck_assert_uint_ge(rec.errors->n, 1);
	ck_assert_uint_eq(rec.errors->e[0].code, MARC_E_DIRECTORY);
	ck_assert_uint_eq(rec.errors->e[0].offset, 24 + 12);
	ck_assert(memcmp(rec.data + rec.fields[2].off, " 0\x1f" "aSubject",
	    rec.fields[2].len) == 0);
	marc_reader_free(&r);
}
END_TEST

START_TEST(test_field_length_in_characters)
{
	/* Lengths counted in characters, not bytes: fields found by 0x1E. */
	static const struct tf f[] = {
		{ "001", "x1" },
		{ "245", "10\x1f" "aCaf\xc3\xa9 \xc3\xa9t\xc3\xa9" },
		{ "500", "  \x1f" "aNote" },
	};
	uint8_t		buf[512];
	size_t		n = mkrec(buf, 'a', f, 3);
	struct marc_reader r;
	struct marc_record rec;

	/* 245 is 15 bytes + FT = 16 but 12 characters + FT = 13; 500 moves. */
	memcpy(buf + 24 + 12 + 3, "0013", 4);
	memcpy(buf + 24 + 24 + 7, "00016", 5);
	marc_reader_init(&r, buf, n, MARC_CS_AUTO, 0, 0);
	ck_assert_int_eq(marc_reader_next(&r, &rec), MARC_NEXT_RECORD);
	ck_assert_uint_eq(rec.nfields, 3);
	ck_assert_uint_eq(rec.errors->n, 1);
	ck_assert_uint_eq(rec.errors->e[0].code, MARC_E_FIELD_TERMINATOR);
	ck_assert_uint_eq(rec.fields[1].len, 15);
	ck_assert_uint_eq(rec.fields[2].len, 8);
	ck_assert(memcmp(rec.data + rec.fields[2].off, "  \x1f" "aNote", 8) == 0);
	marc_reader_free(&r);
}
END_TEST

START_TEST(test_field_past_end)
{
	uint8_t		buf[512];
	size_t		n = mkrec(buf, 'a', F3, 3);
	struct tally	t;

	/* Last field says it is longer than the record, and lost its FT. */
	memcpy(buf + 24 + 24 + 3, "0099", 4);
	buf[n - 2] = 'X';
	read_all(buf, n, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_FIELD_BOUNDS);
	ck_assert_uint_eq(t.nfields[0], 3);
}
END_TEST

START_TEST(test_bad_base_address)
{
	uint8_t		buf[512];
	size_t		n = mkrec(buf, 'a', F3, 3);
	struct tally	t;

	memcpy(buf + 12, "00071", 5);
	read_all(buf, n, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 1);
	ck_assert_int_eq(t.errors, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_BASE_ADDRESS);
	ck_assert_uint_eq(t.offsets[0], 12);
	ck_assert_uint_eq(t.nfields[0], 3);

	mkrec(buf, 'a', F3, 3);
	memcpy(buf + 12, "0a0b1", 5);
	read_all(buf, n, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_BASE_ADDRESS);
	ck_assert_uint_eq(t.nfields[0], 3);
}
END_TEST

START_TEST(test_bad_leader)
{
	uint8_t		buf[512];
	size_t		n = mkrec(buf, 'a', F3, 3);
	struct tally	t;

	buf[10] = '3';
	read_all(buf, n, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_LEADER);
	ck_assert_uint_eq(t.offsets[0], 10);

	mkrec(buf, 'a', F3, 3);
	buf[6] = 0x01;
	read_all(buf, n, MARC_CS_AUTO, &t);
	ck_assert_uint_eq(t.codes[0], MARC_E_LEADER);
	ck_assert_uint_eq(t.offsets[0], 6);
}
END_TEST

START_TEST(test_no_directory)
{
	uint8_t		buf[64];
	struct tally	t;

	memcpy(buf, "00026nam a2200025   4500\x1e\x1d", 26);
	read_all(buf, 26, MARC_CS_AUTO, &t);
	ck_assert_int_eq(t.records, 1);
	ck_assert_uint_eq(t.nfields[0], 0);
	ck_assert_uint_eq(t.codes[0], MARC_E_DIRECTORY);
}
END_TEST

START_TEST(test_oversize_record)
{
	/* A 12,000-byte field and a 120,000-byte record: lengths overflow. */
	size_t		big = 120000, n, i;
	uint8_t		*buf = malloc(2 * (big + 1024));
	char		*f1 = malloc(12001), *f2 = malloc(big);
	struct tf	f[3];
	struct marc_reader r;
	struct marc_record rec;

	memset(f1, 'a', 12000);
	f1[12000] = 0;
	memcpy(f1, "  \x1f" "a", 4);
	memset(f2, 'b', big - 13000);
	f2[big - 13000] = 0;
	memcpy(f2, "  \x1f" "a", 4);
	f[0] = (struct tf){ "001", "id" };
	f[1] = (struct tf){ "500", f1 };
	f[2] = (struct tf){ "505", f2 };
	n = mkrec(buf, 'a', f, 3);
	ck_assert_uint_gt(n, 99999);
	/* What a writer does with overflowing numbers: zeros. */
	memcpy(buf, "00000", 5);
	memcpy(buf + 24 + 12 + 3, "0000", 4);
	memcpy(buf + 24 + 24 + 3, "0000", 4);
	memcpy(buf + n, buf, n);	/* and a second copy after it */
	marc_reader_init(&r, buf, 2 * n, MARC_CS_AUTO, 0, 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(marc_reader_next(&r, &rec), MARC_NEXT_RECORD);
		ck_assert_uint_eq(rec.len, n);
		ck_assert_uint_eq(rec.nfields, 3);
		ck_assert_uint_eq(rec.fields[1].len, 12000);
		ck_assert_uint_eq(rec.fields[2].len, big - 13000);
		ck_assert_uint_eq(rec.errors->n, 0);
	}
	ck_assert_int_eq(marc_reader_next(&r, &rec), MARC_NEXT_END);
	marc_reader_free(&r);
	free(buf);
	free(f1);
	free(f2);
}
END_TEST

START_TEST(test_charset_detection)
{
	static const struct tf utf[] = { { "245", "10\x1f" "aCaf\xc3\xa9" } };
	static const struct tf ansel[] = { { "245", "10\x1f" "aCaf\xe2" "e" } };
	uint8_t			buf[256];
	size_t			n;
	struct marc_reader	r;
	struct marc_record	rec;

	n = mkrec(buf, ' ', utf, 1);
	marc_reader_init(&r, buf, n, MARC_CS_AUTO, 0, 0);
	marc_reader_next(&r, &rec);
	ck_assert_int_eq(rec.charset, MARC_CS_UTF8);	/* leader lies */
	marc_reader_free(&r);
	marc_reader_init(&r, buf, n, MARC_CS_MARC8, 0, 0);
	marc_reader_next(&r, &rec);
	ck_assert_int_eq(rec.charset, MARC_CS_MARC8);	/* forced */
	marc_reader_free(&r);

	n = mkrec(buf, ' ', ansel, 1);
	marc_reader_init(&r, buf, n, MARC_CS_AUTO, 0, 0);
	marc_reader_next(&r, &rec);
	ck_assert_int_eq(rec.charset, MARC_CS_MARC8);
	marc_reader_free(&r);
	marc_reader_init(&r, buf, n, MARC_CS_UTF8, 0, 0);
	marc_reader_next(&r, &rec);
	ck_assert_int_eq(rec.charset, MARC_CS_UTF8);
	marc_reader_free(&r);

	n = mkrec(buf, 'a', ansel, 1);
	marc_reader_init(&r, buf, n, MARC_CS_AUTO, 0, 0);
	marc_reader_next(&r, &rec);
	ck_assert_int_eq(rec.charset, MARC_CS_UTF8);
	marc_reader_free(&r);
}
END_TEST

START_TEST(test_subfields)
{
	static const uint8_t f[] = "10xx\x1f" "aOne\x1f\x1f" "bTwo\x1f" "c\x1f";
	struct marc_subfield_iter	it;
	struct marc_subfield		sf;

	ck_assert_uint_eq(marc_field_ind(f, sizeof(f) - 1, 0), '1');
	ck_assert_uint_eq(marc_field_ind(f, 1, 1), ' ');
	marc_subfields_begin(&it, f, sizeof(f) - 1);
	ck_assert(marc_subfields_next(&it, &sf));
	ck_assert_uint_eq(sf.code, 'a');
	ck_assert_uint_eq(sf.len, 3);
	ck_assert(memcmp(sf.data, "One", 3) == 0);
	ck_assert(marc_subfields_next(&it, &sf));
	ck_assert_uint_eq(sf.code, 'b');
	ck_assert(memcmp(sf.data, "Two", 3) == 0);
	ck_assert(marc_subfields_next(&it, &sf));
	ck_assert_uint_eq(sf.code, 'c');
	ck_assert_uint_eq(sf.len, 0);
	ck_assert(!marc_subfields_next(&it, &sf));

	marc_subfields_begin(&it, (const uint8_t *)"1", 1);
	ck_assert(!marc_subfields_next(&it, &sf));
}
END_TEST

/*
 * A subfield code that is not one ASCII byte gets pymarc's code (the
 * character, UTF-8 else Latin-1, reduced to its ASCII letter) and the record
 * a bad-subfield-code at the code's offset, in the check and in the ISO 2709
 * the daemon stores, instead of U+FFFD.
 */
START_TEST(test_bad_subfield_code)
{
	static const struct tf utf[] = {
		{ "001", "r1" },
		{ "245", "10\x1f" "\xc3\xa9Title one\x1f" "bsub" },
	};
	static const struct tf lat[] = {
		{ "245", "10\x1f" "\xe9Title two" },
	};
	static const struct tf m8[] = {
		{ "245", "10\x1f" "aok\x1f" "\xe1" "aTitle three" },
	};
	static const struct {
		const char	*in;
		size_t		 n, skip;
		uint8_t		 code;
	} norm[] = {
		{ "\xc3\xa9x", 3, 2, 'e' },	/* U+00E9: e */
		{ "\xc5\x81x", 3, 2, 'x' },	/* U+0141: none, so the next */
		{ "\xe9x", 2, 1, 'e' },		/* Latin-1 0xE9 */
		{ "\xc3\x9f" "Zx", 4, 2, 'Z' },	/* sharp s: next letter */
		{ "\xe4\xb8\xad", 3, 3, ' ' },	/* no letter at all */
		{ "\xc3", 1, 1, 'A' },		/* cut sequence: Latin-1 */
	};
	struct marc_reader	r;
	struct marc_record	rec, out;
	struct marc_errlist	errs;
	struct marc_writer	w;
	struct mbuf		scratch, iso;
	struct marc_subfield_iter it;
	struct marc_subfield	sf;
	uint8_t			buf[512], code;
	size_t			len, off[3], i;
	const uint8_t		*d;

	for (i = 0; i < sizeof(norm) / sizeof(norm[0]); i++) {
		ck_assert_uint_eq(marc_code_normalize((const uint8_t *)
		    norm[i].in, norm[i].n, &code), norm[i].skip);
		ck_assert_uint_eq(code, norm[i].code);
	}

	off[0] = 0;
	len = mkrec(buf, 'a', utf, 2);
	off[1] = len;
	len += mkrec(buf + len, 'a', lat, 1);
	off[2] = len;
	len += mkrec(buf + len, ' ', m8, 1);
	memset(&scratch, 0, sizeof(scratch));
	memset(&iso, 0, sizeof(iso));
	marc_writer_init(&w, MARC_FMT_ISO2709);
	marc_reader_init(&r, buf, len, MARC_CS_AUTO, 0, 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(marc_reader_next(&r, &rec), MARC_NEXT_RECORD);
		ck_assert_uint_eq(rec.errors->n, 0);
		memset(&errs, 0, sizeof(errs));
		ck_assert_int_eq(marc_record_check_text(&rec, &scratch, &errs),
		    0);
		ck_assert_uint_eq(errs.n, 1);
		ck_assert_uint_eq(errs.e[0].code, MARC_E_SUBFIELD_CODE);
		/* the code byte: after leader, directory, 0x1E, and what
		 * comes before it in the last field */
		ck_assert_uint_eq(errs.e[0].offset, off[i] + 24 +
		    12 * rec.nfields + 1 + (i == 0 ? 3 : 0) + (i == 2 ? 7 : 3));
		ck_assert_uint_eq(errs.e[0].recno, i + 1);

		memset(&errs, 0, sizeof(errs));
		iso.len = 0;
		ck_assert_int_eq(marc_writer_record(&w, &iso, &rec, &errs), 0);
		ck_assert_uint_eq(errs.n, 1);
		ck_assert_uint_eq(errs.e[0].code, MARC_E_SUBFIELD_CODE);
		{
			struct marc_reader	r2;

			marc_reader_init(&r2, iso.p, iso.len, MARC_CS_UTF8,
			    0, 0);
			ck_assert_int_eq(marc_reader_next(&r2, &out),
			    MARC_NEXT_RECORD);
			ck_assert_uint_eq(out.errors->n, 0);
			d = out.data + out.fields[out.nfields - 1].off;
			marc_subfields_begin(&it, d,
			    out.fields[out.nfields - 1].len);
			ck_assert(marc_subfields_next(&it, &sf));
			if (i == 2) {	/* MARC-8: 0xE1 read as Latin-1 */
				ck_assert_uint_eq(sf.code, 'a');
				ck_assert(marc_subfields_next(&it, &sf));
				ck_assert_uint_eq(sf.code, 'a');
				ck_assert(sf.len == 12 &&
				    memcmp(sf.data, "aTitle three", 12) == 0);
			} else {
				ck_assert_uint_eq(sf.code, 'e');
				ck_assert(sf.len == 9 && memcmp(sf.data,
				    i == 0 ? "Title one" : "Title two", 9) == 0);
			}
			marc_reader_free(&r2);
		}
	}
	ck_assert_int_eq(marc_reader_next(&r, &rec), MARC_NEXT_END);
	marc_reader_free(&r);
	marc_writer_free(&w);
	mbuf_free(&scratch);
	mbuf_free(&iso);
}
END_TEST

START_TEST(test_next_boundary)
{
	uint8_t	buf[1024];
	size_t	n = mkrec(buf, 'a', F3, 3), n2;

	n2 = n + mkrec(buf + n, 'a', F3, 3);
	ck_assert_uint_eq(marc_next_boundary(buf, n2, 0), 0);
	ck_assert_uint_eq(marc_next_boundary(buf, n2, 1), n);
	ck_assert_uint_eq(marc_next_boundary(buf, n2, n), n);
	ck_assert_uint_eq(marc_next_boundary(buf, n2, n + 1), n2);
}
END_TEST

/*
 * A chunk with no boundary in its window is empty and its search never
 * leaves the window: the bytes after it are made unreadable, so a search
 * that ran on to the end of the input (time quadratic in the input when
 * every chunk does it) faults.
 */
START_TEST(test_range_search_bounded)
{
	size_t		 w = 16 * (size_t)sysconf(_SC_PAGESIZE), len = 8 * w;
	size_t		 s, e, k;
	uint8_t		*buf;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	ck_assert(buf != MAP_FAILED);
	memset(buf, 'x', len);		/* junk, no terminator anywhere */
	for (k = 1; k < 7; k++) {
		ck_assert_int_eq(mprotect(buf + (k + 1) * w, len - (k + 1) * w,
		    PROT_NONE), 0);
		marc_range_bounds(buf, len, k * w, w, &s, &e);
		ck_assert_uint_eq(s, e);
		ck_assert_int_eq(mprotect(buf, len, PROT_READ | PROT_WRITE), 0);
	}
	munmap(buf, len);
}
END_TEST

/* Read buf by ranges of size bytes; count items, records and errors. */
static void
read_ranges(const uint8_t *buf, size_t len, size_t size, struct tally *t)
{
	struct marc_reader	r;
	struct marc_record	rec;
	uint64_t		off;
	uint32_t		recno = 0;
	int			rc;

	memset(t, 0, sizeof(*t));
	for (off = 0; off < len; off += size) {
		marc_reader_init_range(&r, buf, len, off, size, MARC_CS_AUTO,
		    recno);
		while ((rc = marc_reader_next(&r, &rec)) != MARC_NEXT_END) {
			ck_assert_int_gt(rc, 0);
			if (rec.errors->n > 0 && t->errors < 64)
				t->codes[t->errors] = rec.errors->e[0].code;
			t->errors += (int)rec.errors->n;
			if (rc == MARC_NEXT_RECORD)
				t->records++;
			else
				t->skipped++;
		}
		recno = r.recno;
		marc_reader_free(&r);
	}
}

/*
 * 64 MiB of zeros and 16 MiB of random bytes after a record, cut into
 * 64 KiB ranges: the record, then nothing (zeros are filler) or junk.
 */
START_TEST(test_large_junk_ranges)
{
	size_t		 big = 64u << 20, n, i;
	uint8_t		*buf = calloc(1, big);
	unsigned	 seed = 7;
	struct tally	 t;

	ck_assert_ptr_nonnull(buf);
	n = mkrec(buf, 'a', F3, 3);
	read_ranges(buf, big, 64 * 1024, &t);
	ck_assert_int_eq(t.records, 1);
	ck_assert_int_eq(t.skipped, 0);
	ck_assert_int_eq(t.errors, 0);
	for (i = n; i < (16u << 20); i++)
		buf[i] = (uint8_t)(rand_r(&seed) >> 7);
	read_ranges(buf, 16u << 20, 64 * 1024, &t);
	ck_assert_int_eq(t.records, 1);
	ck_assert_int_ge(t.skipped, 1);
	ck_assert_uint_eq(t.codes[0], MARC_E_JUNK);
	free(buf);
}
END_TEST

/*
 * A terminator and a plausible leader inside a record are a boundary: the
 * record ends there for every reader, however the input is cut.
 */
START_TEST(test_boundary_inside_record)
{
	static const struct tf f[] = {
		{ "001", "id" },
		{ "500", "  \x1f" "a\x1d" "00100nam  2200049   4500" },
	};
	uint8_t		buf[512];
	size_t		n = mkrec(buf, 'a', f, 2), b, size;
	struct tally	whole, t;

	b = (size_t)((uint8_t *)memchr(buf, MARC_RT, n) - buf) + 1;
	ck_assert_uint_lt(b, n - 1);
	ck_assert_uint_eq(marc_next_boundary(buf, n, 1), b);
	read_all(buf, n, MARC_CS_AUTO, &whole);
	ck_assert_int_eq(whole.records + whole.skipped, 2);
	ck_assert_int_ge(whole.errors, 1);
	for (size = 1; size <= n; size++) {
		read_ranges(buf, n, size, &t);
		ck_assert_int_eq(t.records, whole.records);
		ck_assert_int_eq(t.skipped, whole.skipped);
		ck_assert_int_eq(t.errors, whole.errors);
	}
}
END_TEST

/* Filler between a terminator and a leader still makes a boundary. */
START_TEST(test_boundary_after_filler)
{
	uint8_t	buf[1024];
	size_t	n = mkrec(buf, 'a', F3, 3), n2, s, e;

	memcpy(buf + n, "\r\n", 2);
	n2 = n + 2 + mkrec(buf + n + 2, 'a', F3, 3);
	ck_assert_uint_eq(marc_next_boundary(buf, n2, 1), n + 2);
	ck_assert_uint_eq(marc_next_boundary(buf, n2, n + 1), n + 2);
	marc_range_bounds(buf, n2, n + 1, 2, &s, &e);	/* only the leader */
	ck_assert_uint_eq(s, n + 2);
	ck_assert_uint_eq(e, n2);
	marc_range_bounds(buf, n2, 1, n, &s, &e);	/* no boundary inside */
	ck_assert_uint_eq(s, e);
	marc_range_bounds(buf, n2, 0, 1, &s, &e);
	ck_assert_uint_eq(s, 0);
	ck_assert_uint_eq(e, n + 2);
}
END_TEST

/*
 * Junk inserted in a record's last field, before its terminator: the
 * directory and the leader no longer agree with the terminators, and the
 * record says so whatever the size (1.5 MB once passed for an overflow).
 */
START_TEST(test_junk_in_last_field)
{
	static const size_t	 sizes[] = { 100, 12345, 1536 * 1024 };
	uint8_t			 rec[512], *buf;
	size_t			 n = mkrec(rec, 'a', F3, 3), cut, i, j;
	struct tally		 t;
	int			 length_err, field_err;

	cut = n - 2;			/* the last field's terminator */
	ck_assert_uint_eq(rec[cut], MARC_FT);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		buf = malloc(n + sizes[i]);
		ck_assert_ptr_nonnull(buf);
		memcpy(buf, rec, cut);
		memset(buf + cut, 'j', sizes[i]);
		memcpy(buf + cut + sizes[i], rec + cut, n - cut);
		read_all(buf, n + sizes[i], MARC_CS_AUTO, &t);
		ck_assert_int_eq(t.records, 1);
		length_err = field_err = 0;
		for (j = 0; j < (size_t)t.errors && j < 64; j++) {
			length_err |= t.codes[j] == MARC_E_RECORD_LENGTH;
			field_err |= t.codes[j] == MARC_E_FIELD_TERMINATOR;
		}
		ck_assert_msg(length_err && field_err,
		    "%zu bytes of junk: record length %d, field %d", sizes[i],
		    length_err, field_err);
		free(buf);
	}
}
END_TEST

START_TEST(test_code_names)
{
	uint32_t i, j;

	for (i = 0; i < MARC_E_COUNT_; i++) {
		ck_assert_ptr_nonnull(marc_code_name(i));
		ck_assert_ptr_nonnull(marc_code_message(i));
		ck_assert_str_ne(marc_code_name(i), "unknown");
		for (j = 0; j < i; j++)
			ck_assert_str_ne(marc_code_name(i), marc_code_name(j));
	}
	ck_assert_str_eq(marc_code_name(MARC_E_COUNT_), "unknown");
	ck_assert_str_eq(marc_code_name(MARC_E_JUNK), "junk-between-records");
}
END_TEST

START_TEST(test_every_truncation_and_flip)
{
	/* Cut two records at every length and flip every byte: never crash,
	 * offsets stay inside the input, the first record survives a cut in
	 * the second. */
	uint8_t		buf[1024], copy[1024];
	size_t		n = mkrec(buf, 'a', F3, 3), n2, i;
	struct tally	t;

	n2 = n + mkrec(buf + n, 'a', F3, 3);
	for (i = 0; i <= n2; i++) {
		memcpy(copy, buf, n2);
		read_all(copy, i, MARC_CS_AUTO, &t);
		if (i > n)
			ck_assert_int_ge(t.records, 1);
	}
	for (i = 0; i < n2; i++) {
		memcpy(copy, buf, n2);
		copy[i] ^= 0x5a;
		read_all(copy, n2, MARC_CS_AUTO, &t);
		ck_assert_int_ge(t.records + t.skipped, 1);
	}
}
END_TEST

static Suite *
reader_suite(void)
{
	Suite	*s = suite_create("reader");
	TCase	*tc = tcase_create("reader");

	tcase_set_timeout(tc, 60);

	tcase_add_test(tc, test_valid_record);
	tcase_add_test(tc, test_two_records_and_filler);
	tcase_add_test(tc, test_junk_between_records);
	tcase_add_test(tc, test_junk_at_end);
	tcase_add_test(tc, test_wrong_record_length);
	tcase_add_test(tc, test_missing_record_terminator);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_bad_directory_digits);
	tcase_add_test(tc, test_field_length_in_characters);
	tcase_add_test(tc, test_field_past_end);
	tcase_add_test(tc, test_bad_base_address);
	tcase_add_test(tc, test_bad_leader);
	tcase_add_test(tc, test_no_directory);
	tcase_add_test(tc, test_oversize_record);
	tcase_add_test(tc, test_charset_detection);
	tcase_add_test(tc, test_subfields);
	tcase_add_test(tc, test_bad_subfield_code);
	tcase_add_test(tc, test_next_boundary);
	tcase_add_test(tc, test_code_names);
	tcase_add_test(tc, test_junk_in_last_field);
	tcase_add_test(tc, test_range_search_bounded);
	tcase_add_test(tc, test_large_junk_ranges);
	tcase_add_test(tc, test_boundary_inside_record);
	tcase_add_test(tc, test_boundary_after_filler);
	tcase_add_test(tc, test_every_truncation_and_flip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(reader_suite());
}
