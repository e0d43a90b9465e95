package spawn_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/probe"
)

func TestArgvEnvDir(t *testing.T) {
	dir := t.TempDir()
	c, out := probeCmd(t, "A=first", "B=2", "A=second")
	c.Args = []string{"custom-argv0", "x", "", "with space", "ünïcode"}
	c.Dir = dir
	r := runProbe(t, c, out)
	if !slices.Equal(r.Argv, c.Args) {
		t.Errorf("argv %q, want %q", r.Argv, c.Args)
	}
	wantEnv := []string{probe.EnvOut + "=" + out, "B=2", "A=second"}
	if !slices.Equal(r.Env, wantEnv) {
		t.Errorf("env %q, want %q (duplicate keys: the last wins)", r.Env, wantEnv)
	}
	if r.Cwd != dir {
		t.Errorf("cwd %q, want %q", r.Cwd, dir)
	}
	if r.Exe != c.Path {
		t.Errorf("exe %q, want %q", r.Exe, c.Path)
	}
}

// TestEnvNilInheritsWithPWD: a nil Env is the parent's environment, with
// PWD set to Dir.
func TestEnvNilInheritsWithPWD(t *testing.T) {
	t.Setenv("SPAWN_TEST_MARKER", "inherited")
	dir := t.TempDir()
	c := spawn.Command("/bin/sh", "-c", `printf "%s|%s" "$SPAWN_TEST_MARKER" "$PWD"`)
	c.Dir = dir
	out, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "inherited|" + dir; string(out) != want {
		t.Errorf("child saw %q, want %q", out, want)
	}
	if env := c.Environ(); !slices.Contains(env, "PWD="+dir) {
		t.Errorf("Environ() lacks PWD=%s", dir)
	}
}

func TestExitStatus(t *testing.T) {
	err := spawn.Command("sh", "-c", "exit 3").Run()
	var ee *spawn.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !ee.Exited() || ee.Signaled() {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if err.Error() != "exit status 3" {
		t.Errorf("message %q", err)
	}

	err = spawn.Command("sh", "-c", "kill -TERM $$").Run()
	if !errors.As(err, &ee) || !ee.Signaled() || ee.Signal() != syscall.SIGTERM || ee.ExitCode() != -1 {
		t.Fatalf("err = %v, want killed by SIGTERM", err)
	}
	if err.Error() != "signal: terminated" {
		t.Errorf("message %q", err)
	}
	c := spawn.Command("true")
	if err := c.Run(); err != nil || !c.ProcessState.Success() || c.ProcessState.Pid() != c.Process.Pid {
		t.Errorf("true: %v, state %v", err, c.ProcessState)
	}
}

func TestOutput(t *testing.T) {
	out, err := spawn.Command("sh", "-c", "echo out; echo err >&2; exit 1").Output()
	var ee *spawn.ExitError
	if string(out) != "out\n" || !errors.As(err, &ee) || string(ee.Stderr) != "err\n" {
		t.Errorf("Output = %q, %v (stderr %q)", out, err, ee.Stderr)
	}
	both, err := spawn.Command("sh", "-c", "echo out; echo err >&2").CombinedOutput()
	if err != nil || string(both) != "out\nerr\n" {
		t.Errorf("CombinedOutput = %q, %v", both, err)
	}
	c := spawn.Command("true")
	c.Stdout = io.Discard
	if _, err := c.Output(); err == nil {
		t.Errorf("Output with Stdout set succeeded")
	}
}

func TestPipes(t *testing.T) {
	c := spawn.Command("tr", "a-z", "A-Z")
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "hello\n")
	in.Close()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "HELLO\n" {
		t.Errorf("read %q, %v", line, err)
	}
	if err := c.Wait(); err != nil {
		t.Error(err)
	}
	if _, err := c.StdinPipe(); err == nil {
		t.Errorf("StdinPipe after Start succeeded")
	}
}

func TestStartTwice(t *testing.T) {
	c := spawn.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	if err := c.Wait(); err == nil {
		t.Error("second Wait succeeded")
	}
}

// TestPathFromEnv: a bare name is looked up in the PATH of Env when Env
// sets one.
func TestPathFromEnv(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "only-here", "#!/bin/sh\necho found me\n", 0o755)
	c := spawn.Command("only-here")
	if !errors.Is(c.Err, spawn.ErrNotFound) {
		t.Fatalf("Command with the parent's PATH: Err = %v, want ErrNotFound", c.Err)
	}
	c.Env = []string{"PATH=" + dir}
	out, err := c.Output()
	if err != nil || string(out) != "found me\n" {
		t.Fatalf("Output = %q, %v", out, err)
	}
	if c.Path != filepath.Join(dir, "only-here") {
		t.Errorf("Path = %q", c.Path)
	}
}

// TestErrDot: as with os/exec, a program found only through "." in PATH is
// refused unless the caller clears Cmd.Err.
func TestErrDot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "dotprog", "#!/bin/sh\necho dot\n", 0o755)
	t.Chdir(dir)
	t.Setenv("PATH", ".:/usr/bin:/bin")
	c := spawn.Command("dotprog")
	if !errors.Is(c.Err, spawn.ErrDot) {
		t.Fatalf("Err = %v, want ErrDot", c.Err)
	}
	if err := c.Run(); !errors.Is(err, spawn.ErrDot) {
		t.Fatalf("Run = %v, want ErrDot", err)
	}
	c = spawn.Command("dotprog")
	c.Err = nil
	if out, err := c.Output(); err != nil || string(out) != "dot\n" {
		t.Errorf("with Err cleared: %q, %v", out, err)
	}
}

func TestString(t *testing.T) {
	c := spawn.Command("sh", "-c", "exit 0")
	if s := c.String(); s != "/usr/bin/sh -c exit 0" && s != "/bin/sh -c exit 0" {
		t.Errorf("String() = %q", s)
	}
}

// TestWaitDelay: a grandchild holding the output pipe open does not hold
// Wait past WaitDelay.
func TestWaitDelay(t *testing.T) {
	var out strings.Builder
	c := spawn.Command("sh", "-c", "echo started; sleep 30 & exit 0")
	c.Stdout = &out
	c.WaitDelay = 200 * time.Millisecond
	start := time.Now()
	err := c.Run()
	if !errors.Is(err, spawn.ErrWaitDelay) {
		t.Errorf("Run = %v, want ErrWaitDelay", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Run took %v", d)
	}
	if out.String() != "started\n" {
		t.Errorf("output %q", out.String())
	}
}

func TestCommandContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := spawn.CommandContext(ctx, "sleep", "30")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	// As with os/exec, a command that the cancellation made fail reports
	// its own status.
	err := c.Wait()
	var ee *spawn.ExitError
	if !errors.As(err, &ee) || ee.Signal() != syscall.SIGKILL {
		t.Errorf("Wait = %v, want killed by SIGKILL", err)
	}

	// A custom Cancel: SIGTERM, which the child handles by exiting 7.
	ctx, cancel = context.WithCancel(context.Background())
	c = spawn.CommandContext(ctx, "sh", "-c", `trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done`)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	out, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(out).ReadString('\n')
	cancel()
	err = c.Wait()
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("Wait = %v, want exit status 7", err)
	}

	// A command that exits successfully despite the cancellation: Wait
	// reports the context's error.
	ctx, cancel = context.WithCancel(context.Background())
	c = spawn.CommandContext(ctx, "sh", "-c", `trap "exit 0" TERM; echo ready; while :; do sleep 0.05; done`)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	out, _ = c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(out).ReadString('\n')
	cancel()
	if err := c.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}

	// An already-done context: nothing starts.
	c = spawn.CommandContext(ctx, "true")
	if err := c.Start(); !errors.Is(err, context.Canceled) || c.Process != nil {
		t.Errorf("Start with a done context = %v", err)
	}
}

func TestProcessSignalAndRelease(t *testing.T) {
	c := spawn.Command("sleep", "30")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	var ee *spawn.ExitError
	if !errors.As(err, &ee) || ee.Signal() != syscall.SIGTERM {
		t.Errorf("Wait = %v, want SIGTERM", err)
	}
	if err := c.Process.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after Wait = %v, want os.ErrProcessDone", err)
	}
	if _, err := c.Process.Wait(); err == nil {
		t.Errorf("second Process.Wait succeeded")
	}

	c = spawn.Command("sleep", "30")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pid := c.Process.Pid
	fds := len(openFds(t))
	if err := c.Process.Release(); err != nil {
		t.Fatal(err)
	}
	if n := len(openFds(t)); n != fds-1 {
		t.Errorf("Release closed %d descriptors, want the pidfd", fds-n)
	}
	if err := c.Process.Kill(); err == nil {
		t.Errorf("Kill after Release succeeded")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	var ws syscall.WaitStatus
	syscall.Wait4(pid, &ws, 0, nil)
}

func TestProcessStateUsage(t *testing.T) {
	// Touch 64 MiB and burn some CPU.
	c := spawn.Command("sh", "-c", `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; head -c 67108864 /dev/zero | tail -c 1 >/dev/null`)
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	st := c.ProcessState
	if st.UserTime() <= 0 {
		t.Errorf("user time %v", st.UserTime())
	}
	if st.MaxRSS() < 1<<20 {
		t.Errorf("max RSS %d bytes", st.MaxRSS())
	}
	if _, ok := st.SysUsage().(*syscall.Rusage); !ok {
		t.Errorf("SysUsage is %T", st.SysUsage())
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); !ok || ws.ExitStatus() != 0 {
		t.Errorf("Sys is %v", st.Sys())
	}
}

func TestCoreDumpStatus(t *testing.T) {
	// Whether a core is written depends on the system's core_pattern; the
	// status must say what the kernel reported either way.
	c := spawn.Command("sh", "-c", "ulimit -c unlimited 2>/dev/null; kill -QUIT $$")
	c.Dir = t.TempDir()
	err := c.Run()
	var ee *spawn.ExitError
	if !errors.As(err, &ee) || ee.Signal() != syscall.SIGQUIT {
		t.Fatalf("Run = %v, want SIGQUIT", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if ee.CoreDump() != ws.CoreDump() {
		t.Errorf("CoreDump %v, wait status says %v", ee.CoreDump(), ws.CoreDump())
	}
	if ee.CoreDump() && !strings.HasSuffix(ee.String(), "(core dumped)") {
		t.Errorf("String %q lacks (core dumped)", ee)
	}
	t.Logf("SIGQUIT: %v", ee)
}
