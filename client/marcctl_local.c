/*
 * client/marcctl_local.c: count, check and dump without a daemon, like
 * yaz-marcdump.  Each file is mapped and read in one pass; output goes
 * through one buffer flushed in large writes.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "input.h"
#include "marcctl.h"
#include "text.h"
#include "write.h"

enum local_mode { MODE_COUNT, MODE_CHECK, MODE_DUMP };

#define FLUSH_AT	(256 * 1024)

struct local {
	int			 mode;
	int			 charset;
	int			 from;		/* --from, or MARC_FROM_UNKNOWN */
	int			 format;
	int			 nfiles;
	int			 status;
	int			 ranged;	/* --range given */
	uint64_t		 range_off;
	uint64_t		 range_len;
	struct mbuf		 out;
	struct mbuf		 scratch;
	struct marc_writer	 w;
	struct marc_errlist	 errs;
};

/* One chunk of a file: every record read, reported, and handled by mode. */
static int
local_chunk(struct local *l, struct marc_freader *r, const char *path,
    uint64_t *nrec, uint64_t *nerr)
{
	struct marc_record	rec;
	int			rc;

	while ((rc = marc_freader_next(r, &rec)) != MARC_NEXT_END) {
		if (rc < 0)
			goto nomem;
		if (rec.errors->n) {
			marcctl_report_list(path, rec.errors);
			*nerr += rec.errors->n + rec.errors->lost;
		}
		if (rc != MARC_NEXT_RECORD)
			continue;
		(*nrec)++;
		l->errs.n = l->errs.lost = 0;
		if (l->mode == MODE_CHECK) {
			l->scratch.len = 0;
			if (marc_record_check_text(&rec, &l->scratch,
			    &l->errs) != 0)
				goto nomem;
		} else if (l->mode == MODE_DUMP) {
			if (marc_writer_record(&l->w, &l->out, &rec,
			    &l->errs) != 0)
				goto nomem;
			if (l->out.len >= FLUSH_AT &&
			    marcctl_flush(STDOUT_FILENO, &l->out) != 0) {
				fprintf(stderr, "marcctl: write: %s\n",
				    strerror(errno));
				return -1;
			}
		}
		if (l->errs.n) {
			marcctl_report_list(path, &l->errs);
			*nerr += l->errs.n + l->errs.lost;
		}
		marcctl_report_lost(path, l->errs.n ? &l->errs.e[l->errs.n - 1] :
		    rec.errors->n ? &rec.errors->e[rec.errors->n - 1] : NULL,
		    rec.errors->lost + l->errs.lost);
	}
	return 0;
nomem:
	fprintf(stderr, "marcctl: %s: out of memory\n", path);
	return -1;
}

/*
 * One file, chunk by chunk as the daemon cuts it, so both agree exactly.
 * The format is the one --from names, else what the content says.
 */
static int
local_file(struct local *l, const char *path)
{
	struct marc_input	in;
	struct marc_freader	r;
	struct marc_error	unknown = { MARC_E_UNKNOWN_FORMAT, 1, 0 };
	struct progress		pg;
	uint64_t		nrec = 0, nerr = 0, k;
	size_t			s, e;
	uint32_t		recno = 0;
	int			from;

	if (input_open(&in, path) != 0) {
		fprintf(stderr, "marcctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	from = l->from != MARC_FROM_UNKNOWN ? l->from :
	    marc_from_detect(in.p, in.len);
	if (from == MARC_FROM_UNKNOWN) {
		marcctl_report(path, &unknown);
		input_close(&in);
		return -1;
	}
	progress_start(&pg, path, in.len);
	memset(&r, 0, sizeof(r));
	if (l->ranged) {
		/* Record numbers count from the range's first record. */
		marc_from_range_bounds(from, in.p, in.len, l->range_off,
		    l->range_len, &s, &e);
		if (marc_freader_init_range(&r, from, in.p, s, e, in.len,
		    l->charset, 0) != 0)
			goto nomem;
		if (local_chunk(l, &r, path, &nrec, &nerr) != 0)
			goto fail;
	}
	for (k = 0; !l->ranged && k < in.len / MARC_CHUNK_SIZE + 1; k++) {
		marc_from_range_bounds(from, in.p, in.len, k * MARC_CHUNK_SIZE,
		    MARC_CHUNK_SIZE, &s, &e);
		if (e <= s)
			continue;
		if (marc_freader_init_range(&r, from, in.p, s, e, in.len,
		    l->charset, recno) != 0)
			goto nomem;
		if (local_chunk(l, &r, path, &nrec, &nerr) != 0)
			goto fail;
		recno = r.r.recno;
		progress_update(&pg, nrec, nerr, e);
	}
	progress_end(&pg);
	marc_freader_free(&r);
	input_close(&in);
	if (l->mode == MODE_COUNT) {
		if (l->nfiles > 1)
			printf("%llu %s\n", (unsigned long long)nrec, path);
		else
			printf("%llu\n", (unsigned long long)nrec);
	}
	if (nerr && l->status == EXIT_CLEAN)
		l->status = EXIT_BADREC;
	return 0;
nomem:
	fprintf(stderr, "marcctl: %s: out of memory\n", path);
fail:
	progress_end(&pg);
	marc_freader_free(&r);
	input_close(&in);
	return -1;
}

/* --range OFFSET:LENGTH, both decimal byte counts. */
static int
local_range(struct local *l, const char *arg)
{
	char			*end;
	unsigned long long	 off, len;

	errno = 0;
	if (*arg < '0' || *arg > '9')
		return -1;
	off = strtoull(arg, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return -1;
	len = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	l->ranged = 1;
	l->range_off = off;
	l->range_len = len;
	return 0;
}

/* Parse the options shared by count, check and dump, then run the files. */
static int
local_main(int mode, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "charset", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "from", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "range", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct local	l;
	int		ch, i;

	memset(&l, 0, sizeof(l));
	l.mode = mode;
	l.charset = MARC_CS_AUTO;
	l.from = MARC_FROM_UNKNOWN;
	l.format = MARC_FMT_MARCJSON;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:f:F:hr:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			if ((l.charset = marcctl_charset(optarg)) < 0) {
				fprintf(stderr, "marcctl %s: unknown charset "
				    "'%s' (auto, marc8 or utf8)\n", argv[0],
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			if (mode != MODE_DUMP ||
			    (l.format = marc_format_parse(optarg)) < 0) {
				fprintf(stderr, "marcctl %s: unknown format "
				    "'%s' (marcjson, marcxml, mrk or "
				    "iso2709)\n", argv[0], optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			if (local_range(&l, optarg) != 0) {
				fprintf(stderr, "marcctl %s: bad range '%s' "
				    "(OFFSET:LENGTH in bytes)\n", argv[0],
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F':
			if ((l.from = marc_from_parse(optarg)) ==
			    MARC_FROM_UNKNOWN) {
				fprintf(stderr, "marcctl %s: unknown input "
				    "format '%s' (iso2709, marcxml, marcjson "
				    "or mrk)\n", argv[0], optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			marcctl_usage(stdout, argv[0]);
			return EXIT_CLEAN;
		default:
			fprintf(stderr, "marcctl %s: bad option '%s'\n",
			    argv[0], argv[optind - 1]);
			marcctl_usage(stderr, argv[0]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "marcctl %s: no FILE given\n", argv[0]);
		marcctl_usage(stderr, argv[0]);
		return EXIT_USAGE;
	}
	l.nfiles = argc - optind;
	if (mode == MODE_DUMP) {
		marc_writer_init(&l.w, l.format);
		if (marc_writer_begin(&l.w, &l.out) != 0)
			return EXIT_USAGE;
	}
	for (i = optind; i < argc; i++)
		if (local_file(&l, argv[i]) != 0)
			l.status = EXIT_USAGE;
	if (mode == MODE_DUMP) {
		if (marc_writer_end(&l.w, &l.out) != 0 ||
		    marcctl_flush(STDOUT_FILENO, &l.out) != 0) {
			fprintf(stderr, "marcctl: write: %s\n",
			    strerror(errno));
			l.status = EXIT_USAGE;
		}
		marc_writer_free(&l.w);
	}
	mbuf_free(&l.out);
	mbuf_free(&l.scratch);
	if (fflush(stdout) != 0)
		l.status = EXIT_USAGE;
	return l.status;
}

/* marcctl count: records per file. */
int
cmd_count(int argc, char **argv)
{
	return local_main(MODE_COUNT, argc, argv);
}

/* marcctl check: validate everything, print only errors. */
int
cmd_check(int argc, char **argv)
{
	return local_main(MODE_CHECK, argc, argv);
}

/* marcctl dump: convert to a format. */
int
cmd_dump(int argc, char **argv)
{
	return local_main(MODE_DUMP, argc, argv);
}
