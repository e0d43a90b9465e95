package spawn_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/engine"
	"github.com/gospawn/spawn/internal/probe"
)

// TestNofileAsOsExec: the Go runtime raises its own soft RLIMIT_NOFILE;
// like os/exec, spawn gives children the original one back.
func TestNofileAsOsExec(t *testing.T) {
	h := exec.Command("sh", "-c", `ulimit -Sn 512 && exec "$0" -test.run='^$'`, os.Args[0])
	h.Env = append(os.Environ(), helperEnv+"=nofile", "PROBE="+probe.ForTest(t), "OUT="+t.TempDir()+"/r.json")
	out, err := h.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "spawn 512 os/exec 512" {
		t.Errorf("children's soft NOFILE: %s, want 512 for both", got)
	}
}

func nofileHelper() {
	c := spawn.Command(os.Getenv("PROBE"))
	c.Env = []string{probe.EnvOut + "=" + os.Getenv("OUT")}
	if err := c.Run(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	b, _ := os.ReadFile(os.Getenv("OUT"))
	r, _ := probe.Parse(b)
	o := exec.Command(os.Getenv("PROBE"))
	o.Env = c.Env
	o.Run()
	b, _ = os.ReadFile(os.Getenv("OUT"))
	ro, _ := probe.Parse(b)
	fmt.Printf("spawn %d os/exec %d\n", r.Rlimits["nofile"].Cur, ro.Rlimits["nofile"].Cur)
	os.Exit(0)
}

// TestInheritedMalformedEnv: with Env nil, the parent's environment goes
// through as it is, odd entries included, as with os/exec.
func TestInheritedMalformedEnv(t *testing.T) {
	h := exec.Command(os.Args[0], "-test.run=^$")
	h.Env = []string{"WEIRD", "=x", helperEnv + "=malformed-env", "PATH=/usr/bin:/bin"}
	out, err := h.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("helper: %v\n%s", err, out)
	}
}

func malformedEnvHelper() {
	if err := spawn.Command("true").Run(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ok")
	os.Exit(0)
}

// TestConcurrentCmdWait: two Waits at once do not hang; one of them
// reports the misuse.
func TestConcurrentCmdWait(t *testing.T) {
	var out strings.Builder
	c := spawn.Command("sh", "-c", "sleep 0.2; echo hi")
	c.Stdout = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- c.Wait() }()
	}
	var got []error
	for range 2 {
		select {
		case err := <-errs:
			got = append(got, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("Wait hung; got %v so far", got)
		}
	}
	if (got[0] == nil) == (got[1] == nil) {
		t.Errorf("Wait results %v: want one success and one error", got)
	}
	if out.String() != "hi\n" {
		t.Errorf("output %q", out.String())
	}
}

// TestReleaseDuringWait is refused instead of leaving a zombie.
func TestReleaseDuringWait(t *testing.T) {
	c := spawn.Command("sleep", "0.3")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	time.Sleep(50 * time.Millisecond)
	if err := c.Process.Release(); err == nil {
		t.Errorf("Release during Wait succeeded")
	}
	if err := <-done; err != nil {
		t.Errorf("Wait = %v", err)
	}
	if ch := children(t); ch != "" {
		t.Errorf("children left: %s", ch)
	}
}

// TestPathSkipsFilesWeCannotExecute: a file whose mode has execute bits,
// but not for us, is passed over, as exec.LookPath does.
func TestPathSkipsFilesWeCannotExecute(t *testing.T) {
	needRoot(t)
	base, _ := os.MkdirTemp("", "spawn-path-")
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	for _, d := range []string{"a", "b"} {
		os.Mkdir(filepath.Join(base, d), 0o755)
	}
	os.WriteFile(filepath.Join(base, "a", "tool"), []byte("#!/bin/sh\necho from-a\n"), 0o700)
	os.WriteFile(filepath.Join(base, "b", "tool"), []byte("#!/bin/sh\necho from-b\n"), 0o755)
	h := exec.Command(binaryForOthers(t), "-test.run=^$")
	h.Env = append(os.Environ(), helperEnv+"=lookpath", "PATH="+base+"/a:"+base+"/b:/usr/bin:/bin")
	h.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, _ := h.CombinedOutput()
	if strings.TrimSpace(string(out)) != "from-b" {
		t.Errorf("as nobody: %q, want from-b", out)
	}
}

func lookpathHelper() {
	out, err := spawn.Command("tool").Output()
	if err != nil {
		fmt.Println(err)
	}
	fmt.Print(string(out))
	os.Exit(0)
}

func TestArgumentsTooLarge(t *testing.T) {
	big := strings.Repeat("x", 100000)
	args := make([]string, 700) // 70 MB
	for i := range args {
		args[i] = big
	}
	err := spawn.Command("/bin/true", args...).Run()
	var se *spawn.Error
	if !errors.As(err, &se) || se.Step != "execve" || !errors.Is(err, syscall.E2BIG) {
		t.Errorf("err = %v, want an execve E2BIG *Error", err)
	}
}

// TestNoLeakWithoutCloseRange: on a kernel without close_range(CLOEXEC),
// a descriptor another goroutine opens without O_CLOEXEC under
// syscall.ForkLock (marking it close-on-exec right after) never reaches a
// child.
func TestNoLeakWithoutCloseRange(t *testing.T) {
	defer engine.ForceCloseRange(false)()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			syscall.ForkLock.RLock()
			fd, err := syscall.Open("/etc/hostname", syscall.O_RDONLY, 0)
			if err == nil {
				syscall.CloseOnExec(fd)
			}
			syscall.ForkLock.RUnlock()
			if err == nil {
				syscall.Close(fd)
			}
		}
	}()
	leaks := 0
	for range 300 {
		out, err := spawn.Command("ls", "-l", "/proc/self/fd").Output()
		if err != nil {
			t.Fatal(err)
		}
		leaks += strings.Count(string(out), "/etc/hostname")
	}
	close(stop)
	wg.Wait()
	if leaks > 0 {
		t.Errorf("%d descriptors leaked into 300 children", leaks)
	}
}
