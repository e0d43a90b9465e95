//go:build linux

package spawn

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/gospawn/spawn/internal/engine"
	"github.com/gospawn/spawn/internal/plan"
)

var errNoExec error = syscall.ENOEXEC

func isEPIPE(err error) bool { return errors.Is(err, syscall.EPIPE) }

// checkStrings reports bad strings before anything is created.
func checkStrings(path string, argv, env []string, dir string) error {
	s := plan.Spec{Path: path, Argv: argv, Env: env, Dir: dir}
	return inputError(path, s.Validate())
}

func inputError(path string, err error) error {
	var ie *plan.InputError
	if errors.As(err, &ie) {
		return invalid(path, ie.Field, ie.Msg)
	}
	return err
}

// startProcess starts path with child descriptor i = files[i].
func startProcess(path string, argv, env []string, dir string, files []*os.File) (*Process, error) {
	spec := &plan.Spec{Path: path, Argv: argv, Env: env, Dir: dir, Files: make([]plan.File, len(files))}
	for i, f := range files {
		// Fd puts the file in blocking mode, which is what the child
		// expects of its descriptors (os/exec does the same).
		spec.Files[i] = plan.File{Fd: int(f.Fd()), Name: fileName(f)}
	}
	prog, child, err := engine.Spawn(spec, engine.Options{})
	// The child has exec'd or exited: it holds its own references now.
	runtime.KeepAlive(files)
	if err != nil {
		return nil, startError(path, dir, prog, err)
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
	switch {
	case errors.As(err, &se):
		if se.Step < 0 {
			return &Error{Path: path, Step: "run", Err: se}
		}
		st := prog.Steps[se.Step]
		e := &Error{Path: path, Step: st.Name, Arg: st.Arg, Err: se.Errno}
		if se.Step == prog.ExecStep {
			e.Hint = execHint(path, dir, se.Errno)
		}
		return e
	case errors.As(err, &ce):
		return &Error{Path: path, Step: ce.Syscall, Err: ce.Errno}
	case errors.Is(err, engine.ErrNotSupported):
		return &Error{Path: path, Step: "start", Err: err}
	}
	if e := inputError(path, err); e != err {
		return e
	}
	return &Error{Path: path, Step: "prepare", Err: err}
}

func explain(path string, argv, env []string, dir string, files []*os.File) (*Plan, error) {
	spec := &plan.Spec{Path: path, Argv: argv, Env: env, Dir: dir, Files: make([]plan.File, len(files))}
	for i, f := range files {
		spec.Files[i] = plan.File{Fd: int(f.Fd()), Name: fileName(f)}
	}
	prog, ci, err := engine.Explain(spec)
	if err != nil {
		return nil, startError(path, dir, prog, err)
	}
	p := &Plan{Path: path, Clone: ci.Syscall + "(" + strings.Join(ci.Flags, "|") + ")"}
	who := "the kernel (CLONE_CLEAR_SIGHAND)"
	if !slices.Contains(ci.Flags, "CLONE_CLEAR_SIGHAND") {
		who = "step 1"
	}
	p.Signals = "all blocked from clone until the mask step; handled ones reset to SIG_DFL by " + who + "; ignored ones stay ignored"
	for _, op := range prog.Ops {
		nr := int(op.Nr)
		if op.Kind == plan.ResetHandlers {
			nr = int(syscall.SYS_RT_SIGACTION)
		}
		p.Steps = append(p.Steps, PlanStep{Step: prog.Steps[op.Step].String(), Call: prog.CallString(op), Syscall: nr})
	}
	return p, nil
}
