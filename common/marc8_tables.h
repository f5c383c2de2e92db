/*
 * common/marc8_tables.h: layout of the generated MARC-8 tables.
 *
 * The data lives in marc8_tables.c, written by tools/gen_marc8.py from the
 * Library of Congress code tables (tools/codetables.xml) and Python's
 * unicodedata; only marc8.c and the tests look at it.
 */
#ifndef MARCD_MARC8_TABLES_H
#define MARCD_MARC8_TABLES_H

#include <stddef.h>
#include <stdint.h>

/*
 * A mapped character: the code point in the low 21 bits and flags above.
 * 0 means "no mapping" (U+0000 is never the target of a MARC-8 character).
 */
#define M8_CP_MASK	0x001fffffu
#define M8_COMB		(1u << 24)	/* MARC-8 combining: comes before its base */
#define M8_DROP		(1u << 25)	/* right half of a double diacritic: no output */
#define M8_NFC		(1u << 26)	/* not a plain starter: take the NFC slow path */
#define M8_DECOMP	(1u << 27)	/* has a canonical decomposition (marc8_decomp) */

/* Character sets by index; single-byte ones first. */
#define M8_SET_ASCII		0	/* Basic Latin, 0x42 (and ESC s) */
#define M8_SET_ANSEL		1	/* Extended Latin, 0x45 */
#define M8_NSB			11	/* single-byte sets, indices 0..10 */
#define M8_SET_EACC		11	/* EACC, 0x31, three bytes per character */

/* Longest full canonical decomposition of a mapped character. */
#define M8_DECOMP_MAX		4
/* Most UTF-8 bytes any input byte can turn into (U+FFFD takes 3). */
#define M8_EXPAND		4

/* Set index by escape-sequence final byte, -1 for none. */
extern const int8_t	marc8_set_by_final[128];

/* Single-byte sets, indexed by (byte & 0x7f) - 0x21. */
extern const uint32_t	marc8_sb[M8_NSB][94];

/* The C1 bytes MARC-8 maps whatever G1 holds (NSB, NSE, ZWJ, ZWNJ). */
extern const uint32_t	marc8_c1[32];

/*
 * EACC: rowidx[(b0 - 0x21) * 94 + (b1 - 0x21)] is 0 or a row number + 1; a
 * row's bitmap has bit (b2 - 0x20) set for each mapped third byte, and the
 * value is eacc_val[base + rank of that bit].
 */
struct marc8_eacc_row {
	uint64_t	bits[2];
	uint32_t	base;
};
extern const uint16_t			marc8_eacc_rowidx[94 * 94];
extern const struct marc8_eacc_row	marc8_eacc_rows[];
extern const uint32_t			marc8_eacc_val[];

/* Canonical combining classes != 0, as (cp << 8 | ccc), sorted. */
extern const uint32_t	marc8_ccc[];
extern const size_t	marc8_nccc;

/* Full canonical decompositions, sorted by cp; d[] is 0-terminated if short. */
struct marc8_decomp {
	uint32_t	cp;
	uint32_t	d[M8_DECOMP_MAX];
};
extern const struct marc8_decomp	marc8_decomp[];
extern const size_t			marc8_ndecomp;

/* Canonical composition pairs: key (first << 21 | second), sorted. */
extern const uint64_t	marc8_comp_key[];
extern const uint32_t	marc8_comp_val[];
extern const size_t	marc8_ncomp;

/*
 * Unicode to MARC-8 (marc8_rev_tables.c), sorted by cp: the set index and
 * bytes (G0 form; EACC three) of each code point, whether MARC-8 treats it
 * as combining, and for the left half of a double diacritic the byte of its
 * right half (0 otherwise).
 */
struct marc8_rev {
	uint32_t	cp;
	uint8_t		set;
	uint8_t		comb;
	uint8_t		b[3];
	uint8_t		right;
};
extern const struct marc8_rev	marc8_rev[];
extern const size_t		marc8_nrev;

/* Canonical decompositions (NFD order) of code points whose parts all map. */
extern const struct marc8_decomp	marc8_nfd[];
extern const size_t			marc8_nnfd;

/*
 * No starter produced by MARC-8 composes with the character before it (the
 * generator checks), so a starter is final once the next starter comes.
 */

#endif
