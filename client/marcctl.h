/* client/marcctl.h: what the marcctl subcommands share. */
#ifndef MARCCTL_H
#define MARCCTL_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "marcd/marc.h"

/* Exit statuses, as yaz-marcdump users expect them. */
#define EXIT_CLEAN	0
#define EXIT_BADREC	1
#define EXIT_USAGE	2

struct marcctl_cmd {
	const char	*name;
	int		(*run)(int, char **);
	const char	*usage;
	const char	*summary;
};

/* Print one error line: FILE:OFFSET: record N: CODE: message. */
void	marcctl_report(const char *file, const struct marc_error *e);
/* Print all errors of a list (not the count of those that did not fit). */
void	marcctl_report_list(const char *file, const struct marc_errlist *l);
/* Say how many more errors a record had than were kept. */
void	marcctl_report_lost(const char *file, const struct marc_error *last,
	    uint32_t lost);
/* Print a subcommand's usage to f. */
void	marcctl_usage(FILE *f, const char *cmd);
/* A --charset value as enum marc_charset, or -1. */
int	marcctl_charset(const char *);
/* --range OFFSET:LENGTH in decimal bytes (LENGTH 0: to the end); -1 if bad. */
int	marcctl_range(const char *, uint64_t *off, uint64_t *len);
/* Write out and empty a buffer to fd; -1 on a write error. */
int	marcctl_flush(int fd, struct mbuf *b);

/* Live progress on a terminal: records, records/s, errors, percent. */
struct progress {
	int		 on;
	const char	*file;
	uint64_t	 total;		/* bytes of input, 0 if unknown */
	uint64_t	 t0, tlast;	/* ns */
	uint64_t	 recs0;
};

/* Turn progress on when stderr is a terminal. */
void	progress_start(struct progress *, const char *file, uint64_t total);
/* Cheap to call often; prints at most twice a second. */
void	progress_update(struct progress *, uint64_t recs, uint64_t errs,
	    uint64_t done);
/* Clear the progress line. */
void	progress_end(struct progress *);
/* Monotonic clock in nanoseconds. */
uint64_t	marcctl_now(void);

int	cmd_count(int, char **);
int	cmd_check(int, char **);
int	cmd_dump(int, char **);
int	cmd_submit(int, char **);
int	cmd_stats(int, char **);
int	cmd_status(int, char **);

#endif
