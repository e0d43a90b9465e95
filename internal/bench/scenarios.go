package bench

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// targets are the programs started, by name.
var targets = []string{"noop", "true"}

// TargetLabel is how a target is shown: "noop" or "/bin/true".
func TargetLabel(t string) string {
	if t == "true" {
		return "/bin/true"
	}
	return t
}

// warm starts path a few times with every Go implementation, so that the
// first round does not pay for first use (page cache, pools, sync.Once).
func warm(path string, impls ...string) error {
	for _, impl := range impls {
		if once := Once(impl); once != nil {
			if _, err := loop(once, path, 3); err != nil {
				return err
			}
		}
	}
	return nil
}

// S1: serial start+wait latency.
func (r *runner) latency() error {
	impls := []string{ImplSpawn, ImplExec, ImplForkExec, ImplPosixSpawn, ImplVfork}
	r.s.Method = fmt.Sprintf("Start then Wait, %d times per round; median of %d alternating rounds. "+
		"posix_spawn and vfork-floor loop in the C program floor.c. Speedup = other's time ÷ spawn's, "+
		"the median of the per-round ratios.",
		r.p.latencyN, r.p.rounds)
	for _, t := range targets {
		path := r.env.Target(t)
		if err := warm(path, impls...); err != nil {
			return err
		}
		samples := make(map[string][]float64)
		var steps []step
		for _, impl := range impls {
			steps = append(steps, step{impl, func() error {
				ns, err := r.env.serial(impl, path, r.p.latencyN)
				samples[impl] = append(samples[impl], ns)
				return err
			}})
		}
		err := r.alternate("latency "+TargetLabel(t), r.p.rounds, steps)
		for _, impl := range impls {
			r.s.add(TargetLabel(t), impl, "ns/op", samples[impl])
		}
		if err != nil {
			return err
		}
		row := TargetLabel(t)
		for _, impl := range impls[1:] {
			target := ""
			if impl == ImplExec {
				target = "≥ 1.7"
			}
			r.s.pairedRatio(fmt.Sprintf("%s: spawn speedup vs %s", row, impl), row, impl, row, ImplSpawn, "higher", target, true)
		}
		r.s.pairedRatio(row+": spawn time ÷ vfork-floor time", row, ImplSpawn, row, ImplVfork, "lower", "≤ 1.1", false)
	}
	return nil
}

// S2: pipelined throughput.
func (r *runner) pipelined() error {
	impls := []string{ImplSpawnBatch, ImplExec, ImplVfork, ImplSpawn}
	r.s.Method = fmt.Sprintf("spawn-batch: spawn.StartAll of %d commands at a time, until %d are started, then Wait "+
		"for all; os/exec: %d Starts, then %d Waits; vfork-floor and spawn: serial start+wait loops of %d "+
		"(the C loop is the floor). Median rate of %d alternating rounds; ratios: median of the per-round ratios.",
		r.p.batch, r.p.pipeN, r.p.pipeN, r.p.pipeN, r.p.pipeN, r.p.rounds)
	for _, t := range targets {
		path, row := r.env.Target(t), TargetLabel(t)
		if err := warm(path, ImplSpawn, ImplExec); err != nil {
			return err
		}
		samples := make(map[string][]float64)
		run := map[string]func() (float64, error){
			ImplSpawnBatch: func() (float64, error) { return SpawnBatch(path, r.p.pipeN, r.p.batch) },
			ImplExec:       func() (float64, error) { return ExecBatch(path, r.p.pipeN) },
			ImplVfork:      func() (float64, error) { return rate(r.env.serial(ImplVfork, path, r.p.pipeN)) },
			ImplSpawn:      func() (float64, error) { return rate(r.env.serial(ImplSpawn, path, r.p.pipeN)) },
		}
		var steps []step
		for _, impl := range impls {
			steps = append(steps, step{impl, func() error {
				v, err := run[impl]()
				samples[impl] = append(samples[impl], v)
				return err
			}})
		}
		err := r.alternate("pipelined "+row, r.p.rounds, steps)
		for _, impl := range impls {
			r.s.add(row, impl, "procs/s", samples[impl])
		}
		if err != nil {
			return err
		}
		r.s.pairedRatio(row+": spawn-batch rate ÷ vfork-floor rate", row, ImplSpawnBatch, row, ImplVfork, "higher", "≥ 1.3", true)
		r.s.pairedRatio(row+": spawn-batch rate ÷ os/exec pipelined rate", row, ImplSpawnBatch, row, ImplExec, "higher", "", false)
		r.s.pairedRatio(row+": spawn-batch rate ÷ spawn serial rate", row, ImplSpawnBatch, row, ImplSpawn, "higher", "", false)
	}
	return nil
}

// rate turns a mean time in ns into a rate per second.
func rate(ns float64, err error) (float64, error) {
	if err != nil || ns <= 0 {
		return 0, err
	}
	return 1e9 / ns, nil
}

// S3: parallel start+wait.
func (r *runner) parallel() error {
	impls := []string{ImplSpawn, ImplExec}
	path := r.env.Noop
	r.s.Method = fmt.Sprintf("G goroutines each Start+Wait the no-op program %d times; total rate, "+
		"median of %d alternating rounds; ratio: median of the per-round ratios.", r.p.parCount, r.p.rounds)
	if err := warm(path, impls...); err != nil {
		return err
	}
	for _, g := range r.p.goroutines {
		row := fmt.Sprintf("%d goroutines", g)
		samples := make(map[string][]float64)
		var steps []step
		for _, impl := range impls {
			steps = append(steps, step{impl, func() error {
				v, err := ParallelRate(Once(impl), path, g, r.p.parCount)
				samples[impl] = append(samples[impl], v)
				return err
			}})
		}
		err := r.alternate("parallel "+row, r.p.rounds, steps)
		for _, impl := range impls {
			r.s.add(row, impl, "procs/s", samples[impl])
		}
		if err != nil {
			return err
		}
		r.s.pairedRatio(row+": spawn rate ÷ os/exec rate", row, ImplSpawn, row, ImplExec, "higher", "", true)
	}
	return nil
}

// ParallelRate runs g goroutines that each call once(path) count times,
// and returns the total rate in calls per second.
func ParallelRate(once func(string) error, path string, g, count int) (float64, error) {
	var wg sync.WaitGroup
	errs := make([]error, g)
	t0 := time.Now()
	for i := range g {
		wg.Go(func() {
			for range count {
				if err := once(path); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(g*count) / time.Since(t0).Seconds(), errors.Join(errs...)
}

// S4: OS threads while children are waited on.
func (r *runner) threads() error {
	impls := []string{ImplSpawn, ImplExec}
	r.s.Method = "In a subprocess per (implementation, N), with RLIMIT_NOFILE raised: start N children " +
		"(floor.c sleeping 30 s), each waited on by a goroutine of its own; report the most OS threads " +
		"(Threads: in /proc/self/status) seen over the next second, then kill the children. " +
		"os/exec may die at Go's 10,000-thread limit: that is its result."
	maxN := slices.Max(r.p.threadNs)
	if note := ensurePids(2*maxN + 2000); note != "" {
		r.s.Notes = append(r.s.Notes, note)
	}
	last := ""
	for _, n := range r.p.threadNs {
		row := fmt.Sprintf("N=%d", n)
		last = row
		for _, impl := range impls {
			r.progress(fmt.Sprintf("threads %s: %s", row, impl))
			res, err := r.env.WaitThreads(impl, n)
			if err != nil {
				if !errors.Is(err, ErrThreadLimit) {
					return err
				}
				r.s.addError(row, impl, "threads", err)
				r.s.Notes = append(r.s.Notes, fmt.Sprintf("%s %s: %v", impl, row, err))
				continue
			}
			r.s.add(row, impl, "threads", []float64{float64(res.Peak)})
			r.s.Notes = append(r.s.Notes, fmt.Sprintf("%s %s: %d threads before, %d while waiting; %d children started in %.2f s",
				impl, row, res.Before, res.Peak, n, res.StartSeconds))
		}
		r.s.ratio(row+": os/exec threads ÷ spawn threads", r.s.value(row, ImplExec), r.s.value(row, ImplSpawn), "higher", "", false)
	}
	// README: "1,000 waiting children add about one thread, not 1,000".
	r.s.check(last+": spawn threads while waiting", r.s.value(last, ImplSpawn), "threads", "lower", "≤ 16", false)
	return nil
}

// ensurePids makes sure the kernel allows want more tasks: it raises
// kernel.pid_max and kernel.threads-max if they are lower and it may, and
// returns a note saying what it did or could not do.
func ensurePids(want int) string {
	var notes []string
	for _, name := range []string{"pid_max", "threads-max"} {
		path := "/proc/sys/kernel/" + name
		v, err := strconv.Atoi(readTrim(path))
		if err != nil || v >= want {
			continue
		}
		if err := os.WriteFile(path, []byte(strconv.Itoa(want)), 0); err != nil {
			notes = append(notes, fmt.Sprintf("kernel.%s is %d, less than the %d tasks wanted, and could not be raised: %v", name, v, want, err))
		} else {
			notes = append(notes, fmt.Sprintf("raised kernel.%s from %d to %d", name, v, want))
		}
	}
	return strings.Join(notes, "; ")
}

// S5: allocations.
func (r *runner) allocs() error {
	impls := []string{ImplSpawn, ImplExec, ImplForkExec}
	path := r.env.Noop
	r.s.Method = fmt.Sprintf("testing.AllocsPerRun(%d, start+wait of the no-op program), and the bytes "+
		"allocated (runtime.MemStats.TotalAlloc) over as many runs; median of %d alternating rounds.",
		r.p.allocRuns, r.p.rounds)
	samples := make(map[string][]float64)
	bytes := make(map[string][]float64)
	var steps []step
	for _, impl := range impls {
		once := Once(impl)
		steps = append(steps, step{impl, func() error {
			a, b, err := AllocsPerStart(once, path, r.p.allocRuns)
			samples[impl] = append(samples[impl], a)
			bytes[impl] = append(bytes[impl], b)
			return err
		}})
	}
	err := r.alternate("allocs", r.p.rounds, steps)
	for _, impl := range impls {
		r.s.add("allocs/op", impl, "allocs/op", samples[impl])
	}
	for _, impl := range impls {
		r.s.add("B/op", impl, "B/op", bytes[impl])
	}
	if err != nil {
		return err
	}
	r.s.check("spawn allocations per Start+Wait", r.s.value("allocs/op", ImplSpawn), "allocs", "lower", "≤ 8", false)
	r.s.pairedRatio("os/exec allocs ÷ spawn allocs", "allocs/op", ImplExec, "allocs/op", ImplSpawn, "higher", "", false)
	r.s.pairedRatio("os/exec bytes ÷ spawn bytes", "B/op", ImplExec, "B/op", ImplSpawn, "higher", "", false)
	return nil
}

// AllocsPerStart returns the allocations (testing.AllocsPerRun) and the
// bytes allocated per once(path), over runs calls each.
func AllocsPerStart(once func(string) error, path string, runs int) (allocs, bytes float64, err error) {
	allocs = testing.AllocsPerRun(runs, func() {
		if e := once(path); e != nil && err == nil {
			err = e
		}
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if e := once(path); e != nil && err == nil {
			err = e
		}
	}
	runtime.ReadMemStats(&after)
	return allocs, float64(after.TotalAlloc-before.TotalAlloc) / float64(runs), err
}

// MiBLabel shows a heap size: "10 MiB", "4 GiB".
func MiBLabel(mib int) string {
	if mib >= 1024 && mib%1024 == 0 {
		return fmt.Sprintf("%d GiB", mib/1024)
	}
	return fmt.Sprintf("%d MiB", mib)
}

// S6: parent size.
func (r *runner) parentSize() error {
	small, big := MiBLabel(r.p.heapSmall), MiBLabel(r.p.heapBig)
	r.s.Method = fmt.Sprintf("Two subprocesses hold %s and %s of touched heap; each round asks each of them "+
		"for %d start+wait of the no-op program with spawn and with os/exec, alternating; medians of %d rounds, "+
		"ratios: median of the per-round ratios. fork-floor: floor.c touches the same heap, then "+
		"fork+execve+waitpid %d times per round, %d rounds.",
		small, big, r.p.heapIters, r.p.heapRounds, r.p.forkIters, r.p.forkRounds)
	type worker struct {
		row string
		c   *child
	}
	var workers []worker
	defer func() {
		for _, w := range workers {
			w.c.wait()
		}
	}()
	for _, mib := range []int{r.p.heapSmall, r.p.heapBig} {
		r.progress(fmt.Sprintf("parent-size: a Go parent touching %s", MiBLabel(mib)))
		c, err := r.env.startChild(childSpec{Kind: "heap", HeapMiB: mib, Target: r.env.Noop, Iters: r.p.heapIters})
		if err != nil {
			return err
		}
		workers = append(workers, worker{MiBLabel(mib), c})
		if line, err := c.readLine(); err != nil || line != "ready" {
			return fmt.Errorf("heap subprocess of %s: %q, %v", MiBLabel(mib), line, err)
		}
	}
	impls := []string{ImplSpawn, ImplExec}
	samples := make(map[[2]string][]float64)
	var steps []step
	for _, impl := range impls {
		for _, w := range workers {
			steps = append(steps, step{impl + " from " + w.row, func() error {
				if _, err := fmt.Fprintln(w.c.stdin, impl); err != nil {
					return err
				}
				line, err := w.c.readLine()
				if err != nil {
					return err
				}
				v, err := strconv.ParseFloat(line, 64)
				samples[[2]string{w.row, impl}] = append(samples[[2]string{w.row, impl}], v)
				return err
			}})
		}
	}
	err := r.alternate("parent-size", r.p.heapRounds, steps)
	for _, w := range workers {
		for _, impl := range impls {
			r.s.add(w.row, impl, "ns/op", samples[[2]string{w.row, impl}])
		}
	}
	if err != nil {
		return err
	}
	for _, w := range workers {
		w.c.wait()
	}
	workers = nil

	for _, mib := range []int{r.p.heapSmall, r.p.heapBig} {
		r.progress(fmt.Sprintf("parent-size: fork-floor from a C parent touching %s", MiBLabel(mib)))
		vals, err := r.env.floorLines("fork", strconv.Itoa(r.p.forkIters), r.env.Noop, strconv.Itoa(mib), strconv.Itoa(r.p.forkRounds))
		if err != nil {
			return err
		}
		r.s.add(MiBLabel(mib), ImplFork, "ns/op", vals)
	}
	r.s.pairedRatio(fmt.Sprintf("spawn: time from %s parent ÷ from %s", big, small), big, ImplSpawn, small, ImplSpawn, "lower", "≤ 1.1", true)
	r.s.pairedRatio(fmt.Sprintf("os/exec: time from %s parent ÷ from %s", big, small), big, ImplExec, small, ImplExec, "lower", "", false)
	// The two C parents ran one after the other, not in alternation.
	r.s.ratio(fmt.Sprintf("fork-floor: time from %s parent ÷ from %s", big, small), r.s.value(big, ImplFork), r.s.value(small, ImplFork), "lower", "", false)
	return nil
}

// S7: scheduler impact.
func (r *runner) scheduler() error {
	impls := []string{ImplNone, ImplSpawn, ImplExec}
	r.s.Method = fmt.Sprintf("A subprocess with GOMAXPROCS=1: a goroutine receives the ticks of a 1 ms time.Ticker "+
		"for %g s and records how late each arrives (receive time − due time), while another goroutine "+
		"starts and waits for the no-op program in a loop (none: no spawning). %d alternating round(s); "+
		"percentiles over all ticks.", r.p.schedSeconds, r.p.schedRounds)
	lat := make(map[string][]float64)
	spawns := make(map[string]int)
	var steps []step
	for _, impl := range impls {
		steps = append(steps, step{impl, func() error {
			out, err := r.env.runChild(childSpec{Kind: "sched", Impl: impl, Target: r.env.Noop, Seconds: r.p.schedSeconds}, "GOMAXPROCS=1")
			if err != nil {
				return err
			}
			var res schedResult
			if err := decodeJSON(out, &res); err != nil {
				return err
			}
			lat[impl] = append(lat[impl], res.Lateness...)
			spawns[impl] += res.Spawns
			return nil
		}})
	}
	if err := r.alternate("scheduler", r.p.schedRounds, steps); err != nil {
		return err
	}
	secs := r.p.schedSeconds * float64(r.p.schedRounds)
	for _, q := range []struct {
		row string
		p   float64
	}{{"p50", 50}, {"p99", 99}, {"max", 100}} {
		for _, impl := range impls {
			r.s.Results = append(r.s.Results, Result{Row: q.row, Impl: impl, Unit: "ns", Value: finite(Percentile(lat[impl], q.p))})
		}
	}
	for _, impl := range impls {
		r.s.Results = append(r.s.Results, Result{Row: "spawns/s", Impl: impl, Unit: "procs/s", Value: float64(spawns[impl]) / secs})
		r.s.Results = append(r.s.Results, Result{Row: "ticks", Impl: impl, Unit: "ticks", Value: float64(len(lat[impl]))})
	}
	p99 := func(impl string) float64 {
		if len(lat[impl]) == 0 {
			return math.NaN()
		}
		return Percentile(lat[impl], 99) / 1e6
	}
	r.s.check("spawn p99 ticker lateness", p99(ImplSpawn), "ms", "lower", "< 1", false)
	r.s.check("os/exec p99 ticker lateness", p99(ImplExec), "ms", "lower", "", false)
	r.s.ratio("os/exec p99 lateness ÷ spawn p99 lateness", p99(ImplExec), p99(ImplSpawn), "higher", "", true)
	return nil
}
