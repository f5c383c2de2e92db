/*
 * fuzz/fuzz_json.c: libFuzzer target for the MARC-in-JSON reader and its splitter
 * (invariants in fuzz/fuzz_text.h).
 */
#define FUZZ_FROM	MARC_FROM_MARCJSON
#include "fuzz_text.h"
