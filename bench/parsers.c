/*
 * bench/parsers.c: the XML and JSON libraries marcd could use, on the same
 * input, parse only (no records built), median of N runs: how the readers'
 * libraries were chosen.
 *
 *   bench/parsers xml FILE [RUNS]    expat vs libxml2 (push, SAX2), one
 *                                    document; and libxml2's other ways in
 *                                    (the memory parser with the same
 *                                    handlers, the text reader): whether
 *                                    another would be faster
 *   bench/parsers json FILE [RUNS]   yajl (events) vs json-c vs jansson
 *                                    (trees), one object per line
 *
 * Prints MB/s per library and the ratio to the first.  Built by
 * `make bench-formats` (needs libexpat1-dev, libjson-c-dev, libjansson-dev);
 * jansson's part is in parsers_jansson.c.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <expat.h>
#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <yajl/yajl_parse.h>

unsigned long	events;

/* In parsers_jansson.c: its header and json-c's cannot meet. */
int	run_jansson(const char *, size_t);

/* Wall-clock seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Count elements: what a reader does at least. */
static void XMLCALL
ex_start(void *u, const char *n, const char **a)
{
	events++;
}

static void XMLCALL
ex_chars(void *u, const char *s, int n)
{
	events++;
}

/* expat, namespace-aware, as read_xml.c used it. */
static int
run_expat(const char *p, size_t n)
{
	XML_Parser	x = XML_ParserCreateNS(NULL, ' ');
	int		ok;

	XML_SetElementHandler(x, ex_start, NULL);
	XML_SetCharacterDataHandler(x, ex_chars);
	ok = XML_Parse(x, p, (int)n, XML_TRUE) == XML_STATUS_OK;
	XML_ParserFree(x);
	return ok;
}

static void
lx_start(void *ctx, const xmlChar *l, const xmlChar *pfx, const xmlChar *uri,
    int nns, const xmlChar **ns, int na, int nd, const xmlChar **a)
{
	events++;
}

static void
lx_chars(void *ctx, const xmlChar *s, int n)
{
	events++;
}

/*
 * The handlers read_xml.c sets (SAX2, no tree; blanks given as text, so
 * libxml2 does not look at them twice), counting.
 */
static void
lx_handlers(xmlSAXHandler *h)
{
	memset(h, 0, sizeof *h);
	h->initialized = XML_SAX2_MAGIC;
	h->startElementNs = lx_start;
	h->characters = lx_chars;
	h->ignorableWhitespace = lx_chars;
}

/* libxml2 as read_xml.c uses it: the push parser, fed in 64 KiB pieces. */
static int
run_libxml2(const char *p, size_t n)
{
	xmlSAXHandler		h;
	xmlParserCtxtPtr	c;
	size_t			off, k;
	int			ok = 1;

	lx_handlers(&h);
	if ((c = xmlCreatePushParserCtxt(&h, NULL, NULL, 0, NULL)) == NULL)
		return 0;
	xmlCtxtUseOptions(c, XML_PARSE_NONET);
	for (off = 0; ok && off < n; off += k) {
		k = n - off < 65536 ? n - off : 65536;
		ok = xmlParseChunk(c, p + off, (int)k, 0) == 0;
	}
	ok = ok && xmlParseChunk(c, NULL, 0, 1) == 0 && c->wellFormed;
	xmlFreeParserCtxt(c);
	return ok;
}

/* The memory parser (no push), the same handlers. */
static int
run_libxml2_mem(const char *p, size_t n)
{
	xmlSAXHandler	h;

	lx_handlers(&h);
	return xmlSAXUserParseMemory(&h, NULL, p, (int)n) == 0;
}

/* The text reader, a node at a time. */
static int
run_libxml2_reader(const char *p, size_t n)
{
	xmlTextReaderPtr	r;
	int			rc;

	if ((r = xmlReaderForMemory(p, (int)n, NULL, NULL,
	    XML_PARSE_NONET)) == NULL)
		return 0;
	while ((rc = xmlTextReaderRead(r)) == 1)
		if (xmlTextReaderNodeType(r) == XML_READER_TYPE_ELEMENT)
			events++;
	xmlFreeTextReader(r);
	return rc == 0;
}

static int
yj_any(void *c)
{
	events++;
	return 1;
}

static int
yj_str(void *c, const unsigned char *s, size_t n)
{
	events++;
	return 1;
}

static int
yj_num(void *c, const char *s, size_t n)
{
	events++;
	return 1;
}

static int
yj_bool(void *c, int b)
{
	events++;
	return 1;
}

/* yajl events over all the objects, as read_json.c uses it. */
static int
run_yajl(const char *p, size_t n)
{
	static const yajl_callbacks cb = { yj_any, yj_bool, NULL, NULL,
	    yj_num, yj_str, yj_any, yj_str, yj_any, yj_any, yj_any };
	yajl_handle	h = yajl_alloc(&cb, NULL, NULL);
	int		ok;

	yajl_config(h, yajl_allow_multiple_values, 1);
	ok = yajl_parse(h, (const unsigned char *)p, n) == yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

/* json-c: one tree per object, the tokener reused. */
static int
run_jsonc(const char *p, size_t n)
{
	struct json_tokener	*t = json_tokener_new();
	struct json_object	*o;
	size_t			 off = 0;

	while (off < n) {
		while (off < n && (p[off] == '\n' || p[off] == ' '))
			off++;
		if (off == n)
			break;
		json_tokener_reset(t);
		o = json_tokener_parse_ex(t, p + off, (int)(n - off));
		if (o == NULL)
			break;
		events++;
		off += (size_t)json_tokener_get_parse_end(t);
		json_object_put(o);
	}
	json_tokener_free(t);
	return off >= n;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median seconds of runs of one parser. */
static double
median(int (*fn)(const char *, size_t), const char *p, size_t n, int runs,
    const char *name)
{
	double	t[64], t0;
	int	i;

	for (i = 0; i < runs && i < 64; i++) {
		t0 = now();
		if (!fn(p, n)) {
			fprintf(stderr, "parsers: %s failed\n", name);
			exit(1);
		}
		t[i] = now() - t0;
	}
	qsort(t, (size_t)i, sizeof t[0], cmp);
	return t[i / 2];
}

int
main(int argc, char **argv)
{
	struct stat	 st;
	char		*p;
	double		 t[4];
	const char	*names[4];
	int		 fd, runs, i, k;

	if (argc < 3) {
		fprintf(stderr, "usage: parsers xml|json FILE [RUNS]\n");
		return 2;
	}
	runs = argc > 3 ? atoi(argv[3]) : 5;
	if ((fd = open(argv[2], O_RDONLY)) < 0 || fstat(fd, &st) != 0 ||
	    (p = malloc((size_t)st.st_size)) == NULL ||
	    read(fd, p, (size_t)st.st_size) != st.st_size) {
		perror(argv[2]);
		return 2;
	}
	if (strcmp(argv[1], "xml") == 0) {
		names[0] = "expat";
		names[1] = "libxml2";
		t[0] = median(run_expat, p, (size_t)st.st_size, runs, names[0]);
		t[1] = median(run_libxml2, p, (size_t)st.st_size, runs,
		    names[1]);
		names[2] = "libxml2, memory";
		names[3] = "libxml2, reader";
		t[2] = median(run_libxml2_mem, p, (size_t)st.st_size, runs,
		    names[2]);
		t[3] = median(run_libxml2_reader, p, (size_t)st.st_size, runs,
		    names[3]);
		k = 4;
	} else {
		names[0] = "yajl";
		names[1] = "json-c";
		names[2] = "jansson";
		t[0] = median(run_yajl, p, (size_t)st.st_size, runs, names[0]);
		t[1] = median(run_jsonc, p, (size_t)st.st_size, runs, names[1]);
		t[2] = median(run_jansson, p, (size_t)st.st_size, runs,
		    names[2]);
		k = 3;
	}
	/* The ratio is of speeds: above 1, faster than the first. */
	for (i = 0; i < k; i++)
		printf("%-20s %8.1f MB/s  %5.2fx %s\n", names[i],
		    (double)st.st_size / t[i] / 1e6, t[0] / t[i], names[0]);
	free(p);
	return 0;
}
