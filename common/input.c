/* common/input.c: whole-file input, mapped when possible. */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "input.h"

/* Read a stream that cannot be mapped (pipe, terminal) to its end. */
static int
input_slurp(struct marc_input *in, int fd)
{
	uint8_t	*p = NULL, *np;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			if ((np = realloc(p, cap)) == NULL) {
				free(p);
				errno = ENOMEM;
				return -1;
			}
			p = np;
		}
		n = read(fd, p + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(p);
			return -1;
		}
		len += (size_t)n;
	}
	in->p = p;
	in->len = len;
	in->mapped = 0;
	return 0;
}

/* Map a regular file so records are views into the page cache. */
int
input_open_fd(struct marc_input *in, int fd)
{
	struct stat	 st;
	void		*p;

	in->p = NULL;
	in->len = 0;
	in->mapped = 0;
	if (fstat(fd, &st) != 0)
		return -1;
	if (!S_ISREG(st.st_mode))
		return input_slurp(in, fd);
	if (st.st_size == 0)
		return 0;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return input_slurp(in, fd);
	(void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	in->p = p;
	in->len = (size_t)st.st_size;
	in->mapped = 1;
	return 0;
}

/* Open by path for the command-line tools. */
int
input_open(struct marc_input *in, const char *path)
{
	int fd, rc, saved;

	if (path[0] == '-' && path[1] == '\0')
		return input_open_fd(in, STDIN_FILENO);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = input_open_fd(in, fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Unmap or free the input. */
void
input_close(struct marc_input *in)
{
	if (in->mapped)
		munmap((void *)in->p, in->len);
	else
		free((void *)in->p);
	in->p = NULL;
	in->len = 0;
	in->mapped = 0;
}
