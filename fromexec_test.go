package spawn_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/probe"
)

// TestFromExecParity runs the probe through os/exec and through
// spawn.FromExec with the same exec.Cmd settings, and compares what the two
// children got.
func TestFromExecParity(t *testing.T) {
	needRoot(t)
	hostname, _ := os.Open("/etc/hostname")
	defer hostname.Close()
	tests := []struct {
		name string
		attr *syscall.SysProcAttr
	}{
		{"none", nil},
		{"setsid", &syscall.SysProcAttr{Setsid: true}},
		{"setpgid", &syscall.SysProcAttr{Setpgid: true}},
		{"credential", &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{5}}}},
		{"pdeathsig", &syscall.SysProcAttr{Pdeathsig: syscall.SIGUSR2}},
		{"new uts namespace", &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS}},
		{"ambient capabilities", &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
			AmbientCaps: []uintptr{unix.CAP_NET_RAW},
		}},
	}
	run := func(t *testing.T, attr *syscall.SysProcAttr, viaSpawn bool, out string) *probe.Report {
		os.Remove(out) // a child that is not root may not overwrite it
		e := exec.Command(probe.ForTest(t), "a", "b")
		e.Env = []string{probe.EnvOut + "=" + out, "X=1"}
		e.Dir = "/usr"
		e.ExtraFiles = []*os.File{hostname}
		e.SysProcAttr = attr
		if viaSpawn {
			c, err := spawn.FromExec(e)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Run(); err != nil {
				t.Fatalf("spawn: %v", err)
			}
		} else if err := e.Run(); err != nil {
			t.Fatalf("os/exec: %v", err)
		}
		return readReport(t, out)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out := probeCmd(t)
			want := run(t, tt.attr, false, out)
			got := run(t, tt.attr, true, out)
			type view struct {
				Argv, Env, Groups    []string
				Cwd                  string
				Uid, Gid, Pdeath     int
				OwnSession, OwnGroup bool
				CapAmb, CapEff       uint64
				NewUTS               bool
				Fds                  []int
				SigIgn, SigBlk       uint64
			}
			mk := func(r *probe.Report) view {
				var groups []string
				for _, g := range r.Groups {
					groups = append(groups, itoa(g))
				}
				return view{r.Argv, r.Env, groups, r.Cwd, r.Uid, r.Gid, r.PdeathSig,
					r.Sid == r.Pid, r.Pgid == r.Pid, r.CapAmb, r.CapEff,
					r.Namespaces["uts"] != nsOf(t, "uts"), fdsBelow(r, 4), r.SigIgn, r.SigBlk}
			}
			if g, w := mk(got), mk(want); !viewsEqual(g, w) {
				t.Errorf("spawn child differs from os/exec child:\nspawn   %+v\nos/exec %+v", g, w)
			}
		})
	}
}

func viewsEqual(a, b any) bool { return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b) }

// TestFromExecContext: the context cancels the translated command.
func TestFromExecContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := exec.CommandContext(ctx, "sleep", "30")
	if _, err := spawn.FromExec(e); err == nil {
		t.Errorf("FromExec accepted a CommandContext command")
	}
	c, err := spawn.FromExecContext(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := c.Wait(); err == nil {
		t.Errorf("Wait = nil after cancel")
	}
}

// TestFromExecPidFD: SysProcAttr.PidFD receives a pidfd of the child.
func TestFromExecPidFD(t *testing.T) {
	var pidfd int
	e := exec.Command("sleep", "30")
	e.SysProcAttr = &syscall.SysProcAttr{PidFD: &pidfd}
	c, err := spawn.FromExec(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if pidfd <= 0 {
		t.Fatalf("PidFD = %d", pidfd)
	}
	defer unix.Close(pidfd)
	if err := unix.PidfdSendSignal(pidfd, unix.SIGTERM, nil, 0); err != nil {
		t.Fatal(err)
	}
	err = c.Wait()
	if ee, ok := err.(*spawn.ExitError); !ok || ee.Signal() != syscall.SIGTERM {
		t.Errorf("Wait = %v, want SIGTERM", err)
	}
}

// fdsBelow lists the child's descriptors below n. (Above, os/exec children
// also get whatever the test process inherited without O_CLOEXEC; spawn's
// do not.)
func fdsBelow(r *probe.Report, n int) []int {
	var out []int
	for _, fd := range r.FDNums() {
		if fd < n {
			out = append(out, fd)
		}
	}
	return out
}
