package spawn_test

import (
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/engine"
	"github.com/gospawn/spawn/internal/probe"
)

// TestDefaultSignalState: whatever the parent's handlers and the spawning
// thread's mask, the child starts with no handler, only the parent's
// ignored signals ignored, and an empty mask — on every clone path.
func TestDefaultSignalState(t *testing.T) {
	// The parent handles SIGINT (and, being Go, nearly every signal),
	// ignores SIGHUP, and spawns from a thread that blocks SIGTERM.
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT)
	defer signal.Stop(sigc)
	signal.Ignore(syscall.SIGHUP)
	defer func() {
		// Notify then Reset gives SIGHUP back to the runtime's handler.
		signal.Notify(sigc, syscall.SIGHUP)
		signal.Reset(syscall.SIGHUP)
	}()

	for _, tc := range []struct {
		name                 string
		clone3, clearSighand bool
	}{
		{"clone3 + CLONE_CLEAR_SIGHAND", true, true},
		{"clone3, child resets handlers", true, false},
		{"clone, child resets handlers", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer engine.Force(tc.clone3, tc.clearSighand)()
			got := make(chan *probe.Report, 1)
			c, out := probeCmd(t)
			go func() {
				// This goroutine's thread dies with it (never
				// unlocked), so its mask does not leak.
				runtime.LockOSThread()
				var set unix.Sigset_t
				set.Val[0] = sigbit(unix.SIGTERM)
				if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
					t.Error(err)
				}
				if err := c.Run(); err != nil {
					t.Error(err)
					got <- nil
					return
				}
				got <- readReport(t, out)
			}()
			r := <-got
			if r == nil {
				return
			}
			if r.SigCgt != 0 {
				t.Errorf("child has handlers for %#x, want none", r.SigCgt)
			}
			// Exactly what the parent ignores: SIGHUP, and whatever
			// the test binary was started with ignored.
			parentIgn := statusField(t, "SigIgn")
			if parentIgn&sigbit(unix.SIGHUP) == 0 {
				t.Fatalf("signal.Ignore(SIGHUP) did not take: parent ignores %#x", parentIgn)
			}
			if r.SigIgn != parentIgn {
				t.Errorf("child ignores %#x, want what the parent ignores, %#x", r.SigIgn, parentIgn)
			}
			if r.SigBlk != 0 {
				t.Errorf("child blocks %#x, want nothing", r.SigBlk)
			}
			if r.SigPnd != 0 || r.ShdPnd != 0 {
				t.Errorf("child has pending signals %#x/%#x", r.SigPnd, r.ShdPnd)
			}
		})
	}
}
