/*
 * client/marcctl_remote.c: submit, stats and status, through the daemon.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "marcctl.h"
#include "marcd/marcd.h"
#include "write.h"

#define FLUSH_AT	(256 * 1024)

static const char *const state_names[] = {
	"queued", "running", "done", "failed", "cancelled"
};

/* Connect or say why not. */
static marcd_client *
remote_connect(const char *sock)
{
	marcd_client	*c;
	int		 rc;

	if ((rc = marcd_connect(sock, NULL, &c)) != 0) {
		fprintf(stderr, "marcctl: %s: %s%s%s\n",
		    sock ? sock : marcd_default_socket(), marcd_strerror(rc),
		    *marcd_last_error(NULL) ? ": " : "", marcd_last_error(NULL));
		return NULL;
	}
	return c;
}

/* Read a --charset value. */
static int
charset_arg(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return MARC_CS_AUTO;
	if (strcmp(s, "marc8") == 0 || strcmp(s, "marc-8") == 0)
		return MARC_CS_MARC8;
	if (strcmp(s, "utf8") == 0 || strcmp(s, "utf-8") == 0)
		return MARC_CS_UTF8;
	return -1;
}

/* Take every chunk of one batch: report errors, write records if asked. */
static int
submit_follow(marcd_client *c, uint64_t id, const char *path, uint64_t size,
    struct marc_writer *w, struct mbuf *out, int *status)
{
	struct marcd_chunk	*k;
	struct marc_record	 rec;
	struct marc_error	 e;
	struct marc_errlist	 errs;
	struct progress		 pg;
	uint64_t		 nrec = 0, nerr = 0, done = 0, off, len;
	uint32_t		 i, n, j, ne, first, cnt, lost;
	int			 rc;

	progress_start(&pg, path, size);
	while ((rc = marcd_next_chunk(c, id, -1, &k)) == 1) {
		n = marcd_chunk_records(k);
		ne = marcd_chunk_nerrors(k);
		for (i = 0, j = 0; i < n; i++) {
			/* Errors up to this record's last, as dump prints them. */
			if (marcd_chunk_record_errors(k, i, &first, &cnt,
			    &lost) != 0)
				break;
			for (; j < first + cnt && j < ne; j++)
				if (marcd_chunk_error(k, j, &e) == 0)
					marcctl_report(path, &e);
			if (lost && j > 0)
				marcctl_report_lost(path, &e, lost);
			nerr += lost;
		}
		for (; j < ne; j++)
			if (marcd_chunk_error(k, j, &e) == 0)
				marcctl_report(path, &e);
		nerr += ne;
		for (i = 0; w != NULL && i < n; i++) {
			if (marcd_chunk_record(k, i, &rec) != 0) {
				fprintf(stderr, "marcctl: %s: a record failed "
				    "its checks\n", path);
				marcd_chunk_release(c, k);
				return -1;
			}
			errs.n = errs.lost = 0;
			if (marc_writer_record(w, out, &rec, &errs) != 0) {
				marcd_chunk_release(c, k);
				return -1;
			}
			if (out->len >= FLUSH_AT &&
			    marcctl_flush(STDOUT_FILENO, out) != 0) {
				fprintf(stderr, "marcctl: write: %s\n",
				    strerror(errno));
				marcd_chunk_release(c, k);
				return -1;
			}
		}
		nrec += n;
		if (marcd_chunk_source(k, &off, &len) == 0 && off + len > done)
			done = off + len;
		marcd_chunk_release(c, k);
		progress_update(&pg, nrec, nerr, done);
	}
	progress_end(&pg);
	if (rc < 0) {
		fprintf(stderr, "marcctl: %s: %s%s%s\n", path, marcd_strerror(rc),
		    *marcd_last_error(c) ? ": " : "", marcd_last_error(c));
		return -1;
	}
	if (nerr && *status == EXIT_CLEAN)
		*status = EXIT_BADREC;
	if (!pg.on && w == NULL)
		fprintf(stderr, "%s: batch %" PRIu64 ": %" PRIu64 " records, %"
		    PRIu64 " errors\n", path, id, nrec, nerr);
	return 0;
}

/* marcctl submit: hand files to the daemon and take the records back. */
int
cmd_submit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "charset", required_argument, NULL, 'c' },
		{ "follow", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct marcd_submit_opts	 o;
	struct marc_writer		 w;
	struct mbuf			 out = { 0 };
	struct stat			 st;
	marcd_client			*c;
	const char			*sock = NULL;
	uint64_t			 id;
	int				 ch, i, rc, follow = 0, status = EXIT_CLEAN;
	int				 format = MARC_FMT_MARCJSON;

	memset(&o, 0, sizeof(o));
	o.ordered = 1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "s:f:c:Fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'f':
			if ((format = marc_format_parse(optarg)) < 0) {
				fprintf(stderr, "marcctl submit: unknown format "
				    "'%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			if ((o.charset = charset_arg(optarg)) < 0) {
				fprintf(stderr, "marcctl submit: unknown charset "
				    "'%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F':
			follow = 1;
			break;
		case 'h':
			marcctl_usage(stdout, "submit");
			return EXIT_CLEAN;
		default:
			fprintf(stderr, "marcctl submit: bad option '%s'\n",
			    argv[optind - 1]);
			marcctl_usage(stderr, "submit");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "marcctl submit: no FILE given\n");
		marcctl_usage(stderr, "submit");
		return EXIT_USAGE;
	}
	if ((c = remote_connect(sock)) == NULL)
		return EXIT_USAGE;
	if (follow) {
		marc_writer_init(&w, format);
		marc_writer_begin(&w, &out);
	}
	for (i = optind; i < argc; i++) {
		o.name = argv[i];
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "marcctl: %s: %s\n", argv[i],
			    strerror(errno));
			status = EXIT_USAGE;
			continue;
		}
		if ((rc = marcd_submit_file(c, argv[i], &o, &id)) != 0) {
			fprintf(stderr, "marcctl: %s: %s%s%s\n", argv[i],
			    marcd_strerror(rc), *marcd_last_error(c) ? ": " : "",
			    marcd_last_error(c));
			status = EXIT_USAGE;
			continue;
		}
		if (submit_follow(c, id, argv[i], (uint64_t)st.st_size,
		    follow ? &w : NULL, &out, &status) != 0)
			status = EXIT_USAGE;
	}
	if (follow) {
		marc_writer_end(&w, &out);
		if (marcctl_flush(STDOUT_FILENO, &out) != 0)
			status = EXIT_USAGE;
		marc_writer_free(&w);
	}
	mbuf_free(&out);
	marcd_close(c);
	return status;
}

/* Parse --socket/--json/--help for stats and status. */
static int
simple_opts(int argc, char **argv, const char *cmd, const char **sock,
    int *json)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "s:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			*sock = optarg;
			break;
		case 'j':
			*json = 1;
			break;
		case 'h':
			marcctl_usage(stdout, cmd);
			return EXIT_CLEAN + 100;
		default:
			fprintf(stderr, "marcctl %s: bad option '%s'\n", cmd,
			    argv[optind - 1]);
			marcctl_usage(stderr, cmd);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* marcctl stats: the daemon's counters. */
int
cmd_stats(int argc, char **argv)
{
	marcd_client	*c;
	const char	*sock = NULL;
	char		*js;
	int		 json = 0, rc;

	if ((rc = simple_opts(argc, argv, "stats", &sock, &json)) >= 0)
		return rc == EXIT_CLEAN + 100 ? EXIT_CLEAN : rc;
	if ((c = remote_connect(sock)) == NULL)
		return EXIT_USAGE;
	if ((rc = marcd_stats_json(c, &js)) != 0) {
		fprintf(stderr, "marcctl stats: %s\n", marcd_strerror(rc));
		marcd_close(c);
		return EXIT_USAGE;
	}
	printf("%s\n", js);
	free(js);
	marcd_close(c);
	return EXIT_CLEAN;
}

/* marcctl status BATCH: where a batch is. */
int
cmd_status(int argc, char **argv)
{
	struct marcd_batch_status	 st;
	marcd_client			*c;
	const char			*sock = NULL;
	char				*end;
	uint64_t			 id;
	int				 json = 0, rc;

	if ((rc = simple_opts(argc, argv, "status", &sock, &json)) >= 0)
		return rc == EXIT_CLEAN + 100 ? EXIT_CLEAN : rc;
	if (optind + 1 != argc) {
		marcctl_usage(stderr, "status");
		return EXIT_USAGE;
	}
	id = strtoull(argv[optind], &end, 10);
	if (*end != '\0') {
		fprintf(stderr, "marcctl status: bad batch id '%s'\n",
		    argv[optind]);
		return EXIT_USAGE;
	}
	if ((c = remote_connect(sock)) == NULL)
		return EXIT_USAGE;
	if ((rc = marcd_batch_status(c, id, &st)) != 0) {
		fprintf(stderr, "marcctl status: %s\n", marcd_strerror(rc));
		marcd_close(c);
		return EXIT_USAGE;
	}
	if (json)
		printf("{\"batch\":%" PRIu64 ",\"state\":\"%s\",\"bytes_total\":"
		    "%" PRIu64 ",\"bytes_done\":%" PRIu64 ",\"chunks_total\":%u,"
		    "\"chunks_done\":%u,\"chunks_failed\":%u,\"records\":%"
		    PRIu64 ",\"errors\":%" PRIu64 "}\n", st.batch_id,
		    st.state < 5 ? state_names[st.state] : "unknown",
		    st.bytes_total, st.bytes_done, st.chunks_total,
		    st.chunks_done, st.chunks_failed, st.records, st.errors);
	else
		printf("batch %" PRIu64 ": %s, %" PRIu64 "/%" PRIu64 " bytes, "
		    "%u/%u chunks (%u failed), %" PRIu64 " records, %" PRIu64
		    " errors%s%s\n", st.batch_id,
		    st.state < 5 ? state_names[st.state] : "unknown",
		    st.bytes_done, st.bytes_total, st.chunks_done,
		    st.chunks_total, st.chunks_failed, st.records, st.errors,
		    st.error[0] ? ": " : "", st.error);
	marcd_close(c);
	return EXIT_CLEAN;
}
