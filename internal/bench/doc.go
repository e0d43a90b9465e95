// Package bench measures how fast spawn starts processes, against os/exec,
// syscall.ForkExec, glibc's posix_spawn and a C vfork+execve loop (the
// floor), in seven scenarios (see Scenarios). It is shared by the
// `spawn bench` command and by the go test benchmarks of the bench module.
//
// Machines are noisy, so every scenario alternates its implementations
// within one run (A B C, B C A, ...) and reports medians; only ratios
// measured in the same run are compared.
//
// The C baselines are c/floor.c, compiled at run time with $CC (default
// "cc"), and the static no-op target is built by internal/probe. Scenarios
// that need a process of their own (threads, parent size, scheduler) re-run
// the current executable with SPAWN_BENCH_CHILD set in its environment: a
// program using Run must call RunChildIfRequested first thing in main (or
// in TestMain, or in an init function).
package bench
