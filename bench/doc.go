// Package bench holds the go test benchmarks of spawn against os/exec,
// syscall.ForkExec, glibc's posix_spawn and a C vfork+execve loop (the
// floor). It is a module of its own because its C baselines need cgo,
// which the spawn module does not use:
//
//	cd bench
//	go test -run XXX -bench . -benchmem -count 10 | tee new.txt
//	benchstat -col /impl new.txt
//
// Each benchmark is named Benchmark<Scenario>/<row>/impl=<implementation>,
// so that benchstat -col /impl puts the implementations side by side, as
// ratios against the first one (spawn). With -count, go test runs the
// sub-benchmarks in turn (spawn, os-exec, ..., spawn, os-exec, ...), so the
// implementations share the machine's slow and fast moments.
//
// docs/BENCHMARKS.md in the spawn repository describes the scenarios and
// `spawn bench`, which measures the same things and more without cgo.
package bench
