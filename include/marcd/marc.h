/*
 * marcd/marc.h: MARC 21 (ISO 2709) record view, error codes and reader.
 *
 * A record is a zero-copy view into the caller's buffer: the leader, a field
 * table (tag, offset, length) and the raw bytes.  The reader walks a whole
 * buffer, never stops at a bad record, and reports every problem as a plain
 * struct (code, byte offset in the input, record number).  Nothing here
 * allocates per record: the field table and error list live in the reader
 * and are reused.
 */
#ifndef MARCD_MARC_H
#define MARCD_MARC_H

#include <stddef.h>
#include <stdint.h>

#define MARC_LEADER_LEN		24
#define MARC_DIRENT_LEN		12
#define MARC_RT			0x1D	/* record terminator */
#define MARC_FT			0x1E	/* field terminator */
#define MARC_SD			0x1F	/* subfield delimiter */

/* Files are read in slices of 1 MiB, by the daemon's workers and the offline
 * tools alike: slice k holds the records that begin in [k MiB, k+1 MiB)
 * (see marc_range_bounds). */
#define MARC_SLICE_SIZE		(1u << 20)

/* Character set of a record's data: what the caller asks for, what is used. */
enum marc_charset {
	MARC_CS_AUTO = 0,	/* leader/09, but valid UTF-8 under blank is UTF-8 */
	MARC_CS_MARC8 = 1,
	MARC_CS_UTF8 = 2,
};

/* Stable error codes; numbers never change once released. */
enum marc_code {
	MARC_OK = 0,
	MARC_E_RECORD_LENGTH = 1,	/* leader/00-04 not digits or wrong */
	MARC_E_LEADER = 2,		/* leader malformed (indicator count...) */
	MARC_E_BASE_ADDRESS = 3,	/* leader/12-16 not digits or out of range */
	MARC_E_DIRECTORY = 4,		/* non-numeric or misaligned directory */
	MARC_E_FIELD_BOUNDS = 5,	/* field starts or ends past the record */
	MARC_E_FIELD_TERMINATOR = 6,	/* field not ended by 0x1E where stated */
	MARC_E_RECORD_TERMINATOR = 7,	/* record not ended by 0x1D */
	MARC_E_TRUNCATED = 8,		/* input ends inside a record */
	MARC_E_UTF8 = 9,		/* invalid UTF-8 */
	MARC_E_MARC8_ESCAPE = 10,	/* bad or unknown MARC-8 escape sequence */
	MARC_E_MARC8_CHAR = 11,		/* byte(s) with no mapping in the set */
	MARC_E_JUNK = 12,		/* bytes between records, skipped */
	MARC_E_TOO_LARGE = 13,		/* record too large for a daemon block */
	MARC_E_WORKER = 14,		/* the slice killed the daemon's workers */
	MARC_E_INPUT_CHANGED = 15,	/* the batch input shrank while read */
	MARC_E_BAD_XML = 16,		/* MARCXML not well-formed or not MARC */
	MARC_E_BAD_JSON = 17,		/* JSON not well-formed or not MARC-in-JSON */
	MARC_E_BAD_MRK = 18,		/* .mrk line not in the mnemonic format */
	MARC_E_UNKNOWN_FORMAT = 19,	/* input in none of the known formats */
	MARC_E_BAD_COMPRESSION = 20,	/* compressed/UTF-16 input not decoding */
	MARC_E_SUBFIELD_CODE = 21,	/* subfield code not one ASCII byte (normalised) */
	MARC_E_COUNT_
};

/* One problem found in the input. */
struct marc_error {
	uint32_t	code;		/* enum marc_code */
	uint32_t	recno;		/* 1-based record number */
	uint64_t	offset;		/* byte offset in the whole input */
};

#define MARC_MAX_ERRORS	32	/* kept per list; further ones are counted only */

/* A bounded list of errors: plain structs, no allocation. */
struct marc_errlist {
	uint32_t		n;
	uint32_t		lost;		/* errors beyond MARC_MAX_ERRORS */
	struct marc_error	e[MARC_MAX_ERRORS];
};

/* Record an error; beyond the bound it is only counted. */
static inline void
marc_errlist_add(struct marc_errlist *l, uint32_t code, uint32_t recno,
    uint64_t offset)
{
	if (l->n < MARC_MAX_ERRORS) {
		l->e[l->n].code = code;
		l->e[l->n].recno = recno;
		l->e[l->n].offset = offset;
		l->n++;
	} else
		l->lost++;
}

/* A field: tag and where its data lies, relative to the record start. */
struct marc_field {
	char		tag[3];		/* not NUL-terminated */
	uint8_t		flags;		/* reserved, 0 */
	uint32_t	off;		/* first data byte (indicators for data fields) */
	uint32_t	len;		/* data bytes, without the field terminator */
};

/* A record as a view into the input buffer. */
struct marc_record {
	const uint8_t		*data;		/* first byte of the leader */
	const uint8_t		*leader;	/* 24 bytes to write as the leader:
						 * data, or the leader as read
						 * when data was converted */
	size_t			 len;		/* bytes, including 0x1D if present */
	uint64_t		 offset;	/* offset of data in the whole input */
	uint32_t		 recno;		/* 1-based */
	uint32_t		 nfields;
	const struct marc_field	*fields;
	int			 charset;	/* MARC_CS_MARC8 or MARC_CS_UTF8 */
	const struct marc_errlist *errors;	/* structural errors found */
};

/* Return values of marc_reader_next. */
enum marc_next {
	MARC_NEXT_END = 0,	/* no more input */
	MARC_NEXT_RECORD = 1,	/* a usable record (it may carry errors) */
	MARC_NEXT_SKIPPED = 2,	/* bytes that held no usable record; errors only */
};

struct marc_reader {
	const uint8_t		*buf;
	size_t			 len;
	size_t			 pos;
	size_t			 seg;		/* the next record boundary */
	size_t			 stop;		/* no stretch begins at or after */
	uint64_t		 base;		/* offset of buf[0] in the whole input */
	uint32_t		 recno;		/* last record number handed out */
	int			 charset;	/* requested enum marc_charset */
	struct marc_field	*fields;	/* reused field table */
	uint32_t		 fields_cap;
	struct marc_errlist	 errors;	/* of the last item handed out */
};

/* Short stable name of a code, e.g. "bad-leader". */
const char	*marc_code_name(uint32_t code);
/* One-line English message for a code. */
const char	*marc_code_message(uint32_t code);

/*
 * Start reading buf[0..len).  base is the offset of buf[0] in the whole input
 * and recno0 the number of records before it (for slices of a larger file).
 */
void	marc_reader_init(struct marc_reader *, const void *buf, size_t len,
	    int charset, uint64_t base, uint32_t recno0);
/* Like marc_reader_init on a reader already in use, keeping its tables. */
void	marc_reader_reset(struct marc_reader *, const void *buf, size_t len,
	    int charset, uint64_t base, uint32_t recno0);
/*
 * Read buf[0..len) as the one record a writer made of it: no boundary is
 * looked for inside, so record terminators that transport mode keeps in a
 * field do not cut it.
 */
void	marc_reader_reset_one(struct marc_reader *, const void *buf,
	    size_t len, int charset);
/*
 * Record boundaries.  Offset 0 is one, and so is every plausible leader (five
 * digits at 00-04 and 12-16) that follows a record terminator, maybe with
 * filler (white space, NUL, SUB) between.  No record or junk the reader hands
 * out runs over a boundary, so a range of an input can be read on its own.
 * marc_boundary_find gives the first boundary in [from, to), else to.
 */
size_t	marc_boundary_find(const uint8_t *buf, size_t len, size_t from,
	    size_t to);
/*
 * Where the records that begin in the range [off, off + length) of
 * buf[0..len) lie: *start is the first boundary inside the range, *end the
 * first at or after its end (or len), so the range reads past its end only to
 * finish its last record.  No boundary inside: *start == *end, empty.  The
 * ranges of any cut of an input hold all its records once, in order.
 */
void	marc_range_bounds(const uint8_t *buf, size_t len, uint64_t off,
	    uint64_t length, size_t *start, size_t *end);
/*
 * Read the records that begin in [off, off + length) of the whole input
 * buf[0..len), as marc_range_bounds places them (a slice of a file is the
 * range [k * MARC_SLICE_SIZE, (k + 1) * MARC_SLICE_SIZE)).
 */
void	marc_reader_init_range(struct marc_reader *, const void *buf,
	    size_t len, uint64_t off, uint64_t length, int charset,
	    uint32_t recno0);
/* Resume at pos, where another reader of the same range handed out its
 * last item; reading goes on as that reader's would have. */
void	marc_reader_seek(struct marc_reader *, size_t pos);
/* Free the reader's tables. */
void	marc_reader_free(struct marc_reader *);
/* Read the next record; see enum marc_next.  -1 only when out of memory. */
int	marc_reader_next(struct marc_reader *, struct marc_record *);

/* Offset of the next record boundary at or after pos, else len. */
size_t	marc_next_boundary(const uint8_t *buf, size_t len, size_t pos);

/* True if the field is a control field (tag 001-009, or 00X in general). */
static inline int
marc_field_is_control(const struct marc_field *f)
{
	return f->tag[0] == '0' && f->tag[1] == '0';
}

/*
 * Subfield iteration over a data field's bytes: data[0..len) starts with
 * the two indicators.  Bytes between the indicators and the first 0x1F are
 * ignored, as pymarc and yaz do.
 */
struct marc_subfield {
	uint8_t		 code;
	const uint8_t	*data;
	size_t		 len;
};

struct marc_subfield_iter {
	const uint8_t	*p;
	const uint8_t	*end;
};

/* Indicators of a data field; a missing one reads as a blank. */
static inline uint8_t
marc_field_ind(const uint8_t *fdata, size_t flen, int i)
{
	return (size_t)i < flen ? fdata[i] : ' ';
}

/* Start iterating the subfields of a data field. */
void	marc_subfields_begin(struct marc_subfield_iter *, const uint8_t *fdata,
	    size_t flen);
/* Next subfield; 0 when done.  Empty subfields (0x1F then 0x1F or end) are skipped. */
int	marc_subfields_next(struct marc_subfield_iter *, struct marc_subfield *);

#endif
