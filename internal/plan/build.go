//go:build linux

package plan

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// Build turns s into the child program. The steps, in the order the child
// runs them:
//
//  1. reset handled signals to SIG_DFL, unless the kernel did it at clone
//     time. Nothing may unblock a signal before this: a handler that ran in
//     the child would run the parent's code on the parent's memory.
//  2. chdir, so that a relative Dir is taken relative to the parent's
//     working directory, as with os/exec.
//  3. the descriptor shuffle (see files.go): child fd i = Files[i].
//  4. mark every descriptor above the passed ones close-on-exec, so the
//     child gets exactly what was asked for.
//  5. install the final signal mask (empty). The child ran with every
//     signal blocked until here; this is the last step before exec so that
//     no signal can interrupt the program half-way.
//  6. execve.
func Build(s *Spec) (*Program, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	p := &Program{}

	if !s.KernelClearsHandlers {
		st := p.AddStep("reset signal handlers", "")
		p.Ops = append(p.Ops, Op{Kind: ResetHandlers, Store: NoSlot, Step: st})
	}

	if s.Dir != "" {
		st := p.AddStep("chdir", strconv.Quote(s.Dir))
		p.Call(st, unix.SYS_CHDIR, p.AddString(s.Dir))
	}

	planFiles(p, s.Files)

	if s.CloseRangeCloexec {
		n := len(s.Files)
		st := p.AddStep("close-on-exec", "fd "+strconv.Itoa(n)+" and above")
		p.Call(st, unix.SYS_CLOSE_RANGE, I(n), I(^uint32(0)), I(unix.CLOSE_RANGE_CLOEXEC))
	}

	st := p.AddStep("set signal mask", "{}")
	p.Call(st, unix.SYS_RT_SIGPROCMASK, I(unix.SIG_SETMASK), p.AddBytes(make([]byte, 8), "{}"), I(0), I(8))

	p.ExecStep = p.AddStep("execve", strconv.Quote(s.Path))
	p.Call(p.ExecStep, unix.SYS_EXECVE, p.AddString(s.Path), p.AddVec(s.Argv), p.AddVec(s.Env))
	return p, nil
}
