/*
 * common/scan.h: whole-record byte scans, sixteen bytes a step with SSE2
 * (every x86-64 has it) or eight with plain words.  The reader and the
 * encoding check run these over every record, so they are inline.
 */
#ifndef MARCD_SCAN_H
#define MARCD_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define SCAN_ONES	0x0101010101010101ULL
#define SCAN_HIGHS	0x8080808080808080ULL

/*
 * True if p[0..n) is all ASCII and, when esc is set, holds no ESC (0x1B):
 * such bytes read the same in MARC-8 and UTF-8 and cannot be in error.
 */
static inline int
scan_plain(const uint8_t *p, size_t n, int esc)
{
	size_t	i = 0;
	uint64_t w, x, acc = 0, e = 0;

#ifdef __SSE2__
	__m128i	va = _mm_setzero_si128(), ve = _mm_setzero_si128();
	__m128i	k = _mm_set1_epi8(0x1B);

	for (; n - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		va = _mm_or_si128(va, v);
		ve = _mm_or_si128(ve, _mm_cmpeq_epi8(v, k));
	}
	if (_mm_movemask_epi8(va) || (esc && _mm_movemask_epi8(ve)))
		return 0;
#endif
	for (; n - i >= 8; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
		x = w ^ (SCAN_ONES * 0x1B);
		e |= (x - SCAN_ONES) & ~x;
	}
	for (; i < n; i++) {
		acc |= p[i];
		e |= p[i] == 0x1B ? 0x80 : 0;
	}
	return ((acc | (esc ? e : 0)) & SCAN_HIGHS) == 0;
}

/*
 * True if some 0x1F (subfield delimiter) in p[0..n) is followed by a byte
 * of 0x80 or above: a subfield code that is not ASCII.
 */
static inline int
scan_sd_high(const uint8_t *p, size_t n)
{
	size_t		i = 0;
	unsigned	carry = 0;

#ifdef __SSE2__
	__m128i		k = _mm_set1_epi8(0x1F);

	for (; n - i >= 16; i += 16) {
		__m128i		v = _mm_loadu_si128((const __m128i *)(p + i));
		unsigned	sd = (unsigned)_mm_movemask_epi8(
				    _mm_cmpeq_epi8(v, k));
		unsigned	hi = (unsigned)_mm_movemask_epi8(v);

		if (((sd << 1) | carry) & hi)
			return 1;
		carry = (sd >> 15) & 1;
	}
#endif
	for (; i < n; i++) {
		if (carry && p[i] >= 0x80)
			return 1;
		carry = p[i] == 0x1F;
	}
	return 0;
}

/* True if any byte of p[0..n) is 0x80 or above. */
static inline int
scan_high(const uint8_t *p, size_t n)
{
	return !scan_plain(p, n, 0);
}

#endif
