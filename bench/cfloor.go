//go:build linux && cgo

package bench

/*
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

extern char **environ;

// reap waits for pid and returns its wait status, or -errno.
static int reap(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return status;
}

// vfork_wait: the floor. vfork, execve(path), waitpid.
static int vfork_wait(char *path)
{
	char *argv[] = {path, NULL};
	pid_t pid = vfork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execve(path, argv, environ);
		_exit(127);
	}
	return reap(pid);
}

// fork_wait: fork, execve(path), waitpid: copies the page tables.
static int fork_wait(char *path)
{
	char *argv[] = {path, NULL};
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execve(path, argv, environ);
		_exit(127);
	}
	return reap(pid);
}

// posix_spawn_wait: glibc's posix_spawn(path), waitpid.
static int posix_spawn_wait(char *path)
{
	char *argv[] = {path, NULL};
	pid_t pid;
	int err = posix_spawn(&pid, path, NULL, NULL, argv, environ);
	if (err)
		return -err;
	return reap(pid);
}
*/
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"
)

// A CPath is a program path in C memory, made once so that the C loops
// allocate nothing per start.
type CPath struct{ p *C.char }

// NewCPath copies path into C memory; Free releases it.
func NewCPath(path string) CPath { return CPath{C.CString(path)} }

// Free releases the C copy of the path.
func (p CPath) Free() { C.free(unsafe.Pointer(p.p)) }

func (p CPath) String() string { return C.GoString(p.p) }

// VforkWait starts p with vfork+execve and waits for it: the floor. Like
// any vfork from C in a Go program, the child runs on the calling thread's
// stack until it execs; it only calls execve.
func VforkWait(p CPath) error { return status(p, "vfork", C.vfork_wait(p.p)) }

// ForkWait starts p with fork+execve and waits for it.
func ForkWait(p CPath) error { return status(p, "fork", C.fork_wait(p.p)) }

// PosixSpawnWait starts p with glibc's posix_spawn and waits for it.
func PosixSpawnWait(p CPath) error { return status(p, "posix_spawn", C.posix_spawn_wait(p.p)) }

func status(p CPath, how string, st C.int) error {
	switch {
	case st < 0:
		return fmt.Errorf("%s %s: %w", how, p, syscall.Errno(-st))
	case st != 0:
		return fmt.Errorf("%s %s: wait status %#x", how, p, int(st))
	}
	return nil
}
