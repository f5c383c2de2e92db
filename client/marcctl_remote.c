/*
 * client/marcctl_remote.c: submit, stats and status, through the daemon.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
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

/* Take every chunk of one batch: report errors, write records if asked. */
static int
submit_follow(marcd_client *c, uint64_t id, const char *path, uint64_t start,
    uint64_t end, struct marc_writer *w, struct mbuf *out, int *status)
{
	struct marcd_chunk	*k;
	struct marc_record	 rec;
	struct marc_error	 e;
	struct marc_errlist	 errs;
	struct progress		 pg;
	uint64_t		 nrec = 0, nerr = 0, done = start, off, len;
	uint32_t		 i, n, j, ne, first, cnt, lost;
	int			 rc, unknown = 0;

	progress_start(&pg, path, end - start);
	while ((rc = marcd_next_chunk(c, id, -1, &k)) == 1) {
		n = marcd_chunk_records(k);
		ne = marcd_chunk_nerrors(k);
		for (i = 0, j = 0; i < n; i++) {
			/* Errors up to this record's last, as dump prints them. */
			if (marcd_chunk_record_errors(k, i, &first, &cnt,
			    &lost) != 0)
				break;
			for (; j < first + cnt && j < ne; j++)
				if (marcd_chunk_error(k, j, &e) == 0) {
					marcctl_report(path, &e);
					unknown |= e.code ==
					    MARC_E_UNKNOWN_FORMAT;
				}
			if (lost && j > 0)
				marcctl_report_lost(path, &e, lost);
			nerr += lost;
		}
		for (; j < ne; j++)
			if (marcd_chunk_error(k, j, &e) == 0) {
				marcctl_report(path, &e);
				unknown |= e.code == MARC_E_UNKNOWN_FORMAT;
			}
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
		progress_update(&pg, nrec, nerr,
		    (done < end ? done : end) - start);
	}
	progress_end(&pg);
	if (rc < 0) {
		fprintf(stderr, "marcctl: %s: %s%s%s\n", path, marcd_strerror(rc),
		    *marcd_last_error(c) ? ": " : "", marcd_last_error(c));
		return -1;
	}
	if (nerr && *status == EXIT_CLEAN)
		*status = EXIT_BADREC;
	/* Input in no known format is refused, as dump refuses it. */
	if (unknown)
		*status = EXIT_USAGE;
	if (!pg.on && w == NULL)
		fprintf(stderr, "%s: batch %" PRIu64 ": %" PRIu64 " records, %"
		    PRIu64 " errors\n", path, id, nrec, nerr);
	return 0;
}

/*
 * Standard input as a file the daemon can map: itself when it is a regular
 * file, else (a pipe) copied into a memfd first.  -1 with errno on failure.
 */
static int
stdin_file(struct stat *st)
{
	static uint8_t	buf[1 << 16];
	ssize_t		n, w, off;
	int		fd;

	if (fstat(STDIN_FILENO, st) != 0)
		return -1;
	if (S_ISREG(st->st_mode))
		return STDIN_FILENO;
	if ((fd = memfd_create("marcctl-stdin", MFD_CLOEXEC)) < 0)
		return -1;
	for (;;) {
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (off = 0; off < n; off += w)
			if ((w = write(fd, buf + off, (size_t)(n - off))) < 0)
				break;
		if (off < n)
			break;
	}
	if (n < 0 || fstat(fd, st) != 0 || (n > 0)) {
		n = errno;
		close(fd);
		errno = n ? (int)n : EIO;
		return -1;
	}
	return fd;
}

/* marcctl submit: hand files to the daemon and take the records back. */
int
cmd_submit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "charset", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'i' },
		{ "range", required_argument, NULL, 'r' },
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
	uint64_t			 id, roff = 0, rlen = 0, start, size;
	int				 fd;
	int				 ch, i, rc, follow = 0, status = EXIT_CLEAN;
	int				 ranged = 0;
	int				 format = MARC_FMT_MARCJSON;

	memset(&o, 0, sizeof(o));
	o.ordered = 1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "s:f:c:i:r:Fh", longopts,
	    NULL)) != -1) {
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
			if ((o.charset = marcctl_charset(optarg)) < 0) {
				fprintf(stderr, "marcctl submit: unknown charset "
				    "'%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			/* libmarcd's numbers are the reader's plus one
			 * (0 detects). */
			if ((o.from = marc_from_parse(optarg) + 1) ==
			    MARCD_FROM_DETECT) {
				fprintf(stderr, "marcctl submit: unknown input "
				    "format '%s' (iso2709, marcxml, marcjson "
				    "or mrk)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			if (marcctl_range(optarg, &roff, &rlen) != 0) {
				fprintf(stderr, "marcctl submit: bad range '%s' "
				    "(OFFSET:LENGTH in bytes)\n", optarg);
				return EXIT_USAGE;
			}
			ranged = 1;
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
		if (strcmp(argv[i], "-") == 0) {
			if ((fd = stdin_file(&st)) < 0) {
				fprintf(stderr, "marcctl: -: %s\n",
				    strerror(errno));
				status = EXIT_USAGE;
				continue;
			}
			rc = marcd_submit_range(c, fd, roff, rlen, &o, &id);
			if (fd != STDIN_FILENO)
				close(fd);
		} else if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "marcctl: %s: %s\n", argv[i],
			    strerror(errno));
			status = EXIT_USAGE;
			continue;
		} else if (ranged) {
			if ((fd = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0) {
				fprintf(stderr, "marcctl: %s: %s\n", argv[i],
				    strerror(errno));
				status = EXIT_USAGE;
				continue;
			}
			rc = marcd_submit_range(c, fd, roff, rlen, &o, &id);
			close(fd);
		} else
			rc = marcd_submit_file(c, argv[i], &o, &id);
		if (rc != 0) {
			fprintf(stderr, "marcctl: %s: %s%s%s\n", argv[i],
			    marcd_strerror(rc), *marcd_last_error(c) ? ": " : "",
			    marcd_last_error(c));
			status = EXIT_USAGE;
			continue;
		}
		/* Progress counts the range's bytes, from its start. */
		size = (uint64_t)st.st_size;
		start = roff < size ? roff : size;
		if (rlen != 0 && rlen < size - start)
			size = start + rlen;
		if (submit_follow(c, id, argv[i], start, size,
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

/* Parse --socket/--json/--prometheus/--help for stats and status. */
static int
simple_opts(int argc, char **argv, const char *cmd, const char **sock,
    int *json)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "s:jph", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			*sock = optarg;
			break;
		case 'j':
			*json = 1;
			break;
		case 'p':
			if (strcmp(cmd, "stats") != 0)
				goto bad;
			*json = 2;
			break;
		case 'h':
			marcctl_usage(stdout, cmd);
			return EXIT_CLEAN + 100;
		default:
		bad:
			fprintf(stderr, "marcctl %s: bad option '%s'\n", cmd,
			    argv[optind - 1]);
			marcctl_usage(stderr, cmd);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* Prometheus text exposition: one family per counter, labelled. */
static void
stats_prometheus(const struct marcd_stats *s)
{
	static const struct {
		const char	*name, *type, *help;
		size_t		 off;
	} tf[] = {
#define TF(n, t, h, f) { n, t, h, offsetof(struct marcd_tenant_stats, f) }
		TF("marcd_tenant_batches_total", "counter", "Batches submitted.", batches),
		TF("marcd_tenant_records_total", "counter", "Records parsed.", records),
		TF("marcd_tenant_bytes_total", "counter", "Input bytes parsed.", bytes),
		TF("marcd_tenant_errors_total", "counter", "Errors found in input.", errors),
		TF("marcd_tenant_arena_bytes", "gauge", "Size of the tenant's arena.", arena_size),
		TF("marcd_tenant_arena_used_bytes", "gauge", "Arena bytes in use.", arena_used),
#undef TF
	}, wf[] = {
#define WF(n, t, h, f) { n, t, h, offsetof(struct marcd_worker_stats, f) }
		WF("marcd_worker_chunks_total", "counter", "Chunks parsed.", chunks),
		WF("marcd_worker_records_total", "counter", "Records parsed.", records),
		WF("marcd_worker_bytes_total", "counter", "Input bytes parsed.", bytes),
		WF("marcd_worker_errors_total", "counter", "Errors found.", errors),
#undef WF
	};
	size_t		i;
	uint32_t	k;

	printf("# HELP marcd_uptime_seconds Time since the daemon started.\n"
	    "# TYPE marcd_uptime_seconds gauge\nmarcd_uptime_seconds %.3f\n",
	    (double)s->uptime_ms / 1000.0);
	for (i = 0; i < sizeof(tf) / sizeof(tf[0]); i++) {
		printf("# HELP %s %s\n# TYPE %s %s\n", tf[i].name, tf[i].help,
		    tf[i].name, tf[i].type);
		for (k = 0; k < s->ntenants; k++)
			printf("%s{tenant=\"%s\"} %llu\n", tf[i].name,
			    s->tenants[k].name, (unsigned long long)
			    *(const uint64_t *)((const char *)&s->tenants[k] +
			    tf[i].off));
	}
	printf("# HELP marcd_tenant_queue_depth Chunks waiting for a worker.\n"
	    "# TYPE marcd_tenant_queue_depth gauge\n");
	for (k = 0; k < s->ntenants; k++)
		printf("marcd_tenant_queue_depth{tenant=\"%s\"} %u\n",
		    s->tenants[k].name, s->tenants[k].queue_depth);
	printf("# HELP marcd_tenant_clients Clients attached.\n"
	    "# TYPE marcd_tenant_clients gauge\n");
	for (k = 0; k < s->ntenants; k++)
		printf("marcd_tenant_clients{tenant=\"%s\"} %u\n",
		    s->tenants[k].name, s->tenants[k].clients);
	for (i = 0; i < sizeof(wf) / sizeof(wf[0]); i++) {
		printf("# HELP %s %s\n# TYPE %s %s\n", wf[i].name, wf[i].help,
		    wf[i].name, wf[i].type);
		for (k = 0; k < s->nworkers; k++)
			printf("%s{worker=\"%u\"} %llu\n", wf[i].name,
			    s->workers[k].id, (unsigned long long)
			    *(const uint64_t *)((const char *)&s->workers[k] +
			    wf[i].off));
	}
	printf("# HELP marcd_worker_restarts_total Times the worker was "
	    "restarted.\n# TYPE marcd_worker_restarts_total counter\n");
	for (k = 0; k < s->nworkers; k++)
		printf("marcd_worker_restarts_total{worker=\"%u\"} %u\n",
		    s->workers[k].id, s->workers[k].restarts);
	printf("# HELP marcd_worker_busy Whether the worker is parsing.\n"
	    "# TYPE marcd_worker_busy gauge\n");
	for (k = 0; k < s->nworkers; k++)
		printf("marcd_worker_busy{worker=\"%u\"} %d\n",
		    s->workers[k].id, s->workers[k].busy ? 1 : 0);
}

/* A table for people. */
static void
stats_table(const struct marcd_stats *s)
{
	uint32_t k;

	printf("uptime %.1f s\n\n%-16s %8s %12s %14s %8s %10s %16s %6s %7s\n",
	    (double)s->uptime_ms / 1000.0, "tenant", "batches", "records",
	    "bytes", "errors", "records/s", "arena used", "queue",
	    "clients");
	for (k = 0; k < s->ntenants; k++) {
		const struct marcd_tenant_stats *t = &s->tenants[k];
		printf("%-16s %8llu %12llu %14llu %8llu %10.0f %7.1f/%-4.0f MiB "
		    "%6u %7u\n", t->name, (unsigned long long)t->batches,
		    (unsigned long long)t->records,
		    (unsigned long long)t->bytes,
		    (unsigned long long)t->errors, t->records_per_sec,
		    (double)t->arena_used / 1048576.0,
		    (double)t->arena_size / 1048576.0, t->queue_depth,
		    t->clients);
	}
	printf("\n%-6s %8s %5s %8s %12s %14s %8s %8s\n", "worker", "pid",
	    "busy", "chunks", "records", "bytes", "errors", "restarts");
	for (k = 0; k < s->nworkers; k++) {
		const struct marcd_worker_stats *w = &s->workers[k];
		printf("%-6u %8d %5s %8llu %12llu %14llu %8llu %8u\n", w->id,
		    w->pid, w->busy ? "yes" : "no",
		    (unsigned long long)w->chunks,
		    (unsigned long long)w->records,
		    (unsigned long long)w->bytes,
		    (unsigned long long)w->errors, w->restarts);
	}
}

/* marcctl stats: the daemon's counters as a table, JSON or Prometheus. */
int
cmd_stats(int argc, char **argv)
{
	struct marcd_stats	*s;
	marcd_client		*c;
	const char		*sock = NULL;
	char			*js;
	int			 mode = 0, rc;

	if ((rc = simple_opts(argc, argv, "stats", &sock, &mode)) >= 0)
		return rc == EXIT_CLEAN + 100 ? EXIT_CLEAN : rc;
	if ((c = remote_connect(sock)) == NULL)
		return EXIT_USAGE;
	if (mode == 1) {
		if ((rc = marcd_stats_json(c, &js)) == 0) {
			printf("%s\n", js);
			free(js);
		}
	} else if ((rc = marcd_stats(c, &s)) == 0) {
		if (mode == 2)
			stats_prometheus(s);
		else
			stats_table(s);
		marcd_stats_free(s);
	}
	if (rc != 0)
		fprintf(stderr, "marcctl stats: %s\n", marcd_strerror(rc));
	marcd_close(c);
	return rc ? EXIT_USAGE : EXIT_CLEAN;
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
		    "%" PRIu64 ",\"bytes_done\":%" PRIu64 ",\"slices_total\":%u,"
		    "\"slices_done\":%u,\"slices_failed\":%u,\"records\":%"
		    PRIu64 ",\"errors\":%" PRIu64 "}\n", st.batch_id,
		    st.state < 5 ? state_names[st.state] : "unknown",
		    st.bytes_total, st.bytes_done, st.slices_total,
		    st.slices_done, st.slices_failed, st.records, st.errors);
	else
		printf("batch %" PRIu64 ": %s, %" PRIu64 "/%" PRIu64 " bytes, "
		    "%u/%u chunks (%u failed), %" PRIu64 " records, %" PRIu64
		    " errors%s%s\n", st.batch_id,
		    st.state < 5 ? state_names[st.state] : "unknown",
		    st.bytes_done, st.bytes_total, st.slices_done,
		    st.slices_total, st.slices_failed, st.records, st.errors,
		    st.error[0] ? ": " : "", st.error);
	marcd_close(c);
	return EXIT_CLEAN;
}
