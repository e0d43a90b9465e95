package spawn_test

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn"
)

// TestExplainOrder: a command with many attributes is planned in the
// documented order (docs/ATTRIBUTES.md).
func TestExplainOrder(t *testing.T) {
	c := spawn.Command("/bin/true")
	c.Dir = "/tmp"
	c.Signals = spawn.SignalAttrs{Ignore: spawn.NewSignalSet(syscall.SIGPIPE), Default: spawn.NewSignalSet(syscall.SIGINT), Mask: spawn.NewSignalSet(syscall.SIGUSR1)}
	c.Session.Setsid = true
	c.Chroot = "/"
	c.Limits = spawn.LimitAttrs{
		Rlimits: []spawn.Rlimit{{Resource: unix.RLIMIT_CORE}},
		Umask:   new(uint32(0o077)),
		Nice:    new(5),
		CPUs:    []int{0},
		Sched:   &spawn.Sched{Policy: unix.SCHED_BATCH},
		IOPrio:  &spawn.IOPrio{Class: spawn.IOPrioBestEffort, Level: 4},
	}
	c.Credential = &spawn.Credential{Uid: 1000, Gid: 1000, Groups: []uint32{1000}}
	c.Pdeathsig = syscall.SIGKILL
	c.Files = []spawn.FileAction{spawn.OpenFile(3, "/dev/null", os.O_RDONLY, 0)}
	c.Security.NoNewPrivs = true
	c.Security.Seccomp = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	c.Namespaces.Unshare = unix.CLONE_NEWUTS
	p, err := c.Explain()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"set signal to default SIGINT", "set signal to ignored SIGPIPE", "unshare uts", "setsid", "chroot",
		"setrlimit CORE", "setpriority nice 5", "sched_setscheduler batch", "sched_setaffinity CPUs 0",
		"ioprio_set best-effort:4", "umask 077", "setgroups [1000]", "setresgid 1000", "setresuid 1000",
		`chdir "/tmp"`, "set parent-death signal SIGKILL", "check the parent is alive",
		`open "/dev/null" → fd 3`, "dup3", "close-on-exec", "no_new_privs", "set signal mask {USR1}",
		"seccomp 1-instruction filter", `execve "/bin/true"`,
	}
	i := 0
	for _, s := range p.Steps {
		if i < len(want) && strings.HasPrefix(s.Step, want[i]) {
			i++
		}
	}
	t.Logf("%s", p)
	if i != len(want) {
		t.Errorf("step %q missing or out of order in:\n%s", want[i], p)
	}
}
