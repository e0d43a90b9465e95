//go:build linux

package spawn

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/engine"
)

// newProcess wraps a child's pidfd. The pidfd is made non-blocking so that
// os.NewFile registers it with the netpoller: Wait then parks the goroutine
// until the pidfd turns readable (the child exited), holding no OS thread.
func newProcess(pid, pidfd int) *Process {
	unix.SetNonblock(pidfd, true)
	return &Process{Pid: pid, pidfd: os.NewFile(uintptr(pidfd), "pidfd")}
}

// How Wait sleeps: in the Go netpoller, which costs no OS thread however
// many children are waited for; but first, for at most blockingWait, a few
// waiters at a time sleep in a blocking poll of the pidfd, which wakes them
// directly when a short-lived child exits. Each holds an OS thread and a P
// meanwhile, so there are at most GOMAXPROCS-1 of them (none with
// GOMAXPROCS=1), and never more than 4: other goroutines always have a P.
const blockingWait = 5 * time.Millisecond

var blockingSlots = make(chan struct{}, 4)

// tryBlockingSlot takes one of the blocking waiters' places, if any is
// free.
func tryBlockingSlot() bool {
	if len(blockingSlots) >= runtime.GOMAXPROCS(0)-1 {
		return false
	}
	select {
	case blockingSlots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit, reaps it, closes its pidfd, and
// returns its state. It can be called once.
func (p *Process) Wait() (*ProcessState, error) {
	p.mu.Lock()
	switch {
	case p.released:
		p.mu.Unlock()
		return nil, errReleased
	case p.waiting || p.pidfd == nil:
		p.mu.Unlock()
		return nil, errWaited
	}
	p.waiting = true
	f := p.pidfd
	p.mu.Unlock()

	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	st := &ProcessState{}
	var werr error
	// A short-lived child is most often still running here: rather than
	// park in the netpoller (whose wake-up, through another thread, costs
	// more than the child itself), a few waiters at a time sleep in a
	// blocking poll of the pidfd for a while, woken directly when it exits.
	if tryBlockingSlot() {
		rc.Control(func(fd uintptr) { engine.PollReadable(int(fd), blockingWait) })
		<-blockingSlots
	}
	err = rc.Read(func(fd uintptr) bool {
		pid, status, done, err := engine.WaitPidfd(int(fd), &st.rusage)
		if err != nil {
			werr = err
			return true
		}
		st.pid, st.status = pid, status
		return done
	})
	p.mu.Lock()
	p.pidfd = nil
	p.mu.Unlock()
	f.Close()
	if err == nil {
		err = werr
	}
	if err != nil {
		return nil, os.NewSyscallError("waitid", err)
	}
	return st, nil
}

// Signal sends sig to the process with pidfd_send_signal, which can only
// reach this process, never another that reused its pid. It returns
// os.ErrProcessDone once the process has been waited for (or is being
// reaped by a concurrent Wait). A process that has exited but not been
// waited for accepts signals and ignores them.
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return errors.New("spawn: unsupported signal type")
	}
	f, err := p.handle()
	if err != nil {
		return err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return os.ErrProcessDone
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.PidfdSendSignal(int(fd), s, nil, 0)
	}); err != nil {
		// Closed by a concurrent Wait.
		return os.ErrProcessDone
	}
	if serr == unix.ESRCH {
		return os.ErrProcessDone
	}
	if serr != nil {
		return os.NewSyscallError("pidfd_send_signal", serr)
	}
	return nil
}
