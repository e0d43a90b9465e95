//go:build linux

package probe

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// runProbe runs cmd, which must print a report on stdout, and parses it.
func runProbe(t *testing.T, cmd *exec.Cmd) *Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("probe: %v; stderr: %s", err, stderr.String())
	}
	r, err := Parse(stdout.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Errorf("probe reported errors: %q", r.Errors)
	}
	return r
}

// procStatus parses a /proc/.../status file.
func procStatus(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func hexField(t *testing.T, m map[string]string, k string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(m[k], 16, 64)
	if err != nil {
		t.Fatalf("%s: %v", k, err)
	}
	return v
}

// statFields returns tty_nr and tpgid from /proc/self/stat.
func statFields(t *testing.T) (tty, tpgid int) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	tty, _ = strconv.Atoi(f[4])
	tpgid, _ = strconv.Atoi(f[5])
	return tty, tpgid
}

func sameFile(t *testing.T, fd *FD, path string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if fd.Dev != st.Dev || fd.Ino != st.Ino || fd.Mode != st.Mode {
		t.Errorf("fd %d: dev/ino/mode = %d/%d/%o, want %d/%d/%o (%s)",
			fd.Num, fd.Dev, fd.Ino, fd.Mode, st.Dev, st.Ino, st.Mode, path)
	}
}

func TestStaticBinaries(t *testing.T) {
	for _, path := range []string{ForTest(t), NoopForTest(t)} {
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is not static: has %v", path, p.Type)
			}
		}
		f.Close()
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, err %v; want 0755", path, fi.Mode(), err)
		}
	}
	noop := NoopForTest(t)
	if fi, _ := os.Stat(noop); fi.Size() > 16<<10 {
		t.Errorf("noop is %d bytes, want tiny", fi.Size())
	}
	out, err := exec.Command(noop, "ignored", "args").CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("noop: err %v, output %q", err, out)
	}
}

func TestOSExec(t *testing.T) {
	probe := ForTest(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	extraPath := filepath.Join(dir, "extra")
	extra, err := os.OpenFile(extraPath, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()

	args := []string{"plain", "", "quote\" back\\slash", "ctl\x01\x1f\t\n\x7f", "utf8 é ☃", strings.Repeat("x", 100000)}
	env := []string{"A=1", "EMPTY=", "NL=a\nb", "Q=\"\\"}
	cmd := exec.Command(probe, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{extra}

	// Process-wide state inherited by the child; restored afterwards.
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	signal.Ignore(syscall.SIGHUP)
	defer func() {
		// Reinstall the Go handler, then drop it: back to the default.
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		signal.Reset(syscall.SIGHUP)
	}()

	r := runProbe(t, cmd)

	if want := append([]string{probe}, args...); !reflect.DeepEqual(r.Argv, want) {
		t.Errorf("argv = %q, want %q", r.Argv, want)
	}
	if !reflect.DeepEqual(r.Env, env) {
		t.Errorf("env = %q, want %q", r.Env, env)
	}
	if r.Cwd != dir {
		t.Errorf("cwd = %q, want %q", r.Cwd, dir)
	}
	if exe, _ := filepath.EvalSymlinks(probe); r.Exe != exe {
		t.Errorf("exe = %q, want %q", r.Exe, exe)
	}
	if r.Root != "/" {
		t.Errorf("root = %q, want /", r.Root)
	}

	if r.Pid != cmd.Process.Pid || r.Ppid != os.Getpid() {
		t.Errorf("pid, ppid = %d, %d, want %d, %d", r.Pid, r.Ppid, cmd.Process.Pid, os.Getpid())
	}
	sid, _ := unix.Getsid(0)
	if r.Pgid != syscall.Getpgrp() || r.Sid != sid {
		t.Errorf("pgid, sid = %d, %d, want %d, %d", r.Pgid, r.Sid, syscall.Getpgrp(), sid)
	}
	if tty, tpgid := statFields(t); r.TtyNr != tty || r.Tpgid != tpgid {
		t.Errorf("tty_nr, tpgid = %d, %d, want %d, %d", r.TtyNr, r.Tpgid, tty, tpgid)
	}
	if r.Umask != 0o027 {
		t.Errorf("umask = %#o, want 027", r.Umask)
	}

	if !HasSig(r.SigIgn, syscall.SIGHUP) {
		t.Errorf("sig_ign = %#x, want SIGHUP set", r.SigIgn)
	}
	if r.SigCgt != 0 || r.SigPnd != 0 || r.ShdPnd != 0 {
		t.Errorf("sig_cgt, sig_pnd, shd_pnd = %#x, %#x, %#x, want 0", r.SigCgt, r.SigPnd, r.ShdPnd)
	}

	// os/exec gives the child exactly 0-2 plus ExtraFiles, and the probe
	// hides its own fds.
	if got, want := r.FDNums(), withLeaked(t, 0, 1, 2, 3); !reflect.DeepEqual(got, want) {
		t.Fatalf("fds = %v, want %v", got, want)
	}
	fd3 := r.FD(3)
	sameFile(t, fd3, extraPath)
	if fd3.Target != extraPath || fd3.Cloexec || fd3.Flags&syscall.O_ACCMODE != syscall.O_RDWR || fd3.Flags&syscall.O_APPEND == 0 {
		t.Errorf("fd 3 = %+v, want %s O_RDWR|O_APPEND, no cloexec", fd3, extraPath)
	}
	fd0 := r.FD(0)
	sameFile(t, fd0, os.DevNull)
	if fd0.Target != os.DevNull || fd0.Flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		t.Errorf("fd 0 = %+v, want /dev/null O_RDONLY", fd0)
	}
	if fd1 := r.FD(1); !strings.HasPrefix(fd1.Target, "pipe:[") || fd1.Flags&syscall.O_ACCMODE != syscall.O_WRONLY {
		t.Errorf("fd 1 = %+v, want pipe O_WRONLY", fd1)
	}

	uids := []int{os.Getuid(), os.Geteuid(), os.Getuid(), os.Getgid(), os.Getegid(), os.Getgid()}
	if got := []int{r.Uid, r.Euid, r.Suid, r.Gid, r.Egid, r.Sgid}; !reflect.DeepEqual(got, uids) {
		t.Errorf("ids = %v, want %v", got, uids)
	}
	groups, _ := os.Getgroups()
	slices.Sort(groups)
	if got := slices.Sorted(slices.Values(r.Groups)); !slices.Equal(got, groups) {
		t.Errorf("groups = %v, want %v", got, groups)
	}

	self := procStatus(t, "/proc/self/status")
	for _, c := range []struct {
		name string
		got  uint64
	}{{"CapInh", r.CapInh}, {"CapPrm", r.CapPrm}, {"CapEff", r.CapEff}, {"CapBnd", r.CapBnd}, {"CapAmb", r.CapAmb}} {
		if want := hexField(t, self, c.name); c.got != want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, want)
		}
	}
	if want, _ := strconv.Atoi(self["Seccomp"]); r.Seccomp != want {
		t.Errorf("seccomp = %d, want %d", r.Seccomp, want)
	}
	if want, _ := strconv.Atoi(self["NoNewPrivs"]); r.NoNewPrivs != want {
		t.Errorf("no_new_privs = %d, want %d", r.NoNewPrivs, want)
	}
	if self["TracerPid"] == "0" && r.TracerPid != 0 {
		t.Errorf("tracer_pid = %d, want 0", r.TracerPid)
	}
	if r.PdeathSig != 0 || r.Dumpable != 1 || r.KeepCaps != 0 {
		t.Errorf("pdeath_sig, dumpable, keep_caps = %d, %d, %d, want 0, 1, 0", r.PdeathSig, r.Dumpable, r.KeepCaps)
	}

	nsDir, _ := os.ReadDir("/proc/self/ns")
	wantNS := map[string]string{}
	for _, e := range nsDir {
		wantNS[e.Name()], _ = os.Readlink("/proc/self/ns/" + e.Name())
	}
	if !reflect.DeepEqual(r.Namespaces, wantNS) || r.Namespaces["mnt"] == "" {
		t.Errorf("namespaces = %v, want %v", r.Namespaces, wantNS)
	}
	if cg, _ := os.ReadFile("/proc/self/cgroup"); r.Cgroup != strings.TrimSpace(string(cg)) || r.Cgroup == "" {
		t.Errorf("cgroup = %q, want %q", r.Cgroup, cg)
	}
}

// TestStartProcess runs the probe without os/exec to control argv[0], the
// exact environment and the fd table (fd 2 closed).
func TestStartProcess(t *testing.T) {
	probe := ForTest(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	argv := []string{"argv0-is-not-the-path", "x"}
	env := []string{"ONLY=this", "NOEQUALS"}
	p, err := os.StartProcess(probe, argv, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{devnull, pw, nil, devnull},
	})
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := readAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || !st.Success() {
		t.Fatalf("wait: %v %v", st, err)
	}
	r, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Argv, argv) || !reflect.DeepEqual(r.Env, env) {
		t.Errorf("argv, env = %q, %q, want %q, %q", r.Argv, r.Env, argv, env)
	}
	if got, want := r.FDNums(), withLeaked(t, 0, 1, 3); !reflect.DeepEqual(got, want) {
		t.Errorf("fds = %v, want %v", got, want)
	}
	if r.Pid != p.Pid {
		t.Errorf("pid = %d, want %d", r.Pid, p.Pid)
	}
}

// withLeaked returns fds plus the fds above them that this process has open
// without close-on-exec (inherited from whoever ran the test), which every
// child inherits too.
func withLeaked(t *testing.T, fds ...int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		if n <= slices.Max(fds) {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(n), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			fds = append(fds, n)
		}
	}
	slices.Sort(fds)
	return fds
}

func readAll(f *os.File) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(f)
	return b.Bytes(), err
}

func TestSetsidPdeathsig(t *testing.T) {
	cmd := exec.Command(ForTest(t))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGUSR1}
	r := runProbe(t, cmd)
	if r.Sid != r.Pid || r.Pgid != r.Pid || r.TtyNr != 0 || r.Tpgid != -1 {
		t.Errorf("pid %d: sid, pgid, tty_nr, tpgid = %d, %d, %d, %d, want pid, pid, 0, -1",
			r.Pid, r.Sid, r.Pgid, r.TtyNr, r.Tpgid)
	}
	if r.PdeathSig != int(syscall.SIGUSR1) {
		t.Errorf("pdeath_sig = %d, want %d", r.PdeathSig, syscall.SIGUSR1)
	}
}

// onThread runs f on a fresh OS thread that is thrown away afterwards, so f
// can change per-thread attributes that a child forked there inherits.
func onThread(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with us
		f()
	}()
	<-done
}

func TestPerThreadState(t *testing.T) {
	probe := ForTest(t)
	const ioprio = 2<<13 | 5 // IOPRIO_CLASS_BE, level 5
	var r *Report
	var cpu int
	var wantBlk uint64
	onThread(func() {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err != nil {
			t.Error(err)
			return
		}
		for cpu = 0; !set.IsSet(cpu); cpu++ {
		}
		set.Zero()
		set.Set(cpu)
		var blk unix.Sigset_t
		blk.Val[0] = 1<<(unix.SIGUSR2-1) | 1<<(unix.SIGWINCH-1)
		param := int32(0)
		for _, err := range []error{
			unix.SchedSetaffinity(0, &set),
			unix.Setpriority(unix.PRIO_PROCESS, 0, 7),
			errno(unix.RawSyscall(unix.SYS_SCHED_SETSCHEDULER, 0, 3 /* SCHED_BATCH */, uintptr(unsafe.Pointer(&param)))),
			errno(unix.RawSyscall(unix.SYS_IOPRIO_SET, 1 /* IOPRIO_WHO_PROCESS */, 0, ioprio)),
			unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
			unix.PthreadSigmask(unix.SIG_BLOCK, &blk, nil),
		} {
			if err != nil {
				t.Error(err)
				return
			}
		}
		wantBlk = hexField(t, procStatus(t, "/proc/thread-self/status"), "SigBlk")
		r = runProbe(t, exec.Command(probe))
	})
	if r == nil {
		t.FailNow()
	}
	if !reflect.DeepEqual(r.Affinity, []int{cpu}) {
		t.Errorf("affinity = %v, want [%d]", r.Affinity, cpu)
	}
	if r.Nice != 7 || r.SchedPolicy != 3 || r.SchedPriority != 0 || r.IOPrio != ioprio || r.NoNewPrivs != 1 {
		t.Errorf("nice, sched_policy, sched_priority, ioprio, no_new_privs = %d, %d, %d, %d, %d, want 7, 3, 0, %d, 1",
			r.Nice, r.SchedPolicy, r.SchedPriority, r.IOPrio, r.NoNewPrivs, ioprio)
	}
	if r.SigBlk != wantBlk || !HasSig(r.SigBlk, syscall.SIGUSR2) || !HasSig(r.SigBlk, syscall.SIGWINCH) {
		t.Errorf("sig_blk = %#x, want %#x with SIGUSR2 and SIGWINCH", r.SigBlk, wantBlk)
	}
}

func errno(_, _ uintptr, e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

func TestRlimits(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &old); err != nil {
		t.Fatal(err)
	}
	want := syscall.Rlimit{Cur: min(12345<<10, old.Max), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &want); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_CORE, &old)

	r := runProbe(t, exec.Command(ForTest(t)))
	resources := map[string]int{
		"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU,
		"data": unix.RLIMIT_DATA, "fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS,
		"memlock": unix.RLIMIT_MEMLOCK, "msgqueue": unix.RLIMIT_MSGQUEUE,
		"nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE, "nproc": unix.RLIMIT_NPROC,
		"rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO, "rttime": unix.RLIMIT_RTTIME,
		"sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
	}
	if len(r.Rlimits) != len(resources) {
		t.Errorf("rlimits has %d entries, want %d: %v", len(r.Rlimits), len(resources), r.Rlimits)
	}
	for name, res := range resources {
		var lim unix.Rlimit
		if err := unix.Getrlimit(res, &lim); err != nil {
			t.Fatal(err)
		}
		got, ok := r.Rlimits[name]
		switch {
		case !ok:
			t.Errorf("rlimit %s missing", name)
		case name == "nofile":
			// The Go runtime raises its own soft limit and restores the
			// original one in children; only the hard limit is known.
			if got.Max != lim.Max || got.Cur > got.Max {
				t.Errorf("rlimit nofile = %+v, want max %d", got, lim.Max)
			}
		case got.Cur != lim.Cur || got.Max != lim.Max:
			t.Errorf("rlimit %s = %+v, want %+v", name, got, lim)
		}
	}
	if got := r.Rlimits["core"]; got.Cur != want.Cur || got.Max != want.Max {
		t.Errorf("rlimit core = %+v, want %+v", got, want)
	}
	if old.Max == unix.RLIM_INFINITY && r.Rlimits["core"].Max != Infinity {
		t.Errorf("rlimit core max = %d, want RLIM_INFINITY", r.Rlimits["core"].Max)
	}
}

func TestCredential(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	cmd := exec.Command(ForTest(t))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65533, Groups: []uint32{65532, 65531}}}
	r := runProbe(t, cmd)
	if r.Uid != 65534 || r.Euid != 65534 || r.Suid != 65534 || r.Gid != 65533 || r.Egid != 65533 || r.Sgid != 65533 {
		t.Errorf("ids = %d %d %d %d %d %d, want 65534 x3, 65533 x3", r.Uid, r.Euid, r.Suid, r.Gid, r.Egid, r.Sgid)
	}
	if !reflect.DeepEqual(r.Groups, []int{65531, 65532}) {
		t.Errorf("groups = %v, want [65531 65532]", r.Groups)
	}
	if r.CapPrm != 0 || r.CapEff != 0 {
		t.Errorf("cap_prm, cap_eff = %#x, %#x, want 0", r.CapPrm, r.CapEff)
	}
}

func TestOutWriteRead(t *testing.T) {
	dir := t.TempDir()
	outPath := filepath.Join(dir, "report.json")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	input := "line\n\"quoted\" \\ \x00\x02 é" + strings.Repeat("y", 200000)

	cmd := exec.Command(ForTest(t))
	cmd.Env = []string{EnvOut + "=" + outPath, EnvWrite + "=1:to stdout,2:to stderr,3:to three", EnvRead + "=0"}
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.ExtraFiles = []*os.File{pw}
	err = cmd.Run()
	pw.Close()
	if err != nil {
		t.Fatalf("%v; stderr %q", err, stderr.String())
	}
	three, _ := readAll(pr)
	if stdout.String() != "to stdout" || stderr.String() != "to stderr" || string(three) != "to three" {
		t.Errorf("stdout, stderr, fd 3 = %q, %q, %q", stdout.String(), stderr.String(), three)
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(outPath); fi.Mode().Perm() != 0o644&^fileUmask() {
		t.Errorf("report mode = %v", fi.Mode())
	}
	r, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Read != input {
		t.Errorf("read %d bytes %.40q, want %d bytes %.40q", len(r.Read), r.Read, len(input), input)
	}
	if want := withLeaked(t, 0, 1, 2, 3); !reflect.DeepEqual(r.FDNums(), want) || len(r.Errors) != 0 {
		t.Errorf("fds = %v, errors = %q, want %v and none", r.FDNums(), r.Errors, want)
	}
	if !reflect.DeepEqual(r.Env, cmd.Env) {
		t.Errorf("env = %q, want %q", r.Env, cmd.Env)
	}
}

func fileUmask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

func TestWriteToClosedFD(t *testing.T) {
	cmd := exec.Command(ForTest(t))
	cmd.Env = []string{EnvWrite + "=9:x"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"write fd 9: Bad file descriptor"}; !reflect.DeepEqual(r.Errors, want) {
		t.Errorf("errors = %q, want %q", r.Errors, want)
	}
}

func TestExitKillSleep(t *testing.T) {
	probe := ForTest(t)

	cmd := exec.Command(probe)
	cmd.Env = []string{EnvExit + "=7"}
	out, err := cmd.Output()
	if cmd.ProcessState.ExitCode() != 7 {
		t.Errorf("exit: %v, want status 7", err)
	}
	if _, err := Parse(out); err != nil {
		t.Error(err)
	}

	// The child inherits SIGTERM blocked; the probe must unblock it.
	var r *Report
	onThread(func() {
		var blk unix.Sigset_t
		blk.Val[0] = 1 << (unix.SIGTERM - 1)
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, &blk, nil); err != nil {
			t.Error(err)
			return
		}
		cmd = exec.Command(probe)
		cmd.Env = []string{EnvKill + "=15", EnvExit + "=3"}
		out, err = cmd.Output()
		r, _ = Parse(out)
	})
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("kill: %v, want killed by SIGTERM", err)
	}
	if r == nil || !HasSig(r.SigBlk, syscall.SIGTERM) {
		t.Errorf("kill: report %v, want SIGTERM blocked", r)
	}

	cmd = exec.Command(probe)
	cmd.Env = []string{EnvSleep + "=0.3"}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	var rep []byte
	for !bytes.HasSuffix(rep, []byte("\n")) {
		n, err := stdout.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		rep = append(rep, buf[:n]...)
	}
	reported := time.Since(start)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	exited := time.Since(start)
	if _, err := Parse(rep); err != nil {
		t.Error(err)
	}
	if exited < 300*time.Millisecond || exited-reported < 200*time.Millisecond {
		t.Errorf("reported after %v, exited after %v; want a 0.3s sleep in between", reported, exited)
	}
}

func TestBadEnv(t *testing.T) {
	for _, env := range []string{EnvExit + "=x", EnvSleep + "=-1", EnvRead + "=1a", EnvWrite + "=nofd", EnvOut + "=/nonexistent/dir/f"} {
		cmd := exec.Command(ForTest(t))
		cmd.Env = []string{env}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, _ := cmd.Output()
		if cmd.ProcessState.ExitCode() != ExitBadUsage || !strings.HasPrefix(stderr.String(), "probe: ") {
			t.Errorf("%s: exit %d, stderr %q, want %d", env, cmd.ProcessState.ExitCode(), stderr.String(), ExitBadUsage)
		}
		if len(out) != 0 {
			t.Errorf("%s: stdout %q, want nothing", env, out)
		}
	}
}

func TestParse(t *testing.T) {
	good := `{"pid":5,"rlimits":{"as":{"cur":18446744073709551615,"max":18446744073709551615}},"sig_ign":9223372036854775809,"fds":[{"num":3,"cloexec":true}]}` + "\n"
	r, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if r.Pid != 5 || r.Rlimits["as"].Cur != Infinity || r.SigIgn != 1<<63|1 || !HasSig(r.SigIgn, 64) || !HasSig(r.SigIgn, 1) || HasSig(r.SigIgn, 2) {
		t.Errorf("parsed %+v", r)
	}
	if fd := r.FD(3); fd == nil || !fd.Cloexec || r.FD(4) != nil {
		t.Errorf("FD(3) = %+v", fd)
	}
	for _, bad := range []string{"", "{", "hi" + good, good + "{}", `{"pid":5,"rlimits":{},"bogus":1}`, `{"rlimits":{}}`, `{"pid":5}`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CC", "/nonexistent/cc")
	if _, _, err := Build(dir); err == nil || !strings.Contains(err.Error(), "install gcc (apt-get install -y gcc libc6-dev)") {
		t.Errorf("missing compiler: %v", err)
	}
	script := filepath.Join(dir, "badcc")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho boom-from-cc >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CC", script)
	if _, _, err := Build(dir); err == nil || !strings.Contains(err.Error(), "boom-from-cc") {
		t.Errorf("failing compiler: %v", err)
	}
	// $CC may carry arguments.
	t.Setenv("CC", "cc -DUNUSED=1")
	probe, noop, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(noop).Run(); err != nil {
		t.Error(err)
	}
	if filepath.Dir(probe) != dir {
		t.Errorf("probe at %s, want in %s", probe, dir)
	}
}
