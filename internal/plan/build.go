//go:build linux

package plan

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// Build turns s into the child program. The child runs every step with all
// signals blocked, in this order (docs/ATTRIBUTES.md says why each sits
// where it does):
//
//  1. signal dispositions: handled signals back to SIG_DFL (unless the
//     kernel did it at clone), then the forced defaults and ignores. First,
//     because a handler that ran in the child would run the parent's code
//     on the parent's memory.
//  2. namespaces: wait for the parent to write the uid/gid maps of a new
//     user namespace, join namespaces (setns), unshare.
//  3. session and terminal: setsid, setpgid, controlling terminal,
//     foreground group.
//  4. chroot.
//  5. limits and scheduling: rlimits, nice, scheduling policy, CPU
//     affinity, I/O priority, umask. Before the credentials change, which
//     may take away the privilege to raise them.
//  6. credentials: groups, then gid, then uid (each needs the privilege the
//     next one drops), then capabilities.
//  7. working directory (chdir or fchdir), with the new root and identity.
//  8. parent-death signal, after the credentials change (which clears it),
//     then a check that the parent is still there.
//  9. descriptors: the shuffle (see files.go), then everything else
//     close-on-exec, then TIOCNOTTY.
//  10. no_new_privs, ptrace(TRACEME).
//  11. the signal mask: the child ran with every signal blocked until here.
//  12. the seccomp filter, last, so that it only has to allow the exec.
//  13. execve (or execveat), and /bin/sh for a script without #! if asked.
func Build(s *Spec) (*Program, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	p := newProgram()
	planSignalDispositions(p, s)
	planNamespaces(p, s)
	planSession(p, s)
	if s.Chroot != "" {
		st := p.AddQuotedStep("chroot", s.Chroot)
		p.Call(st, unix.SYS_CHROOT, p.AddString(s.Chroot))
	}
	planLimits(p, s)
	planCred(p, s)
	switch {
	case s.DirFd != nil:
		st := p.AddStep("fchdir", s.DirFd.label())
		p.Call(st, unix.SYS_FCHDIR, I(s.DirFd.Fd))
	case s.Dir != "":
		st := p.AddQuotedStep("chdir", s.Dir)
		p.Call(st, unix.SYS_CHDIR, p.AddString(s.Dir))
	}
	planPdeathsig(p, s)

	var lateBuf [1]int
	late := lateBuf[:0]
	if s.ExecFd != nil {
		late = append(late, s.ExecFd.Fd) // the exec comes after the shuffle
	}
	lateArgs := planFiles(p, s.Files, late)
	if s.CloseRangeCloexec && !s.InheritFDs {
		n := len(s.Files)
		st := p.addStep("close-on-exec", stepArg{how: argAbove, child: n})
		p.Call(st, unix.SYS_CLOSE_RANGE, I(n), I(^uint32(0)), I(unix.CLOSE_RANGE_CLOEXEC))
	}
	if s.Noctty {
		st := p.AddStep("give up the controlling terminal", "of stdin")
		p.Call(st, unix.SYS_IOCTL, I(0), I(unix.TIOCNOTTY), I(0))
	}

	if s.NoNewPrivs {
		st := p.AddStep("no_new_privs", "")
		p.Call(st, unix.SYS_PRCTL, I(unix.PR_SET_NO_NEW_PRIVS), I(1), I(0), I(0), I(0))
	}
	if s.Ptrace {
		st := p.AddStep("ptrace", "TRACEME")
		p.Call(st, unix.SYS_PTRACE, I(unix.PTRACE_TRACEME), I(0), I(0), I(0))
	}
	planMask(p, s)
	if len(s.Seccomp) > 0 {
		st := p.AddStep("seccomp", strconv.Itoa(len(s.Seccomp)/8)+"-instruction filter")
		p.Data = append(p.Data, Datum{Kind: SockFprog, Raw: s.Seccomp})
		prog := Arg{Kind: DataAddr, Val: uint64(len(p.Data) - 1)}
		p.Call(st, unix.SYS_SECCOMP, I(unix.SECCOMP_SET_MODE_FILTER), I(0), prog)
	}
	planExec(p, s, lateArgs)
	return p, nil
}

// planExec emits the exec, and the /bin/sh fallback if asked.
func planExec(p *Program, s *Spec, late []Arg) {
	argv, envp := p.AddVec(s.Argv), p.AddEnv(s.Env)
	var exec *Op
	if s.ExecFd != nil {
		p.ExecStep = p.AddStep("execveat", s.ExecFd.label())
		exec = p.Call(p.ExecStep, unix.SYS_EXECVEAT, late[0], p.AddString(""), argv, envp, I(unix.AT_EMPTY_PATH))
	} else {
		p.ExecStep = p.AddQuotedStep("execve", s.Path)
		exec = p.Call(p.ExecStep, unix.SYS_EXECVE, p.AddString(s.Path), argv, envp)
	}
	if s.ScriptFallback && s.ExecFd == nil {
		// A file the kernel cannot run (no #! line) is a shell script
		// by convention, as execvp and posix_spawnp treat it.
		exec.AllowErrno = uint32(unix.ENOEXEC)
		st := p.AddStep("execve", `"/bin/sh" (no #! line in `+strconv.Quote(s.Path)+`)`)
		shArgv := append([]string{"sh", s.Path}, s.Argv[1:]...)
		p.Call(st, unix.SYS_EXECVE, p.AddString("/bin/sh"), p.AddVec(shArgv), envp)
	}
}
