package spawn

import (
	"fmt"
	"os"
	"strings"
)

// Plan is the child program Start would run for a Cmd: the system calls the
// child makes between clone and exec, in order, each with the step it
// belongs to. Explain returns it; `spawn explain` prints it.
type Plan struct {
	// Path is the program the child execs.
	Path string
	// Clone says how the child is created, e.g.
	// "clone3(CLONE_VM|CLONE_PIDFD|CLONE_CHILD_CLEARTID|CLONE_CLEAR_SIGHAND)".
	Clone string
	// Signals says what happens to the parent's signal dispositions and
	// mask in the child.
	Signals string
	// Steps are the child's operations, in the order it runs them; the
	// last is the exec.
	Steps []PlanStep
}

// PlanStep is one operation of the child.
type PlanStep struct {
	Step    string // what it does, as an error would name it: `chdir "/srv"`
	Call    string // the system call: `chdir("/srv")`
	Syscall int    // its number (for a loop over signals, rt_sigaction)
}

// String formats the plan one step per line.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "program  %s\n", p.Path)
	fmt.Fprintf(&b, "clone    %s\n", p.Clone)
	fmt.Fprintf(&b, "signals  %s\n", p.Signals)
	w := 0
	for _, s := range p.Steps {
		w = max(w, len([]rune(s.Step)))
	}
	for i, s := range p.Steps {
		pad := w - len([]rune(s.Step))
		fmt.Fprintf(&b, "%3d  %s%s  %s\n", i+1, s.Step, strings.Repeat(" ", pad), s.Call)
	}
	return b.String()
}

// Explain returns the child program Start would run now, without starting
// anything. Standard streams that Start would connect through a pipe are
// shown with a pipe made for the occasion and closed again.
func (c *Cmd) Explain() (*Plan, error) {
	env, envErr := c.environ()
	path := c.Path
	if c.lookName != "" && c.Path == c.lookedUpPath && c.Env != nil {
		if pv, ok := lookupEnv(env, "PATH"); ok && pv != os.Getenv("PATH") {
			lp, err := lookPath(c.lookName, pv)
			if err != nil {
				return nil, err
			}
			path = lp
		}
	} else if c.Err != nil {
		return nil, c.Err
	}
	if envErr != nil {
		return nil, &Error{Path: path, Step: "invalid", Arg: "Dir", Err: envErr}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	var prep prepared
	if err := c.prepare(&prep, path, c.argv(), env); err != nil {
		return nil, err
	}
	var files []*os.File
	var tmp []*os.File
	defer func() { closeAll(tmp) }()
	for i, std := range []any{c.Stdin, c.Stdout, c.Stderr} {
		switch f := std.(type) {
		case nil:
			dn, err := devNull()
			if err != nil {
				return nil, err
			}
			files = append(files, dn)
		case *os.File:
			files = append(files, f)
		default:
			if i == 2 && interfaceEqual(c.Stderr, c.Stdout) {
				files = append(files, files[1])
				continue
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				return nil, err
			}
			tmp = append(tmp, pr, pw)
			if i == 0 {
				files = append(files, pr) // the child reads stdin
			} else {
				files = append(files, pw)
			}
		}
	}
	files = append(files, c.ExtraFiles...)
	return explain(&prep, files)
}
