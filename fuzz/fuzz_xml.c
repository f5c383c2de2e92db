/*
 * fuzz/fuzz_xml.c: libFuzzer target for the MARCXML reader and its splitter
 * (invariants in fuzz/fuzz_text.h).
 */
#define FUZZ_FROM	MARC_FROM_MARCXML
#include "fuzz_text.h"
