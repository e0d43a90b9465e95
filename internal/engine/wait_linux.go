//go:build linux

package engine

import (
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sigchldInfo is the start of the kernel's siginfo_t as waitid fills it for
// a child: the common header, then si_pid, si_uid and si_status.
// golang.org/x/sys/unix exposes only the header.
type sigchldInfo struct {
	Signo  int32
	Errno  int32
	Code   int32
	_      int32
	Pid    int32
	UID    uint32
	Status int32
}

// si_code values for SIGCHLD (asm-generic/siginfo.h), absent from x/sys/unix.
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// WaitPidfd reaps the child behind pidfd if it has exited, without
// blocking. done is false if it is still running.
func WaitPidfd(pidfd int, ru *syscall.Rusage) (pid int, status syscall.WaitStatus, done bool, err error) {
	var info unix.Siginfo
	for {
		err = unix.Waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED|unix.WNOHANG, (*unix.Rusage)(unsafe.Pointer(ru)))
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.EAGAIN {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	si := (*sigchldInfo)(unsafe.Pointer(&info))
	if si.Pid == 0 {
		return 0, 0, false, nil
	}
	// Rebuild the wait(2) status word that syscall.WaitStatus decodes.
	switch si.Code {
	case cldExited:
		status = syscall.WaitStatus(si.Status&0xff) << 8
	case cldKilled:
		status = syscall.WaitStatus(si.Status & 0x7f)
	case cldDumped:
		status = syscall.WaitStatus(si.Status&0x7f) | 0x80
	}
	return int(si.Pid), status, true, nil
}

// PollReadable sleeps until pidfd is readable (the child exited) or the
// timeout passes, in a blocking system call the scheduler can see (so it
// holds an OS thread, and hands its P over if it sleeps long).
func PollReadable(pidfd int, timeout time.Duration) {
	fds := [1]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	ts := unix.NsecToTimespec(int64(timeout))
	syscall.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
}
