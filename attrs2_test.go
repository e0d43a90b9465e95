package spawn_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/probe"
)

// openPty returns a new pseudo-terminal pair.
func openPty(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

func rdev(t *testing.T, f *os.File) int {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return int(st.Rdev)
}

// TestControllingTerminal: a new session acquires the given terminal, and
// the child's group is its foreground group.
func TestControllingTerminal(t *testing.T) {
	_, tty := openPty(t)
	c, out := probeCmd(t)
	c.Session = spawn.SessionAttrs{Setsid: true, Ctty: tty}
	r := runProbe(t, c, out)
	if r.TtyNr != rdev(t, tty) {
		t.Errorf("tty_nr %#x, want the pty %#x", r.TtyNr, rdev(t, tty))
	}
	if r.Tpgid != r.Pgid || r.Sid != r.Pid {
		t.Errorf("tpgid %d pgid %d sid %d pid %d: want the child's new session in the foreground", r.Tpgid, r.Pgid, r.Sid, r.Pid)
	}
	// The terminal was not mapped among the child's descriptors.
	if got := r.FDNums(); len(got) != 3 {
		t.Errorf("child fds %v, want 0 1 2 only", got)
	}
}

// TestForeground runs, in a helper process that leads a session with a
// pty as its terminal, a child that moves to a new group and takes the
// foreground. The child does it from a background group with SIGTTOU
// blocked, so nobody is stopped, and it inherits no SIGTTOU disposition.
func TestForeground(t *testing.T) {
	_, tty := openPty(t)
	out := filepath.Join(t.TempDir(), "report.json")
	h := exec.Command(os.Args[0], "-test.run=^$")
	h.Env = append(os.Environ(), helperEnv+"=foreground", "PROBE="+probe.ForTest(t), "OUT="+out)
	h.Stdin, h.Stdout = tty, tty
	var stderr strings.Builder
	h.Stderr = &stderr
	h.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := h.Run(); err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr.String())
	}
	r := readReport(t, out)
	if r.Pgid != r.Pid || r.Tpgid != r.Pgid {
		t.Errorf("pgid %d tpgid %d pid %d: want a new group in the foreground", r.Pgid, r.Tpgid, r.Pid)
	}
	if r.SigBlk != 0 || r.SigIgn&sigbit(unix.SIGTTOU) != 0 {
		t.Errorf("SigBlk %#x SigIgn %#x: SIGTTOU leaked into the child", r.SigBlk, r.SigIgn)
	}
	if !strings.Contains(stderr.String(), "foreground-ok") {
		t.Errorf("helper: %s", stderr.String())
	}
}

func foregroundHelper() {
	c := spawn.Command(os.Getenv("PROBE"))
	c.Env = []string{probe.EnvOut + "=" + os.Getenv("OUT")}
	c.Stdin = os.Stdin
	c.Session = spawn.SessionAttrs{Foreground: true}
	if err := c.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
	// The child's group is now in the foreground (the child has exited,
	// so the terminal's group is an empty one): the helper was not
	// stopped, or it would not get here.
	fmt.Fprintln(os.Stderr, "foreground-ok")
	os.Exit(0)
}

// TestNoctty: a child whose stdin is the terminal gives it up.
func TestNoctty(t *testing.T) {
	_, tty := openPty(t)
	out := filepath.Join(t.TempDir(), "report.json")
	h := exec.Command(os.Args[0], "-test.run=^$")
	h.Env = append(os.Environ(), helperEnv+"=noctty", "PROBE="+probe.ForTest(t), "OUT="+out)
	h.Stdin = tty
	h.Stderr = os.Stderr
	h.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := h.Run(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	r := readReport(t, out)
	if r.TtyNr != 0 {
		t.Errorf("tty_nr %#x, want no controlling terminal", r.TtyNr)
	}
}

func nocttyHelper() {
	c := spawn.Command(os.Getenv("PROBE"))
	c.Env = []string{probe.EnvOut + "=" + os.Getenv("OUT")}
	c.Stdin = os.Stdin
	c.Session.Noctty = true
	if err := c.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestChroot runs the (static) probe inside a directory made its root.
func TestChroot(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	b, err := os.ReadFile(probe.ForTest(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "probe"), b, 0o755)
	os.Mkdir(filepath.Join(root, "proc"), 0o755)
	os.Mkdir(filepath.Join(root, "work"), 0o755)
	if err := unix.Mount("/proc", filepath.Join(root, "proc"), "", unix.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount /proc: %v", err)
	}
	defer unix.Unmount(filepath.Join(root, "proc"), unix.MNT_DETACH)

	c := spawn.Command("/probe")
	c.Chroot = root
	c.Dir = "/work"
	c.Env = []string{probe.EnvOut + "=/work/report.json"}
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	r := readReport(t, filepath.Join(root, "work/report.json"))
	if r.Cwd != "/work" || r.Root != "/" {
		t.Errorf("cwd %q root %q inside the chroot, want /work and /", r.Cwd, r.Root)
	}
}

// TestExecFile: what runs is the open file, not what Path names.
func TestExecFile(t *testing.T) {
	f, err := os.Open(probe.ForTest(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, out := probeCmd(t)
	c.Path = "/nonexistent/not-what-runs"
	c.Args = []string{"named"}
	c.ExecFile = f
	r := runProbe(t, c, out)
	if r.Exe != probe.ForTest(t) || r.Argv[0] != "named" {
		t.Errorf("exe %q argv0 %q", r.Exe, r.Argv[0])
	}
	// With the file on a low descriptor that the shuffle overwrites.
	low := placeAt(t, f, 30)
	c, out = probeCmd(t)
	c.ExtraFiles = make([]*os.File, 28)
	for i := range c.ExtraFiles {
		c.ExtraFiles[i] = os.Stderr
	}
	c.ExecFile = low
	if r := runProbe(t, c, out); r.Exe != probe.ForTest(t) {
		t.Errorf("exe %q", r.Exe)
	}
}

// TestScriptFallback: a file without #! fails with a clear error, or runs
// with /bin/sh when asked.
func TestScriptFallback(t *testing.T) {
	script := writeFile(t, t.TempDir(), "noshebang", "echo ran as \"$0\" with \"$1\"\n", 0o755)
	err := spawn.Command(script).Run()
	var se *spawn.Error
	if !errors.As(err, &se) || !errors.Is(err, syscall.ENOEXEC) || !strings.Contains(err.Error(), "no #! interpreter line") {
		t.Fatalf("without fallback: %v", err)
	}
	c := spawn.Command(script, "arg")
	c.ScriptFallback = true
	out, err := c.Output()
	if want := "ran as " + script + " with arg\n"; err != nil || string(out) != want {
		t.Errorf("with fallback: %q, %v; want %q", out, err, want)
	}
}

// TestPdeathsigSurvivesThreadExit: the child of a goroutine that locked
// its thread and returned (so the thread exited) is not signalled.
func TestPdeathsigSurvivesThreadExit(t *testing.T) {
	for attempt := 0; ; attempt++ {
		c := spawn.Command("sleep", "30")
		c.Pdeathsig = syscall.SIGKILL
		started := make(chan error, 1)
		tidc := make(chan int, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			tidc <- unix.Gettid()
			started <- c.Start()
		}()
		tid := <-tidc
		if err := <-started; err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); err == nil {
			// The goroutine ran on the main thread, which Go does not
			// terminate: no thread exited, nothing was tested.
			c.Process.Kill()
			c.Wait()
			if attempt == 10 {
				t.Fatal("could not get a goroutine's thread to exit")
			}
			continue
		}
		err := c.Process.Signal(syscall.Signal(0))
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Process.Pid))
		c.Process.Kill()
		c.Wait()
		if err != nil {
			t.Fatalf("the child died with the spawning thread %d: %v", tid, err)
		}
		if f := strings.Fields(string(b)); len(f) > 2 && (f[2] == "Z" || f[2] == "X") {
			t.Fatalf("the child died with the spawning thread %d: %s", tid, b)
		}
		return
	}
}

// TestPdeathsigOnParentExit: killing the parent process delivers the
// signal to the child.
func TestPdeathsigOnParentExit(t *testing.T) {
	h := exec.Command(os.Args[0], "-test.run=^$")
	h.Env = append(os.Environ(), helperEnv+"=pdeathsig")
	h.Stderr = os.Stderr
	out, _ := h.StdoutPipe()
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		h.Process.Kill()
		t.Fatalf("helper: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		h.Process.Kill()
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(pidfd)
	h.Process.Kill()
	h.Wait()
	// The grandchild exits when its parent dies; poll its pidfd.
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 10000)
	if err != nil || n != 1 {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the child is still running 10s after its parent was killed (poll %d, %v)", n, err)
	}
}

func pdeathsigHelper() {
	c := spawn.Command("sleep", "60")
	c.Pdeathsig = syscall.SIGKILL
	if err := c.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(c.Process.Pid)
	select {} // until killed
}

// TestPtrace: the child stops at exec, traced by the thread that started it.
func TestPtrace(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c, out := probeCmd(t)
	c.Ptrace = true
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(c.Process.Pid, &ws, unix.WALL, nil); err != nil {
		t.Fatal(err)
	}
	if !ws.Stopped() || ws.StopSignal() != unix.SIGTRAP {
		t.Errorf("status %v, want stopped by SIGTRAP at exec", ws)
	}
	// The tracer is the thread that started the child.
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Process.Pid))
	if !strings.Contains(string(b), fmt.Sprintf("TracerPid:\t%d\n", unix.Gettid())) {
		t.Errorf("child not traced by this thread (%d):\n%s", unix.Gettid(), b)
	}
	if err := unix.PtraceDetach(c.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if r := readReport(t, out); r.TracerPid != 0 {
		t.Errorf("tracer %d after detach", r.TracerPid)
	}
}

// TestUserNamespace: a new user namespace whose maps the parent writes
// while the child waits.
func TestUserNamespace(t *testing.T) {
	c, out := probeCmd(t)
	uid, gid := os.Getuid(), os.Getgid()
	c.Namespaces.Clone = unix.CLONE_NEWUSER
	c.Namespaces.UidMappings = []spawn.IDMap{{ContainerID: 0, HostID: uid, Size: 1}}
	c.Namespaces.GidMappings = []spawn.IDMap{{ContainerID: 0, HostID: gid, Size: 1}}
	err := c.Run()
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EINVAL) {
		t.Skipf("this machine does not allow user namespaces here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := readReport(t, out)
	if r.Uid != 0 || r.Gid != 0 {
		t.Errorf("uid %d gid %d inside, want 0 0", r.Uid, r.Gid)
	}
	if r.Namespaces["user"] == nsOf(t, "user") {
		t.Errorf("user namespace is the parent's")
	}
	if r.CapEff == 0 {
		t.Errorf("no capabilities inside the new user namespace")
	}
}

// TestJoinNamespace: setns into another process's network namespace.
func TestJoinNamespace(t *testing.T) {
	needRoot(t)
	holder := spawn.Command("sleep", "30")
	holder.Namespaces.Clone = unix.CLONE_NEWNET
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	defer holder.Process.Kill()
	nsPath := fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid)
	want, _ := os.Readlink(nsPath)
	f, err := os.Open(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, out := probeCmd(t)
	c.Namespaces.Join = []*os.File{f}
	if r := runProbe(t, c, out); r.Namespaces["net"] != want || want == nsOf(t, "net") {
		t.Errorf("net namespace %q, want %q", r.Namespaces["net"], want)
	}
}

// cgroup2Root finds a writable cgroup v2 hierarchy.
func cgroup2Root(t *testing.T) string {
	t.Helper()
	b, _ := os.ReadFile("/proc/self/mounts")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[2] == "cgroup2" {
			if unix.Access(f[1], unix.W_OK) == nil {
				return f[1]
			}
		}
	}
	t.Skip("no writable cgroup v2 hierarchy")
	return ""
}

// TestCgroup: the child starts in the given cgroup.
func TestCgroup(t *testing.T) {
	needRoot(t)
	root := cgroup2Root(t)
	name := fmt.Sprintf("spawn-test-%d", os.Getpid())
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot create a cgroup: %v", err)
	}
	defer os.Remove(dir)
	c, out := probeCmd(t)
	c.Namespaces.CgroupPath = dir
	if strings.Contains(os.Getenv("SPAWNDEBUG"), "clone3=0") {
		// Without clone3 there is no CLONE_INTO_CGROUP: a clear error.
		if err := c.Run(); err == nil || !strings.Contains(err.Error(), "needs clone3") {
			t.Fatalf("with clone3 off: %v, want an error saying it needs clone3", err)
		}
		return
	}
	r := runProbe(t, c, out)
	if !strings.Contains(r.Cgroup, "0::/"+name) {
		t.Errorf("cgroup %q, want 0::/%s", r.Cgroup, name)
	}
}

// TestAttributeErrors: every kind of failing step names itself.
func TestAttributeErrors(t *testing.T) {
	_, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Skip(err)
	}
	nrOpen, _ := os.ReadFile("/proc/sys/fs/nr_open")
	above, _ := strconv.ParseUint(strings.TrimSpace(string(nrOpen)), 10, 64)
	above++
	notTty, _ := os.Open("/etc/hostname")
	defer notTty.Close()

	tests := []struct {
		name string
		set  func(c *spawn.Cmd)
		msg  string
		err  error
	}{
		{"rlimit above the kernel's maximum",
			func(c *spawn.Cmd) {
				c.Limits.Rlimits = []spawn.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: above, Max: above}}
			},
			"setrlimit NOFILE " + strconv.FormatUint(above, 10) + ":" + strconv.FormatUint(above, 10) + ": operation not permitted", syscall.EPERM},
		{"unknown cgroup path",
			func(c *spawn.Cmd) { c.Namespaces.CgroupPath = "/sys/fs/cgroup/no-such-cgroup" },
			`open cgroup "/sys/fs/cgroup/no-such-cgroup": no such file or directory`, syscall.ENOENT},
		{"a controlling terminal that is not a terminal",
			func(c *spawn.Cmd) { c.Session = spawn.SessionAttrs{Setsid: true, Ctty: notTty} },
			`set controlling terminal /etc/hostname (fd `, syscall.ENOTTY},
		{"missing open directory for a file action",
			func(c *spawn.Cmd) {
				c.Files = []spawn.FileAction{spawn.OpenFile(3, "/nonexistent/log", os.O_WRONLY|os.O_CREATE, 0o644)}
			},
			`open "/nonexistent/log" → fd 3: no such file or directory`, syscall.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := spawn.Command("/bin/true")
			tt.set(c)
			err := c.Run()
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v\nwant one containing %q and wrapping %v", err, tt.msg, tt.err)
			}
		})
	}
}

// TestUnprivilegedErrors runs, as nobody, the steps that need privilege.
func TestUnprivilegedErrors(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct{ scenario, want string }{
		{"setgroups", "setgroups []: operation not permitted (changing the user or groups needs CAP_SETUID/CAP_SETGID)"},
		{"setuid", "setresuid 0: operation not permitted (changing the user or groups needs CAP_SETUID/CAP_SETGID)"},
		{"rlimit", "setrlimit NOFILE"},
		{"seccomp", "seccomp 1-instruction filter: permission denied (set Security.NoNewPrivs, or run with CAP_SYS_ADMIN)"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			h := exec.Command(binaryForOthers(t), "-test.run=^$")
			h.Env = append(os.Environ(), helperEnv+"=unprivileged:"+tc.scenario)
			h.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			out, _ := h.CombinedOutput()
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("as nobody: %q\nwant it to contain %q", out, tc.want)
			}
		})
	}
}

// binaryForOthers copies the test binary where another user can run it.
func binaryForOthers(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "spawn-test-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "spawn.test")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func unprivilegedHelper(scenario string) {
	c := spawn.Command("/bin/true")
	switch scenario {
	case "setgroups":
		c.Credential = &spawn.Credential{Uid: 0, Gid: 0}
	case "setuid":
		// Keeping our own gid and groups, only the uid change is refused.
		c.Credential = &spawn.Credential{Uid: 0, Gid: uint32(os.Getgid()), NoSetGroups: true}
	case "rlimit":
		var rl unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
		c.Limits.Rlimits = []spawn.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: rl.Max + 1, Max: rl.Max + 1}}
	case "seccomp":
		c.Security.Seccomp = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	}
	err := c.Run()
	fmt.Println(err)
	os.Exit(0)
}

// TestAttributeValidation: bad attribute values are refused before
// anything is created.
func TestAttributeValidation(t *testing.T) {
	closed, _ := os.Open("/etc/hostname")
	closed.Close()
	tests := []struct {
		name, field string
		set         func(c *spawn.Cmd)
	}{
		{"ignore SIGKILL", "Signals.Ignore", func(c *spawn.Cmd) { c.Signals.Ignore = spawn.NewSignalSet(syscall.SIGKILL) }},
		{"nice out of range", "Limits.Nice", func(c *spawn.Cmd) { c.Limits.Nice = new(25) }},
		{"umask too large", "Limits.Umask", func(c *spawn.Cmd) { c.Limits.Umask = new(uint32(0o1777)) }},
		{"soft limit above hard", "Limits.Rlimits[0]", func(c *spawn.Cmd) {
			c.Limits.Rlimits = []spawn.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 10, Max: 5}}
		}},
		{"unknown rlimit", "Limits.Rlimits[0]", func(c *spawn.Cmd) { c.Limits.Rlimits = []spawn.Rlimit{{Resource: 99}} }},
		{"no CPUs", "Limits.CPUs", func(c *spawn.Cmd) { c.Limits.CPUs = []int{} }},
		{"negative CPU", "Limits.CPUs", func(c *spawn.Cmd) { c.Limits.CPUs = []int{-1} }},
		{"FIFO priority 0", "Limits.Sched", func(c *spawn.Cmd) { c.Limits.Sched = &spawn.Sched{Policy: unix.SCHED_FIFO} }},
		{"I/O level 9", "Limits.IOPrio", func(c *spawn.Cmd) { c.Limits.IOPrio = &spawn.IOPrio{Class: spawn.IOPrioIdle, Level: 9} }},
		{"ctty without setsid", "Session.Ctty", func(c *spawn.Cmd) { c.Session.Ctty = os.Stdin }},
		{"setsid and setpgid", "Session.Setpgid", func(c *spawn.Cmd) { c.Session = spawn.SessionAttrs{Setsid: true, Setpgid: true} }},
		{"dir and dir file", "DirFile", func(c *spawn.Cmd) { c.Dir = "/"; c.DirFile = os.Stdin }},
		{"closed exec file", "ExecFile", func(c *spawn.Cmd) { c.ExecFile = closed }},
		{"maps without a user namespace", "Namespaces.UidMappings", func(c *spawn.Cmd) {
			c.Namespaces.UidMappings = []spawn.IDMap{{0, 0, 1}}
		}},
		{"not a namespace flag", "Namespaces.Clone", func(c *spawn.Cmd) { c.Namespaces.Clone = unix.CLONE_VM }},
		{"dup of a closed descriptor", "Files[0]", func(c *spawn.Cmd) { c.Files = []spawn.FileAction{spawn.DupFile(3, 9)} }},
		{"negative descriptor", "Files[0]", func(c *spawn.Cmd) { c.Files = []spawn.FileAction{spawn.CloseFile(-1)} }},
		{"zero file action", "Files[0]", func(c *spawn.Cmd) { c.Files = []spawn.FileAction{{}} }},
		{"bad pdeathsig", "Pdeathsig", func(c *spawn.Cmd) { c.Pdeathsig = 99 }},
		{"ptrace with pdeathsig", "Ptrace", func(c *spawn.Cmd) { c.Ptrace = true; c.Pdeathsig = syscall.SIGKILL }},
		{"uid -1", "Credential.Uid", func(c *spawn.Cmd) { c.Credential = &spawn.Credential{Uid: ^uint32(0)} }},
		{"gid -1", "Credential.Gid", func(c *spawn.Cmd) { c.Credential = &spawn.Credential{Gid: ^uint32(0)} }},
		{"file action beyond the descriptor limit", "Files", func(c *spawn.Cmd) {
			c.Files = []spawn.FileAction{spawn.OpenFile(1000000, "/dev/null", os.O_RDONLY, 0)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fds := openFds(t)
			c := spawn.Command("/bin/true")
			c.Stdout = io.Discard
			tt.set(c)
			err := c.Start()
			var se *spawn.Error
			if !errors.As(err, &se) || se.Step != "invalid" || se.Arg != tt.field {
				if err == nil {
					c.Wait()
				}
				t.Fatalf("err = %v, want an invalid %s", err, tt.field)
			}
			if after := openFds(t); len(after) != len(fds) {
				t.Errorf("descriptors %v → %v", fds, after)
			}
		})
	}
}

// TestFilesWithInheritFDs: with InheritFDs, CloseFile closes an inherited
// descriptor, DupFile can copy one, and numbers left between are left as
// inherited.
func TestFilesWithInheritFDs(t *testing.T) {
	open := func() int {
		fd, err := unix.Open("/etc/hostname", unix.O_RDONLY, 0) // inheritable
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	a, b := open(), open()
	c, out := probeCmd(t)
	c.Security.InheritFDs = true
	c.Files = []spawn.FileAction{spawn.CloseFile(a), spawn.DupFile(b+5, b)}
	r := runProbe(t, c, out)
	if r.FD(a) != nil {
		t.Errorf("fd %d was closed with CloseFile but the child has it", a)
	}
	if r.FD(b) == nil || r.FD(b+5) == nil || r.FD(b).Ino != r.FD(b+5).Ino {
		t.Errorf("fd %d should be inherited and copied to %d: child fds %v", b, b+5, r.FDNums())
	}
}

// TestSetsidForeground: a new session with a terminal, in the foreground.
func TestSetsidForeground(t *testing.T) {
	_, tty := openPty(t)
	c, out := probeCmd(t)
	c.Session = spawn.SessionAttrs{Setsid: true, Ctty: tty, Foreground: true}
	r := runProbe(t, c, out)
	if r.Sid != r.Pid || r.Tpgid != r.Pid {
		t.Errorf("sid %d tpgid %d pid %d", r.Sid, r.Tpgid, r.Pid)
	}
}

// TestUnshareMountsPrivate: as with os/exec, a child that unshares its mount
// namespace has "/" private, so its mounts do not reach the parent's. The
// parent runs in a mount namespace where "/" is shared (as under systemd).
func TestUnshareMountsPrivate(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1) to give the parent a shared /")
	}
	h := exec.Command("unshare", "-m", "--propagation", "shared", os.Args[0], "-test.run=^$")
	h.Env = append(os.Environ(), helperEnv+"=mount-private")
	out, err := h.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	parent, child, _ := strings.Cut(string(out), "\n--\n")
	if !strings.Contains(parent, "shared:") {
		t.Fatalf("the parent's / is not shared, nothing to test: %q", parent)
	}
	if strings.Contains(child, "shared:") || child == "" {
		t.Errorf("root mount in the child: %q, want it private (no shared: tag)", child)
	}
}

func mountPrivateHelper() {
	root := `grep -E '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ' /proc/self/mountinfo`
	parent, _ := exec.Command("sh", "-c", root).Output()
	c := spawn.Command("sh", "-c", root)
	c.Namespaces.Unshare = unix.CLONE_NEWNS
	child, err := c.Output()
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Printf("%s\n--\n%s", strings.TrimSpace(string(parent)), child)
	os.Exit(0)
}

func TestNilCommands(t *testing.T) {
	if err := spawn.StartAll(spawn.Command("true"), nil); err == nil {
		t.Errorf("StartAll with a nil command succeeded")
	}
	if _, err := spawn.FromExec(nil); err == nil {
		t.Errorf("FromExec(nil) succeeded")
	}
	if ch := children(t); ch != "" {
		t.Errorf("children left: %s", ch)
	}
}
