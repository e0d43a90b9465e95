package bench

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Size is how long a run takes.
type Size int

const (
	Full  Size = iota // a few minutes
	Quick             // under a minute on 2 cores: fewer rounds, 3,000 instead of 10,000 children, 1 GiB instead of 4 GiB
	Tiny              // seconds, for tests: numbers too noisy to mean much
)

func (s Size) String() string {
	switch s {
	case Quick:
		return "quick"
	case Tiny:
		return "tiny"
	}
	return "full"
}

// Config says what Run measures.
type Config struct {
	Size Size
	// Only lists the scenarios to run, by name or ID ("latency", "S1");
	// empty means all of them.
	Only []string
	// Progress, if not nil, is told what is being measured, as
	// "[3/7] parallel 4 goroutines: os/exec".
	Progress func(msg string)
}

// ScenarioInfo names a scenario.
type ScenarioInfo struct {
	ID, Name, Title string
}

// Scenarios lists the scenarios in the order Run runs them.
var Scenarios = []ScenarioInfo{
	{"S1", "latency", "serial start+wait latency"},
	{"S2", "pipelined", "pipelined throughput: start many children, then reap them"},
	{"S3", "parallel", "parallel start+wait from several goroutines"},
	{"S4", "threads", "OS threads while N sleeping children are waited on"},
	{"S5", "allocs", "allocations per start+wait, no standard streams"},
	{"S6", "parent-size", "start latency from a small and from a large parent"},
	{"S7", "scheduler", "lateness of a 1 ms ticker with GOMAXPROCS=1 while spawning"},
}

// params are the sizes of the scenarios.
type params struct {
	rounds       int   // alternating rounds of S1, S2, S3 and S5
	latencyN     int   // S1: start+wait per implementation and round
	pipeN        int   // S2: children per round
	batch        int   // S2: StartAll batch size
	parCount     int   // S3: start+wait per goroutine
	goroutines   []int // S3
	threadNs     []int // S4
	allocRuns    int   // S5
	heapSmall    int   // S6, MiB
	heapBig      int   // S6, MiB
	heapIters    int   // S6: spawns per round
	heapRounds   int   // S6: alternating rounds of spawns
	forkIters    int   // S6: forks per round (of the big parent: fork is slow)
	forkRounds   int   // S6
	schedSeconds float64
	schedRounds  int
}

func paramsFor(s Size) params {
	switch s {
	case Quick:
		return params{rounds: 5, latencyN: 60, pipeN: 96, batch: 32, parCount: 12, goroutines: []int{1, 2, 4, 8},
			threadNs: []int{1000, 3000}, allocRuns: 50, heapSmall: 10, heapBig: 1024, heapIters: 40, heapRounds: 5, forkIters: 8, forkRounds: 3,
			schedSeconds: 1, schedRounds: 1}
	case Tiny:
		return params{rounds: 2, latencyN: 8, pipeN: 32, batch: 8, parCount: 4, goroutines: []int{1, 2},
			threadNs: []int{20, 100}, allocRuns: 5, heapSmall: 10, heapBig: 64, heapIters: 8, heapRounds: 2, forkIters: 4, forkRounds: 2,
			schedSeconds: 0.2, schedRounds: 1}
	}
	return params{rounds: 9, latencyN: 200, pipeN: 256, batch: 32, parCount: 40, goroutines: []int{1, 2, 4, 8},
		threadNs: []int{1000, 10000}, allocRuns: 200, heapSmall: 10, heapBig: 4096, heapIters: 100, heapRounds: 15,
		forkIters: 10, forkRounds: 5,
		schedSeconds: 2, schedRounds: 2}
}

// Run runs the scenarios of cfg and returns their results. A scenario that
// fails is reported in its Error, and the others still run; Run itself
// fails only on a bad Config.
func Run(env *Env, cfg Config) (*Report, error) {
	var todo []ScenarioInfo
	for _, si := range Scenarios {
		if len(cfg.Only) == 0 || containsFold(cfg.Only, si.Name) || containsFold(cfg.Only, si.ID) {
			todo = append(todo, si)
		}
	}
	for _, name := range cfg.Only {
		if !known(name) {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, scenarioNames())
		}
	}
	rep := &Report{Size: cfg.Size.String(), Machine: machine(), Started: time.Now()}
	p := paramsFor(cfg.Size)
	for i, si := range todo {
		s := &Scenario{ID: si.ID, Name: si.Name, Title: si.Title}
		r := &runner{env: env, p: p, s: s, progress: func(msg string) {
			if cfg.Progress != nil {
				cfg.Progress(fmt.Sprintf("[%d/%d] %s", i+1, len(todo), msg))
			}
		}}
		r.progress(si.Name)
		t0 := time.Now()
		if err := runners[si.ID](r); err != nil {
			s.Error = err.Error()
		}
		s.Seconds = time.Since(t0).Seconds()
		rep.Scenarios = append(rep.Scenarios, s)
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

var runners = map[string]func(*runner) error{
	"S1": (*runner).latency,
	"S2": (*runner).pipelined,
	"S3": (*runner).parallel,
	"S4": (*runner).threads,
	"S5": (*runner).allocs,
	"S6": (*runner).parentSize,
	"S7": (*runner).scheduler,
}

func known(name string) bool {
	for _, si := range Scenarios {
		if strings.EqualFold(name, si.Name) || strings.EqualFold(name, si.ID) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func scenarioNames() string {
	var names []string
	for _, si := range Scenarios {
		names = append(names, si.Name)
	}
	return strings.Join(names, ", ")
}

// runner runs one scenario.
type runner struct {
	env      *Env
	p        params
	s        *Scenario
	progress func(string)
}

// A step is one measurement of one implementation.
type step struct {
	label string // for the progress line
	run   func() error
}

// alternate runs every step once per round for rounds rounds, rotating
// the order each round (A B C, B C A, C A B...), so that the
// implementations share the machine's slow and fast moments.
func (r *runner) alternate(what string, rounds int, steps []step) error {
	for round := range rounds {
		for i := range steps {
			st := steps[(i+round)%len(steps)]
			r.progress(fmt.Sprintf("%s: %s (round %d/%d)", what, st.label, round+1, rounds))
			if err := st.run(); err != nil {
				return fmt.Errorf("%s: %s: %w", what, st.label, err)
			}
		}
	}
	return nil
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
	m.Kernel = readTrim("/proc/sys/kernel/osrelease")
	m.LoadAvg = readTrim("/proc/loadavg")
	m.THP = readTrim("/sys/kernel/mm/transparent_hugepage/enabled")
	return m
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
