//go:build linux

package plan

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/sigset"
)

// syscallNames names the system calls the planner emits, for explain output.
var syscallNames = map[uintptr]string{
	unix.SYS_CHDIR:              "chdir",
	unix.SYS_FCHDIR:             "fchdir",
	unix.SYS_CHROOT:             "chroot",
	unix.SYS_DUP3:               "dup3",
	unix.SYS_FCNTL:              "fcntl",
	unix.SYS_CLOSE:              "close",
	unix.SYS_CLOSE_RANGE:        "close_range",
	unix.SYS_OPENAT:             "openat",
	unix.SYS_RT_SIGPROCMASK:     "rt_sigprocmask",
	unix.SYS_RT_SIGACTION:       "rt_sigaction",
	unix.SYS_EXECVE:             "execve",
	unix.SYS_EXECVEAT:           "execveat",
	unix.SYS_GETPID:             "getpid",
	unix.SYS_GETPPID:            "getppid",
	unix.SYS_SETSID:             "setsid",
	unix.SYS_SETPGID:            "setpgid",
	unix.SYS_IOCTL:              "ioctl",
	unix.SYS_SETGROUPS:          "setgroups",
	unix.SYS_SETRESGID:          "setresgid",
	unix.SYS_SETRESUID:          "setresuid",
	unix.SYS_PRCTL:              "prctl",
	unix.SYS_PRLIMIT64:          "prlimit64",
	unix.SYS_UMASK:              "umask",
	unix.SYS_SETPRIORITY:        "setpriority",
	unix.SYS_SCHED_SETAFFINITY:  "sched_setaffinity",
	unix.SYS_SCHED_SETSCHEDULER: "sched_setscheduler",
	unix.SYS_IOPRIO_SET:         "ioprio_set",
	unix.SYS_SECCOMP:            "seccomp",
	unix.SYS_SETNS:              "setns",
	unix.SYS_UNSHARE:            "unshare",
	unix.SYS_FUTEX:              "futex",
	unix.SYS_PTRACE:             "ptrace",
	unix.SYS_CAPSET:             "capset",
	unix.SYS_EXIT_GROUP:         "exit_group",
	unix.SYS_KILL:               "kill",
}

// SyscallName returns the name of system call nr ("sys_N" if unknown).
func SyscallName(nr uintptr) string {
	if n, ok := syscallNames[nr]; ok {
		return n
	}
	return "sys_" + strconv.FormatUint(uint64(nr), 10)
}

// CallString renders op as a C-like call: `dup3(7, 1, 0)`,
// `fcntl(3, 1030, 5) → $0`. Data arguments show their contents.
func (p *Program) CallString(op Op) string {
	switch op.Kind {
	case ResetHandlers:
		if op.Args[0].Val == 0 {
			return "rt_sigaction(1..64, SIG_DFL) for each handled or ignored signal"
		}
		return "rt_sigaction(1..64, SIG_DFL) for each handled signal"
	case WaitNonZero:
		return fmt.Sprintf("futex(%s, FUTEX_WAIT, 0) until set", p.argString(op.Args[0]))
	}
	var b strings.Builder
	b.WriteString(SyscallName(op.Nr))
	b.WriteByte('(')
	n := argCount(op.Nr)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if name := constName(op.Nr, i, op.Args[i]); name != "" {
			b.WriteString(name)
			continue
		}
		b.WriteString(p.argString(op.Args[i]))
	}
	b.WriteByte(')')
	if op.Store != NoSlot {
		fmt.Fprintf(&b, " → $%d", op.Store)
	}
	if op.HasExpect {
		fmt.Fprintf(&b, " == %d", int64(op.Expect))
	}
	if op.AllowErrno != 0 {
		fmt.Fprintf(&b, " (%s allowed)", unix.ErrnoName(unix.Errno(op.AllowErrno)))
	}
	return b.String()
}

// constName names well-known constant arguments: fcntl commands,
// sigprocmask hows, close_range flags.
func constName(nr uintptr, i int, a Arg) string {
	if a.Kind != Imm {
		return ""
	}
	switch {
	case nr == unix.SYS_FCNTL && i == 1:
		switch a.Val {
		case unix.F_SETFD:
			return "F_SETFD"
		case unix.F_GETFD:
			return "F_GETFD"
		case unix.F_DUPFD_CLOEXEC:
			return "F_DUPFD_CLOEXEC"
		case unix.F_SETFL:
			return "F_SETFL"
		}
	case nr == unix.SYS_RT_SIGPROCMASK && i == 0:
		switch a.Val {
		case unix.SIG_SETMASK:
			return "SIG_SETMASK"
		case unix.SIG_BLOCK:
			return "SIG_BLOCK"
		case unix.SIG_UNBLOCK:
			return "SIG_UNBLOCK"
		}
	case nr == unix.SYS_RT_SIGPROCMASK && i == 2 && a.Val == 0:
		return "NULL"
	case nr == unix.SYS_CLOSE_RANGE && i == 1 && a.Val == uint64(^uint32(0)):
		return "~0U"
	case nr == unix.SYS_CLOSE_RANGE && i == 2 && a.Val == unix.CLOSE_RANGE_CLOEXEC:
		return "CLOSE_RANGE_CLOEXEC"
	case nr == unix.SYS_OPENAT && i == 0 && int64(a.Val) == unix.AT_FDCWD:
		return "AT_FDCWD"
	case nr == unix.SYS_SETPRIORITY && i == 0 && a.Val == unix.PRIO_PROCESS:
		return "PRIO_PROCESS"
	case nr == unix.SYS_PRCTL && i == 0:
		return map[uint64]string{unix.PR_SET_PDEATHSIG: "PR_SET_PDEATHSIG", unix.PR_SET_NO_NEW_PRIVS: "PR_SET_NO_NEW_PRIVS",
			unix.PR_SET_KEEPCAPS: "PR_SET_KEEPCAPS", unix.PR_CAP_AMBIENT: "PR_CAP_AMBIENT"}[a.Val]
	case nr == unix.SYS_IOCTL && i == 1:
		return map[uint64]string{unix.TIOCSCTTY: "TIOCSCTTY", unix.TIOCSPGRP: "TIOCSPGRP", unix.TIOCNOTTY: "TIOCNOTTY"}[a.Val]
	case nr == unix.SYS_SECCOMP && i == 0 && a.Val == unix.SECCOMP_SET_MODE_FILTER:
		return "SECCOMP_SET_MODE_FILTER"
	case nr == unix.SYS_PTRACE && i == 0 && a.Val == unix.PTRACE_TRACEME:
		return "PTRACE_TRACEME"
	}
	return ""
}

func (p *Program) argString(a Arg) string {
	switch a.Kind {
	case Imm:
		if int64(a.Val) < 0 && int64(a.Val) > -4096 {
			return strconv.FormatInt(int64(a.Val), 10)
		}
		if a.Val > 0xffff {
			return fmt.Sprintf("%#x", a.Val)
		}
		return strconv.FormatUint(a.Val, 10)
	case DataAddr:
		if a.Val >= uint64(len(p.Data)) {
			return "?"
		}
		d := p.Data[a.Val]
		switch d.Kind {
		case CString:
			return strconv.Quote(d.Str)
		case CStringVec:
			if d.Hidden {
				if len(d.Vec) == 1 {
					return "[1 variable]"
				}
				return fmt.Sprintf("[%d variables]", len(d.Vec))
			}
			return vecString(d.Vec)
		case SockFprog:
			return fmt.Sprintf("{%d instructions}", len(d.Raw)/8)
		case SigSet:
			if d.Word == 0 {
				return "{}"
			}
			return "{" + sigset.Set(d.Word).String() + "}"
		default:
			if d.Show != "" {
				return d.Show
			}
			return fmt.Sprintf("&%x", d.Raw)
		}
	case SlotAddr:
		return fmt.Sprintf("&$%d", a.Val)
	case SlotValue:
		return fmt.Sprintf("$%d", a.Val)
	case SavedMaskAddr:
		return "&parent_mask"
	}
	return "?"
}

func vecString(v []string) string {
	const max = 4
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range v {
		if i == max {
			fmt.Fprintf(&b, ", …%d more", len(v)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		b.WriteString(strconv.Quote(s))
	}
	b.WriteByte(']')
	return b.String()
}

// argCount is how many arguments explain shows for a system call.
func argCount(nr uintptr) int {
	switch nr {
	case unix.SYS_GETPID, unix.SYS_GETPPID, unix.SYS_SETSID:
		return 0
	case unix.SYS_CHDIR, unix.SYS_FCHDIR, unix.SYS_CHROOT, unix.SYS_CLOSE, unix.SYS_UMASK,
		unix.SYS_EXIT_GROUP, unix.SYS_UNSHARE:
		return 1
	case unix.SYS_SETPGID, unix.SYS_SETGROUPS, unix.SYS_SETNS, unix.SYS_KILL:
		return 2
	case unix.SYS_DUP3, unix.SYS_FCNTL, unix.SYS_CLOSE_RANGE, unix.SYS_EXECVE, unix.SYS_IOCTL,
		unix.SYS_SETRESGID, unix.SYS_SETRESUID, unix.SYS_SETPRIORITY, unix.SYS_SCHED_SETAFFINITY,
		unix.SYS_SCHED_SETSCHEDULER, unix.SYS_IOPRIO_SET, unix.SYS_SECCOMP:
		return 3
	case unix.SYS_OPENAT, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGACTION, unix.SYS_PRLIMIT64,
		unix.SYS_PTRACE:
		return 4
	case unix.SYS_EXECVEAT, unix.SYS_PRCTL:
		return 5
	}
	return 6
}
