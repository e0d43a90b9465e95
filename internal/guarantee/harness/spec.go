//go:build linux && amd64 && cgo

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/gospawn/spawn"
)

// child describes one child to start, with either implementation. The
// spawn-only attributes (signals, limits) are left out for os/exec, which
// has no equivalent.
type child struct {
	path   string
	dir    string
	env    []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	extra  []*os.File

	// spawn only
	mask, ignore, dflt spawn.SignalSet
	umask              *uint32
	rlimits            []spawn.Rlimit
	nice               *int

	setpgid bool
}

// result is how a child ended.
type result struct {
	startErr error // the child could not start
	waitErr  error // Wait failed other than with an exit status
	exited   bool
	code     int            // exit status if exited
	signal   syscall.Signal // if killed by a signal
}

func (r result) String() string {
	switch {
	case r.startErr != nil:
		return "start: " + r.startErr.Error()
	case r.waitErr != nil:
		return "wait: " + r.waitErr.Error()
	case r.exited:
		return fmt.Sprintf("exit status %d", r.code)
	default:
		return "killed by " + sigName(r.signal)
	}
}

func (c *child) run(impl string) result {
	if impl == "osexec" {
		return c.runExec()
	}
	return c.runSpawn()
}

func (c *child) runSpawn() result {
	cmd := &spawn.Cmd{Path: c.path, Args: []string{c.path}}
	cmd.Dir = c.dir
	cmd.Env = c.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	cmd.ExtraFiles = c.extra
	cmd.Signals.Mask = c.mask
	cmd.Signals.Ignore = c.ignore
	cmd.Signals.Default = c.dflt
	cmd.Limits.Umask = c.umask
	cmd.Limits.Rlimits = c.rlimits
	cmd.Limits.Nice = c.nice
	cmd.Session.Setpgid = c.setpgid
	if err := cmd.Start(); err != nil {
		return result{startErr: err}
	}
	err := cmd.Wait()
	var ee *spawn.ExitError
	if err != nil && !errors.As(err, &ee) {
		return result{waitErr: err}
	}
	return fromStatus(cmd.ProcessState.Sys())
}

func (c *child) runExec() result {
	cmd := &exec.Cmd{Path: c.path, Args: []string{c.path}}
	cmd.Dir = c.dir
	cmd.Env = c.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	cmd.ExtraFiles = c.extra
	if c.setpgid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		return result{startErr: err}
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return result{waitErr: err}
	}
	return fromStatus(cmd.ProcessState.Sys())
}

func fromStatus(sys any) result {
	ws, ok := sys.(syscall.WaitStatus)
	if !ok {
		return result{waitErr: fmt.Errorf("no wait status (%T)", sys)}
	}
	if ws.Exited() {
		return result{exited: true, code: ws.ExitStatus()}
	}
	if ws.Signaled() {
		return result{signal: ws.Signal()}
	}
	return result{waitErr: fmt.Errorf("neither exited nor signaled: %#x", uint32(ws))}
}
