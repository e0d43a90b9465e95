//go:build linux && amd64 && cgo

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/probe"
)

type interposeResult struct {
	common
	Spawns             int64    `json:"spawns"`
	Failures           int64    `json:"failures"`            // expected: missing Dir, missing program
	UnexpectedFailures int64    `json:"unexpected_failures"` // anything else that did not go as planned
	ProbeReports       int64    `json:"probe_reports"`       // probe children whose report was checked
	GoSignalsReceived  int64    `json:"go_signals_received"`
	Problems           []string `json:"problems,omitempty"`
}

// variants is the number of attribute mixes interpose cycles through.
const variants = 10

func runInterpose(args []string) (any, error) {
	fs := flag.NewFlagSet("interpose", flag.ContinueOnError)
	n := fs.Int("n", 10000, "children to start")
	g := fs.Int("g", 8, "goroutines starting children")
	impl := fs.String("impl", "spawn", "spawn or osexec")
	probePath := fs.String("probe", "", "static probe binary")
	noopPath := fs.String("noop", "", "static no-op binary")
	dir := fs.String("dir", "", "scratch directory")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *impl != "spawn" && *impl != "osexec" {
		return nil, fmt.Errorf("-impl %q: want spawn or osexec", *impl)
	}
	if *probePath == "" || *noopPath == "" || *dir == "" {
		return nil, errors.New("-probe, -noop and -dir are required")
	}

	res := &interposeResult{common: newCommon("interpose", *impl)}
	var received atomic.Int64
	if err := setupSignals(&received, syscall.SIGUSR1, syscall.SIGWINCH, syscall.SIGINT); err != nil {
		return nil, err
	}
	var hard unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &hard); err != nil {
		return nil, err
	}
	extraFile, err := os.Open("/dev/null")
	if err != nil {
		return nil, err
	}
	defer extraFile.Close()

	var (
		next     atomic.Int64
		mu       sync.Mutex
		wg       sync.WaitGroup
		problems []string
	)
	problem := func(format string, a ...any) {
		res.UnexpectedFailures++
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, a...))
		}
	}
	start := time.Now()
	for range *g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				v := i % variants
				c := child{path: *noopPath}
				var out bytes.Buffer
				var pr, pw *os.File
				expectFail, isProbe := false, false
				switch v {
				case 0: // nothing set
				case 1: // probe, stdout through a pipe, own environment
					c.path, isProbe = *probePath, true
					c.stdout = &out
					c.env = []string{"GUARANTEE=1"}
				case 2: // Dir, Env
					c.dir = *dir
					c.env = []string{"A=1", "B=2", "PATH=/nonexistent"}
				case 3: // ExtraFiles: a file and a pipe
					var err error
					if pr, pw, err = os.Pipe(); err != nil {
						mu.Lock()
						problem("pipe: %v", err)
						mu.Unlock()
						continue
					}
					c.extra = []*os.File{extraFile, pw}
				case 4: // signal mask, ignore, default
					c.mask = spawn.NewSignalSet(syscall.SIGUSR2, syscall.SIGHUP)
					c.ignore = spawn.NewSignalSet(syscall.SIGPIPE)
					c.dflt = spawn.NewSignalSet(syscall.SIGTERM)
				case 5: // umask, rlimits, nice
					c.umask = new(uint32(0o027))
					c.rlimits = []spawn.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: min(512, hard.Max), Max: hard.Max}}
					c.nice = new(int(19)) // not below any nice we may run at: no privilege needed
				case 6: // a process group of its own
					c.setpgid = true
				case 7: // a missing directory: must fail
					c.dir = filepath.Join(*dir, "missing")
					expectFail = true
				case 8: // a missing program: must fail
					c.path = filepath.Join(*dir, "missing-program")
					expectFail = true
				case 9: // probe reading stdin, stdout and stderr on one pipe
					c.path, isProbe = *probePath, true
					c.stdin = strings.NewReader("hello")
					c.stdout, c.stderr = &out, &out
					c.env = []string{probe.EnvRead + "=0"}
				}
				r := c.run(*impl)
				if pr != nil {
					pr.Close()
					pw.Close()
				}
				mu.Lock()
				res.Spawns++
				switch {
				case expectFail && r.startErr != nil:
					res.Failures++
				case expectFail:
					problem("variant %d should have failed: %v", v, r)
				case r.startErr != nil || r.waitErr != nil || !r.exited || r.code != 0:
					problem("variant %d: %v", v, r)
				case isProbe:
					if err := checkInterposeReport(out.Bytes(), v, c.mask); err != nil {
						problem("variant %d: %v", v, err)
					} else {
						res.ProbeReports++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Problems = problems
	res.GoSignalsReceived = received.Load()
	if err := res.finish(); err != nil {
		return nil, err
	}
	return res, nil
}

func checkInterposeReport(b []byte, v int, mask spawn.SignalSet) error {
	r, err := probe.Parse(b)
	if err != nil {
		return err
	}
	switch {
	case r.SigBlk != uint64(mask):
		return fmt.Errorf("SigBlk %#x, want %#x", r.SigBlk, uint64(mask))
	case r.SigCgt != 0:
		return fmt.Errorf("SigCgt %#x, want 0", r.SigCgt)
	case v == 9 && r.Read != "hello":
		return fmt.Errorf("read %q from stdin, want %q", r.Read, "hello")
	}
	return nil
}
