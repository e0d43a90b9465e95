/*
 * floor: the C baselines of the spawn benchmarks.
 *
 *   floor vfork N target            N times: vfork, execve(target), waitpid
 *   floor posix_spawn N target      N times: posix_spawn(target), waitpid
 *   floor fork N target heapMiB [rounds]
 *                                   touch heapMiB of heap, then N times:
 *                                   fork, execve(target), waitpid; repeated
 *                                   rounds times (default 1), one line each
 *   floor sleep seconds             sleep, then exit 0 (a cheap sleeping child)
 *
 * The loop modes print the mean time of one start+wait in nanoseconds
 * ("123456.7\n", a line per round) and exit 0; a child that fails to exec, or exits non-zero,
 * makes floor print a message to stderr and exit 1. Children get floor's
 * environment and argv {target}, and inherit descriptors 0, 1 and 2.
 *
 * vfork+execve is the floor: the least a parent can do to start a program.
 * fork shows what copying the parent's page tables costs as the parent
 * grows, which CLONE_VM (vfork, posix_spawn, os/exec, spawn) avoids.
 *
 * Build: cc -O2 -Wall -Werror -o floor floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

extern char **environ;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void reap(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("floor: waitpid");
			exit(1);
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "floor: child failed (status %#x)\n", status);
		exit(1);
	}
}

static long number(const char *s)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || *end || n < 0) {
		fprintf(stderr, "floor: bad number '%s'\n", s);
		exit(2);
	}
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: floor vfork|posix_spawn N target\n"
			"       floor fork N target heapMiB [rounds]\n"
			"       floor sleep seconds\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	const char *mode = argv[1];
	if (strcmp(mode, "sleep") == 0) {
		struct timespec ts = {.tv_sec = number(argv[2])};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return 0;
	}
	if (argc < 4)
		usage();
	long n = number(argv[2]);
	char *target = argv[3];
	char *cargv[] = {target, NULL};

	if (strcmp(mode, "fork") == 0) {
		if (argc != 5 && argc != 6)
			usage();
		long rounds = argc == 6 ? number(argv[5]) : 1;
		size_t size = (size_t)number(argv[4]) << 20;
		volatile char *heap = malloc(size);
		if (!heap) {
			fprintf(stderr, "floor: cannot allocate %s MiB\n", argv[4]);
			return 1;
		}
		for (size_t i = 0; i < size; i += 4096)
			heap[i] = 1;
		for (long r = 0; r < rounds; r++) {
			double t0 = now_ns();
			for (long i = 0; i < n; i++) {
				pid_t pid = fork();
				if (pid < 0) {
					perror("floor: fork");
					return 1;
				}
				if (pid == 0) {
					execve(target, cargv, environ);
					_exit(127);
				}
				reap(pid);
			}
			printf("%.1f\n", (now_ns() - t0) / (double)(n ? n : 1));
			fflush(stdout);
		}
		return heap[0] == 1 ? 0 : 1; /* keep the heap alive */
	}
	if (argc != 4)
		usage();

	if (strcmp(mode, "vfork") == 0) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++) {
			pid_t pid = vfork();
			if (pid < 0) {
				perror("floor: vfork");
				return 1;
			}
			if (pid == 0) {
				execve(target, cargv, environ);
				_exit(127);
			}
			reap(pid);
		}
		printf("%.1f\n", (now_ns() - t0) / (double)(n ? n : 1));
		return 0;
	}
	if (strcmp(mode, "posix_spawn") == 0) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++) {
			pid_t pid;
			int err = posix_spawn(&pid, target, NULL, NULL, cargv, environ);
			if (err) {
				fprintf(stderr, "floor: posix_spawn: %s\n", strerror(err));
				return 1;
			}
			reap(pid);
		}
		printf("%.1f\n", (now_ns() - t0) / (double)(n ? n : 1));
		return 0;
	}
	usage();
	return 2;
}
