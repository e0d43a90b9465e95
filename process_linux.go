//go:build linux

package spawn

import (
	"errors"
	"os"
	"syscall"

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
