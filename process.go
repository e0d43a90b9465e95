package spawn

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is a started child, held by its pidfd: Signal and Kill can never
// reach a different process that reused the pid, and Wait sleeps in the Go
// netpoller, so a waiting child costs no OS thread.
type Process struct {
	// Pid is the child's process id.
	Pid int

	mu       sync.Mutex
	pidfd    *os.File // nil once released or waited for
	waiting  bool
	released bool
}

// errReleased is returned by methods of a released Process.
var errReleased = errors.New("spawn: process already released")

// errWaited is returned by a second Wait.
var errWaited = errors.New("spawn: Wait was already called")

// Kill sends SIGKILL. It returns os.ErrProcessDone if the process has
// already been waited for.
func (p *Process) Kill() error { return p.Signal(os.Kill) }

// handle returns the pidfd file, or the error a method should report.
func (p *Process) handle() (*os.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.released:
		return nil, errReleased
	case p.pidfd == nil:
		return nil, os.ErrProcessDone
	}
	return p.pidfd, nil
}

// Release closes the process handle without waiting for the process. Like
// os.Process.Release, it leaves the child to run; it is not reaped, so call
// it only when something else will wait for it or the parent exits soon.
// It fails while a Wait is in progress.
func (p *Process) Release() error {
	p.mu.Lock()
	if p.waiting && p.pidfd != nil {
		p.mu.Unlock()
		return errors.New("spawn: Release during Wait")
	}
	f := p.pidfd
	p.pidfd = nil
	p.released = true
	p.mu.Unlock()
	if f != nil {
		return f.Close()
	}
	return nil
}

// ProcessState describes a process that has exited.
type ProcessState struct {
	pid    int
	status syscall.WaitStatus
	rusage syscall.Rusage
}

// Pid returns the process id of the exited process.
func (s *ProcessState) Pid() int { return s.pid }

// Exited reports whether the program exited by itself (not by a signal).
func (s *ProcessState) Exited() bool { return s.status.Exited() }

// Success reports whether the program exited with status 0.
func (s *ProcessState) Success() bool { return s.status.Exited() && s.status.ExitStatus() == 0 }

// ExitCode returns the exit status, or -1 if the process was killed by a
// signal.
func (s *ProcessState) ExitCode() int {
	if s == nil {
		return -1
	}
	return s.status.ExitStatus()
}

// Signaled reports whether a signal ended the process.
func (s *ProcessState) Signaled() bool { return s.status.Signaled() }

// Signal returns the signal that ended the process, or -1.
func (s *ProcessState) Signal() syscall.Signal { return s.status.Signal() }

// CoreDump reports whether the process dumped core.
func (s *ProcessState) CoreDump() bool { return s.status.CoreDump() }

// UserTime returns the user CPU time of the process and its waited-for
// children.
func (s *ProcessState) UserTime() time.Duration {
	return time.Duration(s.rusage.Utime.Nano())
}

// SystemTime returns the system CPU time of the process and its waited-for
// children.
func (s *ProcessState) SystemTime() time.Duration {
	return time.Duration(s.rusage.Stime.Nano())
}

// MaxRSS returns the peak resident set size, in bytes.
func (s *ProcessState) MaxRSS() int64 { return int64(s.rusage.Maxrss) * 1024 }

// Sys returns the syscall.WaitStatus, as os.ProcessState.Sys does.
func (s *ProcessState) Sys() any { return s.status }

// SysUsage returns the *syscall.Rusage, as os.ProcessState.SysUsage does.
func (s *ProcessState) SysUsage() any { return &s.rusage }

// String returns "exit status 3", "signal: killed", "signal: aborted (core
// dumped)", like os.ProcessState.
func (s *ProcessState) String() string {
	if s == nil {
		return "<nil>"
	}
	st := s.status
	switch {
	case st.Exited():
		return "exit status " + strconv.Itoa(st.ExitStatus())
	case st.Signaled():
		r := "signal: " + st.Signal().String()
		if st.CoreDump() {
			r += " (core dumped)"
		}
		return r
	}
	return "status " + strconv.FormatUint(uint64(st), 10)
}
