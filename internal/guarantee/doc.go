// Package guarantee holds the tests that check spawn's central promise from
// the outside: a spawn child runs no interposed libc code, no signal
// handler of the parent, and writes none of the parent's memory between
// clone and execve, under an LD_PRELOAD interposer, under the race detector
// and AddressSanitizer, and under signal storms. The same figures are
// reported for os/exec as a reference.
//
// The package has no code of its own. Its test builds c/interpose.c (an
// LD_PRELOAD library that catches libc calls made in a child before exec)
// and the cgo program in ./harness, runs the harness in several modes and
// checks the figures it prints; see README.md.
package guarantee
