/* tests/check_arena.c: arena creation, attachment, header validation, and
 * that clients can map it read-only and no other way. */
#include "config.h"

#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "arena.h"
#include "ring.h"

#define MiB		(1024 * 1024)
#define SKIP		77
#define CHILD_ALARM	60

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif
#define ALL_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | \
			    F_SEAL_SEAL)

/* Open file descriptors, to prove nothing leaks. */
static int
count_fds(void)
{
	int	n = fd_count(getpid());

	ck_assert_int_ge(n, 0);
	return n;
}

/* Mappings of memfds (all arenas are), to prove nothing leaks; other
 * mappings come and go with the allocator. */
static int
count_maps(void)
{
	FILE	*f;
	char	 line[512];
	int	 n = 0;

	f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, "/memfd:") != NULL)
			n++;
	fclose(f);
	return n;
}

/* Pass an fd over a Unix socket, as the daemon hands arenas to clients. */
static int
send_fd(int sock, int fd)
{
	struct msghdr	 m;
	struct iovec	 iov;
	struct cmsghdr	*c;
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} u;
	char		 byte = 'A';

	memset(&m, 0, sizeof m);
	memset(&u, 0, sizeof u);
	iov.iov_base = &byte;
	iov.iov_len = 1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof u.buf;
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

/* Receive an fd sent by send_fd, or -1. */
static int
recv_fd(int sock)
{
	struct msghdr	 m;
	struct iovec	 iov;
	struct cmsghdr	*c;
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} u;
	char		 byte;
	int		 fd = -1;

	memset(&m, 0, sizeof m);
	iov.iov_base = &byte;
	iov.iov_len = 1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof u.buf;
	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/* Every invariant a created or attached arena must satisfy. */
static void
check_geometry(const struct arena *a)
{
	const struct arena_hdr	*h = a->hdr;

	ck_assert_uint_eq(h->magic, ARENA_MAGIC);
	ck_assert_uint_eq(h->layout_version, MARCD_LAYOUT_VERSION);
	ck_assert_uint_eq(h->hdr_size, sizeof *h);
	ck_assert_uint_eq(h->arena_size, a->size);
	ck_assert_uint_eq(h->block_size, a->block_size);
	ck_assert_uint_eq(h->nblocks, a->nblocks);
	ck_assert_uint_eq(h->ring_slots, a->ring_slots);
	ck_assert_uint_eq(h->blocks_off, a->blocks_off);

	ck_assert_uint_ge(a->nblocks, 1);
	ck_assert_uint_eq(a->block_size % 4096, 0);
	ck_assert_uint_eq(a->blocks_off % 4096, 0);
	ck_assert_uint_le(a->blocks_off + (uint64_t)a->nblocks * a->block_size,
	    a->size);
	ck_assert_uint_ge(a->ring_slots, a->nblocks);
	ck_assert_uint_ge(a->ring_slots, ARENA_MIN_SLOTS);
	ck_assert_uint_eq(a->ring_slots & (a->ring_slots - 1), 0);
	ck_assert_uint_ne(ring_bytes(a->ring_slots), 0);
	ck_assert_uint_ge(a->blocks_off, sizeof *h);
	ck_assert_ptr_eq(arena_block(a, 0), a->base + a->blocks_off);
	ck_assert_ptr_nonnull(arena_block(a, a->nblocks - 1));
	ck_assert_ptr_null(arena_block(a, a->nblocks));
	ck_assert_ptr_null(arena_block(a, UINT32_MAX));
}

/* Sizes and block sizes the layout must handle. */
static const struct {
	size_t		size;
	uint32_t	block_size;
} shapes[] = {
	{ 8192, 4096 },			/* exactly one block */
	{ 1 * MiB, 4096 },		/* 200+ blocks: ring > 64 */
	{ 4 * MiB, 65536 },
	{ 4 * MiB + 123, 65536 },	/* ragged end */
	{ 16 * MiB, 4096 },
	{ 2 * MiB, 1 * MiB },
};

START_TEST(test_create_shapes)
{
	struct arena	a;
	struct stat	st;
	uint32_t	i;
	int		seals;

	ck_assert_int_eq(arena_create(&a, shapes[_i].size,
	    shapes[_i].block_size, "check-arena"), 0);
	ck_assert_uint_eq(a.size, shapes[_i].size);
	check_geometry(&a);
	ck_assert_uint_eq(atomic_load(&a.hdr->state), ARENA_RUNNING);
	ck_assert_int_eq(fstat(a.fd, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)shapes[_i].size);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	seals = fcntl(a.fd, F_GET_SEALS);
	ck_assert_int_eq(seals, ALL_SEALS);
	ck_assert_int_eq(ftruncate(a.fd, 4096), -1);
	ck_assert_int_eq(fcntl(a.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fcntl(a.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	/* Every block is writable end to end. */
	for (i = 0; i < a.nblocks; i++) {
		arena_block(&a, i)[0] = (uint8_t)i;
		arena_block(&a, i)[a.block_size - 1] = (uint8_t)i;
	}
	printf("arena %zu/%u: %u blocks at %lu, %u slots per ring\n",
	    shapes[_i].size, shapes[_i].block_size, a.nblocks,
	    (unsigned long)a.blocks_off, a.ring_slots);
	arena_close(&a);
	ck_assert_int_eq(a.fd, -1);
	ck_assert_ptr_null(a.base);
	arena_close(&a);	/* harmless twice */
}
END_TEST

START_TEST(test_create_bad)
{
	struct arena	a;
	int		fds = count_fds(), maps = count_maps();

	/* Room for the header but not one block. */
	errno = 0;
	ck_assert_int_eq(arena_create(&a, 4096, 4096, "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(a.fd, -1);
	ck_assert_ptr_null(a.base);
	errno = 0;
	ck_assert_int_eq(arena_create(&a, 64 * 1024, 65536, "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(arena_create(&a, 100, 4096, "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(arena_create(&a, 0, 4096, "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Bad block size, absurd size. */
	errno = 0;
	ck_assert_int_eq(arena_create(&a, MiB, 1000, "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(arena_create(&a, MiB, 0, "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(arena_create(&a, SIZE_MAX, 4096, "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* A file that is not empty is refused, and closed. */
	{
		int	fd = memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ftruncate(fd, 4096), 0);
		errno = 0;
		ck_assert_int_eq(arena_create_fd(&a, fd, MiB, 4096), -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert(!fd_open(fd));
	}
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(count_maps(), maps);
}
END_TEST

/* Client side of test_attach_child: exit code says what went wrong. */
static int
attach_child(int sock)
{
	struct arena		 a;
	struct ring_map		 rm;
	struct chunk_desc	 d;
	uint8_t			*b;
	int			 fd, rfd, rc;

	if ((fd = recv_fd(sock)) == -1 || (rfd = recv_fd(sock)) == -1)
		return 10;
	if (arena_attach(&a, fd) == -1)
		return 11;
	if (a.nblocks < 2 || ring_attach(&rm, rfd, a.ring_slots) == -1)
		return 12;
	close(rfd);
	/* The supervisor published block 0 on our ring. */
	if (ring_pop(rm.r, rm.slots, &d, 5000, &a.hdr->state) != 1)
		return 13;
	if (d.batch_id != 77 || d.block != 0 || d.nrecords != 3)
		return 14;
	if ((b = arena_block(&a, d.block)) == NULL ||
	    memcmp(b, "from supervisor", 16) != 0)
		return 15;
	/* The blocks are ours to read, not to write. */
	if (mprotect(a.base, a.size, PROT_READ | PROT_WRITE) != -1)
		return 18;
	/* Tell the parent, then sleep until it stops the arena. */
	if (write(sock, "k", 1) != 1)
		return 16;
	errno = 0;
	rc = ring_pop(rm.r, rm.slots, &d, 10000, &a.hdr->state);
	if (rc != -1 || errno != ECANCELED)
		return 17;
	ring_unmap(&rm);
	arena_close(&a);
	return 0;
}

/* Supervisor and client share one arena (read-only for the client) and
 * one ring through fds sent over a socket. */
START_TEST(test_attach_child)
{
	struct arena		a;
	struct ring_map		rm;
	struct chunk_desc	d;
	pid_t			pid;
	int			sv[2];
	char			c;

	ck_assert_int_eq(arena_create(&a, 2 * MiB, 65536, "check-attach"), 0);
	ck_assert_int_eq(ring_create(&rm, a.ring_slots), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	if ((pid = fork()) == 0) {
		alarm(CHILD_ALARM);
		close(sv[0]);
		_exit(attach_child(sv[1]));
	}
	ck_assert_int_gt(pid, 0);
	close(sv[1]);
	ck_assert_int_eq(send_fd(sv[0], a.fd), 0);
	ck_assert_int_eq(send_fd(sv[0], rm.fd), 0);

	memcpy(arena_block(&a, 0), "from supervisor", 16);
	memset(&d, 0, sizeof d);
	d.batch_id = 77;
	d.block = 0;
	d.nrecords = 3;
	ck_assert_int_eq(ring_push(rm.r, a.ring_slots, &d), 0);

	ck_assert_int_eq(read(sv[0], &c, 1), 1);
	atomic_store(&a.hdr->state, ARENA_STOPPING);
	ck_assert_int_eq(ring_wake(rm.r, 1), 0);
	ck_assert_int_eq(reap(pid), 0);
	close(sv[0]);
	ring_unmap(&rm);
	arena_close(&a);
}
END_TEST

/* Whether writing one byte at p kills a forked child with SIGSEGV (and
 * leaves the byte alone). */
static int
write_faults(volatile uint8_t *p)
{
	/* The kernel's struct sigaction, all zero: SIG_DFL. */
	uint64_t	ksa[4] = { 0, 0, 0, 0 };
	uint8_t		before = *p;
	pid_t		pid;

	if ((pid = fork()) == 0) {
		alarm(CHILD_ALARM);
		/* Past the sanitizer's handler, which would exit instead. */
		syscall(SYS_rt_sigaction, SIGSEGV, ksa, NULL, 8);
		*p = (uint8_t)(before + 1);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	return reap(pid) == 128 + SIGSEGV && *p == before;
}

/*
 * What a client holds (the read-only fd, and whatever it can reopen from
 * it) gives no way to write the arena: no writable mapping, no mprotect to
 * PROT_WRITE, no write(2), and its read-only mapping faults on a store.
 * The supervisor's mapping, and that of a child forked later (a respawned
 * worker), stay writable.
 */
START_TEST(test_client_readonly)
{
	struct arena	 a, b;
	char		 path[64];
	void		*p;
	int		 fd, rw;
	pid_t		 pid;

	ck_assert_int_eq(arena_create(&a, MiB, 4096, "check-ro"), 0);
	fd = a.fd;
	errno = 0;
	ck_assert_ptr_eq(mmap(NULL, a.size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0), MAP_FAILED);
	ck_assert_int_eq(errno, EACCES);
	p = mmap(NULL, a.size, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	errno = 0;
	ck_assert_int_eq(mprotect(p, a.size, PROT_READ | PROT_WRITE), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(munmap(p, a.size), 0);
	errno = 0;
	ck_assert_int_eq(write(fd, "x", 1), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(ftruncate(fd, 0), -1);

	/* Reopened read-write (same uid here), the seal still says no. */
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	rw = open(path, O_RDWR | O_CLOEXEC);
	if (rw == -1)
		printf("reopening read-write refused outright: %s\n",
		    strerror(errno));
	else {
		errno = 0;
		ck_assert_ptr_eq(mmap(NULL, a.size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, rw, 0), MAP_FAILED);
		ck_assert_int_eq(errno, EPERM);
		p = mmap(NULL, a.size, PROT_READ, MAP_SHARED, rw, 0);
		ck_assert_ptr_ne(p, MAP_FAILED);
		ck_assert_int_eq(mprotect(p, a.size, PROT_READ | PROT_WRITE),
		    -1);
		ck_assert_int_eq(munmap(p, a.size), 0);
		errno = 0;
		ck_assert_int_eq(pwrite(rw, "x", 1, 0), -1);
		ck_assert_int_eq(errno, EPERM);
		close(rw);
	}
	errno = 0;
	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, 0), -1);

	/* Attached: the header and the blocks fault on a store. */
	ck_assert_int_ge(fd = dup(a.fd), 0);
	ck_assert_int_eq(arena_attach(&b, fd), 0);
	ck_assert(write_faults((uint8_t *)&b.hdr->state));
	ck_assert(write_faults(b.base));
	ck_assert(write_faults(arena_block(&b, 0)));
	ck_assert(write_faults(arena_block(&b, b.nblocks - 1) +
	    b.block_size - 1));
	ck_assert_uint_eq(atomic_load(&a.hdr->state), ARENA_RUNNING);
	ck_assert_uint_eq(a.hdr->magic, ARENA_MAGIC);

	/* A worker forked now writes through the inherited mapping. */
	if ((pid = fork()) == 0) {
		alarm(CHILD_ALARM);
		memcpy(arena_block(&a, 1), "from worker", 12);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(reap(pid), 0);
	ck_assert_int_eq(memcmp(arena_block(&b, 1), "from worker", 12), 0);
	arena_close(&b);
	arena_close(&a);
}
END_TEST

/* Attach a second time in this process: same geometry, shared bytes. */
START_TEST(test_attach_self)
{
	struct arena	a, b;
	int		fd;

	ck_assert_int_eq(arena_create(&a, MiB, 8192, NULL), 0);
	ck_assert_int_ge(fd = dup(a.fd), 0);
	ck_assert_int_eq(arena_attach(&b, fd), 0);
	ck_assert_int_eq(b.fd, fd);
	check_geometry(&b);
	ck_assert_ptr_ne(a.base, b.base);
	arena_block(&a, 3)[100] = 0x5a;
	ck_assert_uint_eq(arena_block(&b, 3)[100], 0x5a);
	arena_close(&b);
	ck_assert(!fd_open(fd));
	arena_close(&a);
}
END_TEST

/* One way to spoil an arena copy; the control case spoils nothing. */
enum spoil {
	SP_NONE,
	SP_MAGIC,
	SP_VERSION,
	SP_HDR_SIZE,
	SP_SIZE_BIGGER,
	SP_SIZE_SMALLER,
	SP_TRUNCATED,
	SP_TRUNCATED_CONSISTENT,
	SP_BLOCKS_OFF_END,
	SP_BLOCKS_OFF_ALIGN,
	SP_BLOCKS_OFF_HUGE,
	SP_NBLOCKS,
	SP_NBLOCKS_ZERO,
	SP_BLOCK_SIZE_ZERO,
	SP_BLOCK_SIZE_ODD,
	SP_BLOCK_SIZE_HUGE,
	SP_SLOTS_NOT_POW2,
	SP_SLOTS_TOO_FEW,
	SP_SLOTS_HUGE,
	SP_UNSEALED,
	SP_PART_SEALED,
	SP_WRITABLE,
	SP_BLOCKS_OFF_ZERO,
	SP_TINY_FILE,
	SP_EMPTY_FILE,
	SP_COUNT
};

/* Apply a spoil to a header copy; returns how many bytes of the file to
 * keep. */
static size_t
spoil_apply(enum spoil sp, uint8_t *img, size_t size)
{
	struct arena_hdr	*h = (struct arena_hdr *)img;

	switch (sp) {
	case SP_NONE:
	case SP_UNSEALED:
	case SP_PART_SEALED:
	case SP_WRITABLE:
		break;
	case SP_MAGIC:
		h->magic ^= 1;
		break;
	case SP_VERSION:
		h->layout_version = MARCD_LAYOUT_VERSION + 1;
		break;
	case SP_HDR_SIZE:
		h->hdr_size = 64;
		break;
	case SP_SIZE_BIGGER:
		h->arena_size += 4096;
		break;
	case SP_SIZE_SMALLER:
		h->arena_size -= 4096;
		break;
	case SP_TRUNCATED:
		return size / 2;
	case SP_TRUNCATED_CONSISTENT:
		/* The header agrees with the shorter file; the blocks don't. */
		h->arena_size = size / 2;
		return size / 2;
	case SP_BLOCKS_OFF_END:
		h->blocks_off = size;
		break;
	case SP_BLOCKS_OFF_ALIGN:
		h->blocks_off += 64;
		break;
	case SP_BLOCKS_OFF_HUGE:
		h->blocks_off = UINT64_MAX & ~(uint64_t)4095;
		break;
	case SP_NBLOCKS:
		h->nblocks++;
		break;
	case SP_NBLOCKS_ZERO:
		h->nblocks = 0;
		break;
	case SP_BLOCK_SIZE_ZERO:
		h->block_size = 0;
		break;
	case SP_BLOCK_SIZE_ODD:
		h->block_size = 4097;
		break;
	case SP_BLOCK_SIZE_HUGE:
		h->block_size = 1u << 31;
		break;
	case SP_BLOCKS_OFF_ZERO:
		h->blocks_off = 0;
		break;
	case SP_SLOTS_NOT_POW2:
		h->ring_slots = 96;
		break;
	case SP_SLOTS_TOO_FEW:
		h->ring_slots = 1;
		break;
	case SP_SLOTS_HUGE:
		h->ring_slots = 1u << 31;
		break;
	case SP_TINY_FILE:
		return 100;
	case SP_EMPTY_FILE:
		return 0;
	case SP_COUNT:
		break;
	}
	return size;
}

/* Copy an arena image into a fresh memfd, sealed like the real thing. */
static int
image_fd(const uint8_t *img, size_t len, int seals)
{
	int	fd;

	fd = memfd_create("check-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_ge(fd, 0);
	if (len > 0)
		ck_assert_int_eq(write(fd, img, len), (ssize_t)len);
	if (seals)
		ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

START_TEST(test_attach_reject)
{
	struct arena	 a, b;
	enum spoil	 sp = _i;
	uint8_t		*img;
	size_t		 len;
	int		 fd, seals, fds, maps;

	/* A real arena, copied byte for byte. */
	ck_assert_int_eq(arena_create(&a, MiB, 16384, "orig"), 0);
	img = malloc(a.size);
	ck_assert_ptr_nonnull(img);
	memcpy(img, a.base, a.size);
	fds = count_fds();
	maps = count_maps();

	len = spoil_apply(sp, img, a.size);
	seals = ALL_SEALS;
	if (sp == SP_UNSEALED)
		seals = 0;
	else if (sp == SP_PART_SEALED)
		seals = ALL_SEALS & ~F_SEAL_SHRINK;
	else if (sp == SP_WRITABLE)
		seals = ALL_SEALS & ~F_SEAL_FUTURE_WRITE;
	fd = image_fd(img, len, seals);
	errno = 0;
	if (sp == SP_NONE) {
		/* The copy itself is fine: rejections below are the spoil's. */
		ck_assert_int_eq(arena_attach(&b, fd), 0);
		check_geometry(&b);
		arena_close(&b);
	} else {
		ck_assert_msg(arena_attach(&b, fd) == -1, "spoil %d accepted",
		    sp);
		ck_assert_int_eq(errno, EPROTO);
		ck_assert_int_eq(b.fd, -1);
		ck_assert_ptr_null(b.base);
		/* The fd is still the caller's. */
		ck_assert(fd_open(fd));
		close(fd);
	}
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(count_maps(), maps);
	free(img);
	arena_close(&a);
}
END_TEST

/* Things that are not arenas at all. */
START_TEST(test_attach_not_file)
{
	struct arena	a;
	int		p[2];

	errno = 0;
	ck_assert_int_eq(arena_attach(&a, -1), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(pipe(p), 0);
	errno = 0;
	ck_assert_int_eq(arena_attach(&a, p[0]), -1);
	ck_assert_int_eq(errno, EPROTO);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * memfds live on the kernel's internal tmpfs, which has no size limit of
 * its own, so the way to see posix_fallocate fail for lack of space is to
 * hand arena_create_fd a file on a tiny tmpfs, mounted in a private mount
 * namespace (root only; the test skips otherwise).
 */
static int
enospc_child(void)
{
	struct arena	a;
	char		dir[] = "/tmp/check-arena-XXXXXX";
	int		fd, rc = 0;

	if (unshare(CLONE_NEWNS) == -1)
		return SKIP;
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1)
		return SKIP;
	if (mkdtemp(dir) == NULL)
		return 20;
	if (mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0700") == -1) {
		rmdir(dir);
		return SKIP;
	}
	if ((fd = open(dir, O_TMPFILE | O_RDWR, 0600)) == -1)
		rc = 21;
	else {
		errno = 0;
		if (arena_create_fd(&a, fd, 4 * MiB, 65536) != -1)
			rc = 22;
		else if (errno != ENOSPC)
			rc = 23;
		else if (fd_open(fd) || a.fd != -1 || a.base != NULL)
			rc = 24;
	}
	/* A size that fits, but a tmpfs file cannot be sealed: refused. */
	if (rc == 0 && (fd = open(dir, O_TMPFILE | O_RDWR, 0600)) != -1) {
		errno = 0;
		if (arena_create_fd(&a, fd, 128 * 1024, 4096) != -1)
			rc = 25;
		else if (errno != EPERM)
			rc = 26;
	}
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	return rc;
}

START_TEST(test_create_enospc)
{
	pid_t	pid;
	int	rc;

	if ((pid = fork()) == 0) {
		alarm(CHILD_ALARM);
		_exit(enospc_child());
	}
	ck_assert_int_gt(pid, 0);
	rc = reap(pid);
	if (rc == SKIP)
		printf("tmpfs ENOSPC: skipped (cannot mount a tmpfs here)\n");
	else {
		ck_assert_int_eq(rc, 0);
		printf("tmpfs ENOSPC: refused cleanly\n");
	}
}
END_TEST

/* Without root, the same fallocate failure path through RLIMIT_FSIZE:
 * posix_fallocate is the call that extends the file, so it fails EFBIG. */
static int
fsize_child(void)
{
	struct arena	a;
	struct rlimit	rl = { 256 * 1024, 256 * 1024 };
	int		fds = count_fds();

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 30;
	errno = 0;
	if (arena_create(&a, 4 * MiB, 65536, "fsize") != -1)
		return 31;
	if (errno != EFBIG)
		return 32;
	if (a.fd != -1 || a.base != NULL || count_fds() != fds)
		return 33;
	/* Below the limit all is well. */
	if (arena_create(&a, 128 * 1024, 4096, "fsize") != 0)
		return 34;
	arena_close(&a);
	return 0;
}

START_TEST(test_create_fsize)
{
	pid_t	pid;

	if ((pid = fork()) == 0) {
		alarm(CHILD_ALARM);
		_exit(fsize_child());
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(reap(pid), 0);
}
END_TEST

/* Many cycles of every path leave no descriptor or mapping behind. */
START_TEST(test_no_leaks)
{
	struct arena	a, b;
	int		i, fd, fds, maps;

	/* Warm up anything the C library opens or maps lazily. */
	ck_assert_int_eq(arena_create(&a, MiB, 4096, "warm"), 0);
	arena_close(&a);
	fds = count_fds();
	maps = count_maps();
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(arena_create(&a, MiB, 4096, "leak"), 0);
		ck_assert_int_eq(count_maps(), maps + 1);
		ck_assert_int_ge(fd = dup(a.fd), 0);
		ck_assert_int_eq(arena_attach(&b, fd), 0);
		ck_assert_int_eq(count_maps(), maps + 2);
		ck_assert_int_eq(count_fds(), fds + 2);
		arena_close(&b);
		/* A failing attach leaves the caller's fd alone. */
		a.hdr->magic = 0;
		ck_assert_int_ge(fd = dup(a.fd), 0);
		ck_assert_int_eq(arena_attach(&b, fd), -1);
		ck_assert_int_eq(close(fd), 0);
		arena_close(&a);
		ck_assert_int_eq(arena_create(&a, 4096, 4096, "leak"), -1);
	}
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(count_maps(), maps);
}
END_TEST

/* All arena suites. */
static Suite *
arena_suite(void)
{
	Suite	*s = suite_create("arena");
	TCase	*tc;

	tc = tcase_create("create");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_create_shapes, 0,
	    sizeof shapes / sizeof shapes[0]);
	tcase_add_test(tc, test_create_bad);
	tcase_add_test(tc, test_create_enospc);
	tcase_add_test(tc, test_create_fsize);
	tcase_add_test(tc, test_no_leaks);
	suite_add_tcase(s, tc);

	tc = tcase_create("attach");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_attach_child);
	tcase_add_test(tc, test_attach_self);
	tcase_add_test(tc, test_client_readonly);
	tcase_add_loop_test(tc, test_attach_reject, 0, SP_COUNT);
	tcase_add_test(tc, test_attach_not_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(arena_suite());
}
