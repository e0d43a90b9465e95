package spawn_test

import (
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/probe"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CI runs as root)")
	}
}

// TestAttributes: for each attribute, the test asks, the probe reports
// what the child got, and the test compares.
func TestAttributes(t *testing.T) {
	var parentSid int
	if sid, err := unix.Getsid(0); err == nil {
		parentSid = sid
	}
	tests := []struct {
		name  string
		root  bool
		set   func(t *testing.T, c *spawn.Cmd)
		check func(t *testing.T, r *probe.Report)
	}{
		{"signal mask", false,
			func(t *testing.T, c *spawn.Cmd) {
				c.Signals.Mask = spawn.NewSignalSet(syscall.SIGINT, syscall.SIGTERM, 37)
			},
			func(t *testing.T, r *probe.Report) {
				if want := sigbit(unix.SIGINT) | sigbit(unix.SIGTERM) | 1<<36; r.SigBlk != want {
					t.Errorf("SigBlk %#x, want %#x", r.SigBlk, want)
				}
			}},
		{"signals forced to ignored", false,
			func(t *testing.T, c *spawn.Cmd) {
				c.Signals.Ignore = spawn.NewSignalSet(syscall.SIGHUP, syscall.SIGUSR1)
			},
			func(t *testing.T, r *probe.Report) {
				if want := sigbit(unix.SIGHUP) | sigbit(unix.SIGUSR1); r.SigIgn&want != want {
					t.Errorf("SigIgn %#x lacks HUP and USR1", r.SigIgn)
				}
			}},
		{"umask", false,
			func(t *testing.T, c *spawn.Cmd) { c.Limits.Umask = new(uint32(0o027)) },
			func(t *testing.T, r *probe.Report) {
				if r.Umask != 0o027 {
					t.Errorf("umask %#o, want 027", r.Umask)
				}
			}},
		{"rlimits", false,
			func(t *testing.T, c *spawn.Cmd) {
				c.Limits.Rlimits = []spawn.Rlimit{
					{Resource: unix.RLIMIT_NOFILE, Cur: 100, Max: 200},
					{Resource: unix.RLIMIT_CORE, Cur: 0, Max: 0},
				}
			},
			func(t *testing.T, r *probe.Report) {
				if got := r.Rlimits["nofile"]; got.Cur != 100 || got.Max != 200 {
					t.Errorf("NOFILE %+v, want 100:200", got)
				}
				if got := r.Rlimits["core"]; got.Cur != 0 || got.Max != 0 {
					t.Errorf("CORE %+v, want 0:0", got)
				}
			}},
		{"nice", false,
			func(t *testing.T, c *spawn.Cmd) { c.Limits.Nice = new(7) },
			func(t *testing.T, r *probe.Report) {
				if r.Nice != 7 {
					t.Errorf("nice %d, want 7", r.Nice)
				}
			}},
		{"CPU affinity", false,
			func(t *testing.T, c *spawn.Cmd) { c.Limits.CPUs = []int{0} },
			func(t *testing.T, r *probe.Report) {
				if !slices.Equal(r.Affinity, []int{0}) {
					t.Errorf("affinity %v, want [0]", r.Affinity)
				}
			}},
		{"scheduling policy", false,
			func(t *testing.T, c *spawn.Cmd) { c.Limits.Sched = &spawn.Sched{Policy: unix.SCHED_BATCH} },
			func(t *testing.T, r *probe.Report) {
				if r.SchedPolicy != unix.SCHED_BATCH {
					t.Errorf("policy %d, want SCHED_BATCH", r.SchedPolicy)
				}
			}},
		{"real-time scheduling", true,
			func(t *testing.T, c *spawn.Cmd) { c.Limits.Sched = &spawn.Sched{Policy: unix.SCHED_FIFO, Priority: 10} },
			func(t *testing.T, r *probe.Report) {
				if r.SchedPolicy != unix.SCHED_FIFO || r.SchedPriority != 10 {
					t.Errorf("policy %d priority %d, want SCHED_FIFO 10", r.SchedPolicy, r.SchedPriority)
				}
			}},
		{"I/O priority", false,
			func(t *testing.T, c *spawn.Cmd) {
				c.Limits.IOPrio = &spawn.IOPrio{Class: spawn.IOPrioBestEffort, Level: 6}
			},
			func(t *testing.T, r *probe.Report) {
				if want := 2<<13 | 6; r.IOPrio != want {
					t.Errorf("ioprio %#x, want %#x", r.IOPrio, want)
				}
			}},
		{"no_new_privs", false,
			func(t *testing.T, c *spawn.Cmd) { c.Security.NoNewPrivs = true },
			func(t *testing.T, r *probe.Report) {
				if r.NoNewPrivs != 1 {
					t.Errorf("no_new_privs %d", r.NoNewPrivs)
				}
			}},
		{"seccomp filter", false,
			func(t *testing.T, c *spawn.Cmd) {
				c.Security.NoNewPrivs = true
				c.Security.Seccomp = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
			},
			func(t *testing.T, r *probe.Report) {
				if r.Seccomp != 2 {
					t.Errorf("seccomp mode %d, want 2 (filter)", r.Seccomp)
				}
			}},
		{"new session", false,
			func(t *testing.T, c *spawn.Cmd) { c.Session.Setsid = true },
			func(t *testing.T, r *probe.Report) {
				if r.Sid != r.Pid || r.Pgid != r.Pid || r.TtyNr != 0 {
					t.Errorf("sid %d pgid %d tty %d, want %d %d 0", r.Sid, r.Pgid, r.TtyNr, r.Pid, r.Pid)
				}
			}},
		{"new process group", false,
			func(t *testing.T, c *spawn.Cmd) { c.Session.Setpgid = true },
			func(t *testing.T, r *probe.Report) {
				if r.Pgid != r.Pid || r.Sid != parentSid {
					t.Errorf("pgid %d sid %d, want %d %d", r.Pgid, r.Sid, r.Pid, parentSid)
				}
			}},
		{"credentials", true,
			func(t *testing.T, c *spawn.Cmd) {
				c.Credential = &spawn.Credential{Uid: 65534, Gid: 65533, Groups: []uint32{27, 100}}
			},
			func(t *testing.T, r *probe.Report) {
				if r.Uid != 65534 || r.Euid != 65534 || r.Suid != 65534 {
					t.Errorf("uids %d/%d/%d, want 65534", r.Uid, r.Euid, r.Suid)
				}
				if r.Gid != 65533 || r.Egid != 65533 || r.Sgid != 65533 {
					t.Errorf("gids %d/%d/%d, want 65533", r.Gid, r.Egid, r.Sgid)
				}
				if !slices.Equal(r.Groups, []int{27, 100}) {
					t.Errorf("groups %v, want [27 100]", r.Groups)
				}
				if r.CapEff != 0 {
					t.Errorf("effective capabilities %#x after dropping root", r.CapEff)
				}
			}},
		{"ambient capabilities", true,
			func(t *testing.T, c *spawn.Cmd) {
				c.Credential = &spawn.Credential{Uid: 65534, Gid: 65534, AmbientCaps: []uintptr{unix.CAP_NET_BIND_SERVICE}}
			},
			func(t *testing.T, r *probe.Report) {
				bit := uint64(1) << unix.CAP_NET_BIND_SERVICE
				if r.Uid != 65534 || r.CapAmb != bit || r.CapEff != bit {
					t.Errorf("uid %d ambient %#x effective %#x, want 65534 and %#x", r.Uid, r.CapAmb, r.CapEff, bit)
				}
			}},
		{"parent-death signal", false,
			func(t *testing.T, c *spawn.Cmd) { c.Pdeathsig = syscall.SIGUSR1 },
			func(t *testing.T, r *probe.Report) {
				if r.PdeathSig != int(syscall.SIGUSR1) {
					t.Errorf("pdeathsig %d, want SIGUSR1", r.PdeathSig)
				}
			}},
		{"working directory by open directory", false,
			func(t *testing.T, c *spawn.Cmd) {
				d, err := os.Open("/usr/share")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				c.DirFile = d
			},
			func(t *testing.T, r *probe.Report) {
				if r.Cwd != "/usr/share" {
					t.Errorf("cwd %q, want /usr/share", r.Cwd)
				}
			}},
		{"new UTS and network namespaces", true,
			func(t *testing.T, c *spawn.Cmd) { c.Namespaces.Clone = unix.CLONE_NEWUTS | unix.CLONE_NEWNET },
			func(t *testing.T, r *probe.Report) {
				for _, ns := range []string{"uts", "net"} {
					if mine := nsOf(t, ns); r.Namespaces[ns] == mine {
						t.Errorf("%s namespace %s is the parent's", ns, mine)
					}
				}
				if mine := nsOf(t, "mnt"); r.Namespaces["mnt"] != mine {
					t.Errorf("mnt namespace changed")
				}
			}},
		{"new PID namespace", true,
			func(t *testing.T, c *spawn.Cmd) { c.Namespaces.Clone = unix.CLONE_NEWPID },
			func(t *testing.T, r *probe.Report) {
				if r.Pid != 1 || r.Ppid != 0 {
					t.Errorf("pid %d ppid %d, want 1 and 0", r.Pid, r.Ppid)
				}
			}},
		{"unshare", true,
			func(t *testing.T, c *spawn.Cmd) { c.Namespaces.Unshare = unix.CLONE_NEWUTS },
			func(t *testing.T, r *probe.Report) {
				if mine := nsOf(t, "uts"); r.Namespaces["uts"] == mine {
					t.Errorf("uts namespace is the parent's")
				}
			}},
		{"file actions", false,
			func(t *testing.T, c *spawn.Cmd) {
				log := filepath.Join(t.TempDir(), "app.log")
				c.Files = []spawn.FileAction{
					spawn.OpenFile(5, log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640),
					spawn.DupFile(2, 1),
					spawn.CloseFile(0),
					spawn.DupFile(7, 5),
				}
			},
			func(t *testing.T, r *probe.Report) {
				if got := r.FDNums(); !slices.Equal(got, []int{1, 2, 5, 7}) {
					t.Errorf("child fds %v, want [1 2 5 7]", got)
				}
				f5, f7 := r.FD(5), r.FD(7)
				if f5 == nil || !strings.HasSuffix(f5.Target, "/app.log") || f5.Flags&unix.O_APPEND == 0 || f5.Cloexec {
					t.Errorf("fd 5 is %+v, want app.log, O_APPEND, inheritable", f5)
				} else if f7 == nil || f7.Ino != f5.Ino {
					t.Errorf("fd 7 is %+v, want the same file as fd 5", f7)
				}
				if f1, f2 := r.FD(1), r.FD(2); f1 == nil || f2 == nil || f1.Ino != f2.Ino {
					t.Errorf("fd 2 is not a copy of fd 1")
				}
			}},
		{"inherit descriptors", false,
			func(t *testing.T, c *spawn.Cmd) {
				fd, err := unix.Open("/etc/hostname", unix.O_RDONLY, 0) // no O_CLOEXEC
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { unix.Close(fd) })
				c.Security.InheritFDs = true
				c.Env = append(c.Env, "LEAKED_FD="+itoa(fd))
			},
			func(t *testing.T, r *probe.Report) {
				var fd int
				for _, kv := range r.Env {
					if v, ok := strings.CutPrefix(kv, "LEAKED_FD="); ok {
						fd = atoi(v)
					}
				}
				if f := r.FD(fd); f == nil || f.Target != "/etc/hostname" {
					t.Errorf("fd %d not inherited (child fds %v)", fd, r.FDNums())
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				needRoot(t)
			}
			c, out := probeCmd(t)
			tt.set(t, c)
			r := runProbe(t, c, out)
			tt.check(t, r)
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// nsOf returns this process's namespace link for ns.
func nsOf(t *testing.T, ns string) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSignalDefaultAndResetAll: a signal the parent ignores reaches the
// child ignored, unless it is forced to default (SETSIGDEF) or everything
// is reset.
func TestSignalDefaultAndResetAll(t *testing.T) {
	signal.Ignore(syscall.SIGPIPE)
	defer signal.Reset(syscall.SIGPIPE)
	pipe := sigbit(unix.SIGPIPE)

	c, out := probeCmd(t)
	if r := runProbe(t, c, out); r.SigIgn&pipe == 0 {
		t.Fatalf("by default the child should inherit SIGPIPE ignored; SigIgn %#x", r.SigIgn)
	}
	c, out = probeCmd(t)
	c.Signals.Default = spawn.NewSignalSet(syscall.SIGPIPE)
	if r := runProbe(t, c, out); r.SigIgn&pipe != 0 {
		t.Errorf("Default: SIGPIPE still ignored (SigIgn %#x)", r.SigIgn)
	}
	c, out = probeCmd(t)
	c.Signals.ResetAll = true
	if r := runProbe(t, c, out); r.SigIgn != 0 || r.SigCgt != 0 {
		t.Errorf("ResetAll: SigIgn %#x SigCgt %#x, want none", r.SigIgn, r.SigCgt)
	}
	// `yes | head -1` with SIGPIPE back to default: yes dies of SIGPIPE
	// instead of looping on EPIPE errors.
	sh := spawn.Command("sh", "-c", `yes | head -1 >/dev/null; echo "${PIPESTATUS:-done}"`)
	sh.Signals.Default = spawn.NewSignalSet(syscall.SIGPIPE)
	if outb, err := sh.CombinedOutput(); err != nil || strings.Contains(string(outb), "Broken pipe") {
		t.Errorf("yes | head: %q, %v", outb, err)
	}
}

// TestInheritMask: the child gets the mask of the thread that started it.
func TestInheritMask(t *testing.T) {
	c, out := probeCmd(t)
	c.Signals.InheritMask = true
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread dies with the goroutine
		var set unix.Sigset_t
		set.Val[0] = sigbit(unix.SIGUSR2) | sigbit(unix.SIGWINCH)
		unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
		var old unix.Sigset_t
		unix.PthreadSigmask(unix.SIG_BLOCK, nil, &old)
		if old.Val[0]&set.Val[0] != set.Val[0] {
			done <- errors.New("could not block")
			return
		}
		done <- c.Run()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r := readReport(t, out)
	if want := sigbit(unix.SIGUSR2) | sigbit(unix.SIGWINCH); r.SigBlk&want != want {
		t.Errorf("SigBlk %#x lacks the thread's USR2 and WINCH", r.SigBlk)
	}
}
