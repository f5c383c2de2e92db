/*
 * bench/parsers_jansson.c: jansson's part of bench/parsers.c (jansson.h
 * and json-c's headers declare the same names).
 */
#include <stddef.h>

#include <jansson.h>

extern unsigned long	events;

int	run_jansson(const char *, size_t);

/* jansson: one tree per object. */
int
run_jansson(const char *p, size_t n)
{
	json_error_t	 e;
	json_t		*o;
	size_t		 off = 0;

	while (off < n) {
		while (off < n && (p[off] == '\n' || p[off] == ' '))
			off++;
		if (off == n)
			break;
		o = json_loadb(p + off, n - off, JSON_DISABLE_EOF_CHECK, &e);
		if (o == NULL)
			break;
		events++;
		off += (size_t)e.position;
		json_decref(o);
	}
	return off >= n;
}

