/*
 * client/marcctl_local.c: count, check and dump without a daemon, like
 * yaz-marcdump.  Each file is mapped and read in one pass; compressed files,
 * UTF-16 ones (transcoded by common/decomp.c as if decompressed) and pipes
 * are read through a bounded window instead (common/isofeed.c).
 * Output goes through one buffer flushed in large writes.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "decomp.h"
#include "input.h"
#include "isofeed.h"
#include "marc8.h"
#include "marcctl.h"
#include "text.h"
#include "textfeed.h"
#include "write.h"

enum local_mode { MODE_COUNT, MODE_CHECK, MODE_DUMP };

#define FLUSH_AT	(256 * 1024)

struct local {
	int			 mode;
	int			 charset;
	int			 from;		/* --from, or MARC_FROM_UNKNOWN */
	int			 format;
	int			 to_marc8;	/* --to-charset marc8 */
	int			 nfiles;
	int			 status;
	int			 ranged;	/* --range given */
	uint64_t		 range_off;
	uint64_t		 range_len;
	struct mbuf		 out;
	struct mbuf		 scratch;
	struct mbuf		 rec8;		/* a record before MARC-8 */
	struct mbuf		 dir8;
	struct marc_writer	 w;
	struct marc_errlist	 errs;
};

/* Write one record, then rewrite it in MARC-8 into the output. */
static int
local_marc8(struct local *l, const struct marc_record *rec)
{
	l->rec8.len = 0;
	if (marc_writer_record(&l->w, &l->rec8, rec, &l->errs) != 0)
		return -1;
	if (l->format == MARC_FMT_ISO2709)
		return marc8_iso2709_from_utf8(&l->out, &l->dir8, l->rec8.p,
		    l->rec8.len) < 0 ? -1 : 0;
	return marc8_mrk_from_utf8(&l->out, l->rec8.p, l->rec8.len) < 0 ?
	    -1 : 0;
}

/*
 * One slice of a file: every record read, reported, and handled by mode.
 * delta: what a text reader's offsets (in the slice's data) add up to in
 * the stream.
 */
static int
local_slice(struct local *l, struct marc_freader *r, const char *path,
    uint64_t delta, uint64_t *nrec, uint64_t *nerr)
{
	struct marc_record	rec;
	uint32_t		i;
	int			rc;

	while ((rc = marc_freader_next(r, &rec)) != MARC_NEXT_END) {
		if (rc < 0)
			goto nomem;
		if (delta) {
			rec.offset += delta;
			/* rec.errors is the reader's own list. */
			for (i = 0; i < r->r.errors.n; i++)
				r->r.errors.e[i].offset += delta;
		}
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
		} else if (l->mode == MODE_DUMP && l->to_marc8) {
			if (local_marc8(l, &rec) != 0)
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

/* What is said once a file is read: its count, and the exit status. */
static void
local_done(struct local *l, const char *path, uint64_t nrec, uint64_t nerr)
{
	if (l->mode == MODE_COUNT) {
		if (l->nfiles > 1)
			printf("%llu %s\n", (unsigned long long)nrec, path);
		else
			printf("%llu\n", (unsigned long long)nrec);
	}
	if (nerr && l->status == EXIT_CLEAN)
		l->status = EXIT_BADREC;
}

/*
 * One whole input in memory, slice by slice as the daemon cuts it, so both
 * agree exactly.  The format is the one --from names, else what the
 * content says.  0, or -1 (said) when it cannot be read at all.
 */
static int
local_buffer(struct local *l, const char *path, const uint8_t *p,
    size_t len, uint64_t *nrec, uint64_t *nerr)
{
	struct marc_freader	r;
	struct marc_error	unknown = { MARC_E_UNKNOWN_FORMAT, 1, 0 };
	struct progress		pg;
	uint64_t		k;
	size_t			s, e;
	uint32_t		recno = 0;
	int			from;

	from = l->from != MARC_FROM_UNKNOWN ? l->from :
	    marc_from_detect(p, len);
	if (from == MARC_FROM_UNKNOWN) {
		marcctl_report(path, &unknown);
		return -1;
	}
	progress_start(&pg, path, len);
	memset(&r, 0, sizeof(r));
	if (l->ranged) {
		/* Record numbers count from the range's first record. */
		marc_from_range_bounds(from, p, len, l->range_off,
		    l->range_len, &s, &e);
		if (marc_freader_init_range(&r, from, p, s, e, len,
		    l->charset, 0) != 0)
			goto nomem;
		if (local_slice(l, &r, path, 0, nrec, nerr) != 0)
			goto fail;
	}
	for (k = 0; !l->ranged && k < len / MARC_SLICE_SIZE + 1; k++) {
		marc_from_range_bounds(from, p, len, k * MARC_SLICE_SIZE,
		    MARC_SLICE_SIZE, &s, &e);
		if (e <= s)
			continue;
		if (marc_freader_init_range(&r, from, p, s, e, len,
		    l->charset, recno) != 0)
			goto nomem;
		if (local_slice(l, &r, path, 0, nrec, nerr) != 0)
			goto fail;
		recno = r.r.recno;
		progress_update(&pg, *nrec, *nerr, e);
	}
	progress_end(&pg);
	marc_freader_free(&r);
	return 0;
nomem:
	fprintf(stderr, "marcctl: %s: out of memory\n", path);
fail:
	progress_end(&pg);
	marc_freader_free(&r);
	return -1;
}

/* One plain file, mapped. */
static int
local_mapped(struct local *l, const char *path, int fd)
{
	struct marc_input	in;
	uint64_t		nrec = 0, nerr = 0;
	int			rc;

	if (input_open_fd(&in, fd) != 0) {
		fprintf(stderr, "marcctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = local_buffer(l, path, in.p, in.len, &nrec, &nerr);
	input_close(&in);
	if (rc == 0)
		local_done(l, path, nrec, nerr);
	return rc;
}

/*
 * A range out of a stream: ranges are cut from a whole input, so the
 * decompressed bytes are gathered first (the window's, then the rest); a
 * stream that ends badly still gives what came before, and one
 * bad-compression error where it ended.
 */
static int
local_gather(struct local *l, const char *path, struct iso_feed *f)
{
	struct mbuf		all = { 0 };
	struct marc_error	bad = { MARC_E_BAD_COMPRESSION, 0, 0 };
	uint8_t			tmp[1 << 16];
	uint64_t		nrec = 0, nerr = 0;
	ssize_t			n;
	int			rc;

	if (mbuf_add(&all, f->w.buf, f->w.len) != 0)
		goto nomem;
	while (!f->w.eof && (n = decomp_read(f->w.src, tmp, sizeof(tmp))) != 0) {
		if (n < 0)
			break;
		if (mbuf_add(&all, tmp, (size_t)n) != 0)
			goto nomem;
	}
	if (f->w.src->err == DECOMP_E_IO) {
		fprintf(stderr, "marcctl: %s: %s\n", path,
		    strerror(f->w.src->errnum));
		free(all.p);
		return -1;
	}
	rc = local_buffer(l, path, all.p != NULL ? all.p : (const uint8_t *)"",
	    all.len, &nrec, &nerr);
	if (rc == 0 && (f->w.err != DECOMP_E_NONE ||
	    f->w.src->err != DECOMP_E_NONE)) {
		bad.recno = (uint32_t)nrec + 1;
		bad.offset = all.len;
		marcctl_report(path, &bad);
		nerr++;
	}
	free(all.p);
	if (rc == 0)
		local_done(l, path, nrec, nerr);
	return rc;
nomem:
	free(all.p);
	fprintf(stderr, "marcctl: %s: out of memory\n", path);
	return -1;
}

/* The error that ended a stream, numbered as the record after the last. */
static void
local_stream_end(const char *path, uint32_t code, uint64_t off,
    uint64_t *nrec, uint64_t *nerr)
{
	struct marc_error	e = { code, (uint32_t)*nrec + 1, off };

	marcctl_report(path, &e);
	(*nerr)++;
}

/*
 * A text format out of a stream in bounded memory: the slices
 * common/textfeed.c cuts (those the daemon stages), each read as the
 * whole input would be.  A stream that ends badly gives what came before
 * and one bad-compression error where it ended.
 */
static int
local_text(struct local *l, const char *path, struct iso_feed *f, int from,
    uint64_t total)
{
	struct text_feed	tf;
	struct text_slice	sl;
	struct marc_freader	r;
	struct mbuf		join = { 0 };
	struct progress		pg;
	const uint8_t		*p;
	uint64_t		nrec = 0, nerr = 0;
	uint32_t		recno = 0;
	int			rc, ret = -1;

	memset(&r, 0, sizeof(r));
	text_feed_init(&tf, &f->w, from);
	progress_start(&pg, path, total);
	while ((rc = text_feed_next(&tf, &sl)) == TEXT_FEED_SLICE) {
		p = sl.a;
		if (sl.b != NULL) {
			/* MARCXML's head, then the slice. */
			join.len = 0;
			if (mbuf_add(&join, sl.a, sl.alen) != 0 ||
			    mbuf_add(&join, sl.b, sl.blen) != 0)
				goto nomem;
			p = join.p;
		}
		if (marc_freader_init_range(&r, from, p, sl.pos, sl.end,
		    sl.alen + sl.blen, l->charset, recno) != 0)
			goto nomem;
		if (local_slice(l, &r, path, sl.delta, &nrec, &nerr) != 0)
			goto out;
		recno = r.r.recno;
		progress_update(&pg, nrec, nerr, total ? f->w.src->in : 0);
	}
	if (rc == TEXT_FEED_NOMEM)
		goto nomem;
	if (rc == TEXT_FEED_TOO_LARGE)
		/* Where the daemon's decompressor stops too. */
		local_stream_end(path, MARC_E_TOO_LARGE, tf.s, &nrec, &nerr);
	else if (f->w.src->err == DECOMP_E_IO) {
		fprintf(stderr, "marcctl: %s: %s\n", path,
		    strerror(f->w.src->errnum));
		goto out;
	} else if (f->w.err != DECOMP_E_NONE ||
	    f->w.src->err != DECOMP_E_NONE)
		local_stream_end(path, MARC_E_BAD_COMPRESSION,
		    f->w.base + f->w.len, &nrec, &nerr);
	local_done(l, path, nrec, nerr);
	ret = 0;
	goto out;
nomem:
	fprintf(stderr, "marcctl: %s: out of memory\n", path);
out:
	progress_end(&pg);
	marc_freader_free(&r);
	text_feed_free(&tf);
	free(join.p);
	return ret;
}

/*
 * A compressed file or a pipe, in bounded memory: the same slices cut from
 * the decompressed stream, so records and errors are those of the plain
 * file; offsets are in the decompressed data.
 */
static int
local_stream(struct local *l, const char *path, int fd, int kind,
    const uint8_t *head, size_t headlen, uint64_t total)
{
	struct decomp		d;
	struct iso_feed		f;
	struct marc_freader	r;
	struct marc_error	unknown = { MARC_E_UNKNOWN_FORMAT, 1, 0 };
	struct progress		pg;
	uint64_t		nrec = 0, nerr = 0;
	int			rc, from, ret = -1;

	if (decomp_open_fd(&d, kind, fd, head, headlen) != 0) {
		fprintf(stderr, "marcctl: %s: out of memory\n", path);
		return -1;
	}
	if (iso_feed_init(&f, &d, MARC_SLICE_SIZE, ISO_FEED_MAX) != 0) {
		fprintf(stderr, "marcctl: %s: out of memory\n", path);
		decomp_close(&d);
		return -1;
	}
	/* Slice by slice, in bounded memory; a range is cut from the whole. */
	if (window_fill(&f.w, 4096) < 0) {
		fprintf(stderr, "marcctl: %s: out of memory\n", path);
		iso_feed_free(&f);
		decomp_close(&d);
		return -1;
	}
	from = l->from != MARC_FROM_UNKNOWN ? l->from :
	    marc_from_detect(f.w.buf, f.w.len);
	if (from == MARC_FROM_UNKNOWN && !l->ranged) {
		/* As local_buffer says it, without reading on. */
		marcctl_report(path, &unknown);
		iso_feed_free(&f);
		decomp_close(&d);
		return -1;
	}
	if (from != MARC_FROM_ISO2709 || l->ranged) {
		ret = l->ranged ? local_gather(l, path, &f) :
		    local_text(l, path, &f, from, total);
		iso_feed_free(&f);
		decomp_close(&d);
		return ret;
	}
	memset(&r, 0, sizeof(r));
	r.from = MARC_FROM_ISO2709;
	progress_start(&pg, path, total);
	while ((rc = iso_feed_next(&f, &r.r, l->charset)) != ISO_FEED_END) {
		if (rc < 0) {
			fprintf(stderr, "marcctl: %s: %s\n", path,
			    strerror(errno));
			goto out;
		}
		if (rc == ISO_FEED_ERRORS) {
			marcctl_report_list(path, &f.errs);
			nerr += f.errs.n + f.errs.lost;
			continue;
		}
		if (local_slice(l, &r, path, 0, &nrec, &nerr) != 0)
			goto out;
		progress_update(&pg, nrec, nerr, total ? d.in : 0);
	}
	local_done(l, path, nrec, nerr);
	ret = 0;
out:
	progress_end(&pg);
	marc_freader_free(&r);
	iso_feed_free(&f);
	decomp_close(&d);
	return ret;
}

/* Up to n bytes from a pipe, as many as come before its end. */
static ssize_t
local_head(int fd, uint8_t *p, size_t n)
{
	size_t	got = 0;
	ssize_t	k;

	while (got < n) {
		k = read(fd, p + got, n - got);
		if (k == 0)
			break;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/*
 * One file: told apart by content, never by name.  A plain regular file is
 * mapped; compressed data, UTF-16 and pipes stream through a bounded window.
 */
static int
local_file(struct local *l, const char *path)
{
	uint8_t		head[DECOMP_MAGIC_MAX];
	struct stat	st;
	ssize_t		n;
	int		fd, rc, kind;

	if (path[0] == '-' && path[1] == '\0')
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto fail;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (S_ISREG(st.st_mode)) {
		if ((n = pread(fd, head, sizeof(head), 0)) < 0)
			goto fail;
		kind = decomp_detect(head, (size_t)n);
		rc = kind == DECOMP_NONE ? local_mapped(l, path, fd) :
		    local_stream(l, path, fd, kind, NULL, 0,
		    (uint64_t)st.st_size);
	} else {
		if ((n = local_head(fd, head, sizeof(head))) < 0)
			goto fail;
		kind = decomp_detect(head, (size_t)n);
		rc = local_stream(l, path, fd, kind, head, (size_t)n, 0);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
fail:
	fprintf(stderr, "marcctl: %s: %s\n", path, strerror(errno));
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	return -1;
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
		{ "to-charset", required_argument, NULL, 't' },
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
	while ((ch = getopt_long(argc, argv, "c:f:F:hr:t:", longopts, NULL)) !=
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
			if (marcctl_range(optarg, &l.range_off,
			    &l.range_len) != 0) {
				fprintf(stderr, "marcctl %s: bad range '%s' "
				    "(OFFSET:LENGTH in bytes)\n", argv[0],
				    optarg);
				return EXIT_USAGE;
			}
			l.ranged = 1;
			if (l.range_len == 0)
				l.range_len = UINT64_MAX;
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
		case 't':
			if (mode != MODE_DUMP || (strcmp(optarg, "marc8") != 0 &&
			    strcmp(optarg, "utf8") != 0)) {
				fprintf(stderr, "marcctl %s: unknown output "
				    "charset '%s' (utf8 or marc8)\n", argv[0],
				    optarg);
				return EXIT_USAGE;
			}
			l.to_marc8 = strcmp(optarg, "marc8") == 0;
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
	if (l.to_marc8 && l.format != MARC_FMT_ISO2709 &&
	    l.format != MARC_FMT_MRK) {
		fprintf(stderr, "marcctl %s: --to-charset marc8 needs --format "
		    "iso2709 or mrk\n", argv[0]);
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
	mbuf_free(&l.rec8);
	mbuf_free(&l.dir8);
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
