/*
 * common/reader.c: ISO 2709 reader that never stops at a bad record.
 *
 * A record is found by its leader length when that lands on a record
 * terminator, else by the next 0x1D; fields by their directory entries when
 * those land on field terminators, else by splitting the data area at 0x1E.
 * Between records, filler (white space, NUL, SUB) is skipped silently and
 * anything else is skipped up to the next plausible leader and reported.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "marcd/marc.h"
#include "scan.h"
#include "text.h"

static const char *const code_names[MARC_E_COUNT_] = {
	[MARC_OK] = "ok",
	[MARC_E_RECORD_LENGTH] = "bad-record-length",
	[MARC_E_LEADER] = "bad-leader",
	[MARC_E_BASE_ADDRESS] = "bad-base-address",
	[MARC_E_DIRECTORY] = "bad-directory",
	[MARC_E_FIELD_BOUNDS] = "field-out-of-bounds",
	[MARC_E_FIELD_TERMINATOR] = "missing-field-terminator",
	[MARC_E_RECORD_TERMINATOR] = "missing-record-terminator",
	[MARC_E_TRUNCATED] = "truncated-record",
	[MARC_E_UTF8] = "invalid-utf8",
	[MARC_E_MARC8_ESCAPE] = "bad-marc8-escape",
	[MARC_E_MARC8_CHAR] = "bad-marc8-char",
	[MARC_E_JUNK] = "junk-between-records",
	[MARC_E_TOO_LARGE] = "record-too-large",
	[MARC_E_WORKER] = "chunk-failed",
	[MARC_E_INPUT_CHANGED] = "input-changed",
	[MARC_E_BAD_XML] = "bad-xml",
	[MARC_E_BAD_JSON] = "bad-json",
	[MARC_E_BAD_MRK] = "bad-mrk",
	[MARC_E_UNKNOWN_FORMAT] = "unknown-format",
	[MARC_E_BAD_COMPRESSION] = "bad-compression",
	[MARC_E_SUBFIELD_CODE] = "bad-subfield-code",
};

static const char *const code_messages[MARC_E_COUNT_] = {
	[MARC_OK] = "no error",
	[MARC_E_RECORD_LENGTH] =
	    "record length in leader/00-04 is not numeric or not the actual length",
	[MARC_E_LEADER] =
	    "leader is malformed (bad byte, indicator/subfield counts, entry map or leader/09)",
	[MARC_E_BASE_ADDRESS] =
	    "base address of data in leader/12-16 is not numeric or not where the directory ends",
	[MARC_E_DIRECTORY] =
	    "directory is malformed (entries not 12 numeric bytes, none, or no terminator)",
	[MARC_E_FIELD_BOUNDS] = "field extends past the end of the record",
	[MARC_E_FIELD_TERMINATOR] =
	    "field does not end with a field terminator (0x1E) where the directory says",
	[MARC_E_RECORD_TERMINATOR] =
	    "record does not end with a record terminator (0x1D)",
	[MARC_E_TRUNCATED] = "input ends inside a record",
	[MARC_E_UTF8] = "invalid UTF-8 (replaced by U+FFFD)",
	[MARC_E_MARC8_ESCAPE] =
	    "bad or unknown MARC-8 escape sequence (replaced by U+FFFD)",
	[MARC_E_MARC8_CHAR] =
	    "MARC-8 byte with no mapping in the current set (replaced by U+FFFD)",
	[MARC_E_JUNK] = "bytes between records that are not a record (skipped)",
	[MARC_E_TOO_LARGE] =
	    "record larger than the daemon's arena block (skipped; raise --block-size)",
	[MARC_E_WORKER] =
	    "this part of the input made a worker die twice; its records are skipped",
	[MARC_E_INPUT_CHANGED] =
	    "the input file shrank or became unreadable while the daemon read it; "
	    "the batch stops here",
	[MARC_E_BAD_XML] =
	    "MARCXML record not well-formed or not MARC (leader, controlfield, datafield, subfield); the reader goes on at the next <record>",
	[MARC_E_BAD_JSON] =
	    "MARC-in-JSON record not well-formed JSON or not in the leader/fields shape; the reader goes on at the next record",
	[MARC_E_BAD_MRK] =
	    "line not in the MarcEdit mnemonic format (=TAG  data; a 24-character =LDR first)",
	[MARC_E_UNKNOWN_FORMAT] =
	    "input is not ISO 2709, MARCXML, MARC-in-JSON or MarcEdit text (use --from to say which)",
	[MARC_E_BAD_COMPRESSION] =
	    "compressed or UTF-16 input is corrupt or truncated; records after this point are lost",
	[MARC_E_SUBFIELD_CODE] =
	    "subfield code is not one ASCII character (replaced by its ASCII letter, as pymarc does)",
};

/* Give tools a stable token for each code. */
const char *
marc_code_name(uint32_t code)
{
	return code < MARC_E_COUNT_ ? code_names[code] : "unknown";
}

/* Give people a sentence for each code. */
const char *
marc_code_message(uint32_t code)
{
	return code < MARC_E_COUNT_ ? code_messages[code] : "unknown error";
}

/* Parse n ASCII digits; the directory and leader hold lengths this way. */
static inline int
digits(const uint8_t *p, int n, uint32_t *v)
{
	uint32_t	x = 0;
	int		i;

	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)p[i] - '0';
		if (d > 9)
			return 0;
		x = x * 10 + d;
	}
	*v = x;
	return 1;
}

/*
 * Four ASCII digits at once (directory lengths): each byte must be 0x30-0x39,
 * i.e. high nibble 3 and low nibble at most 9 (adding 6 must not carry).
 */
static inline int
digits4(const uint8_t *p, uint32_t *v)
{
	uint32_t w, t;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return digits(p, 4, v);
#endif
	memcpy(&w, p, 4);
	if ((w & 0xF0F0F0F0u) != 0x30303030u ||
	    ((w + 0x06060606u) & 0xF0F0F0F0u) != 0x30303030u)
		return 0;
	t = w - 0x30303030u;		/* little-endian: p[0] in the low byte */
	t = t * 10 + (t >> 8);		/* p[0]p[1] in byte 0, p[2]p[3] in byte 2 */
	*v = (t & 0xFF) * 100 + ((t >> 16) & 0xFF);
	return 1;
}

/* Five ASCII digits (directory starting positions). */
static inline int
digits5(const uint8_t *p, uint32_t *v)
{
	unsigned d = (unsigned)p[4] - '0';

	if (d > 9 || !digits4(p, v))
		return 0;
	*v = *v * 10 + d;
	return 1;
}

/*
 * A directory entry's length (4 digits) and start (5 digits) from bytes
 * 3..11: eight digits checked and converted in one word, then the ninth.
 */
static inline int
dirent_numbers(const uint8_t *d, uint32_t *len, uint32_t *start)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t	w, t;
	unsigned	last = (unsigned)d[11] - '0';

	memcpy(&w, d + 3, 8);
	if (last > 9 || (w & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull ||
	    ((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) !=
	    0x3030303030303030ull)
		return 0;
	t = w - 0x3030303030303030ull;	/* p[3] in the low byte */
	t = t * 10 + (t >> 8);		/* digit pairs in bytes 0, 2, 4, 6 */
	t = (t & 0x000000FF000000FFull) * 100 +
	    ((t >> 16) & 0x000000FF000000FFull);
	*len = (uint32_t)t;
	*start = (uint32_t)(t >> 32) * 10 + last;
	return 1;
#else
	return digits4(d + 3, len) && digits5(d + 7, start);
#endif
}

/* Filler that often pads files or separates records: never worth an error. */
static inline int
is_filler(uint8_t c)
{
	return c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == 0 ||
	    c == 0x1A;
}

/* A leader worth trying: length and base address are digits. */
static inline int
leader_plausible(const uint8_t *p, size_t avail)
{
	uint32_t v;

	return avail >= MARC_LEADER_LEN && digits5(p, &v) &&
	    digits5(p + 12, &v);
}

/* Start reading a buffer; base and recno0 place it inside a larger input. */
void
marc_reader_init(struct marc_reader *r, const void *buf, size_t len,
    int charset, uint64_t base, uint32_t recno0)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	r->stop = SIZE_MAX;
	r->base = base;
	r->recno = recno0;
	r->charset = charset;
}

/* Point a reader at new input but keep its field table (no allocation). */
void
marc_reader_reset(struct marc_reader *r, const void *buf, size_t len,
    int charset, uint64_t base, uint32_t recno0)
{
	struct marc_field	*f = r->fields;
	uint32_t		 cap = r->fields_cap;

	marc_reader_init(r, buf, len, charset, base, recno0);
	r->fields = f;
	r->fields_cap = cap;
}

/* One record a writer made (chunk_add): its inner 0x1D are no boundaries. */
void
marc_reader_reset_one(struct marc_reader *r, const void *buf, size_t len,
    int charset)
{
	marc_reader_reset(r, buf, len, charset, 0, 0);
	r->seg = len;
}

/*
 * Where the records that begin in [off, off + length) lie: from the first
 * boundary inside the range (none: an empty range, *start == *end) to the
 * first boundary at or after its end.  The search for the start never leaves
 * the range, so cutting a whole input costs time linear in its size.
 */
void
marc_range_bounds(const uint8_t *buf, size_t len, uint64_t off,
    uint64_t length, size_t *start, size_t *end)
{
	size_t	from, to;

	from = off < len ? (size_t)off : len;
	to = length < len - from ? from + (size_t)length : len;
	*start = marc_boundary_find(buf, len, from, to);
	if (*start == to) {
		*start = *end = to;
		return;
	}
	*end = marc_boundary_find(buf, len, to, len);
}

/* Read the records that begin in a range of a whole-input buffer, exactly
 * as a reader of the whole input reads them. */
void
marc_reader_init_range(struct marc_reader *r, const void *buf, size_t len,
    uint64_t off, uint64_t length, int charset, uint32_t recno0)
{
	size_t	s, e;

	marc_reader_init(r, buf, len, charset, 0, recno0);
	marc_range_bounds(buf, len, off, length, &s, &e);
	r->pos = s == e ? len : s;
	r->stop = e;
}

/* Go on where another reader of the same input stopped (a worker's block
 * filled): pos is where that reader's next item began. */
void
marc_reader_seek(struct marc_reader *r, size_t pos)
{
	r->pos = pos < r->len ? pos : r->len;
	r->seg = marc_boundary_find(r->buf, r->len, r->pos + 1, r->len);
}

/* Free the field table, the only allocation a reader makes. */
void
marc_reader_free(struct marc_reader *r)
{
	free(r->fields);
	r->fields = NULL;
	r->fields_cap = 0;
}

/* Make room for n fields; grows geometrically, so not once per record. */
static int
fields_reserve(struct marc_reader *r, size_t n)
{
	struct marc_field	*f;
	size_t			 cap = r->fields_cap ? r->fields_cap : 64;

	if (n <= r->fields_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	if (cap > UINT32_MAX)
		return -1;
	if ((f = realloc(r->fields, cap * sizeof(*f))) == NULL)
		return -1;
	r->fields = f;
	r->fields_cap = (uint32_t)cap;
	return 0;
}

/* Record an error of the item being read, at an offset within buf. */
static inline void
reader_error(struct marc_reader *r, uint32_t code, uint32_t recno, size_t at)
{
	marc_errlist_add(&r->errors, code, recno, r->base + at);
}

/*
 * A leader with a bad length but the rest in shape; taken only right after a
 * record terminator (or at the start), where a record is due anyway.
 */
static inline int
leader_weak(const uint8_t *p, size_t avail)
{
	uint32_t v;

	return avail > MARC_LEADER_LEN &&
	    (digits5(p, &v) || digits5(p + 12, &v)) &&
	    ((p[10] == '2' && p[11] == '2') || memcmp(p + 20, "450", 3) == 0) &&
	    memchr(p, MARC_RT, avail) != NULL;
}

/* The first min(n, avail) bytes are digits: what is left of a leader. */
static inline int
all_digits(const uint8_t *p, size_t avail, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < avail; i++)
		if ((unsigned)p[i] - '0' > 9)
			return 0;
	return 1;
}

/* Find where the next record begins when pos does not hold one. */
static size_t
reader_resync(const uint8_t *buf, size_t len, size_t pos)
{
	for (; pos < len; pos++) {
		if ((unsigned)buf[pos] - '0' <= 9 &&
		    leader_plausible(buf + pos, len - pos))
			return pos;
	}
	return len;
}

/*
 * The first record boundary in [from, to) of buf[0..len), else to.  A
 * boundary is offset 0, or a plausible leader that follows a record
 * terminator and maybe filler: no record read may run over one, so any
 * range of an input can be read on its own.  Each terminator in the range
 * is looked at once, and only filler is read back before from.
 */
size_t
marc_boundary_find(const uint8_t *buf, size_t len, size_t from, size_t to)
{
	const uint8_t	*rt;
	size_t		 p, q;

	if (to > len)
		to = len;
	if (from >= to)
		return to;
	if (from == 0)
		return 0;
	p = from;
	if (buf[from - 1] == MARC_RT || is_filler(buf[from - 1])) {
		/* A terminator, maybe then filler, may lie just before from. */
		while (p < to && is_filler(buf[p]))
			p++;
		if (p == to)
			return to;
		if (leader_plausible(buf + p, len - p)) {
			for (q = from - 1; q > 0 && is_filler(buf[q]); q--)
				;
			if (buf[q] == MARC_RT)
				return p;
		}
	}
	while (p < to) {
		if ((rt = memchr(buf + p, MARC_RT, to - p)) == NULL)
			return to;
		for (p = (size_t)(rt - buf) + 1; p < to && is_filler(buf[p]);
		    p++)
			;
		if (p < to && leader_plausible(buf + p, len - p))
			return p;
	}
	return to;
}

/* Offset of the next record boundary at or after pos (for tools). */
size_t
marc_next_boundary(const uint8_t *buf, size_t len, size_t pos)
{
	return marc_boundary_find(buf, len, pos, len);
}

/*
 * A number that could not hold n in its digits, as writers put it: zeros,
 * all nines, or n modulo the limit.  Anything else that disagrees with the
 * terminators is an error, however long the record or field.
 */
static inline int
overflowed(uint32_t v, size_t n, uint32_t limit)
{
	return n >= limit && (v == 0 || v == limit - 1 || v == n % limit);
}

/*
 * Decide where the record starting at s ends (exclusive), at most at len, the
 * next boundary; note length and terminator problems.  The leader length wins when it lands on 0x1D, or when
 * another leader follows it; else the next 0x1D ends the record.
 */
static size_t
reader_extent(struct marc_reader *r, size_t s, size_t len, uint32_t recno)
{
	const uint8_t	*buf = r->buf;
	size_t		 e;
	const uint8_t	*rt;
	uint32_t	 L;
	int		 have_len;

	/* 99999 is what writers put when the real length does not fit. */
	have_len = len - s >= 5 && digits5(buf + s, &L) &&
	    L >= MARC_LEADER_LEN && L < 99999;
	if (have_len && L <= len - s) {
		if (buf[s + L - 1] == MARC_RT)
			return s + L;
		if (s + L == len ||
		    (leader_plausible(buf + s + L, len - s - L) &&
		    memchr(buf + s, MARC_RT, L) == NULL)) {
			reader_error(r, MARC_E_RECORD_TERMINATOR, recno,
			    s + L - 1);
			return s + L;
		}
	}
	rt = memchr(buf + s, MARC_RT, len - s);
	if (rt == NULL) {
		reader_error(r, MARC_E_TRUNCATED, recno, len);
		return len;
	}
	e = (size_t)(rt - buf) + 1;
	if (!(have_len && L == e - s) && !(len - s >= 5 &&
	    digits5(buf + s, &L) && overflowed(L, e - s, 100000)))
		reader_error(r, MARC_E_RECORD_LENGTH, recno, s);
	return e;
}

/* Report leader bytes that MARC 21 fixes; reading goes on regardless. */
static void
reader_check_leader(struct marc_reader *r, const uint8_t *ld, size_t s,
    uint32_t recno)
{
	uint64_t	w, x, bad = 0;
	int		i;

	/* Printable ASCII only: no byte >= 0x7F or < 0x20, a word at a time. */
	for (i = 0; i < MARC_LEADER_LEN; i += 8) {
		memcpy(&w, ld + i, 8);
		x = w ^ (SCAN_ONES * 0x7F);
		bad |= w | ((w - SCAN_ONES * 0x20) & ~w) |
		    ((x - SCAN_ONES) & ~x);
	}
	if (bad & SCAN_HIGHS) {
		for (i = 0; i < MARC_LEADER_LEN; i++) {
			if (ld[i] < 0x20 || ld[i] > 0x7E) {
				reader_error(r, MARC_E_LEADER, recno, s + i);
				return;
			}
		}
	}
	if (ld[10] != '2' || ld[11] != '2') {
		reader_error(r, MARC_E_LEADER, recno, s + 10);
		return;
	}
	if (ld[20] != '4' || ld[21] != '5' || ld[22] != '0') {
		reader_error(r, MARC_E_LEADER, recno, s + 20);
		return;
	}
	if (ld[9] != ' ' && ld[9] != 'a')
		reader_error(r, MARC_E_LEADER, recno, s + 9);
}

/*
 * Fields by terminators: split the data area at 0x1E and give the pieces to
 * the directory entries in order.  Used when the directory does not fit the
 * data (lengths counted in characters, lengths over 9,999, bad digits).
 * Differences are errors, unless the number could not hold the length.
 */
static uint32_t
reader_fields_by_terminator(struct marc_reader *r, const uint8_t *rec,
    size_t reclen, size_t base, uint32_t nent, size_t s, uint32_t recno)
{
	const uint8_t		*dir = rec + MARC_LEADER_LEN, *ft;
	size_t			 dend = reclen, p = base;
	uint32_t		 i, n = 0, dlen, dstart;
	int			 reported = 0;
	struct marc_field	*f;

	if (dend > base && rec[dend - 1] == MARC_RT)
		dend--;
	for (i = 0; i < nent && p < dend; i++) {
		ft = memchr(rec + p, MARC_FT, dend - p);
		f = &r->fields[n++];
		memcpy(f->tag, dir + (size_t)i * MARC_DIRENT_LEN, 3);
		f->flags = 0;
		f->off = (uint32_t)p;
		f->len = (uint32_t)((ft ? (size_t)(ft - rec) : dend) - p);
		if (!reported) {
			const uint8_t *d = dir + (size_t)i * MARC_DIRENT_LEN;
			int ok = digits(d + 3, 4, &dlen) &&
			    digits5(d + 7, &dstart);
			if (!ok || (f->len + 1 != dlen &&
			    !overflowed(dlen, f->len + 1, 10000)) ||
			    (dstart != p - base &&
			    !overflowed(dstart, p - base, 100000))) {
				reader_error(r, ft ? MARC_E_FIELD_TERMINATOR :
				    MARC_E_FIELD_BOUNDS, recno, s + p);
				reported = 1;
			}
		}
		if (ft == NULL) {
			if (!reported)
				reader_error(r, MARC_E_FIELD_BOUNDS, recno,
				    s + dend);
			reported = 1;
			p = dend;
			break;
		}
		p = (size_t)(ft - rec) + 1;
	}
	if (i < nent && !reported)
		reader_error(r, MARC_E_FIELD_BOUNDS, recno, s + dend);
	return n;
}

/*
 * Parse the leader and directory of rec[0..reclen) into the field table.
 * Returns the number of fields, or -1 when out of memory.
 */
static int
reader_fields(struct marc_reader *r, const uint8_t *rec, size_t reclen,
    size_t s, uint32_t recno)
{
	const uint8_t		*dir = rec + MARC_LEADER_LEN, *ft;
	uint32_t		 B, nent, i, flen, fstart;
	size_t			 dirlen, dend;
	struct marc_field	*f;

	/*
	 * The directory ends at base-1 with 0x1E.  A base address in range and
	 * in step with the entries is kept even when that terminator is
	 * wrong (the entries then say whether it was right); otherwise the
	 * first 0x1E after the leader ends the directory.
	 */
	if (digits5(rec + 12, &B) && B >= MARC_LEADER_LEN + 1 && B <= reclen &&
	    (B - 1 - MARC_LEADER_LEN) % MARC_DIRENT_LEN == 0 &&
	    rec[B - 1] != MARC_FT && B - 1 > MARC_LEADER_LEN &&
	    memchr(dir, MARC_FT, B - 1 - MARC_LEADER_LEN) == NULL)
		reader_error(r, MARC_E_DIRECTORY, recno, s + B - 1);
	else if (!digits5(rec + 12, &B) || B < MARC_LEADER_LEN + 1 ||
	    B > reclen || rec[B - 1] != MARC_FT ||
	    (B - 1 - MARC_LEADER_LEN) % MARC_DIRENT_LEN != 0) {
		ft = memchr(dir, MARC_FT, reclen - MARC_LEADER_LEN);
		if (ft == NULL) {
			reader_error(r, MARC_E_BASE_ADDRESS, recno, s + 12);
			return 0;
		}
		if ((!digits5(rec + 12, &B) ||
		    B != (size_t)(ft - rec) + 1) && reclen <= 99999)
			reader_error(r, MARC_E_BASE_ADDRESS, recno, s + 12);
		B = (uint32_t)(ft - rec) + 1;
	}
	dirlen = B - 1 - MARC_LEADER_LEN;
	if (dirlen % MARC_DIRENT_LEN != 0 || dirlen == 0)
		reader_error(r, MARC_E_DIRECTORY, recno,
		    s + MARC_LEADER_LEN + dirlen - dirlen % MARC_DIRENT_LEN);
	nent = (uint32_t)(dirlen / MARC_DIRENT_LEN);
	if (fields_reserve(r, nent) != 0)
		return -1;

	dend = reclen;
	if (rec[dend - 1] == MARC_RT)
		dend--;
	for (i = 0; i < nent; i++) {
		const uint8_t *d = dir + (size_t)i * MARC_DIRENT_LEN;
		if (!dirent_numbers(d, &flen, &fstart) || flen == 0 || (size_t)B + fstart + flen > dend ||
		    rec[B + fstart + flen - 1] != MARC_FT)
			break;
		f = &r->fields[i];
		memcpy(f->tag, d, 3);
		f->flags = 0;
		f->off = B + fstart;
		f->len = flen - 1;
	}
	if (i == nent)
		return (int)nent;
	if (!digits(dir + (size_t)i * MARC_DIRENT_LEN + 3, 4, &flen) ||
	    !digits(dir + (size_t)i * MARC_DIRENT_LEN + 7, 5, &fstart))
		reader_error(r, MARC_E_DIRECTORY, recno,
		    s + MARC_LEADER_LEN + (size_t)i * MARC_DIRENT_LEN);
	return (int)reader_fields_by_terminator(r, rec, reclen, B, nent, s,
	    recno);
}

/* Which charset the data is in: forced, or leader/09 unless it lies. */
static int
reader_charset(const struct marc_reader *r, const uint8_t *rec, size_t reclen)
{
	if (r->charset == MARC_CS_MARC8 || r->charset == MARC_CS_UTF8)
		return r->charset;
	if (rec[9] == 'a')
		return MARC_CS_UTF8;
	if (scan_high(rec, reclen) &&
	    memchr(rec, 0x1B, reclen) == NULL &&
	    utf8_valid_len(rec, reclen) == reclen)
		return MARC_CS_UTF8;
	return MARC_CS_MARC8;
}

/*
 * Hand out the next record, or the errors of bytes that held none.  No item
 * runs over the next record boundary, so where a reader starts (a range, a
 * slice) never changes what it reads.
 */
int
marc_reader_next(struct marc_reader *r, struct marc_record *rec)
{
	const uint8_t	*buf = r->buf;
	size_t		 len = r->len, pos = r->pos, s, e, junk;
	uint32_t	 recno;
	int		 nf;

	r->errors.n = r->errors.lost = 0;
	memset(rec, 0, sizeof(*rec));
	rec->errors = &r->errors;

	/* Filler, then the next boundary unless this stretch has it. */
	while (pos < len && is_filler(buf[pos]))
		pos++;
	if (pos < len && pos >= r->seg) {
		if (pos >= r->stop)
			pos = len;
		else
			r->seg = marc_boundary_find(buf, len, pos + 1, len);
	}
	if (pos == len) {
		r->pos = len;
		return MARC_NEXT_END;
	}
	len = r->seg;

	/* Junk before the record. */
	recno = r->recno + 1;
	if (len - pos < MARC_LEADER_LEN && all_digits(buf + pos, len - pos, 5)) {
		/* The start of a leader and then the end of the input. */
		r->recno = recno;
		r->pos = len;
		rec->offset = r->base + pos;
		rec->recno = recno;
		reader_error(r, MARC_E_TRUNCATED, recno, len);
		return MARC_NEXT_SKIPPED;
	}
	if (!leader_plausible(buf + pos, len - pos) &&
	    !(pos == r->pos && (pos == 0 || buf[pos - 1] == MARC_RT) &&
	    leader_weak(buf + pos, len - pos))) {
		junk = pos;
		s = reader_resync(buf, len, pos);
		for (; pos < s && is_filler(buf[pos]); pos++)
			;
		if (pos < s)
			reader_error(r, MARC_E_JUNK, recno, junk);
		pos = s;
		if (pos == len) {
			/* Junk up to the next boundary: an item of its own. */
			r->recno = recno;
			r->pos = len;
			rec->offset = r->base + junk;
			rec->recno = recno;
			return MARC_NEXT_SKIPPED;
		}
	}

	/* The record's extent, then its leader and fields. */
	s = pos;
	r->recno = recno;
	e = reader_extent(r, s, len, recno);
	r->pos = e;
	rec->data = buf + s;
	rec->leader = rec->data;
	rec->len = e - s;
	rec->offset = r->base + s;
	rec->recno = recno;
	if (e - s < MARC_LEADER_LEN + 2) {
		if (r->errors.n == 0)
			reader_error(r, MARC_E_TRUNCATED, recno, e);
		return MARC_NEXT_SKIPPED;
	}
	reader_check_leader(r, buf + s, s, recno);
	nf = reader_fields(r, buf + s, e - s, s, recno);
	if (nf < 0)
		return -1;
	if (nf == 0 && r->errors.n == 0)
		reader_error(r, MARC_E_DIRECTORY, recno, s + MARC_LEADER_LEN);
	rec->nfields = (uint32_t)nf;
	rec->fields = r->fields;
	rec->charset = reader_charset(r, buf + s, e - s);
	return MARC_NEXT_RECORD;
}

/* Start at the first subfield delimiter after the indicators. */
void
marc_subfields_begin(struct marc_subfield_iter *it, const uint8_t *fdata,
    size_t flen)
{
	const uint8_t *sd;

	it->end = fdata + flen;
	if (flen <= 2) {
		it->p = it->end;
		return;
	}
	sd = memchr(fdata + 2, MARC_SD, flen - 2);
	it->p = sd ? sd : it->end;
}

/* Step to the next non-empty subfield. */
int
marc_subfields_next(struct marc_subfield_iter *it, struct marc_subfield *sf)
{
	const uint8_t *p, *q;

	while (it->p < it->end) {
		p = it->p + 1;		/* past the delimiter */
		if (p == it->end) {
			it->p = it->end;
			return 0;
		}
		if (*p == MARC_SD) {	/* empty: delimiter, delimiter */
			it->p = p;
			continue;
		}
		q = memchr(p + 1, MARC_SD, (size_t)(it->end - p - 1));
		if (q == NULL)
			q = it->end;
		sf->code = *p;
		sf->data = p + 1;
		sf->len = (size_t)(q - p - 1);
		it->p = q;
		return 1;
	}
	return 0;
}
