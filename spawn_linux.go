//go:build linux

package spawn

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/engine"
	"github.com/gospawn/spawn/internal/plan"
)

var errNoExec error = syscall.ENOEXEC

func isEPIPE(err error) bool { return errors.Is(err, syscall.EPIPE) }

func inputError(path string, err error) error {
	var ie *plan.InputError
	if errors.As(err, &ie) {
		return invalid(path, ie.Field, ie.Msg)
	}
	return err
}

// pending is a child created by launch and not yet known to have exec'd.
type pending = engine.Pending

// launch creates the child of a begun command.
func (st *starting) launch() error {
	st.prep.files(st.files)
	err := engine.Launch(&st.prep.spec, engine.Options{AfterClone: st.prep.maps}, &st.pending)
	if err != nil {
		return startError(st.prep.spec.Path, st.prep.spec.Dir, nil, err)
	}
	return nil
}

// finish waits until the child has exec'd or failed.
func (st *starting) finish() (*Process, error) {
	prog, child, err := st.pending.Finish()
	// The child has exec'd or exited: it holds its own references now.
	runtime.KeepAlive(st.files)
	if err != nil {
		return nil, startError(st.prep.spec.Path, st.prep.spec.Dir, prog, err)
	}
	return newProcess(child.Pid, child.Pidfd), nil
}

func fileName(f *os.File) string {
	n := f.Name()
	if strings.HasPrefix(n, "|") { // os.Pipe names its ends |0 and |1
		return "pipe"
	}
	return n
}

// startError turns an engine error into an *Error naming the step.
func startError(path, dir string, prog *plan.Program, err error) error {
	var se *engine.StepError
	var ce *engine.CloneError
	var tl *engine.TooLargeError
	var ke *engine.KilledError
	var e *Error
	switch {
	case errors.As(err, &ke):
		st := prog.Steps[ke.Step]
		return &Error{Path: path, Step: st.Name, Arg: st.Arg(),
			Err: fmt.Errorf("killed by signal %s before exec", ke.Status.Signal())}
	case errors.As(err, &tl):
		return &Error{Path: path, Step: "execve", Arg: quote(path), Err: syscall.E2BIG,
			Hint: fmt.Sprintf("the arguments and environment take %d bytes", tl.Size)}
	case errors.As(err, &se):
		if se.Step < 0 {
			return &Error{Path: path, Step: "run", Err: se}
		}
		st := prog.Steps[se.Step]
		e := &Error{Path: path, Step: st.Name, Arg: st.Arg(), Err: se.Errno}
		switch {
		case se.Step == prog.ExecStep && st.Name == "execveat" && se.Errno == syscall.ENOENT:
			e.Hint = "a #! script run from ExecFile needs its descriptor after exec, and spawn marks it close-on-exec: run scripts by path"
		case se.Step == prog.ExecStep:
			e.Hint = execHint(path, dir, se.Errno)
		default:
			e.Hint = stepHint(st.Name, se.Errno)
		}
		return e
	case errors.As(err, &ce):
		return &Error{Path: path, Step: ce.Syscall, Err: ce.Errno, Hint: stepHint(ce.Syscall, ce.Errno)}
	case errors.As(err, &e):
		e.Path = path
		return e
	case errors.Is(err, engine.ErrNotSupported):
		return &Error{Path: path, Step: "start", Err: err}
	}
	if e := inputError(path, err); e != err {
		return e
	}
	return &Error{Path: path, Step: "prepare", Err: err}
}

// stepHint explains common failures of attribute steps.
func stepHint(step string, errno syscall.Errno) string {
	switch {
	case errno == syscall.EPERM && (step == "setresuid" || step == "setresgid" || step == "setgroups"):
		return "changing the user or groups needs CAP_SETUID/CAP_SETGID"
	case errno == syscall.EPERM && step == "setrlimit" && os.Geteuid() == 0:
		return "above the kernel's maximum (fs.nr_open for NOFILE)"
	case errno == syscall.EPERM && step == "setrlimit":
		return "raising a hard limit needs CAP_SYS_RESOURCE"
	case errno == syscall.EACCES && step == "seccomp":
		return "set Security.NoNewPrivs, or run with CAP_SYS_ADMIN"
	case errno == syscall.ENOTTY && (step == "set controlling terminal" || step == "tcsetpgrp"):
		return "not a terminal"
	case errno == syscall.EPERM && step == "set controlling terminal":
		return "the terminal is another session's controlling terminal"
	case errno == syscall.EBADF && strings.HasPrefix(step, "clone"):
		return "is the cgroup a cgroup v2 directory?"
	case errno == syscall.EPERM && strings.HasPrefix(step, "clone"):
		return "creating namespaces needs privilege (CAP_SYS_ADMIN) or a new user namespace"
	case errno == syscall.ESRCH && step == "check the parent is alive":
		return "the parent exited before the parent-death signal was set"
	}
	return ""
}

func explain(p *prepared, files []*os.File) (*Plan, error) {
	defer p.release()
	p.files(files)
	path := p.spec.Path
	prog, ci, err := engine.Explain(&p.spec)
	if err != nil {
		return nil, startError(path, p.spec.Dir, prog, err)
	}
	pl := &Plan{Path: path, Clone: ci.Syscall + "(" + strings.Join(ci.Flags, "|") + ")"}
	who := "the kernel (CLONE_CLEAR_SIGHAND)"
	if !slices.Contains(ci.Flags, "CLONE_CLEAR_SIGHAND") {
		who = "step 1"
	}
	pl.Signals = "all blocked from clone until the mask step; handled ones reset to SIG_DFL by " + who + "; ignored ones stay ignored"
	if p.spec.ResetAll {
		pl.Signals = "all blocked from clone until the mask step; every one reset to SIG_DFL by step 1"
	}
	for _, op := range prog.Ops {
		nr := int(op.Nr)
		switch op.Kind {
		case plan.ResetHandlers:
			nr = int(syscall.SYS_RT_SIGACTION)
		case plan.WaitNonZero:
			nr = int(syscall.SYS_FUTEX)
		}
		pl.Steps = append(pl.Steps, PlanStep{Step: prog.Steps[op.Step].String(), Call: prog.CallString(op), Syscall: nr})
	}
	return pl, nil
}

// isExecutable reports whether p is a regular file this process may
// execute, checked with the effective ids as execve will (faccessat with
// AT_EACCESS), as exec.LookPath does.
func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	return unix.Faccessat(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS) == nil
}
