/*
 * common/build.h: one ISO 2709 record built from parts, for the text
 * readers (MARCXML, MARC-in-JSON, .mrk).
 *
 * A reader hands over the leader, control fields, data fields with their
 * indicators and subfields, in any order of leader and fields; the builder
 * lays them out as one ISO 2709 record (lengths, base address and
 * directory computed) with its field table, in buffers kept from record to
 * record, so every format becomes the same struct marc_record.
 */
#ifndef MARCD_BUILD_H
#define MARCD_BUILD_H

#include "buf.h"
#include "marcd/marc.h"

struct marc_build {
	struct mbuf		 data;		/* data area being built */
	struct mbuf		 rec;		/* the finished record */
	struct marc_field	*fields;
	uint32_t		 nfields;
	uint32_t		 fields_cap;
	size_t			 fstart;	/* open field's first byte in data */
	int			 open;		/* a field is open */
	int			 isdata;	/* ...and it is a data field */
	int			 have_leader;
	int			 marc8;		/* text is MARC-8: replace by 0xFF */
	uint8_t			 leader[MARC_LEADER_LEN];	/* as given */
};

/* Start a record: no leader, no fields. */
void	marc_build_begin(struct marc_build *);
/* The leader as given; returns 0 if it had 24 bytes, else 1 (padded or cut). */
int	marc_build_leader(struct marc_build *, const uint8_t *p, size_t n);
/* Open a field with a tag of n bytes (3 expected; others padded or cut). */
int	marc_build_field(struct marc_build *, const uint8_t *tag, size_t n);
/* Open a data field: two blank indicators, to be set. */
int	marc_build_datafield(struct marc_build *, const uint8_t *tag, size_t n);
/* Make the field just opened a data field (JSON knows it from the value). */
int	marc_build_make_data(struct marc_build *);
/* Set indicator i (0 or 1) of the open data field. */
void	marc_build_ind(struct marc_build *, int i, uint8_t c);
/* Start a subfield with code c in the open data field. */
int	marc_build_subfield(struct marc_build *, uint8_t c);
/*
 * Append text to the open field.  In a data field a subfield delimiter
 * (0x1F) becomes U+FFFD (0xFF in MARC-8 text, which the conversion shows
 * as U+FFFD), as it would end the subfield; returns how many did, or -1.
 * Control fields keep every byte: the field table says where a field ends.
 */
int	marc_build_text(struct marc_build *, const uint8_t *p, size_t n);
/* Append bytes to the open field as they are (structure already checked). */
int	marc_build_raw(struct marc_build *, const uint8_t *p, size_t n);
/* Close the open field, if any. */
int	marc_build_end_field(struct marc_build *);
/*
 * Lay the record out and fill rec (data, field table, leader as given in
 * rec->leader).  charset is MARC_CS_UTF8 or MARC_CS_MARC8 as requested, or
 * MARC_CS_AUTO to decide as the ISO 2709 reader does.  leader/09 becomes
 * 'a' when utf8_leader.  -1 when out of memory.
 */
int	marc_build_finish(struct marc_build *, struct marc_record *rec,
	    int charset, int utf8_leader);
/* Free the buffers. */
void	marc_build_free(struct marc_build *);

#endif
