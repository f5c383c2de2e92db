/*
 * client/marcctl.c: the marcctl command: dispatch, usage, shared output.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "marcctl.h"

static const struct marcctl_cmd cmds[] = {
	{ "count", cmd_count,
	    "count [--from FORMAT] [--charset MODE] [--range OFFSET:LENGTH] FILE...",
	    "print the number of records in each file" },
	{ "check", cmd_check,
	    "check [--from FORMAT] [--charset MODE] [--range OFFSET:LENGTH] FILE...",
	    "parse and validate every record, encoding included; errors on stderr" },
	{ "dump", cmd_dump,
	    "dump [--format marcjson|marcxml|mrk|iso2709] [--from FORMAT] [--charset auto|marc8|utf8]\n"
	    "       [--range OFFSET:LENGTH] [--to-charset utf8|marc8] FILE...",
	    "write the records of the files in a format, UTF-8 unless "
	    "--to-charset marc8" },
	{ "submit", cmd_submit,
	    "submit [--socket PATH] [--format FORMAT] [--from FORMAT] [--charset MODE]\n"
	    "       [--range OFFSET:LENGTH] [--follow] FILE...",
	    "have the daemon parse the files; with --follow write the records "
	    "as dump does" },
	{ "stats", cmd_stats, "stats [--socket PATH] [--json | --prometheus]",
	    "print the daemon's statistics per tenant and worker" },
	{ "status", cmd_status, "status [--socket PATH] [--json] BATCH",
	    "print the state of a batch" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* Usage of one subcommand, or of all when cmd is NULL. */
void
marcctl_usage(FILE *f, const char *cmd)
{
	size_t i;

	if (cmd == NULL) {
		fprintf(f, "usage: marcctl COMMAND [OPTIONS] FILE...\n\ncommands:\n");
		for (i = 0; i < NCMDS; i++)
			fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
		fprintf(f, "\n'marcctl COMMAND --help' describes a command.\n"
		    "Exit status: 0 clean, 1 some records were bad (the good "
		    "ones are still read), 2 usage or I/O error.\n");
		return;
	}
	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, cmd) != 0)
			continue;
		fprintf(f, "usage: marcctl %s\n  %s\n", cmds[i].usage,
		    cmds[i].summary);
		fprintf(f, "  --charset auto|marc8|utf8  how to read the data "
		    "(auto: leader/09, but valid UTF-8 under a blank is UTF-8)\n");
		if (strcmp(cmd, "dump") == 0 || strcmp(cmd, "submit") == 0)
			fprintf(f, "  --format FORMAT            marcjson "
			    "(default), marcxml, mrk or iso2709\n");
		if (strcmp(cmd, "stats") != 0 && strcmp(cmd, "status") != 0)
			fprintf(f, "  --from FORMAT              read the input "
			    "as iso2709, marcxml, marcjson or mrk (default: "
			    "by its first bytes)\n");
		if (strcmp(cmd, "dump") == 0)
			fprintf(f, "  --to-charset utf8|marc8    write UTF-8 "
			    "(default) or MARC-8 with leader/09 blank\n"
			    "                             (iso2709 and mrk; "
			    "unmapped characters as &#xXXXX;)\n");
		if (strcmp(cmd, "submit") == 0 || strcmp(cmd, "stats") == 0 ||
		    strcmp(cmd, "status") == 0)
			fprintf(f, "  --socket PATH              the daemon's "
			    "socket (default: $MARCD_SOCKET, else "
			    "$XDG_RUNTIME_DIR/marcd.sock or "
			    "/run/marcd/marcd.sock)\n");
		if (strcmp(cmd, "submit") == 0)
			fprintf(f, "  --follow                   write the "
			    "records to stdout in file order\n");
		if (strcmp(cmd, "stats") != 0 && strcmp(cmd, "status") != 0)
			fprintf(f, "  --range OFFSET:LENGTH      only the "
			    "records whose first byte is in that byte range "
			    "(LENGTH 0: to the end)\n");
		fprintf(f, "  -h, --help                 this text\n"
		    "A FILE of '-' is standard input.  Errors go to stderr as "
		    "FILE:OFFSET: record N: CODE: message.\n"
		    "Exit status: 0 clean, 1 some records were bad, 2 usage or "
		    "I/O error.\n");
	}
}

/* One error line on stderr, in the form editors and grep understand. */
void
marcctl_report(const char *file, const struct marc_error *e)
{
	fprintf(stderr, "%s:%llu: record %lu: %s: %s\n", file,
	    (unsigned long long)e->offset, (unsigned long)e->recno,
	    marc_code_name(e->code), marc_code_message(e->code));
}

/* All errors of one list, in order. */
void
marcctl_report_list(const char *file, const struct marc_errlist *l)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		marcctl_report(file, &l->e[i]);
}

/* One line for the errors a record had beyond those kept. */
void
marcctl_report_lost(const char *file, const struct marc_error *last,
    uint32_t lost)
{
	if (lost == 0 || last == NULL)
		return;
	fprintf(stderr, "%s:%llu: record %lu: %u more errors in this record "
	    "not shown\n", file, (unsigned long long)last->offset,
	    (unsigned long)last->recno, lost);
}

/* Read a --charset value. */
int
marcctl_charset(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return MARC_CS_AUTO;
	if (strcmp(s, "marc8") == 0 || strcmp(s, "marc-8") == 0)
		return MARC_CS_MARC8;
	if (strcmp(s, "utf8") == 0 || strcmp(s, "utf-8") == 0)
		return MARC_CS_UTF8;
	return -1;
}

/* --range OFFSET:LENGTH, both decimal byte counts, for every command. */
int
marcctl_range(const char *arg, uint64_t *off, uint64_t *len)
{
	char			*end;
	unsigned long long	 o, l;

	errno = 0;
	if (*arg < '0' || *arg > '9')
		return -1;
	o = strtoull(arg, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return -1;
	l = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*off = o;
	*len = l;
	return 0;
}

/* Write the whole buffer, retrying short writes. */
int
marcctl_flush(int fd, struct mbuf *b)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < b->len) {
		n = write(fd, b->p + off, b->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	b->len = 0;
	return 0;
}

/* Monotonic nanoseconds for rates. */
uint64_t
marcctl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Show progress only to a person watching a terminal. */
void
progress_start(struct progress *p, const char *file, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO);
	p->file = file;
	p->total = total;
	p->t0 = p->tlast = marcctl_now();
}

/* Redraw the progress line at most twice a second. */
void
progress_update(struct progress *p, uint64_t recs, uint64_t errs,
    uint64_t done)
{
	uint64_t	now;
	double		secs;

	if (!p->on)
		return;
	now = marcctl_now();
	if (now - p->tlast < 500000000ULL)
		return;
	p->tlast = now;
	secs = (double)(now - p->t0) / 1e9;
	fprintf(stderr, "\r%s: %llu records, %.0f records/s, %llu errors",
	    p->file, (unsigned long long)recs,
	    secs > 0 ? (double)recs / secs : 0.0, (unsigned long long)errs);
	if (p->total && done) {
		fprintf(stderr, ", %.0f%%", 100.0 * (double)done /
		    (double)p->total);
		if (done < p->total)
			fprintf(stderr, ", %.0f s left", secs *
			    (double)(p->total - done) / (double)done);
	}
	fprintf(stderr, "\033[K");
	fflush(stderr);
}

/* Clear the line so error output and the shell prompt start clean. */
void
progress_end(struct progress *p)
{
	if (p->on && p->tlast != p->t0)
		fprintf(stderr, "\r\033[K");
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		marcctl_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		marcctl_usage(stdout, argc > 2 ? argv[2] : NULL);
		return EXIT_CLEAN;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("marcctl %s\n", PACKAGE_VERSION);
		return EXIT_CLEAN;
	}
	for (i = 0; i < NCMDS; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "marcctl: unknown command '%s'\n", argv[1]);
	marcctl_usage(stderr, NULL);
	return EXIT_USAGE;
}
