package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gospawn/spawn"
)

// Names of the implementations, as the results and the bench module's
// sub-benchmarks call them.
const (
	ImplSpawn      = "spawn"
	ImplSpawnBatch = "spawn-batch" // spawn.StartAll in batches
	ImplExec       = "os/exec"
	ImplForkExec   = "forkexec"    // syscall.ForkExec + syscall.Wait4
	ImplPosixSpawn = "posix_spawn" // glibc, from C
	ImplVfork      = "vfork-floor" // vfork+execve+waitpid, from C
	ImplFork       = "fork-floor"  // fork+execve+waitpid, from C
	ImplNone       = "none"        // nothing running: the baseline
)

// SpawnOnce starts path with spawn (no standard streams: /dev/null) and
// waits for it.
func SpawnOnce(path string) error {
	c := spawn.Command(path)
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// ExecOnce starts path with os/exec (no standard streams) and waits for it.
func ExecOnce(path string) error {
	c := exec.Command(path)
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// environ is the environment ForkExecOnce passes, as spawn and os/exec pass
// os.Environ() when Env is nil.
var environ = os.Environ()

// ForkExecOnce starts path with syscall.ForkExec, the child inheriting
// descriptors 0, 1 and 2 as they are (no /dev/null to open), and waits for
// it with syscall.Wait4.
func ForkExecOnce(path string) error {
	pid, err := syscall.ForkExec(path, []string{path}, &syscall.ProcAttr{Env: environ, Files: []uintptr{0, 1, 2}})
	if err != nil {
		return err
	}
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return err
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Errorf("%s: wait status %#x", path, uint32(ws))
	}
	return nil
}

// Once returns the start+wait function of a Go implementation, or nil.
func Once(impl string) func(path string) error {
	switch impl {
	case ImplSpawn:
		return SpawnOnce
	case ImplExec:
		return ExecOnce
	case ImplForkExec:
		return ForkExecOnce
	}
	return nil
}

// loop runs once(path) n times and returns the mean time of one call in
// nanoseconds.
func loop(once func(string) error, path string, n int) (float64, error) {
	t0 := time.Now()
	for range n {
		if err := once(path); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(n), nil
}

// serial measures the mean start+wait time of impl over n starts of path,
// in nanoseconds: in this process for the Go implementations, in the C
// floor program for posix_spawn and vfork.
func (e *Env) serial(impl, path string, n int) (float64, error) {
	switch impl {
	case ImplPosixSpawn:
		return e.floor("posix_spawn", strconv.Itoa(n), path)
	case ImplVfork:
		return e.floor("vfork", strconv.Itoa(n), path)
	}
	once := Once(impl)
	if once == nil {
		return 0, fmt.Errorf("bench: unknown implementation %q", impl)
	}
	return loop(once, path, n)
}

// floor runs the C floor program with args and returns the ns/op it
// printed (the first line, if it printed several).
func (e *Env) floor(args ...string) (float64, error) {
	vals, err := e.floorLines(args...)
	if err != nil {
		return 0, err
	}
	return vals[0], nil
}

// floorLines runs the C floor program with args and returns the numbers
// it printed, one a line.
func (e *Env) floorLines(args ...string) ([]float64, error) {
	cmd := exec.Command(e.Floor, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("floor %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	var vals []float64
	for _, f := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("floor %s: bad output %q", strings.Join(args, " "), out)
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("floor %s: no output", strings.Join(args, " "))
	}
	return vals, nil
}

// SpawnBatch starts n children of path with spawn.StartAll, batch at a
// time, then waits for them all, and returns the rate in children per
// second.
func SpawnBatch(path string, n, batch int) (float64, error) {
	cmds := make([]*spawn.Cmd, 0, n)
	t0 := time.Now()
	var err error
	for len(cmds) < n && err == nil {
		b := make([]*spawn.Cmd, min(batch, n-len(cmds)))
		for i := range b {
			b[i] = spawn.Command(path)
		}
		err = spawn.StartAll(b...)
		cmds = append(cmds, b...)
	}
	for _, c := range cmds {
		if c.Process != nil {
			if werr := c.Wait(); err == nil {
				err = werr
			}
		}
	}
	return float64(n) / time.Since(t0).Seconds(), err
}

// ExecBatch starts n children of path with os/exec, then waits for them
// all, and returns the rate in children per second.
func ExecBatch(path string, n int) (float64, error) {
	cmds := make([]*exec.Cmd, 0, n)
	t0 := time.Now()
	var err error
	for range n {
		c := exec.Command(path)
		if err = c.Start(); err != nil {
			break
		}
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		if werr := c.Wait(); err == nil {
			err = werr
		}
	}
	return float64(n) / time.Since(t0).Seconds(), err
}

// ErrThreadLimit is how a subprocess that died at Go's limit of 10,000
// OS threads (runtime/debug.SetMaxThreads) is reported.
var ErrThreadLimit = errors.New("crashed: thread limit")
