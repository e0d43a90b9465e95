//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// spawnBin is the spawn binary built by TestMain.
var spawnBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spawn-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	spawnBin = filepath.Join(dir, "spawn")
	build := exec.Command("go", "build", "-o", spawnBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building spawn:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// runSpawn runs the spawn binary with args and stdin, and returns what it did.
func runSpawn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(spawnBin, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("spawn %q: %v", args, err)
	}
	return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		stdin     string
		args      []string
		code      int
		stdout    string
		stderrHas []string // substrings of stderr; stderr must be empty if nil
	}{
		{name: "exit code", args: []string{"run", "--", "sh", "-c", "exit 3"}, code: 3},
		{name: "success", args: []string{"run", "true"}, code: 0},
		{name: "killed by signal", args: []string{"run", "--", "sh", "-c", "kill -TERM $$"}, code: 128 + 15},
		{name: "argv0", args: []string{"run", "--", "sh", "-c", "echo $0"}, stdout: "sh\n"},
		{name: "arguments after the program", args: []string{"run", "sh", "-c", "echo $1", "x", "-l"}, stdout: "-l\n"},
		{name: "stdin", stdin: "hi\n", args: []string{"run", "--", "cat"}, stdout: "hi\n"},
		{name: "stderr", args: []string{"run", "--", "sh", "-c", "echo err >&2"}, stderrHas: []string{"err\n"}},
		{name: "clear-env", args: []string{"run", "--env", "A=1", "--clear-env", "--", "/usr/bin/env"}, stdout: "A=1\n"},
		{name: "clear-env short", args: []string{"run", "-ieA=1", "-e", "B=2", "/usr/bin/env"}, stdout: "A=1\nB=2\n"},
		{name: "env later wins", args: []string{"run", "-i", "-e", "A=1", "--env=A=2", "/usr/bin/env"}, stdout: "A=2\n"},
		{name: "env added", args: []string{"run", "--env", "SPAWN_TEST=yes", "--", "sh", "-c", "echo $SPAWN_TEST; echo ${HOME+home}"}, stdout: "yes\nhome\n"},
		{name: "dir", args: []string{"run", "--dir", "/tmp", "--", "/bin/pwd"}, stdout: "/tmp\n"},
		{name: "dir attached", args: []string{"run", "-C/tmp", "/bin/pwd"}, stdout: "/tmp\n"},
		{name: "dir=", args: []string{"run", "--dir=/tmp", "/bin/pwd"}, stdout: "/tmp\n"},
		{name: "dir sets PWD with env", args: []string{"run", "-C", "/tmp", "-e", "A=1", "sh", "-c", "echo $PWD"}, stdout: "/tmp\n"},
		{name: "arg0", args: []string{"run", "--arg0", "foo", "--", "sh", "-c", "echo $0"}, stdout: "foo\n"},
		{name: "arg0 short", args: []string{"run", "-a", "foo", "sh", "-c", "echo $0"}, stdout: "foo\n"},

		{name: "chdir fails", args: []string{"run", "--dir", "/nonexistent", "--", "true"}, code: 125,
			stderrHas: []string{`chdir "/nonexistent"`, "no such file or directory"}},
		{name: "no such file", args: []string{"run", "--", "/nonexistent/prog"}, code: 127,
			stderrHas: []string{"/nonexistent/prog", "no such file or directory"}},
		{name: "not in PATH", args: []string{"run", "--", "nosuchprogram-xyz"}, code: 127,
			stderrHas: []string{"nosuchprogram-xyz", "PATH"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runSpawn(t, tt.stdin, tt.args...)
			if r.code != tt.code || r.stdout != tt.stdout {
				t.Errorf("spawn %q: %v; want exit %d, stdout %q", tt.args, r, tt.code, tt.stdout)
			}
			if tt.stderrHas == nil && r.stderr != "" {
				t.Errorf("spawn %q: stderr %q, want none", tt.args, r.stderr)
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("spawn %q: stderr %q, want it to contain %q", tt.args, r.stderr, s)
				}
			}
		})
	}
}

func TestRunNotExecutable(t *testing.T) {
	t.Parallel()
	prog := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runSpawn(t, "", "run", "--", prog)
	if r.code != 126 || r.stdout != "" || !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, prog) {
		t.Errorf("%v; want exit 126, permission denied for %s", r, prog)
	}
}

func TestRunIgnoredSignalStaysIgnored(t *testing.T) {
	t.Parallel()
	// Under nohup (SIGHUP ignored), the program must inherit the ignored
	// SIGHUP: spawn must not catch it.
	script := `trap "" HUP; exec "$0" run -- sh -c 'kill -HUP $$; echo survived'`
	out, err := exec.Command("sh", "-c", script, spawnBin).CombinedOutput()
	if err != nil || string(out) != "survived\n" {
		t.Errorf("got %q, %v; want survived", out, err)
	}
}

// loop is spawn running a shell that traps SIGTERM (exit 7) and SIGINT
// (exit 9).
type loop struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when spawn has exited
	code int           // its exit code, once done is closed
}

// startLoop starts a loop and returns once the shell's traps are set.
func startLoop(t *testing.T) *loop {
	t.Helper()
	l := &loop{done: make(chan struct{})}
	l.cmd = exec.Command(spawnBin, "run", "--", "sh", "-c",
		`trap "exit 7" TERM; trap "exit 9" INT; echo ready; while :; do sleep 0.05; done`)
	stdout, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() {
		l.cmd.Wait()
		l.code = l.cmd.ProcessState.ExitCode()
		close(l.done)
	}()
	t.Cleanup(func() {
		select {
		case <-l.done:
		default:
			l.cmd.Process.Signal(syscall.SIGTERM) // forwarded: ends the shell
			l.exited(10 * time.Second)
		}
	})
	if line != "ready\n" {
		t.Fatalf("read %q, %v; want ready", line, err)
	}
	return l
}

// exited reports whether spawn exited within d.
func (l *loop) exited(d time.Duration) bool {
	select {
	case <-l.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (l *loop) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := l.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

func TestRunForwardsSIGTERM(t *testing.T) {
	t.Parallel()
	l := startLoop(t)
	l.signal(t, syscall.SIGTERM)
	if !l.exited(10 * time.Second) {
		t.Fatal("spawn did not exit after SIGTERM")
	}
	if l.code != 7 {
		t.Errorf("exit %d, want 7 (the program's TERM trap)", l.code)
	}
}

func TestRunDoesNotForwardSIGINT(t *testing.T) {
	t.Parallel()
	l := startLoop(t)
	l.signal(t, syscall.SIGINT)
	if l.exited(500 * time.Millisecond) {
		t.Fatalf("spawn exited (status %d) after SIGINT sent to it alone", l.code)
	}
	l.signal(t, syscall.SIGTERM)
	if !l.exited(10 * time.Second) {
		t.Fatal("spawn did not exit after SIGTERM")
	}
	if l.code != 7 {
		t.Errorf("exit %d, want 7: SIGINT must not reach the program, SIGTERM must", l.code)
	}
}

func TestRunSurvivesSIGQUIT(t *testing.T) {
	t.Parallel()
	l := startLoop(t)
	l.signal(t, syscall.SIGQUIT)
	if l.exited(300 * time.Millisecond) {
		t.Fatalf("spawn exited (status %d) after SIGQUIT sent to it alone", l.code)
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	r := runSpawn(t, "", "explain", "--dir", "/srv", "--", "/bin/true")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("explain: %v", r)
	}
	for _, s := range []string{`chdir "/srv"`, `execve "/bin/true"`, "(CLONE_VM|CLONE_PIDFD|CLONE_CHILD_CLEARTID"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("explain output lacks %q:\n%s", s, r.stdout)
		}
	}

	touched := filepath.Join(t.TempDir(), "touched")
	r = runSpawn(t, "", "explain", "--", "/bin/sh", "-c", "touch "+touched)
	if r.code != 0 || !strings.Contains(r.stdout, `execve "/bin/sh"`) {
		t.Errorf("explain: %v", r)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(touched); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("explain ran the program: stat %s: %v", touched, err)
	}

	r = runSpawn(t, "", "explain", "nosuchprogram-xyz")
	if r.code != 127 || !strings.Contains(r.stderr, "PATH") {
		t.Errorf("explain of a missing program: %v; want exit 127 naming PATH", r)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		problem string
		try     string
	}{
		{[]string{"run", "--bogus", "true"}, "unrecognized option '--bogus'", "spawn run --help"},
		{[]string{"run", "--=x", "true"}, "unrecognized option '--=x'", "spawn run --help"},
		{[]string{"run", "--bogus=1", "true"}, "unrecognized option '--bogus=1'", "spawn run --help"},
		{[]string{"run", "-x", "true"}, "invalid option -- 'x'", "spawn run --help"},
		{[]string{"explain", "-x", "true"}, "invalid option -- 'x'", "spawn explain --help"},
		{[]string{"run", "--dir"}, "option '--dir' requires an argument", "spawn run --help"},
		{[]string{"run", "-C"}, "option requires an argument -- 'C'", "spawn run --help"},
		{[]string{"run", "--clear-env=yes", "true"}, "doesn't allow an argument", "spawn run --help"},
		{[]string{"run", "--env", "NOEQUALS", "true"}, "NOEQUALS", "spawn run --help"},
		{[]string{"run", "--env", "=v", "true"}, "empty name", "spawn run --help"},
		{[]string{"run"}, "no program", "spawn run --help"},
		{[]string{"run", "-i", "--"}, "no program", "spawn run --help"},
		{[]string{"frobnicate"}, "unknown command 'frobnicate'", "spawn --help"},
		{[]string{"help", "frobnicate"}, "unknown command 'frobnicate'", "spawn --help"},
	}
	for _, tt := range tests {
		r := runSpawn(t, "", tt.args...)
		want := "Try '" + tt.try + "' for more information.\n"
		if r.code != 125 || r.stdout != "" || !strings.HasPrefix(r.stderr, "spawn: ") ||
			!strings.Contains(r.stderr, tt.problem) || !strings.HasSuffix(r.stderr, want) {
			t.Errorf("spawn %q: %v; want exit 125, %q and %q on stderr", tt.args, r, tt.problem, want)
		}
	}

	r := runSpawn(t, "")
	if r.code != 125 || r.stdout != "" || !strings.Contains(r.stderr, "explain") {
		t.Errorf("spawn with no arguments: %v; want the overview on stderr, exit 125", r)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := runSpawn(t, "", args...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, " run ") || !strings.Contains(r.stdout, " explain ") {
			t.Errorf("spawn %q: %v; want the overview", args, r)
		}
	}
	for _, args := range [][]string{{"run", "--help"}, {"run", "-h"}, {"help", "run"}, {"run", "-i", "--help", "--bogus"}} {
		r := runSpawn(t, "", args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("spawn %q: %v", args, r)
			continue
		}
		for _, s := range []string{"spawn run [options]", "-C, --dir <dir>", "-e, --env <name=value>",
			"-i, --clear-env", "-a, --arg0 <name>", "-h, --help", "Exit status:", "125", "126", "127", "128+N"} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("spawn %q: help lacks %q:\n%s", args, s, r.stdout)
			}
		}
	}
	// Every option of the table is in the help.
	r := runSpawn(t, "", "explain", "--help")
	for _, g := range commonOptions {
		for _, o := range g.options {
			for _, n := range o.names {
				if !strings.Contains(r.stdout, n) {
					t.Errorf("explain --help lacks %s", n)
				}
			}
		}
	}
	// After the program, --help belongs to the program.
	if r := runSpawn(t, "", "run", "sh", "-c", "echo $1", "sh", "--help"); r.code != 0 || r.stdout != "--help\n" {
		t.Errorf("run sh ... --help: %v", r)
	}
}

// runCmd runs cmd, a spawn command made with exec.Command(spawnBin, ...),
// and returns what it did.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%q: %v", cmd.Args, err)
	}
	return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

// statFields splits a line of /proc/PID/stat: fields[n] is field n as
// proc(5) numbers them from 1 (fields[0] is unused).
func statFields(line string) ([]string, error) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return nil, fmt.Errorf("not a stat line: %q", line)
	}
	f := []string{"", strings.TrimSpace(line[:open]), line[open+1 : end]}
	return append(f, strings.Fields(line[end+1:])...), nil
}

// statCheck checks fields of the output of `cat /proc/self/stat`: want
// maps a field number to its value ("pid" for the process's own id), or
// to "!" and a value it must not have.
func statCheck(want map[int]string) func(string) error {
	return func(out string) error {
		f, err := statFields(out)
		if err != nil {
			return err
		}
		for n, v := range want {
			if n >= len(f) {
				return fmt.Errorf("no field %d in %q", n, out)
			}
			value, not := strings.CutPrefix(v, "!")
			if value == "pid" {
				value = f[1]
			}
			if (f[n] == value) == not {
				return fmt.Errorf("field %d is %s, want %s (pid %s)", n, f[n], v, f[1])
			}
		}
		return nil
	}
}

// statSelf is the command that prints the program's own stat line.
var statSelf = []string{"--", "cat", "/proc/self/stat"}

// TestRunAttributes runs a child with each group of attribute options and
// checks what it got.
func TestRunAttributes(t *testing.T) {
	t.Parallel()
	host, _ := os.Hostname()
	var core syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &core); err != nil {
		t.Fatal(err)
	}
	coreHard := "unlimited"
	if core.Max != ^uint64(0) {
		coreHard = fmt.Sprint(core.Max)
	}
	tests := []struct {
		name   string
		args   []string // after "run"
		stdout string
		check  func(stdout string) error // instead of stdout
		root   bool                      // needs root (or the capabilities root has)
	}{
		// Signals.
		{name: "sigmask", args: []string{"--sigmask", "INT,TERM", "--", "grep", "SigBlk", "/proc/self/status"},
			stdout: "SigBlk:\t0000000000004002\n"},
		{name: "sigmask rt", args: []string{"--sigmask", "sigusr1,RTMIN+3", "--", "grep", "SigBlk", "/proc/self/status"},
			stdout: "SigBlk:\t0000001000000200\n"},
		{name: "sigmask-inherit", args: []string{"--sigmask", "USR1", "--", spawnBin, "run", "--sigmask-inherit", "--", "grep", "SigBlk", "/proc/self/status"},
			stdout: "SigBlk:\t0000000000000200\n"},
		{name: "mask not inherited by default", args: []string{"--sigmask", "USR1", "--", spawnBin, "run", "--", "grep", "SigBlk", "/proc/self/status"},
			stdout: "SigBlk:\t0000000000000000\n"},
		{name: "sigignore", args: []string{"--sigignore", "PIPE", "--sigignore", "HUP", "--", "grep", "SigIgn", "/proc/self/status"},
			stdout: "SigIgn:\t0000000000001001\n"},
		// spawn, a Go program, keeps SIGHUP and SIGINT ignored if it was
		// started so, and passes that on.
		{name: "ignored passed on", args: []string{"--", "sh", "-c", `trap "" HUP INT; exec "$0" run -- grep SigIgn /proc/self/status`, spawnBin},
			stdout: "SigIgn:\t0000000000000003\n"},
		{name: "sigdefault", args: []string{"--", "sh", "-c", `trap "" HUP INT; exec "$0" run --sigdefault HUP -- grep SigIgn /proc/self/status`, spawnBin},
			stdout: "SigIgn:\t0000000000000002\n"},
		{name: "sigreset-all", args: []string{"--", "sh", "-c", `trap "" HUP INT; exec "$0" run --sigreset-all --sigignore USR2 -- grep SigIgn /proc/self/status`, spawnBin},
			stdout: "SigIgn:\t0000000000000800\n"},

		// Session.
		{name: "setsid", args: append([]string{"--setsid"}, statSelf...),
			check: statCheck(map[int]string{5: "pid", 6: "pid", 7: "0"})},
		{name: "setpgid", args: append([]string{"--setpgid"}, statSelf...),
			check: statCheck(map[int]string{5: "pid", 6: "!pid"})},
		{name: "pgid 0", args: append([]string{"--pgid", "0"}, statSelf...),
			check: statCheck(map[int]string{5: "pid"})},

		// Credentials.
		{name: "uid gid", args: []string{"--uid", "65534", "--gid", "65534", "--", "sh", "-c", "id -u; id -g"},
			stdout: "65534\n65534\n", root: true},
		{name: "uid alone", args: []string{"--uid", "65534", "--", "grep", "-E", "^(Uid|Gid)", "/proc/self/status"},
			stdout: fmt.Sprintf("Uid:\t65534\t65534\t65534\t65534\nGid:\t%[1]d\t%[1]d\t%[1]d\t%[1]d\n", os.Getgid()), root: true},
		{name: "groups", args: []string{"--uid", "root", "--gid", "65534", "--groups", "65534,0", "--", "grep", "-E", "^(Gid|Groups)", "/proc/self/status"},
			stdout: "Gid:\t65534\t65534\t65534\t65534\nGroups:\t0 65534 \n", root: true},
		{name: "no groups", args: []string{"--uid", "65534", "--gid", "65534", "--groups", "", "--", "grep", "Groups", "/proc/self/status"},
			stdout: "Groups:\t \n", root: true},
		{name: "ambient-caps", args: []string{"--uid", "65534", "--ambient-caps", "net_bind_service,CAP_NET_RAW", "--", "grep", "-E", "^Cap(Amb|Eff)", "/proc/self/status"},
			stdout: "CapEff:\t0000000000002400\nCapAmb:\t0000000000002400\n", root: true},

		// Limits.
		{name: "umask", args: []string{"--umask", "077", "--", "sh", "-c", "umask"}, stdout: "0077\n"},
		{name: "rlimit", args: []string{"--rlimit", "nofile=100:200", "--", "sh", "-c", "ulimit -Sn; ulimit -Hn"},
			stdout: "100\n200\n"},
		{name: "rlimit soft only", args: []string{"--rlimit", "core=0", "--", "sh", "-c", "ulimit -Sc; ulimit -Hc"},
			stdout: "0\n" + coreHard + "\n"},
		{name: "nice", args: []string{"--nice", "5", "--", "nice"}, stdout: "5\n"},
		{name: "cpus", args: []string{"--cpus", "0", "--", "grep", "Cpus_allowed_list", "/proc/self/status"},
			stdout: "Cpus_allowed_list:\t0\n"},
		{name: "sched batch", args: append([]string{"--sched", "batch"}, statSelf...),
			check: statCheck(map[int]string{41: "3", 40: "0"})},
		{name: "sched fifo", args: append([]string{"--sched", "fifo:7"}, statSelf...),
			check: statCheck(map[int]string{41: "1", 40: "7"}), root: true},

		// Security.
		{name: "no-new-privs", args: []string{"--no-new-privs", "--", "grep", "NoNewPrivs", "/proc/self/status"},
			stdout: "NoNewPrivs:\t1\n"},
		{name: "seccomp filter installed", args: []string{"--no-new-privs", "--seccomp-deny", "mkdir", "--", "grep", "^Seccomp:", "/proc/self/status"},
			stdout: "Seccomp:\t2\n"},

		// Namespaces.
		{name: "clone-ns uts", args: []string{"--clone-ns", "uts", "--", "sh", "-c", "hostname spawn-uts-test && hostname"},
			stdout: "spawn-uts-test\n", root: true},
		{name: "unshare uts", args: []string{"--unshare", "uts", "--", "sh", "-c", "hostname spawn-uts-test2 && hostname"},
			stdout: "spawn-uts-test2\n", root: true},
		{name: "clone-ns user map-root", args: []string{"--clone-ns", "user", "--map-root", "--", "sh", "-c", "id -u; id -g; cat /proc/self/setgroups"},
			stdout: "0\n0\ndeny\n"},
		{name: "clone-ns pid", args: []string{"--clone-ns", "pid", "--", "sh", "-c", "echo $$"}, stdout: "1\n", root: true},

		// Process.
		{name: "root", args: []string{"--root", "/", "--dir", "/tmp", "--", "/bin/pwd"}, stdout: "/tmp\n", root: true},
		{name: "pdeathsig", args: []string{"--pdeathsig", "TERM", "--", "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.root && os.Geteuid() != 0 {
				t.Skip("needs root")
			}
			args := append([]string{"run"}, tt.args...)
			r := runSpawn(t, "", args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("spawn %q: %v", args, r)
			}
			if tt.check != nil {
				if err := tt.check(r.stdout); err != nil {
					t.Errorf("spawn %q: %v", args, err)
				}
			} else if r.stdout != tt.stdout {
				t.Errorf("spawn %q: stdout %q, want %q", args, r.stdout, tt.stdout)
			}
		})
	}
	t.Cleanup(func() {
		if h, _ := os.Hostname(); h != host {
			t.Errorf("hostname changed outside the child: %q, was %q", h, host)
		}
	})
}

func TestRunIOPrio(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ionice"); err != nil {
		t.Skip("no ionice")
	}
	for arg, want := range map[string]string{
		"best-effort":   "best-effort: prio 4\n",
		"best-effort:6": "best-effort: prio 6\n",
		"idle":          "idle\n",
	} {
		r := runSpawn(t, "", "run", "--ioprio", arg, "--", "ionice")
		if r.code != 0 || r.stdout != want {
			t.Errorf("--ioprio %s: %v; want %q", arg, r, want)
		}
	}
}

// TestRunDescriptors checks the default of env(1): descriptors spawn got
// from its caller reach the program, unless --close-fds.
func TestRunDescriptors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte("from fd 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// withFd3 runs spawn with in (or out) as its descriptor 3, as the
	// shell does for `spawn ... 3<in`.
	withFd3 := func(file string, flag int, args ...string) result {
		t.Helper()
		f, err := os.OpenFile(file, flag, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command(spawnBin, args...)
		cmd.ExtraFiles = []*os.File{f}
		return runCmd(t, cmd)
	}
	cat3 := []string{"--", "sh", "-c", "cat <&3"}

	for _, opts := range [][]string{{}, {"--inherit-fds"}, {"--close-fds", "--inherit-fds"}} {
		args := append(append([]string{"run"}, opts...), cat3...)
		if r := withFd3(in, os.O_RDONLY, args...); r.code != 0 || r.stdout != "from fd 3\n" {
			t.Errorf("spawn %q 3<in: %v; want the file", args, r)
		}
	}
	args := append([]string{"run", "--close-fds"}, cat3...)
	if r := withFd3(in, os.O_RDONLY, args...); r.code == 0 || r.stdout != "" {
		t.Errorf("spawn %q 3<in: %v; want a failure: fd 3 closed", args, r)
	}

	// --open on 5 leaves the inherited 3 alone.
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("from fd 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := withFd3(in, os.O_RDONLY, "run", "--open", "5:"+other, "--", "sh", "-c", "cat <&3; cat <&5")
	if r.code != 0 || r.stdout != "from fd 3\nfrom fd 5\n" {
		t.Errorf("--open 5:other 3<in: %v; want both files", r)
	}

	// --dup from an inherited descriptor: spawn --dup 1:3 ... 3>out.
	out := filepath.Join(dir, "out")
	r = withFd3(out, os.O_WRONLY|os.O_CREATE, "run", "--dup", "1:3", "--", "echo", "to fd 3")
	if b, _ := os.ReadFile(out); r.code != 0 || r.stdout != "" || string(b) != "to fd 3\n" {
		t.Errorf("--dup 1:3 3>out: %v, out %q; want the output in out", r, b)
	}
	r = withFd3(out, os.O_WRONLY, "run", "--close-fds", "--dup", "1:3", "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "--dup 1:3: descriptor 3 is not open") {
		t.Errorf("--close-fds --dup 1:3: %v; want exit 125 naming --dup 1:3", r)
	}

	// --close of an inherited descriptor, also after copying it.
	r = withFd3(in, os.O_RDONLY, "run", "--close", "3", "--", "sh", "-c", "cat <&3")
	if r.code == 0 || r.stdout != "" {
		t.Errorf("--close 3 3<in: %v; want fd 3 closed", r)
	}
	r = withFd3(in, os.O_RDONLY, "run", "--dup", "0:3", "--close", "3", "--", "sh", "-c", "cat; cat <&3")
	if r.code == 0 || r.stdout != "from fd 3\n" {
		t.Errorf("--dup 0:3 --close 3 3<in: %v; want the file on stdin and fd 3 closed", r)
	}
}

func TestRunOpen(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "log")
	for _, want := range []string{"hi\n", "hi\nhi\n"} {
		r := runSpawn(t, "", "run", "--open", "3:"+f+":wca", "--", "sh", "-c", "echo hi >&3")
		if b, _ := os.ReadFile(f); r.code != 0 || string(b) != want {
			t.Errorf("--open 3:%s:wca: %v, file %q; want %q", f, r, b, want)
		}
	}
	r := runSpawn(t, "", "run", "--open", "3:"+f+":wct", "--", "sh", "-c", "echo new >&3")
	if b, _ := os.ReadFile(f); r.code != 0 || string(b) != "new\n" {
		t.Errorf("--open 3:%s:wct: %v, file %q; want it truncated", f, r, b)
	}
	r = runSpawn(t, "", "run", "--open", "0:"+f, "--", "cat")
	if r.code != 0 || r.stdout != "new\n" {
		t.Errorf("--open 0:%s: %v; want the file on stdin", f, r)
	}
	r = runSpawn(t, "", "run", "--open", "4:"+f, "--dup", "0:4", "--close", "4", "--", "sh", "-c", "cat; cat <&4")
	if r.code == 0 || r.stdout != "new\n" {
		t.Errorf("--open 4 --dup 0:4 --close 4: %v; want the file on stdin and 4 closed", r)
	}
	r = runSpawn(t, "", "run", "--open", "3:/nonexistent/x:w", "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "/nonexistent/x") {
		t.Errorf("--open of a missing directory: %v; want exit 125 naming the path", r)
	}
}

func TestRunSeccompDeny(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "d")
	r := runSpawn(t, "", "run", "--seccomp-deny", "mkdir,mkdirat", "--no-new-privs", "--", "mkdir", dir)
	if r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("mkdir under --seccomp-deny mkdir,mkdirat: %v; want Operation not permitted", r)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s was created", dir)
	}
	// Other calls are allowed.
	if r := runSpawn(t, "", "run", "--seccomp-deny", "mkdir,mkdirat,83", "--no-new-privs", "--", "sh", "-c", "echo ok"); r.code != 0 || r.stdout != "ok\n" {
		t.Errorf("echo under --seccomp-deny: %v", r)
	}
	if os.Geteuid() == 0 {
		// As nobody, without no_new_privs, the filter needs a privilege
		// the uid change dropped.
		r := runSpawn(t, "", "run", "--uid", "65534", "--seccomp-deny", "mkdir", "--", "true")
		if r.code != 125 || !strings.Contains(r.stderr, "seccomp") || !strings.Contains(r.stderr, "--no-new-privs") {
			t.Errorf("--seccomp-deny as nobody without --no-new-privs: %v; want exit 125 suggesting --no-new-privs", r)
		}
	}
}

func TestRunScriptFallback(t *testing.T) {
	t.Parallel()
	prog := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(prog, []byte("echo ran as a script\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := runSpawn(t, "", "run", "--script-fallback", "--", prog); r.code != 0 || r.stdout != "ran as a script\n" {
		t.Errorf("--script-fallback: %v", r)
	}
	if r := runSpawn(t, "", "run", "--", prog); r.code != 126 || !strings.Contains(r.stderr, "--script-fallback") {
		t.Errorf("without --script-fallback: %v; want exit 126 suggesting --script-fallback", r)
	}
}

func TestRunPdeathsig(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(spawnBin, "run", "--pdeathsig", "KILL", "--", "sh", "-c", "echo $$; exec sleep 30")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	pid := strings.TrimSpace(line)
	cmd.Process.Kill() // spawn dies: the program gets SIGKILL
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		f, _ := statFields(string(b))
		if err != nil || len(f) > 3 && f[3] == "Z" {
			return // gone, or a zombie waiting for init
		}
		if time.Now().After(deadline) {
			syscall.Kill(atoi(t, pid), syscall.SIGKILL)
			t.Fatalf("process %s still alive 10s after spawn died: %s", pid, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

// openPty returns the master of a new pseudo-terminal and its slave's
// path, or skips the test.
func openPty(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skip("no pseudo-terminals:", err)
	}
	t.Cleanup(func() { m.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skip("unlockpt:", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skip("ptsname:", e)
	}
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

func TestRunTerminal(t *testing.T) {
	t.Parallel()
	_, slave := openPty(t)

	// --ctty: a new session with the terminal as its controlling one.
	r := runSpawn(t, "", append([]string{"run", "--setsid", "--ctty", slave}, statSelf...)...)
	if r.code != 0 {
		t.Fatalf("--setsid --ctty %s: %v", slave, r)
	}
	if err := statCheck(map[int]string{6: "pid", 7: "!0"})(r.stdout); err != nil {
		t.Errorf("--setsid --ctty %s: %v", slave, err)
	}
	if f, _ := statFields(r.stdout); len(f) > 7 && f[7] == "0" {
		t.Errorf("--setsid --ctty %s: no controlling terminal: %s", slave, r.stdout)
	}
	r = runSpawn(t, "", "run", "--ctty", slave, "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "--ctty needs --setsid") {
		t.Errorf("--ctty without --setsid: %v", r)
	}
	r = runSpawn(t, "", "run", "--setsid", "--ctty", "/nonexistent-tty", "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "--ctty: open /nonexistent-tty") {
		t.Errorf("--ctty of a missing file: %v", r)
	}

	// spawnOnTerminal runs spawn as the leader of a session whose
	// controlling terminal is its stdin, as a login shell's job.
	spawnOnTerminal := func(args ...string) result {
		t.Helper()
		tty, err := os.OpenFile(slave, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer tty.Close()
		cmd := exec.Command(spawnBin, args...)
		cmd.Stdin = tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		return runCmd(t, cmd)
	}
	// --foreground: the program's new group becomes the foreground one.
	r = spawnOnTerminal(append([]string{"run", "--foreground"}, statSelf...)...)
	if err := statCheck(map[int]string{5: "pid", 6: "!pid", 8: "pid"})(r.stdout); r.code != 0 || err != nil {
		t.Errorf("--foreground: %v: %v", r, err)
	}
	// --noctty: no controlling terminal any more.
	r = spawnOnTerminal(append([]string{"run", "--noctty"}, statSelf...)...)
	if err := statCheck(map[int]string{7: "0"})(r.stdout); r.code != 0 || err != nil {
		t.Errorf("--noctty: %v: %v", r, err)
	}
	// Without either, the program shares spawn's terminal and group.
	r = spawnOnTerminal(append([]string{"run"}, statSelf...)...)
	if err := statCheck(map[int]string{5: "!pid", 7: "!0"})(r.stdout); r.code != 0 || err != nil {
		t.Errorf("no session options: %v: %v", r, err)
	}

	// --setsid --ctty --foreground: the new session's only group takes
	// the terminal.
	r = runSpawn(t, "", append([]string{"run", "--setsid", "--ctty", slave, "--foreground"}, statSelf...)...)
	if err := statCheck(map[int]string{5: "pid", 6: "pid", 8: "pid"})(r.stdout); r.code != 0 || err != nil {
		t.Errorf("--setsid --ctty --foreground: %v: %v", r, err)
	}
}

func TestRunPgid(t *testing.T) {
	t.Parallel()
	// A process group of the test's session for the program to join.
	leader := exec.Command("sleep", "30")
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	defer leader.Wait()
	defer leader.Process.Kill()
	pgid := fmt.Sprint(leader.Process.Pid)
	r := runSpawn(t, "", append([]string{"run", "--pgid", pgid}, statSelf...)...)
	if err := statCheck(map[int]string{5: pgid})(r.stdout); r.code != 0 || err != nil {
		t.Errorf("--pgid %s: %v: %v", pgid, r, err)
	}
}

func TestRunSetns(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	// A process in a UTS namespace of its own, named spawn-setns-test.
	cmd := exec.Command(spawnBin, "run", "--clone-ns", "uts", "--", "sh", "-c", "hostname spawn-setns-test; echo $$; exec sleep 30")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Signal(syscall.SIGTERM) // forwarded to sleep
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	ns := "/proc/" + strings.TrimSpace(line) + "/ns/uts"
	if r := runSpawn(t, "", "run", "--setns", ns, "--", "hostname"); r.code != 0 || r.stdout != "spawn-setns-test\n" {
		t.Errorf("--setns %s: %v; want spawn-setns-test", ns, r)
	}
	r := runSpawn(t, "", "run", "--setns", "/proc/nonexistent/ns/uts", "--", "hostname")
	if r.code != 125 || !strings.Contains(r.stderr, "--setns: open /proc/nonexistent/ns/uts") {
		t.Errorf("--setns of a missing file: %v", r)
	}
}

func TestRunCgroup(t *testing.T) {
	t.Parallel()
	r := runSpawn(t, "", "run", "--cgroup", "/nonexistent", "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, `"/nonexistent"`) {
		t.Errorf("--cgroup /nonexistent: %v; want exit 125 naming the path", r)
	}
	root := cgroup2Root()
	if root == "" || os.Geteuid() != 0 {
		t.Skip("no writable cgroup v2 hierarchy")
	}
	dir := filepath.Join(root, fmt.Sprintf("spawn-cli-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skip("cannot create a cgroup:", err)
	}
	defer os.Remove(dir)
	r = runSpawn(t, "", "run", "--cgroup", dir, "--", "cat", "/proc/self/cgroup")
	if strings.Contains(os.Getenv("SPAWNDEBUG"), "clone3=0") {
		if r.code != 125 || !strings.Contains(r.stderr, "clone3") {
			t.Errorf("--cgroup without clone3: %v; want exit 125 saying it needs clone3", r)
		}
		return
	}
	if r.code != 0 || !strings.Contains(r.stdout, "0::/"+filepath.Base(dir)+"\n") {
		t.Errorf("--cgroup %s: %v", dir, r)
	}
}

// cgroup2Root returns the mount point of the cgroup v2 hierarchy, or "".
func cgroup2Root() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		for i, x := range f {
			if x == "-" && i+1 < len(f) && f[i+1] == "cgroup2" && len(f) > 4 {
				return f[4]
			}
		}
	}
	return ""
}

// TestExplainAttributes checks that explain lists ten and more attributes
// in the child's order, whatever the order of the options.
func TestExplainAttributes(t *testing.T) {
	t.Parallel()
	x := filepath.Join(t.TempDir(), "x")
	r := runSpawn(t, "", "explain",
		"--seccomp-deny", "mkdir", "--no-new-privs", "--sigmask", "INT", "--dir", "/tmp",
		"--uid", "65534", "--gid", "65534", "--groups", "", "--umask", "077",
		"--rlimit", "nofile=100:200", "--nice", "5", "--root", "/", "--setsid",
		"--sigignore", "PIPE", "--open", "3:"+x+":wc", "--pdeathsig", "TERM",
		"--", "/bin/true")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("explain: %v", r)
	}
	steps := []string{
		"set signal to ignored SIGPIPE", "setsid", `chroot "/"`, "setrlimit NOFILE 100:200",
		"setpriority nice 5", "umask 077", "setgroups []", "setresgid 65534", "setresuid 65534",
		`chdir "/tmp"`, "set parent-death signal SIGTERM", `open "` + x + `"`, "no_new_privs",
		"set signal mask {INT}", "seccomp", `execve "/bin/true"`,
	}
	at := 0
	for _, s := range steps {
		i := strings.Index(r.stdout[at:], s)
		if i < 0 {
			t.Fatalf("explain output lacks %q after position %d:\n%s", s, at, r.stdout)
		}
		at += i + len(s)
	}
	// Nothing ran: the file to open was not created.
	if _, err := os.Stat(x); err == nil {
		t.Errorf("explain created %s", x)
	}
}

// TestUsageAttributes checks that bad values are usage errors naming the
// option and the value.
func TestUsageAttributes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		problem string
	}{
		{[]string{"--rlimit", "nofles=1"}, `--rlimit: unknown resource "nofles" (try: as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)`},
		{[]string{"--rlimit", "nofile=x"}, `--rlimit: invalid nofile limit "x"`},
		{[]string{"--rlimit", "nofile=10:5"}, `--rlimit: nofile soft limit 10 is above the hard limit 5`},
		{[]string{"--rlimit", "nofile"}, `--rlimit: "nofile": expected`},
		{[]string{"--sigmask", "INT,BOGUS"}, `--sigmask: unknown signal "BOGUS"`},
		{[]string{"--sigmask", ""}, `--sigmask: empty signal set`},
		{[]string{"--sigignore", "KILL"}, `--sigignore: "KILL": KILL and STOP cannot be ignored`},
		{[]string{"--sigdefault", "RTMIN+40"}, `--sigdefault: signal RTMIN+40 out of range`},
		{[]string{"--pdeathsig", "INT,TERM"}, `--pdeathsig: "INT,TERM": expected one signal`},
		{[]string{"--pgid", "-1"}, `--pgid: invalid process group "-1"`},
		{[]string{"--uid", "no-such-user-xyz"}, `--uid: unknown user "no-such-user-xyz"`},
		{[]string{"--gid", "no-such-group-xyz"}, `--gid: unknown group "no-such-group-xyz"`},
		{[]string{"--groups", "0,no-such-group-xyz"}, `--groups: unknown group "no-such-group-xyz"`},
		{[]string{"--ambient-caps", "net_bind_servic"}, `--ambient-caps: unknown capability "net_bind_servic"`},
		{[]string{"--umask", "888"}, `--umask: invalid mask "888"`},
		{[]string{"--umask", "1777"}, `--umask: invalid mask "1777"`},
		{[]string{"--nice", "20"}, `--nice: invalid nice value "20"`},
		{[]string{"--cpus", "3-1"}, `--cpus: invalid CPU list "3-1"`},
		{[]string{"--cpus", ""}, `--cpus: empty CPU list`},
		{[]string{"--sched", "fast"}, `--sched: unknown policy "fast" (try: other, batch, idle, fifo, rr)`},
		{[]string{"--sched", "fifo"}, `--sched: "fifo": fifo needs a priority`},
		{[]string{"--sched", "rr:0"}, `--sched: invalid rr priority "0"`},
		{[]string{"--sched", "batch:3"}, `--sched: "batch:3": batch takes no priority`},
		{[]string{"--ioprio", "best-effort:8"}, `--ioprio: invalid best-effort level "8"`},
		{[]string{"--ioprio", "fast"}, `--ioprio: unknown class "fast"`},
		{[]string{"--ioprio", "idle:1"}, `--ioprio: "idle:1": idle takes no level`},
		{[]string{"--seccomp-deny", "mkdri"}, `--seccomp-deny: unknown system call "mkdri"`},
		{[]string{"--seccomp-deny", "execve"}, `--seccomp-deny: execve is how spawn starts the program`},
		{[]string{"--open", "3"}, `--open: "3": expected <fd>:<path>[:<flags>]`},
		{[]string{"--open", "x:/tmp/f"}, `--open: invalid descriptor "x"`},
		{[]string{"--open", "3:/tmp/f:wz"}, `--open: "3:/tmp/f:wz": unknown flag 'z'`},
		{[]string{"--open", "3:/tmp/f:rt"}, `--open: "3:/tmp/f:rt": t (truncate) needs w`},
		{[]string{"--open", "3:"}, `--open: "3:": empty path`},
		{[]string{"--dup", "1"}, `--dup: "1": expected <fd>:<from>`},
		{[]string{"--dup", "1:9"}, `--dup 1:9: descriptor 9 is not open in the program`},
		{[]string{"--close", "-1"}, `--close: invalid descriptor "-1"`},
		{[]string{"--clone-ns", "user,bogus"}, `--clone-ns: unknown namespace "bogus" (try: user, mnt, pid, net, uts, ipc, cgroup, time)`},
		{[]string{"--unshare", "mount"}, `--unshare: unknown namespace "mount"`},
		{[]string{"--map-root"}, `--map-root needs --clone-ns user`},
		{[]string{"--setsid", "--setpgid"}, `--setpgid and --pgid cannot be used with --setsid`},
		{[]string{"--setsid", "--pgid", "5"}, `--setpgid and --pgid cannot be used with --setsid`},
		{[]string{"--setsid", "--foreground"}, `--foreground with --setsid needs --ctty`},
		{[]string{"--root", ""}, `--root: empty directory`},
		{[]string{"--cgroup", ""}, `--cgroup: empty path`},
		{[]string{"--no-new-privs=yes"}, `option '--no-new-privs' doesn't allow an argument`},
		{[]string{"--rlimit"}, `option '--rlimit' requires an argument`},
	}
	for _, tt := range tests {
		for _, command := range []string{"run", "explain"} {
			args := append(append([]string{command}, tt.args...), "--", "/bin/true")
			if tt.problem == "option '--rlimit' requires an argument" {
				args = args[:len(args)-2]
			}
			r := runSpawn(t, "", args...)
			want := "Try 'spawn " + command + " --help' for more information.\n"
			if r.code != 125 || r.stdout != "" || !strings.HasPrefix(r.stderr, "spawn: "+tt.problem) || !strings.HasSuffix(r.stderr, want) {
				t.Errorf("spawn %q: %v; want exit 125, %q then %q on stderr", args, r, "spawn: "+tt.problem, want)
			}
		}
	}
}

func TestSigstate(t *testing.T) {
	t.Parallel()
	// start starts a command, killed at the end of the test.
	start := func(args ...string) *exec.Cmd {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		return cmd
	}
	// waitFor waits until sigstate of pid says all of want.
	waitFor := func(pid int, want ...string) {
		t.Helper()
		var r result
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			r = runSpawn(t, "", "sigstate", fmt.Sprint(pid))
			if !slices.ContainsFunc(want, func(s string) bool { return !strings.Contains(r.stdout, s) }) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("sigstate %d never said %q: %v", pid, want, r)
	}

	// SIGINT ignored, as a background job of a non-interactive shell has it.
	sh := start("sh", "-c", `trap "" INT; exec sleep 30`)
	waitFor(sh.Process.Pid, "(sleep)", "SigIgn  ignored                  INT")
	r := runSpawn(t, "", "sigstate", fmt.Sprint(sh.Process.Pid))
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("sigstate: %v", r)
	}
	for _, s := range []string{"(sleep), 1 thread", "SigIgn  ignored ", "SigBlk  blocked                  none\n",
		"SIGINT is ignored: Ctrl-C will not stop this process; its parent probably ignored it (nohup, a background job of a non-interactive shell)\n"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("sigstate of a process ignoring SIGINT lacks %q:\n%s", s, r.stdout)
		}
	}

	// SIGINT blocked, inherited through spawn's --sigmask.
	blocked := start(spawnBin, "run", "--sigmask", "INT,TERM", "--", "sleep", "30")
	// The child of spawn run is listed among the children of one of its
	// threads (spawn starts children from a thread of its own).
	var child string
	for deadline := time.Now().Add(10 * time.Second); child == "" && time.Now().Before(deadline); {
		files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", blocked.Process.Pid))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if pids := strings.Fields(string(b)); len(pids) > 0 {
				// Once it runs the program: before, it blocks all.
				if comm, _ := os.ReadFile("/proc/" + pids[0] + "/comm"); string(comm) == "sleep\n" {
					child = pids[0]
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if child == "" {
		t.Fatal("cannot find the child of spawn run")
	}
	r = runSpawn(t, "", "sigstate", child)
	if r.code != 0 || !strings.Contains(r.stdout, "SigBlk  blocked                  INT,TERM\n") || !strings.Contains(r.stdout, "SIGINT is blocked") {
		t.Errorf("sigstate of a process blocking SIGINT: %v", r)
	}

	// spawn itself catches SIGINT in Go, and has several threads.
	r = runSpawn(t, "", "sigstate", "self")
	if r.code != 0 || !strings.Contains(r.stdout, "(spawn)") || !strings.Contains(r.stdout, "SigCgt  caught (a handler runs)  all but ") {
		t.Errorf("sigstate self: %v", r)
	}

	r = runSpawn(t, "", "sigstate", "999999999")
	if r.code != 1 || r.stdout != "" || r.stderr != "spawn: sigstate: no process 999999999\n" {
		t.Errorf("sigstate of no process: %v; want exit 1, no process", r)
	}
	for _, args := range [][]string{{"sigstate"}, {"sigstate", "abc"}, {"sigstate", "0"}, {"sigstate", "1", "2"}} {
		if r := runSpawn(t, "", args...); r.code != 125 || !strings.Contains(r.stderr, "Try 'spawn sigstate --help'") {
			t.Errorf("spawn %q: %v; want a usage error", args, r)
		}
	}
}

// TestHelpLayout checks that the help of each command fits 80 columns
// and shows every heading.
func TestHelpLayout(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		r := runSpawn(t, "", c.name, "--help")
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%s --help: %v", c.name, r)
			continue
		}
		for line := range strings.Lines(r.stdout) {
			if n := len([]rune(strings.TrimSuffix(line, "\n"))); n > 80 {
				t.Errorf("%s --help: line of %d columns: %q", c.name, n, line)
			}
		}
		for _, g := range c.options {
			if first, _, _ := strings.Cut(g.heading, "\n"); !strings.Contains(r.stdout, "\n"+first) {
				t.Errorf("%s --help lacks heading %q", c.name, first)
			}
		}
	}
	r := runSpawn(t, "", "run", "--help")
	for _, s := range []string{"Signals", "Session:", "Credentials", "Limits:", "Security:", "Namespaces", "Descriptors:",
		"--close-fds", "env(1)", "--rlimit <res>=<limit>"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("run --help lacks %q", s)
		}
	}
	r = runSpawn(t, "", "--help")
	if !strings.Contains(r.stdout, " sigstate ") {
		t.Errorf("spawn --help lacks sigstate:\n%s", r.stdout)
	}
}
