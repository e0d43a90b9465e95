//go:build linux && amd64

package engine

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/plan"
)

// waitExit waits for the child behind pidfd and returns its status.
func waitExit(t *testing.T, c Child) syscall.WaitStatus {
	t.Helper()
	defer unix.Close(c.Pidfd)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if time.Now().After(deadline) {
			unix.PidfdSendSignal(c.Pidfd, unix.SIGKILL, nil, 0)
			t.Fatalf("child %d did not exit within 10s; killed it", c.Pid)
		}
		fds := []unix.PollFd{{Fd: int32(c.Pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, 1000); err != nil && err != unix.EINTR {
			t.Fatal(err)
		}
		var ru syscall.Rusage
		pid, st, done, err := WaitPidfd(c.Pidfd, &ru)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			if pid != c.Pid {
				t.Errorf("waitid reported pid %d, want %d", pid, c.Pid)
			}
			return st
		}
	}
}

// runRaw runs a hand-written program.
func runRaw(t *testing.T, p *plan.Program) (Child, error) {
	t.Helper()
	return runWith(t, p, &plan.Spec{}, loadFeatures())
}

// runWith clones a child for a hand-written program and waits for it.
func runWith(t *testing.T, p *plan.Program, spec *plan.Spec, f uint32) (Child, error) {
	t.Helper()
	var pend Pending
	errno, err := clone(p, spec, Options{}, f, &pend)
	if err != nil || errno != 0 {
		t.Fatalf("clone failed: %v %v", err, errno)
	}
	_, c, err := pend.Finish()
	return c, err
}

func checkPoolIdle(t *testing.T) {
	t.Helper()
	if _, inUse := PoolStats(); inUse != 0 {
		t.Errorf("%d child regions still in use", inUse)
	}
}

// TestInterpreter runs a program that uses every feature of an op: a stored
// result, an indirect argument, an expected value, an allowed errno; and
// ends with exit_group so the exit status proves every op before it passed.
func TestInterpreter(t *testing.T) {
	p := &plan.Program{}
	st := p.AddStep("test", "")
	pidSlot := p.NewSlot()
	p.Call(st, unix.SYS_GETPID).Store = pidSlot
	op := p.Call(st, unix.SYS_GETPPID)
	op.HasExpect, op.Expect, op.ExpectErrno = true, uint64(os.Getpid()), uint32(unix.ESRCH)
	p.Call(st, unix.SYS_CLOSE, plan.I(100000)).AllowErrno = uint32(unix.EBADF)
	// kill(getpid(), 0) succeeds only if the indirect argument is the
	// child's own pid (the slot's address would be no pid at all).
	p.Call(st, unix.SYS_KILL, plan.Arg{Kind: plan.SlotValue, Val: uint64(pidSlot)}, plan.I(0))
	// Exit with the low byte of our own pid: proves the stored value.
	p.Call(st, unix.SYS_EXIT_GROUP, plan.Arg{Kind: plan.SlotValue, Val: uint64(pidSlot)})

	c, err := runRaw(t, p)
	if err != nil {
		t.Fatal(err)
	}
	st2 := waitExit(t, c)
	if !st2.Exited() || st2.ExitStatus() != c.Pid&0xff {
		t.Errorf("child status %v, want exit %d (its pid's low byte)", st2, c.Pid&0xff)
	}
	checkPoolIdle(t)
}

func TestStepFailures(t *testing.T) {
	tests := []struct {
		name  string
		build func(p *plan.Program, st int)
		step  int
		errno syscall.Errno
	}{
		{"failing call", func(p *plan.Program, st int) {
			p.Call(st, unix.SYS_GETPID)
			s2 := p.AddStep("chdir", `"/nonexistent"`)
			p.Call(s2, unix.SYS_CHDIR, p.AddString("/nonexistent/dir"))
		}, 1, unix.ENOENT},
		{"unexpected result", func(p *plan.Program, st int) {
			op := p.Call(st, unix.SYS_GETPPID)
			op.HasExpect, op.Expect, op.ExpectErrno = true, 1, uint32(unix.ESRCH)
		}, 0, unix.ESRCH},
		{"errno other than the allowed one", func(p *plan.Program, st int) {
			p.Call(st, unix.SYS_DUP3, plan.I(100000), plan.I(100001), plan.I(0)).AllowErrno = uint32(unix.EINVAL)
		}, 0, unix.EBADF},
		{"program without exec", func(p *plan.Program, st int) {
			p.Call(st, unix.SYS_GETPID)
		}, -1, unix.ENOEXEC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &plan.Program{}
			tt.build(p, p.AddStep("first", ""))
			_, err := runRaw(t, p)
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *StepError", err)
			}
			if se.Step != tt.step || se.Errno != tt.errno {
				t.Errorf("failed at step %d with %v, want step %d with %v", se.Step, se.Errno, tt.step, tt.errno)
			}
			checkNoChildren(t)
			checkPoolIdle(t)
		})
	}
}

// checkNoChildren fails if this process has any child left, zombies
// included.
func checkNoChildren(t *testing.T) {
	t.Helper()
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	if err != unix.ECHILD {
		t.Errorf("a child is left behind (waitid: %v, info %+v)", err, info)
	}
}

// TestSpawnFallbacks runs /bin/true through each clone path.
func TestSpawnFallbacks(t *testing.T) {
	for _, tc := range []struct {
		name               string
		clone3, clearSighd bool
		wantSyscall        string
		wantReset          bool
	}{
		{"clone3 with CLONE_CLEAR_SIGHAND", true, true, "clone3", false},
		{"clone3 without CLONE_CLEAR_SIGHAND", true, false, "clone3", true},
		{"clone", false, false, "clone", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer Force(tc.clone3, tc.clearSighd)()
			spec := &plan.Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", "exit 7"}, Files: []plan.File{{Fd: 0}, {Fd: 1}, {Fd: 2}}}
			prog, ci, err := Explain(spec)
			if err != nil {
				t.Fatal(err)
			}
			if ci.Syscall != tc.wantSyscall || (prog.Ops[0].Kind == plan.ResetHandlers) != tc.wantReset {
				t.Errorf("explain: %s, reset op %v; want %s, %v", ci.Syscall, prog.Ops[0].Kind == plan.ResetHandlers, tc.wantSyscall, tc.wantReset)
			}
			_, c, err := Spawn(spec, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if st := waitExit(t, c); st.ExitStatus() != 7 {
				t.Errorf("exit status %v, want 7", st)
			}
		})
	}
}

func TestParseDebug(t *testing.T) {
	if f := parseDebug("clone3=0"); f != noClone3|noClearSighand {
		t.Errorf("clone3=0 → %b", f)
	}
	if f := parseDebug("clearsighand=0, closerange=0"); f != noClearSighand|noCloseRangeCloexec {
		t.Errorf("clearsighand=0,closerange=0 → %b", f)
	}
	if f := parseDebug("bogus"); f != 0 {
		t.Errorf("bogus → %b", f)
	}
}

// TestLargeEnvironment needs a region larger than the pooled default.
func TestLargeEnvironment(t *testing.T) {
	// Ten variables of 100 KB: one string may not exceed 128 KiB.
	val := strings.Repeat("x", 100000)
	var env []string
	for i := range 10 {
		env = append(env, fmt.Sprintf("BIG%d=%s", i, val))
	}
	spec := &plan.Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", `test ${#BIG0} -eq 100000 && test ${#BIG9} -eq 100000`},
		Env: env, Files: []plan.File{{Fd: 0}, {Fd: 1}, {Fd: 2}}}
	_, c, err := Spawn(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitExit(t, c); st.ExitStatus() != 0 {
		t.Errorf("child saw a different environment: %v", st)
	}
	checkPoolIdle(t)
}

// TestHandlersResetBeforeUnblock: a signal the parent handles, raised in
// the child once it has unblocked signals, must find SIG_DFL (and kill the
// child), never the parent's handler. exec would reset handlers anyway; this
// is about the window before it. The kernel does the reset with
// CLONE_CLEAR_SIGHAND; without it, the child's first op does.
func TestHandlersResetBeforeUnblock(t *testing.T) {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGUSR1)
	defer signal.Stop(sigc)

	for _, tc := range []struct {
		name                 string
		clone3, clearSighand bool
	}{
		{"clone3 + CLONE_CLEAR_SIGHAND", true, true},
		{"clone3, reset op", true, false},
		{"clone, reset op", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer Force(tc.clone3, tc.clearSighand)()
			p := &plan.Program{}
			st := p.AddStep("test", "")
			if !tc.clearSighand {
				p.Ops = append(p.Ops, plan.Op{Kind: plan.ResetHandlers, Args: [6]plan.Arg{plan.I(1)}, Store: plan.NoSlot, Step: st})
			}
			pid := p.NewSlot()
			p.Call(st, unix.SYS_GETPID).Store = pid
			p.Call(st, unix.SYS_RT_SIGPROCMASK, plan.I(unix.SIG_SETMASK), p.AddBytes(make([]byte, 8), "{}"), plan.I(0), plan.I(8))
			p.Call(st, unix.SYS_KILL, plan.Arg{Kind: plan.SlotValue, Val: uint64(pid)}, plan.I(unix.SIGUSR1))
			p.Call(st, unix.SYS_EXIT_GROUP, plan.I(0))
			// Killed at the kill op, before exec: Start reports it.
			_, err := runRaw(t, p)
			var ke *KilledError
			if !errors.As(err, &ke) || ke.Status.Signal() != syscall.SIGUSR1 {
				t.Errorf("got %v, want the child killed by SIGUSR1 (SIG_DFL) before exec", err)
			}
			select {
			case <-sigc:
				t.Errorf("the parent's SIGUSR1 handler ran")
			default:
			}
		})
	}
}
