/*
 * common/format.h: the input serializations, found by content, and one
 * reader over all of them.
 *
 *   iso2709   MARC 21 exchange format (common/reader.c)
 *   marcxml   MARCXML, MARC 21 slim, also wrapped (OAI-PMH, SRU)
 *   marcjson  MARC-in-JSON: one object, an array, concatenated, JSON Lines
 *   mrk       MarcEdit mnemonic text (=LDR  ..., =245  10$a...)
 *
 * Every format becomes the same struct marc_record: the text formats are
 * laid out as ISO 2709 records (common/build.c) in buffers the reader keeps.
 * Each format has a boundary function (where the next record starts at or
 * after a position) and a reader of a range [start, end) of the whole input
 * that reads the records starting inside it, so a file is cut into slices
 * at record boundaries and the slices read independently, as the ISO 2709
 * reader does.
 */
#ifndef MARCD_FORMAT_H
#define MARCD_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "build.h"
#include "marcd/marc.h"

enum marc_from {
	MARC_FROM_UNKNOWN = -1,
	MARC_FROM_ISO2709 = 0,
	MARC_FROM_MARCXML = 1,
	MARC_FROM_MARCJSON = 2,
	MARC_FROM_MRK = 3,
};

struct marc_xml;
struct marc_json;

/* A reader of any input format; the ISO 2709 reader's fields keep the place. */
struct marc_freader {
	int			 from;		/* enum marc_from */
	struct marc_reader	 r;		/* buf, len (= end), pos, recno,
						 * charset, errors */
	size_t			 total;		/* length of the whole input */
	struct marc_build	 b;		/* text formats: the record */
	struct mbuf		 tmp;		/* text formats: scratch */
	struct marc_xml		*xml;
	struct marc_json	*json;
};

/* An input format by name (--from); MARC_FROM_UNKNOWN if none. */
int		marc_from_parse(const char *name);
/* The name of an input format. */
const char	*marc_from_name(int from);
/*
 * The format of an input by its first bytes (after a UTF-8 BOM and white
 * space): `<` MARCXML, `{` or `[` MARC-in-JSON, `=LDR` mrk, five digits ISO
 * 2709; empty or blank input is ISO 2709 (no records).  MARC_FROM_UNKNOWN
 * for anything else.
 */
int		marc_from_detect(const uint8_t *buf, size_t len);
/* Offset of the next record start at or after pos, for cutting slices. */
size_t		marc_from_boundary(int from, const uint8_t *buf, size_t len,
		    size_t pos);
/*
 * Where the records of a format that begin in [off, off + length) lie, as
 * marc_range_bounds places them for ISO 2709: *start == *end when none does.
 * A slice of a file is the range [k * MARC_SLICE_SIZE, (k + 1) * size).
 */
void		marc_from_range_bounds(int from, const uint8_t *buf,
		    size_t len, uint64_t off, uint64_t length, size_t *start,
		    size_t *end);
/*
 * Read the records of buf[start..end) in format from; buf[0..total) is the
 * whole input and recno0 the records before start.  A reader in use keeps
 * its buffers.  -1 when out of memory.
 */
int		marc_freader_init_range(struct marc_freader *, int from,
		    const void *buf, size_t start, size_t end, size_t total,
		    int charset, uint32_t recno0);
/* As marc_reader_next, in any format. */
int		marc_freader_next(struct marc_freader *, struct marc_record *);
/* Free everything the reader holds. */
void		marc_freader_free(struct marc_freader *);

#endif
