//go:build linux && amd64

package engine

import (
	"encoding/binary"
	"errors"
	"os"
	"sort"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/plan"
	"github.com/gospawn/spawn/internal/probe"
)

// allowOnly returns a seccomp filter (as plan data) that allows exactly the
// system calls nrs and kills the process on any other.
func allowOnly(nrs []uintptr) []byte {
	var f []unix.SockFilter
	f = append(f,
		unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4},
		unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.AUDIT_ARCH_X86_64, Jt: 1},
		unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_KILL_PROCESS},
		unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0},
	)
	for i, nr := range nrs {
		// Jump to the ALLOW at the end when equal.
		f = append(f, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: uint32(nr), Jt: uint8(len(nrs) - i)})
	}
	f = append(f,
		unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_KILL_PROCESS},
		unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	)
	var b []byte
	for _, ins := range f {
		b = binary.NativeEndian.AppendUint16(b, ins.Code)
		b = append(b, ins.Jt, ins.Jf)
		b = binary.NativeEndian.AppendUint32(b, ins.K)
	}
	return b
}

// syscallsOf lists the system calls a program's ops make, as explain shows
// them.
func syscallsOf(p *plan.Program) map[uintptr]bool {
	set := map[uintptr]bool{}
	for _, op := range p.Ops {
		switch op.Kind {
		case plan.ResetHandlers:
			set[unix.SYS_RT_SIGACTION] = true
		case plan.WaitNonZero:
			set[unix.SYS_FUTEX] = true
		default:
			set[op.Nr] = true
		}
	}
	return set
}

// withFilterFirst returns p with an op in front that installs a filter
// allowing only allowed, so that the rest of the program, and the exec'd
// program, run under it.
func withFilterFirst(p *plan.Program, allowed map[uintptr]bool) *plan.Program {
	var nrs []uintptr
	for nr := range allowed {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	q := *p
	q.Steps = append([]plan.Step(nil), p.Steps...)
	q.Data = append([]plan.Datum(nil), p.Data...)
	st := len(q.Steps)
	q.Steps = append(q.Steps, plan.Step{Name: "install the test filter"})
	q.Data = append(q.Data, plan.Datum{Kind: plan.SockFprog, Raw: allowOnly(nrs)})
	filter := plan.Op{Kind: plan.Syscall, Nr: unix.SYS_SECCOMP, Store: plan.NoSlot, Step: st,
		Args: [6]plan.Arg{plan.I(unix.SECCOMP_SET_MODE_FILTER), plan.I(0), {Kind: plan.DataAddr, Val: uint64(len(q.Data) - 1)}}}
	q.Ops = append([]plan.Op{filter}, p.Ops...)
	return &q
}

// TestChildRunsOnlyListedSyscalls: the child's first op installs a seccomp
// filter that kills it on any system call but those of the ops after it
// (the list explain prints) and exit_group, for a static program that only
// exits. The child starts and exits normally on every clone path: it made
// no other call — no libc, no Go runtime, no handler. With one of its calls
// taken out of the list, the same child is killed: the filter bites.
func TestChildRunsOnlyListedSyscalls(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installing a filter without no_new_privs needs root (CI runs as root)")
	}
	noop := probe.NoopForTest(t)
	dir := t.TempDir()
	specs := map[string]*plan.Spec{
		"plain": {Path: noop, Argv: []string{"noop"}, Files: []plan.File{{Fd: 0}, {Fd: 1}, {Fd: 2}}},
		"attributes": {Path: noop, Argv: []string{"noop"}, Env: []string{"A=1"}, Dir: dir,
			Files:      []plan.File{{Fd: 2}, {Fd: 1}, {Fd: 0}, {Kind: plan.Open, Path: "/dev/null", OpenID: 1}, {Kind: plan.Closed}},
			SigDefault: 1 << (unix.SIGPIPE - 1), SigIgnore: 1 << (unix.SIGHUP - 1), Mask: 1 << (unix.SIGUSR1 - 1),
			Setpgid: true, Umask: new(uint32(0o22)), Nice: new(1),
			Rlimits:    []plan.Rlimit{{Resource: unix.RLIMIT_CORE, Name: "CORE"}},
			NoNewPrivs: true},
	}
	modes := []struct {
		name                 string
		clone3, clearSighand bool
	}{{"clone3", true, true}, {"clone3 without CLONE_CLEAR_SIGHAND", true, false}, {"clone", false, false}}
	for name, spec := range specs {
		for _, m := range modes {
			t.Run(name+"/"+m.name, func(t *testing.T) {
				defer Force(m.clone3, m.clearSighand)()
				f := loadFeatures()
				prog, _, err := Explain(spec)
				if err != nil {
					t.Fatal(err)
				}
				allowed := syscallsOf(prog)
				allowed[unix.SYS_EXIT_GROUP] = true // all the no-op program does
				s := *spec
				prepare(&s, f)

				c, err := runWith(t, withFilterFirst(prog, allowed), &s, f)
				if err != nil {
					t.Fatal(err)
				}
				if st := waitExit(t, c); !st.Exited() || st.ExitStatus() != 0 {
					t.Fatalf("child under the exact allow-list: %v, want exit 0\n%s", st, prog)
				}

				// Take out one call the program needs: it must die.
				// Without rt_sigprocmask it dies at the mask step, before
				// exec, and Start says so; without execve it dies in the
				// exec, which only Wait can tell.
				less := func(victim uintptr) map[uintptr]bool {
					m := map[uintptr]bool{}
					for nr := range allowed {
						if nr != victim {
							m[nr] = true
						}
					}
					return m
				}
				_, err = runWith(t, withFilterFirst(prog, less(unix.SYS_RT_SIGPROCMASK)), &s, f)
				var ke *KilledError
				if !errors.As(err, &ke) || ke.Status.Signal() != syscall.SIGSYS || ke.Prog.Steps[ke.Step].Name != "set signal mask" {
					t.Errorf("without rt_sigprocmask allowed: %v, want killed by SIGSYS at the mask step", err)
				}
				c, err = runWith(t, withFilterFirst(prog, less(unix.SYS_EXECVE)), &s, f)
				if err != nil {
					t.Fatal(err)
				}
				if st := waitExit(t, c); !st.Signaled() || st.Signal() != syscall.SIGSYS {
					t.Errorf("without execve allowed: %v, want killed by SIGSYS", st)
				}
			})
		}
	}
}

// TestFailingChildThatCannotExit: a filter of the child's own that refuses
// exit_group (with an errno, not a kill) must not leave a failing child
// spinning and the parent waiting forever: the child still dies, and the
// failure is reported.
func TestFailingChildThatCannotExit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installing a filter without no_new_privs needs root (CI runs as root)")
	}
	var f []unix.SockFilter
	f = append(f,
		unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0},
		unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_EXIT_GROUP, Jf: 1},
		unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	)
	var raw []byte
	for _, ins := range f {
		raw = binary.NativeEndian.AppendUint16(raw, ins.Code)
		raw = append(raw, ins.Jt, ins.Jf)
		raw = binary.NativeEndian.AppendUint32(raw, ins.K)
	}
	p := &plan.Program{}
	st := p.AddStep("filter", "")
	p.Data = append(p.Data, plan.Datum{Kind: plan.SockFprog, Raw: raw})
	p.Call(st, unix.SYS_SECCOMP, plan.I(unix.SECCOMP_SET_MODE_FILTER), plan.I(0), plan.Arg{Kind: plan.DataAddr, Val: uint64(len(p.Data) - 1)})
	st2 := p.AddQuotedStep("chdir", "/nonexistent")
	p.Call(st2, unix.SYS_CHDIR, p.AddString("/nonexistent"))
	done := make(chan error, 1)
	go func() {
		_, err := runRaw(t, p)
		done <- err
	}()
	select {
	case err := <-done:
		var se *StepError
		if !errors.As(err, &se) || se.Step != st2 || se.Errno != unix.ENOENT {
			t.Errorf("got %v, want the chdir failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the failing child never ended")
	}
	checkNoChildren(t)
}
