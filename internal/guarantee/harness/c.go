//go:build linux && amd64 && cgo

package main

/*
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Raw system calls: the handler and the selftest children must not call
// libc themselves (the interposer would count them).
static inline long g_raw0(long n)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
	return r;
}

static inline long g_raw4(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}

__attribute__((noreturn)) static void g_exit(int code)
{
	for (;;)
		g_raw4(SYS_exit_group, code, 0, 0, 0);
}

// ---- the C signal handler ----
//
// It records who runs it. A child created with CLONE_VM shares this
// memory, so a run in such a child shows up in g_runs_other.

static volatile long g_parent_pid;
static _Atomic uint64_t g_runs_parent, g_runs_other;
static _Atomic long g_other_pid;

static void g_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig; (void)si; (void)uc;
	long pid = g_raw0(SYS_getpid);
	if (pid == g_parent_pid) {
		atomic_fetch_add_explicit(&g_runs_parent, 1, memory_order_relaxed);
	} else {
		atomic_fetch_add(&g_runs_other, 1);
		atomic_store(&g_other_pid, pid);
	}
}

// g_install installs the handler for sig with libc's sigaction (so the
// interposer sees it). It returns 0 or an errno.
static int g_install(int sig)
{
	g_parent_pid = g_raw0(SYS_getpid);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = g_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		return errno;
	return 0;
}

static uint64_t g_handler_runs_parent(void) { return atomic_load(&g_runs_parent); }
static uint64_t g_handler_runs_other(void) { return atomic_load(&g_runs_other); }
static long g_handler_other_pid(void) { return atomic_load(&g_other_pid); }

// ---- negative controls ----
//
// Each returns the child's wait status, or -errno.

// Through a volatile pointer, so that the compiler keeps the call; the
// pointer is the interposer's malloc (symbol interposition).
static void *(*volatile g_malloc)(size_t) = malloc;

static int g_wait(pid_t pid)
{
	int st;
	for (;;) {
		if (waitpid(pid, &st, __WALL) == pid)
			return st;
		if (errno != EINTR)
			return -errno;
	}
}

// A fork()ed child (own copy of memory) that calls malloc before exec.
static int g_fork_malloc(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		g_malloc(64);
		g_exit(0);
	}
	return g_wait(pid);
}

static int g_vm_malloc(void *arg)
{
	(void)arg;
	g_malloc(64);
	g_exit(0);
}

// The handler is still installed in the child (clone copies the handler
// table): unblock the signal and send it to ourselves.
static int g_vm_handler(void *arg)
{
	long sig = (long)arg;
	uint64_t set = 1ull << (sig - 1);
	g_raw4(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&set, 0, 8);
	g_raw4(SYS_tgkill, g_raw0(SYS_getpid), g_raw0(SYS_gettid), sig, 0);
	g_exit(0);
}

// A vfork-style child (CLONE_VM: it runs on our memory) that calls malloc
// (which = 0) or runs our signal handler for sig (which = 1).
static int g_clone_vm(int which, int sig)
{
	size_t size = 1 << 20;
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	pid_t pid = clone(which ? g_vm_handler : g_vm_malloc, stack + size,
			  CLONE_VM | SIGCHLD, (void *)(long)sig);
	int st = pid < 0 ? -errno : g_wait(pid);
	munmap(stack, size);
	return st;
}
*/
import "C"

import (
	"fmt"
	"syscall"
)

// installCHandler installs the C handler for sig through libc's sigaction.
func installCHandler(sig syscall.Signal) error {
	if e := C.g_install(C.int(sig)); e != 0 {
		return fmt.Errorf("sigaction(%d): %w", int(sig), syscall.Errno(e))
	}
	return nil
}

// handlerRuns returns how often the C handler ran in this process and in
// another one (a child sharing our memory), and the last such pid.
func handlerRuns() (parent, other uint64, otherPid int) {
	return uint64(C.g_handler_runs_parent()), uint64(C.g_handler_runs_other()), int(C.g_handler_other_pid())
}

// forkMalloc runs the fork()+malloc control and returns the wait status.
func forkMalloc() (syscall.WaitStatus, error) { return status(C.g_fork_malloc()) }

// cloneVMMalloc runs the CLONE_VM+malloc control.
func cloneVMMalloc() (syscall.WaitStatus, error) { return status(C.g_clone_vm(0, 0)) }

// cloneVMHandler runs the CLONE_VM+handler control for sig.
func cloneVMHandler(sig syscall.Signal) (syscall.WaitStatus, error) {
	return status(C.g_clone_vm(1, C.int(sig)))
}

func status(r C.int) (syscall.WaitStatus, error) {
	if r < 0 {
		return 0, syscall.Errno(-r)
	}
	return syscall.WaitStatus(r), nil
}
