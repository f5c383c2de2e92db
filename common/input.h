/* common/input.h: whole-file input, mapped when possible. */
#ifndef MARCD_INPUT_H
#define MARCD_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct marc_input {
	const uint8_t	*p;
	size_t		 len;
	int		 mapped;	/* munmap, else free */
};

/* Map a regular file or read a pipe/terminal into memory; -1 with errno. */
int	input_open_fd(struct marc_input *, int fd);
/* The same by path; "-" is standard input. */
int	input_open(struct marc_input *, const char *path);
/* Release what input_open* took. */
void	input_close(struct marc_input *);

#endif
