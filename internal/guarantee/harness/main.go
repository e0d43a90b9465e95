//go:build linux && amd64 && cgo

// Command harness checks that a spawn child runs no interposed libc code
// and no parent signal handler, and reports the same figures for os/exec.
//
// It is built with cgo (so that the Go runtime's own sigaction and the
// runtime/cgo thread code go through libc, where interpose.so sees them)
// by the tests in the parent directory, and run as
//
//	LD_PRELOAD=interpose.so INTERPOSE_LOG=file harness MODE [flags]
//
// Modes:
//
//	interpose  N children with varied attributes from many goroutines;
//	           counts the libc calls the interposer caught in children
//	storm      N probe children while other goroutines send the process
//	           at least -signals signals; checks every child's reported
//	           state and exit status
//	selftest   negative controls: a fork()ed child and a CLONE_VM child
//	           that call malloc, and a CLONE_VM child that runs our
//	           signal handler; the detectors must see all three
//
// Each mode prints one JSON object on stdout and exits 0 if it could run
// (the figures are for the caller to judge), 2 if it could not.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/gospawn/spawn"
)

// The C-handled signals, SIGRTMIN+2 and SIGRTMIN+3 (glibc's SIGRTMIN is
// 34), and a real-time signal the Go side handles.
const (
	sigC1 = syscall.Signal(36)
	sigC2 = syscall.Signal(37)
	sigGo = syscall.Signal(38)
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: harness interpose|storm|selftest [flags]"))
	}
	var (
		res any
		err error
	)
	switch os.Args[1] {
	case "interpose":
		res, err = runInterpose(os.Args[2:])
	case "storm":
		res, err = runStorm(os.Args[2:])
	case "selftest":
		res, err = runSelftest(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "harness:", err)
	os.Exit(2)
}

// build names the instrumentation the binary was built with.
func build() string {
	switch {
	case raceEnabled:
		return "race"
	case asanEnabled:
		return "asan"
	}
	return "plain"
}

// common are the figures every mode reports.
type common struct {
	Mode       string `json:"mode"`
	Impl       string `json:"impl,omitempty"`
	Build      string `json:"build"`
	Spawndebug string `json:"spawndebug"`
	Clone      string `json:"clone,omitempty"` // how spawn creates children (Cmd.Explain)
	// Sanitizer is the sanitizer runtime found in the process: "tsan"
	// (Go's race detector), "asan" (libasan mapped), or "".
	Sanitizer string `json:"sanitizer"`

	ChildEvents       uint64            `json:"child_events"`
	ChildEventFuncs   map[string]uint64 `json:"child_event_funcs,omitempty"`
	ChildEventProcs   uint64            `json:"child_event_procs"` // distinct children with events
	FirstChildEvents  []childEvent      `json:"first_child_events,omitempty"`
	ParentCalls       uint64            `json:"parent_calls"`
	ParentCallsByFunc map[string]uint64 `json:"parent_calls_by_func"`
	HandlerRunsParent uint64            `json:"handler_runs_parent"`
	HandlerRunsOther  uint64            `json:"handler_runs_other"`
	HandlerOtherPid   int               `json:"handler_other_pid,omitempty"`
	Seconds           float64           `json:"seconds"`
}

func newCommon(mode, impl string) common {
	c := common{Mode: mode, Impl: impl, Build: build(), Spawndebug: os.Getenv("SPAWNDEBUG")}
	if raceEnabled {
		c.Sanitizer = "tsan"
	} else if maps, err := os.ReadFile("/proc/self/maps"); err == nil && strings.Contains(string(maps), "/libasan.so") {
		c.Sanitizer = "asan"
	}
	if impl == "spawn" {
		if p, err := spawn.Command("/bin/true").Explain(); err == nil {
			c.Clone = p.Clone
		}
	}
	return c
}

// finish fills in the interposer and handler figures.
func (c *common) finish() error {
	l, err := readLog()
	if err != nil {
		return err
	}
	c.ChildEvents = l.ChildEvents
	c.ChildEventFuncs = l.ChildCalls
	c.ChildEventProcs = l.ChildProcs
	c.FirstChildEvents = l.FirstEvents
	c.ParentCalls = l.ParentTotal
	c.ParentCallsByFunc = l.ParentCalls
	c.HandlerRunsParent, c.HandlerRunsOther, c.HandlerOtherPid = handlerRuns()
	return nil
}

// setupSignals makes the process handle sigs with signal.Notify (draining
// the channel, counting what arrives) and the C-handled signals with the C
// handler, then checks that the interposer is live.
func setupSignals(received *atomic.Int64, sigs ...os.Signal) error {
	ch := make(chan os.Signal, 1024)
	signal.Notify(ch, sigs...)
	go func() {
		for range ch {
			received.Add(1)
		}
	}()
	for _, s := range []syscall.Signal{sigC1, sigC2} {
		if err := installCHandler(s); err != nil {
			return err
		}
	}
	_, err := liveLog()
	return err
}
