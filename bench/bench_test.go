//go:build linux && amd64 && cgo

package bench

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ib "github.com/gospawn/spawn/internal/bench"
)

var (
	bigHeap  = flag.Int("bench.heap", 1024, "MiB of heap of the large parent in BenchmarkParentSize")
	threadNs = flag.String("bench.threads", "1000", "comma-separated numbers of children for BenchmarkWaitThreads (10000 takes minutes; os/exec crashes there)")
)

// env holds the programs: the static no-op, /bin/true, and floor.c.
var env *ib.Env

func TestMain(m *testing.M) {
	// BenchmarkWaitThreads runs this test binary again as its subprocess.
	ib.RunChildIfRequested()
	flag.Parse()
	var err error
	if env, err = ib.NewEnv(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	env.Close()
	os.Exit(code)
}

var targets = []string{"noop", "true"}

// A starter starts a program and waits for it, once.
type starter struct {
	impl string
	run  func() error
}

// starters returns every implementation of start+wait for path, spawn
// first: benchstat -col /impl compares the others with the first.
func starters(path string) (s []starter, free func()) {
	cp := NewCPath(path)
	return []starter{
		{"spawn", func() error { return ib.SpawnOnce(path) }},
		{"os-exec", func() error { return ib.ExecOnce(path) }},
		{"forkexec", func() error { return ib.ForkExecOnce(path) }},
		{"posix-spawn", func() error { return PosixSpawnWait(cp) }},
		{"vfork-floor", func() error { return VforkWait(cp) }},
	}, cp.Free
}

// TestStarters checks that every implementation starts both targets.
func TestStarters(t *testing.T) {
	for _, target := range targets {
		ss, free := starters(env.Target(target))
		for _, s := range ss {
			if err := s.run(); err != nil {
				t.Errorf("%s %s: %v", s.impl, target, err)
			}
		}
		cp := NewCPath(env.Target(target))
		if err := ForkWait(cp); err != nil {
			t.Errorf("fork %s: %v", target, err)
		}
		cp.Free()
		free()
	}
	cp := NewCPath("/nonexistent")
	defer cp.Free()
	if err := VforkWait(cp); err == nil || !strings.Contains(err.Error(), "0x7f00") {
		t.Errorf("vfork of a missing program: %v; want exit status 127", err)
	}
}

// BenchmarkStartWait: S1, serial start+wait of the no-op program and of
// /bin/true.
func BenchmarkStartWait(b *testing.B) {
	for _, target := range targets {
		b.Run("target="+target, func(b *testing.B) {
			ss, free := starters(env.Target(target))
			defer free()
			for _, s := range ss {
				b.Run("impl="+s.impl, func(b *testing.B) {
					for b.Loop() {
						if err := s.run(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkParallel: S3, N goroutines doing start+wait of the no-op
// program; ns/op is wall time per child, all goroutines together.
func BenchmarkParallel(b *testing.B) {
	for _, g := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			ss, free := starters(env.Noop)
			defer free()
			for _, s := range ss[:2] { // spawn, os-exec
				b.Run("impl="+s.impl, func(b *testing.B) {
					var next atomic.Int64
					var wg sync.WaitGroup
					errs := make([]error, g)
					b.ResetTimer()
					for i := range g {
						wg.Go(func() {
							for next.Add(1) <= int64(b.N) {
								if err := s.run(); err != nil {
									errs[i] = err
									return
								}
							}
						})
					}
					wg.Wait()
					if err := errors.Join(errs...); err != nil {
						b.Fatal(err)
					}
				})
			}
		})
	}
}

// BenchmarkPipelined: S2, children started without waiting for each, 256
// at a time (spawn.StartAll in batches of 32; os/exec Start 256 times),
// then reaped; vfork-floor is the serial C loop. ns/op is per child.
func BenchmarkPipelined(b *testing.B) {
	const window, batch = 256, 32
	for _, target := range targets {
		b.Run("target="+target, func(b *testing.B) {
			path := env.Target(target)
			cp := NewCPath(path)
			defer cp.Free()
			run := []struct {
				impl string
				n    func(n int) error // start and reap n children
			}{
				{"spawn-batch", func(n int) error { _, err := ib.SpawnBatch(path, n, batch); return err }},
				{"os-exec", func(n int) error { _, err := ib.ExecBatch(path, n); return err }},
				{"vfork-floor", func(n int) error {
					for range n {
						if err := VforkWait(cp); err != nil {
							return err
						}
					}
					return nil
				}},
			}
			for _, r := range run {
				b.Run("impl="+r.impl, func(b *testing.B) {
					for done := 0; done < b.N; done += window {
						if err := r.n(min(window, b.N-done)); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// heapHold keeps the heap of BenchmarkParentSize alive.
var heapHold []byte

// BenchmarkParentSize: S6, start+wait of the no-op program from this
// process while it holds 10 MiB or -bench.heap MiB (default 1 GiB) of
// touched heap: spawn (CLONE_VM) against fork+execve (page tables copied).
func BenchmarkParentSize(b *testing.B) {
	for _, mib := range []int{10, *bigHeap} {
		b.Run("heap="+strings.ReplaceAll(ib.MiBLabel(mib), " ", ""), func(b *testing.B) {
			heapHold = make([]byte, mib<<20)
			for i := 0; i < len(heapHold); i += 4096 {
				heapHold[i] = 1
			}
			defer func() {
				heapHold = nil
				runtime.GC()
				debug.FreeOSMemory()
			}()
			cp := NewCPath(env.Noop)
			defer cp.Free()
			for _, s := range []starter{
				{"spawn", func() error { return ib.SpawnOnce(env.Noop) }},
				{"fork-floor", func() error { return ForkWait(cp) }},
			} {
				b.Run("impl="+s.impl, func(b *testing.B) {
					for b.Loop() {
						if err := s.run(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkWaitThreads: S4, in a subprocess (this test binary, run again),
// N children sleep while N goroutines wait for them; the "threads" metric
// is the most OS threads the subprocess had meanwhile. ns/op is the time of
// the whole subprocess. os/exec dies at Go's 10,000-thread limit: the
// benchmark then logs it and reports no result.
func BenchmarkWaitThreads(b *testing.B) {
	for _, f := range strings.Split(*threadNs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("-bench.threads: bad number %q", f)
		}
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for _, impl := range []struct{ name, impl string }{{"spawn", ib.ImplSpawn}, {"os-exec", ib.ImplExec}} {
				b.Run("impl="+impl.name, func(b *testing.B) {
					peak := 0
					for b.Loop() {
						res, err := env.WaitThreads(impl.impl, n)
						if errors.Is(err, ib.ErrThreadLimit) {
							b.Skipf("%s with %d children: %v", impl.name, n, err)
						}
						if err != nil {
							b.Fatal(err)
						}
						peak = max(peak, res.Peak)
					}
					b.ReportMetric(float64(peak), "threads")
				})
			}
		})
	}
}
