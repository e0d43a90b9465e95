package spawn_test

import (
	"errors"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/probe"
)

// TestWaitersCostNoThreads: 1,000 goroutines waiting on 1,000 sleeping
// children park in the netpoller instead of holding an OS thread each.
func TestWaitersCostNoThreads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 1,000 processes; skipped with -short")
	}
	const n = 1000
	before := threads(t)
	cmds := make([]*spawn.Cmd, n)
	for i := range cmds {
		cmds[i] = spawn.Command("sleep", "60")
		if err := cmds[i].Start(); err != nil {
			for _, c := range cmds[:i] {
				c.Process.Kill()
				c.Wait()
			}
			t.Fatalf("start %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Wait()
		}()
	}
	// Let every waiter reach its wait, then count.
	time.Sleep(500 * time.Millisecond)
	during := threads(t)
	for _, c := range cmds {
		if err := c.Process.Kill(); err != nil {
			t.Errorf("kill: %v", err)
		}
	}
	wg.Wait()
	close(errs)
	killed := 0
	for err := range errs {
		var ee *spawn.ExitError
		if errors.As(err, &ee) && ee.Signal() == syscall.SIGKILL {
			killed++
		}
	}
	t.Logf("OS threads: %d before, %d while %d children were waited on", before, during, n)
	if killed != n {
		t.Errorf("%d of %d waits reported SIGKILL", killed, n)
	}
	if during > before+8 {
		t.Errorf("waiting on %d children took %d extra OS threads, want at most 8", n, during-before)
	}
}

// TestConcurrentStarts: many goroutines starting and waiting at once; every
// child gets exactly its own arguments and status.
func TestConcurrentStarts(t *testing.T) {
	p := probe.ForTest(t)
	const goroutines, each = 8, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				code := (g*each + i) % 100
				c := spawn.Command(p)
				c.Env = []string{probe.EnvExit + "=" + itoa(code)}
				c.Stdout = nil
				err := c.Run()
				if got := c.ProcessState.ExitCode(); got != code {
					t.Errorf("child %d/%d: exit %d (%v), want %d", g, i, got, err, code)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func itoa(i int) string { return strconv.Itoa(i) }

// BenchmarkStartWait starts and waits for a static no-op program, with
// spawn and with os/exec in the same run, so their ratio is meaningful on
// a noisy machine: compare the two with benchstat.
func BenchmarkStartWait(b *testing.B) {
	noop := probe.NoopForTest(b)
	b.Run("impl=spawn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := spawn.Command(noop).Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=os-exec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := exec.Command(noop).Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestStartAll: a batch starts every command; the one that cannot start
// reports its error and leaves nothing behind, the others run normally.
func TestStartAll(t *testing.T) {
	p := probe.ForTest(t)
	var cmds []*spawn.Cmd
	for i := range 20 {
		c := spawn.Command(p)
		c.Env = []string{probe.EnvExit + "=" + strconv.Itoa(i)}
		cmds = append(cmds, c)
	}
	bad := spawn.Command(p)
	bad.Dir = "/nonexistent"
	cmds = append(cmds, bad)
	err := spawn.StartAll(cmds...)
	var se *spawn.Error
	if !errors.As(err, &se) || se.Step != "chdir" {
		t.Fatalf("StartAll = %v, want the chdir failure", err)
	}
	if bad.Process != nil {
		t.Errorf("the failed command has a Process")
	}
	for i, c := range cmds[:20] {
		if c.Process == nil {
			t.Fatalf("command %d not started", i)
		}
		c.Wait()
		if got := c.ProcessState.ExitCode(); got != i {
			t.Errorf("command %d exited %d", i, got)
		}
	}
	if ch := children(t); ch != "" {
		t.Errorf("children left: %s", ch)
	}
}
