//go:build linux

package plan

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/sigset"
)

// sigaction is the kernel's struct sigaction for x86-64 and arm64:
// handler, flags, restorer, mask (32 bytes). Only the handler is set.
func sigaction(handler uint64) []byte {
	b := make([]byte, 32)
	binary.NativeEndian.PutUint64(b, handler)
	return b
}

// SIG_DFL and SIG_IGN as handler values.
const (
	sigDfl = 0
	sigIgn = 1
)

// planSignalDispositions emits step 1: handlers back to SIG_DFL, then the
// signals forced to default or to ignored.
func planSignalDispositions(p *Program, s *Spec) {
	switch {
	case s.ResetAll:
		// Every disposition to SIG_DFL, ignored ones included: the loop
		// resets any handler above 0 (SIG_DFL).
		st := p.AddStep("reset every signal to default", "")
		p.Ops = append(p.Ops, Op{Kind: ResetHandlers, Args: [6]Arg{I(sigDfl)}, Store: NoSlot, Step: st})
	case !s.KernelClearsHandlers:
		// Handled signals to SIG_DFL, ignored ones stay: the loop resets
		// any handler above 1 (SIG_IGN).
		st := p.AddStep("reset signal handlers", "")
		p.Ops = append(p.Ops, Op{Kind: ResetHandlers, Args: [6]Arg{I(sigIgn)}, Store: NoSlot, Step: st})
	}
	force := func(set uint64, handler uint64, what string) {
		set &^= 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1) // cannot be changed
		if set == 0 {
			return
		}
		act := p.AddBytes(sigaction(handler), map[uint64]string{sigDfl: "{SIG_DFL}", sigIgn: "{SIG_IGN}"}[handler])
		for _, n := range sigset.Set(set).Signals() {
			st := p.AddStep("set signal to "+what, "SIG"+sigset.Name(n))
			p.Call(st, unix.SYS_RT_SIGACTION, I(n), act, I(0), I(8))
		}
	}
	force(s.SigDefault&^s.SigIgnore, sigDfl, "default")
	force(s.SigIgnore, sigIgn, "ignored")
}

// planMask emits step 11: the child's signal mask.
func planMask(p *Program, s *Spec) {
	if s.InheritMask {
		st := p.AddStep("set signal mask", "the spawning thread's")
		p.Call(st, unix.SYS_RT_SIGPROCMASK, I(unix.SIG_SETMASK), Arg{Kind: SavedMaskAddr}, I(0), I(8))
		return
	}
	st := p.addStep("set signal mask", stepArg{how: argMask, set: s.Mask})
	p.Call(st, unix.SYS_RT_SIGPROCMASK, I(unix.SIG_SETMASK), p.AddSigSet(s.Mask), I(0), I(8))
}
