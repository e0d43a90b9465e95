//go:build linux && amd64 && cgo

package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/probe"
)

type stormResult struct {
	common
	Spawns            int64            `json:"spawns"`
	SignalsSent       int64            `json:"signals_sent"`
	SignalsToThreads  int64            `json:"signals_to_threads"`
	SignalsToGroup    int64            `json:"signals_to_group"`
	SignalsBySig      map[string]int64 `json:"signals_by_sig"`
	SendErrors        int64            `json:"send_errors"` // EAGAIN (queue full), ESRCH (thread gone)
	Threads           int              `json:"threads"`     // most threads seen in /proc/self/task
	GoSignalsReceived int64            `json:"go_signals_received"`
	ChildrenChecked   int64            `json:"children_checked"`
	Mismatches        int64            `json:"mismatches"`
	LostWaits         int64            `json:"lost_waits"`
	StartErrors       int64            `json:"start_errors"`
	Problems          []string         `json:"problems,omitempty"`
}

// maskable are the signals a child may be asked to block: none of them is
// ever sent, so a blocked one can never be legitimately pending.
var maskable = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM,
	syscall.SIGTERM, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGXCPU,
	syscall.SIGPROF, 39, 40, 41, 42,
}

// toThreads are sent with tgkill to random threads of this process.
var toThreads = []syscall.Signal{
	syscall.SIGURG, syscall.SIGUSR1, syscall.SIGCHLD, syscall.SIGWINCH,
	sigC1, sigC2, sigGo,
}

// toGroup are sent to the whole process group, which holds this process and
// every child between clone and execve (and after it, until it exits).
// Their default action is to ignore them, or (C-handled ones, spawn only)
// the child ignores them (Signals.Ignore), so a probe that got one after
// execve is not hurt; one that got it before must not run our handler.
func toGroup(impl string) []syscall.Signal {
	s := []syscall.Signal{syscall.SIGWINCH, syscall.SIGURG, syscall.SIGCHLD}
	if impl == "spawn" {
		s = append(s, sigC1, sigC2)
	}
	return s
}

func runStorm(args []string) (any, error) {
	fs := flag.NewFlagSet("storm", flag.ContinueOnError)
	n := fs.Int("n", 5000, "children to start (at least; more if the signals are not all sent yet)")
	nsig := fs.Int64("signals", 100000, "signals to send (at least)")
	g := fs.Int("g", 4, "goroutines starting children")
	senders := fs.Int("senders", 2, "goroutines sending signals")
	impl := fs.String("impl", "spawn", "spawn or osexec")
	groupEvery := fs.Int("group", 8, "send one signal in this many to the process group (0: none)")
	probePath := fs.String("probe", "", "static probe binary")
	dir := fs.String("dir", "", "directory for the probes' reports")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *impl != "spawn" && *impl != "osexec" {
		return nil, fmt.Errorf("-impl %q: want spawn or osexec", *impl)
	}
	if *probePath == "" || *dir == "" {
		return nil, errors.New("-probe and -dir are required")
	}
	// Our own process group, so that group signals reach only us and our
	// children. (The test starts us in one already.)
	if syscall.Getpgrp() != os.Getpid() {
		if err := syscall.Setpgid(0, 0); err != nil {
			return nil, fmt.Errorf("setpgid: %w", err)
		}
	}
	parentUmask, err := ownUmask()
	if err != nil {
		return nil, err
	}

	res := &stormResult{common: newCommon("storm", *impl), SignalsBySig: map[string]int64{}}
	var received atomic.Int64
	if err := setupSignals(&received, syscall.SIGUSR1, syscall.SIGWINCH, sigGo); err != nil {
		return nil, err
	}

	var (
		next, spawned, sent atomic.Int64
		stop                atomic.Bool
		mu                  sync.Mutex
		wg, swg             sync.WaitGroup
		problems            []string
	)
	problem := func(format string, a ...any) {
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, a...))
		}
	}
	start := time.Now()

	// Senders: keep ahead of the children started so far, so that the
	// signals spread over the whole run.
	group := toGroup(*impl)
	pid := os.Getpid()
	for s := range *senders {
		swg.Add(1)
		go func() {
			defer swg.Done()
			rng := rand.New(rand.NewPCG(uint64(s), uint64(time.Now().UnixNano())))
			var tids []int
			bySig := map[string]int64{}
			var toThr, toGrp, errs int64
			maxThreads := 0
			for k := 0; !stop.Load(); k++ {
				want := *nsig*(spawned.Load()+1)/int64(*n) + 2000
				if spawned.Load() >= int64(*n) {
					want = *nsig
				}
				if sent.Load() >= want {
					time.Sleep(100 * time.Microsecond)
					continue
				}
				if k%64 == 0 || len(tids) == 0 {
					tids = threads()
					maxThreads = max(maxThreads, len(tids))
				}
				var sig syscall.Signal
				var err error
				if *groupEvery > 0 && rng.IntN(*groupEvery) == 0 {
					sig = group[rng.IntN(len(group))]
					err = unix.Kill(-pid, sig)
					if err == nil {
						toGrp++
						bySig[sigName(sig)+" to group"]++
					}
				} else {
					sig = toThreads[rng.IntN(len(toThreads))]
					err = unix.Tgkill(pid, tids[rng.IntN(len(tids))], sig)
					if err == nil {
						toThr++
						bySig[sigName(sig)]++
					}
				}
				if err != nil {
					errs++
					continue
				}
				sent.Add(1)
			}
			mu.Lock()
			res.SignalsToThreads += toThr
			res.SignalsToGroup += toGrp
			res.SendErrors += errs
			res.Threads = max(res.Threads, maxThreads)
			for name, c := range bySig {
				res.SignalsBySig[name] += c
			}
			mu.Unlock()
		}()
	}

	for w := range *g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(100+w), uint64(time.Now().UnixNano())))
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) && (sent.Load() >= *nsig || i >= 10*int64(*n)) {
					return
				}
				out := filepath.Join(*dir, "child-"+strconv.FormatInt(i, 10)+".json")
				want := expect{code: rng.IntN(4), token: fmt.Sprintf("%016x", rng.Uint64()), umask: parentUmask}
				c := child{path: *probePath, env: []string{
					probe.EnvOut + "=" + out,
					probe.EnvExit + "=" + strconv.Itoa(want.code),
					"GUARANTEE_TOKEN=" + want.token,
				}}
				if *impl == "spawn" {
					for _, s := range maskable {
						if rng.IntN(2) == 0 {
							c.mask = c.mask.Add(s)
						}
					}
					c.ignore = spawn.NewSignalSet(sigC1, sigC2)
					c.umask = new(uint32(rng.IntN(0o1000)))
					want.mask, want.ignore, want.umask = uint64(c.mask), uint64(c.ignore), *c.umask
				}
				r := c.run(*impl)
				spawned.Add(1)
				var mismatch, lost bool
				var why string
				switch {
				case r.startErr != nil:
					why = r.String()
				case r.waitErr != nil || !r.exited || r.code != want.code:
					lost = true
					why = fmt.Sprintf("%v, want exit status %d", r, want.code)
				}
				checked := false
				if r.startErr == nil {
					b, err := os.ReadFile(out)
					os.Remove(out)
					if err != nil {
						mismatch, why = true, why+"; no report: "+err.Error()
					} else if err := want.check(b); err != nil {
						mismatch, why = true, why+"; "+err.Error()
					} else {
						checked = true
					}
				}
				mu.Lock()
				res.Spawns++
				if r.startErr != nil {
					res.StartErrors++
				}
				if checked {
					res.ChildrenChecked++
				}
				if mismatch {
					res.Mismatches++
				}
				if lost {
					res.LostWaits++
				}
				if why != "" {
					problem("child %d: %s", i, strings.TrimPrefix(why, "; "))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	swg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.SignalsSent = sent.Load()
	res.Problems = problems
	// Let the last signals be handled before reading the counters.
	time.Sleep(50 * time.Millisecond)
	res.GoSignalsReceived = received.Load()
	if err := res.finish(); err != nil {
		return nil, err
	}
	return res, nil
}

// expect is the state a storm child was asked for.
type expect struct {
	code   int
	token  string
	mask   uint64
	ignore uint64
	umask  uint32
}

func (e expect) check(b []byte) error {
	r, err := probe.Parse(b)
	if err != nil {
		return err
	}
	var bad []string
	if r.SigBlk != e.mask {
		bad = append(bad, fmt.Sprintf("SigBlk %#x, want %#x", r.SigBlk, e.mask))
	}
	if r.SigCgt != 0 {
		bad = append(bad, fmt.Sprintf("SigCgt %#x, want 0", r.SigCgt))
	}
	if r.SigPnd != 0 || r.ShdPnd != 0 {
		bad = append(bad, fmt.Sprintf("pending SigPnd %#x ShdPnd %#x, want none", r.SigPnd, r.ShdPnd))
	}
	if r.SigIgn&e.ignore != e.ignore {
		bad = append(bad, fmt.Sprintf("SigIgn %#x, want %#x in it", r.SigIgn, e.ignore))
	}
	if r.Umask != e.umask {
		bad = append(bad, fmt.Sprintf("umask %#o, want %#o", r.Umask, e.umask))
	}
	found := false
	for _, kv := range r.Env {
		if kv == "GUARANTEE_TOKEN="+e.token {
			found = true
		}
	}
	if !found {
		bad = append(bad, "GUARANTEE_TOKEN="+e.token+" missing from the environment")
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, ", "))
	}
	return nil
}

// threads lists the ids of this process's threads.
func threads() []int {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return []int{os.Getpid()}
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids
}

// ownUmask reads this process's umask without changing it.
func ownUmask() (uint32, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			u, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return uint32(u), err
		}
	}
	return 0, errors.New("no Umask in /proc/self/status")
}

func sigName(s syscall.Signal) string {
	switch s {
	case sigC1:
		return "RTMIN+2(C)"
	case sigC2:
		return "RTMIN+3(C)"
	case sigGo:
		return "RTMIN+4(Go)"
	}
	if name := unix.SignalName(s); name != "" {
		return name
	}
	if s >= 34 {
		return fmt.Sprintf("SIGRTMIN+%d", s-34)
	}
	return fmt.Sprintf("signal %d", int(s))
}
