package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
