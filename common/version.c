/* common/version.c: the library's version string. */
#include "config.h"

#include "marcd/marcd.h"

/* Let callers (and the Python shim) check which library they loaded. */
const char *
marcd_version(void)
{
	return MARCD_VERSION;
}
