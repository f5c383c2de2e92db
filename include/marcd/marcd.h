/*
 * marcd/marcd.h: public interface of libmarcd.
 *
 * The MARC record view and reader are in marcd/marc.h.  All functions are
 * safe to call from several threads on distinct objects; one object must not
 * be used by two threads at once.
 */
#ifndef MARCD_MARCD_H
#define MARCD_MARCD_H

#include "marcd/marc.h"

#define MARCD_VERSION	"0.1.0"

/* Version of the library actually loaded, e.g. "0.1.0". */
const char	*marcd_version(void);

#endif
