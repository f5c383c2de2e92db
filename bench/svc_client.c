/*
 * bench/svc_client.c: a client of the marcd service for bench/service.
 *
 *   svc_client --socket PATH [--light|--leader] FILE
 *                                      submit FILE, take every chunk, touch
 *                                      every byte of every field (--light:
 *                                      each record's leader and field
 *                                      table only; --leader: each record's
 *                                      leader only), release
 *   svc_client --offline FILE          the same records read in this process
 *                                      with the reader (no daemon)
 *   svc_client --rtt N --socket PATH FILE
 *                                      N batches of FILE's first record:
 *                                      submit -> chunk -> release round trip
 *
 * Prints one line of key=value pairs: records, chunks, seconds, rate, sum
 * (of the bytes touched, so the work cannot be optimised away) and, for
 * --rtt, the median and 90th percentile round trip in microseconds.
 * Uses only the installed API (marcd/marcd.h), linked against libmarcd.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "marcd/marcd.h"

/* Seconds on a clock that does not jump. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Add up every data byte of every field: the "touch" of the benchmark. */
static uint64_t
touch(const struct marc_record *rec)
{
	const uint8_t	*p;
	uint64_t	 sum = 0;
	uint32_t	 f, j;

	for (f = 0; f < rec->nfields; f++) {
		p = rec->data + rec->fields[f].off;
		for (j = 0; j < rec->fields[f].len; j++)
			sum += p[j];
	}
	return sum;
}

/* The light touch: the leader and the field table, as an indexer that
 * picks a few fields would read them. */
static uint64_t
touch_light(const struct marc_record *rec)
{
	uint64_t	sum = 0;
	uint32_t	f;

	for (f = 0; f < MARC_LEADER_LEN; f++)
		sum += rec->leader[f];
	for (f = 0; f < rec->nfields; f++)
		sum += (uint64_t)(uint8_t)rec->fields[f].tag[0] +
		    rec->fields[f].len;
	return sum;
}

static int light, leader_only;

/* Exit with a message about a failed call. */
static void
die(const char *what, int rc, marcd_client *c)
{
	fprintf(stderr, "svc_client: %s: %s%s%s\n", what, marcd_strerror(rc),
	    c != NULL && *marcd_last_error(c) ? ": " : "",
	    c != NULL ? marcd_last_error(c) : "");
	exit(1);
}

/* Submit the file and take every record back through the daemon. */
static int
run_service(const char *sock, const char *path)
{
	struct marc_record	 rec;
	marcd_client		*c;
	marcd_chunk		*k;
	uint64_t		 id, nrec = 0, nchunks = 0, sum = 0;
	uint32_t		 i, n;
	double			 t0, t;
	int			 rc;

	if ((rc = marcd_connect(sock, NULL, &c)) != 0)
		die("connect", rc, NULL);
	t0 = now();
	if ((rc = marcd_submit_file(c, path, NULL, &id)) != 0)
		die("submit", rc, c);
	while ((rc = marcd_next_chunk(c, id, -1, &k)) == 1) {
		n = marcd_chunk_records(k);
		for (i = 0; leader_only && i < n; i++) {
			const uint8_t *ld = marcd_chunk_leader(k, i);
			uint32_t j;

			if (ld == NULL)
				die("leader", MARCD_E_CORRUPT, c);
			for (j = 0; j < MARC_LEADER_LEN; j++)
				sum += ld[j];
		}
		for (i = 0; !leader_only && i < n; i++) {
			if (marcd_chunk_record(k, i, &rec) != 0)
				die("record", MARCD_E_CORRUPT, c);
			sum += light ? touch_light(&rec) : touch(&rec);
		}
		nrec += n;
		nchunks++;
		marcd_chunk_release(c, k);
	}
	if (rc < 0)
		die("next_chunk", rc, c);
	t = now() - t0;
	marcd_close(c);
	printf("records=%llu chunks=%llu seconds=%.3f rate=%.0f sum=%llu\n",
	    (unsigned long long)nrec, (unsigned long long)nchunks, t,
	    (double)nrec / t, (unsigned long long)sum);
	return 0;
}

/* Read the same file in this process with the reader. */
static int
run_offline(const char *path)
{
	struct marc_reader	 r;
	struct marc_record	 rec;
	struct stat		 st;
	uint64_t		 nrec = 0, sum = 0;
	uint8_t			*p;
	double			 t0, t;
	int			 fd, rc;

	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) != 0) {
		perror(path);
		return 1;
	}
	t0 = now();
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	(void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	marc_reader_init(&r, p, (size_t)st.st_size, MARC_CS_AUTO, 0, 0);
	while ((rc = marc_reader_next(&r, &rec)) != MARC_NEXT_END) {
		if (rc < 0) {
			fprintf(stderr, "svc_client: out of memory\n");
			return 1;
		}
		if (rc != MARC_NEXT_RECORD)
			continue;
		sum += touch(&rec);
		nrec++;
	}
	marc_reader_free(&r);
	t = now() - t0;
	munmap(p, (size_t)st.st_size);
	close(fd);
	printf("records=%llu chunks=0 seconds=%.3f rate=%.0f sum=%llu\n",
	    (unsigned long long)nrec, t, (double)nrec / t,
	    (unsigned long long)sum);
	return 0;
}

/* Sort doubles, for percentiles. */
static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Round trips of one-record batches: submit, take the chunk, release. */
static int
run_rtt(const char *sock, const char *path, int n)
{
	struct marc_record	 rec;
	marcd_client		*c;
	marcd_chunk		*k;
	uint8_t			 buf[100000];
	double			*us, t0;
	uint64_t		 id, sum = 0;
	ssize_t			 len;
	size_t			 rlen;
	int			 fd, rc, i;

	if ((fd = open(path, O_RDONLY)) < 0 ||
	    (len = read(fd, buf, sizeof(buf))) < 24) {
		perror(path);
		return 1;
	}
	close(fd);
	for (rlen = 0, i = 0; i < 5 && buf[i] >= '0' && buf[i] <= '9'; i++)
		rlen = rlen * 10 + (size_t)(buf[i] - '0');
	if (i < 5 || rlen < 24 || rlen > (size_t)len) {
		fprintf(stderr, "svc_client: %s: first record unreadable\n",
		    path);
		return 1;
	}
	if ((rc = marcd_connect(sock, NULL, &c)) != 0)
		die("connect", rc, NULL);
	if ((us = calloc((size_t)n, sizeof(*us))) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		t0 = now();
		if ((rc = marcd_submit_buffer(c, buf, rlen, NULL, &id)) != 0)
			die("submit", rc, c);
		while ((rc = marcd_next_chunk(c, id, -1, &k)) == 1) {
			if (marcd_chunk_records(k) == 1 &&
			    marcd_chunk_record(k, 0, &rec) == 0)
				sum += touch(&rec);
			marcd_chunk_release(c, k);
		}
		if (rc < 0)
			die("next_chunk", rc, c);
		us[i] = (now() - t0) * 1e6;
	}
	marcd_close(c);
	qsort(us, (size_t)n, sizeof(*us), dcmp);
	printf("batches=%d rtt_median_us=%.1f rtt_p90_us=%.1f sum=%llu\n", n,
	    us[n / 2], us[n * 9 / 10], (unsigned long long)sum);
	free(us);
	return 0;
}

/* Pick the mode from the options. */
int
main(int argc, char **argv)
{
	const char	*sock = NULL;
	int		 i, offline = 0, rtt = 0;

	for (i = 1; i < argc - 1; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc - 1)
			sock = argv[++i];
		else if (strcmp(argv[i], "--offline") == 0)
			offline = 1;
		else if (strcmp(argv[i], "--light") == 0)
			light = 1;
		else if (strcmp(argv[i], "--leader") == 0)
			leader_only = 1;
		else if (strcmp(argv[i], "--rtt") == 0 && i + 1 < argc - 1)
			rtt = atoi(argv[++i]);
		else
			break;
	}
	if (i != argc - 1 || (!offline && sock == NULL)) {
		fprintf(stderr, "usage: svc_client --socket PATH [--light|--leader] "
		    "[--rtt N] FILE\n"
		    "       svc_client --offline FILE\n");
		return 2;
	}
	if (offline)
		return run_offline(argv[i]);
	if (rtt > 0)
		return run_rtt(sock, argv[i], rtt);
	return run_service(sock, argv[i]);
}
