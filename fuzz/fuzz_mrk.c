/*
 * fuzz/fuzz_mrk.c: libFuzzer target for the MarcEdit .mrk reader and its splitter
 * (invariants in fuzz/fuzz_text.h).
 */
#define FUZZ_FROM	MARC_FROM_MRK
#include "fuzz_text.h"
