//go:build linux

package plan

import (
	"fmt"
	"strings"
)

// FileKind says where a child descriptor comes from.
type FileKind uint8

const (
	// FromParent is a copy of the parent's descriptor Fd.
	FromParent FileKind = iota
	// Closed is closed in the child.
	Closed
	// Open is the file at Path, opened in the child with Flags and Perm
	// (after chdir, with the child's credentials).
	Open
	// Keep leaves whatever the child inherited on that number (nothing
	// is done).
	Keep
)

// File is one descriptor the child receives.
type File struct {
	Kind FileKind
	// Fd is the parent's descriptor (FromParent).
	Fd int
	// Name describes the file in steps: "pipe", "/dev/null", "/tmp/log".
	Name string
	// Path, Flags and Perm describe an Open file. Files with the same
	// OpenID are opened once and shared (a dup of an opened file).
	Path   string
	Flags  int
	Perm   uint32
	OpenID int
}

// Rlimit is one resource limit to set.
type Rlimit struct {
	Resource int
	Name     string // "NOFILE"
	Cur, Max uint64
}

// Cred is the identity the child switches to.
type Cred struct {
	UID, GID  uint32
	Groups    []uint32
	SetGroups bool // call setgroups(Groups); false leaves the groups alone
	// Ambient capabilities to raise after the switch. KeepCaps keeps the
	// permitted set across setresuid (implied by Ambient). CapData is the
	// capset data (effective, permitted, inheritable of the two 32-bit
	// halves) to install after setresuid, computed by the caller.
	KeepCaps bool
	Ambient  []uintptr
	CapData  []byte
}

// Namespace is one namespace to join with setns.
type Namespace struct {
	Fd   int    // the parent's descriptor of /proc/PID/ns/...
	Name string // for steps: "/proc/123/ns/net"
	Type int    // CLONE_NEW* the file must be, or 0 for any
}

// Spec is everything the planner needs to know about one process. The zero
// value of each attribute means "leave as inherited".
type Spec struct {
	// Path is the program passed to execve.
	Path string
	// Argv is the argument vector, Argv[0] included.
	Argv []string
	// Env is the environment, as KEY=VALUE strings, already de-duplicated.
	Env []string
	// EnvFromParent says Env is the parent's own environment, passed on
	// as it is (as os/exec does) even if an entry is not KEY=VALUE.
	EnvFromParent bool
	// Dir is the working directory, or "" to keep the parent's.
	Dir string
	// DirFd, if set, is the working directory as an open directory
	// (fchdir), instead of Dir.
	DirFd *FdRef
	// Chroot, if not "", is the child's new root directory.
	Chroot string
	// ExecFd, if set, is the program to exec as an open file (execveat
	// with AT_EMPTY_PATH); Path then only names it.
	ExecFd *FdRef
	// ScriptFallback runs /bin/sh Path Argv[1:]... when the kernel does
	// not recognise the program's format (ENOEXEC), as execvp does.
	ScriptFallback bool
	// Files maps child descriptors: child fd i gets Files[i].
	Files []File
	// InheritFDs leaves descriptors above Files open if the parent had
	// them without O_CLOEXEC (os/exec behaviour).
	InheritFDs bool

	// Signals: bit n-1 for signal n.
	SigDefault  uint64 // forced to SIG_DFL
	SigIgnore   uint64 // forced to SIG_IGN
	ResetAll    bool   // every signal to SIG_DFL, ignored ones included
	Mask        uint64 // blocked in the child
	InheritMask bool   // the spawning thread's mask instead of Mask

	// Session and terminal.
	Setsid      bool
	Setpgid     bool
	Pgid        int    // with Setpgid: the group to join, 0 for a new one
	Ctty        *FdRef // the terminal, for AcquireCtty and Foreground
	AcquireCtty bool   // make Ctty the controlling terminal (TIOCSCTTY)
	Foreground  bool   // make the child's group the terminal's foreground group
	Noctty      bool   // give up the controlling terminal (TIOCNOTTY on stdin)

	// Credentials.
	Cred *Cred

	// Limits and scheduling.
	Rlimits      []Rlimit
	Umask        *uint32
	Nice         *int
	Affinity     []byte // CPU mask for sched_setaffinity; nil to leave alone
	AffinityText string // "0-1"
	Sched        *Sched
	IOPrio       *IOPrio

	// Security.
	NoNewPrivs bool
	Seccomp    []byte // sock_filter array; nil for none
	Ptrace     bool   // PTRACE_TRACEME

	// Parent death signal, checked against ParentPid (0 when the child is
	// in a new PID namespace, where getppid returns 0).
	Pdeathsig int
	ParentPid int

	// Namespaces.
	CloneFlags uint64 // CLONE_NEW* flags for clone3
	Unshare    uint64 // unshare(2) flags
	Join       []Namespace
	// WaitForParent makes the child wait on a word in the shared block
	// until the parent has written its uid/gid maps (a new user
	// namespace).
	WaitForParent bool
	Cgroup        *FdRef // CLONE_INTO_CGROUP

	// Kernel features, set by the engine.
	//
	// KernelClearsHandlers says the clone itself resets handled signals to
	// SIG_DFL (CLONE_CLEAR_SIGHAND). Without it the child does so first.
	KernelClearsHandlers bool
	// CloseRangeCloexec says close_range(CLOSE_RANGE_CLOEXEC) is available
	// (Linux 5.11). Without it, descriptors the parent left open without
	// O_CLOEXEC are inherited, as with os/exec.
	CloseRangeCloexec bool
}

// FdRef is a parent descriptor an attribute refers to.
type FdRef struct {
	Fd   int
	Name string // for steps: the file's name
}

func (r *FdRef) label() string { return File{Fd: r.Fd, Name: r.Name}.label() }

// Sched is a scheduling policy and priority (sched_setscheduler).
type Sched struct {
	Policy   int
	Priority int
	Text     string // "fifo:10"
}

// IOPrio is an encoded I/O priority (ioprio_set).
type IOPrio struct {
	Value int
	Text  string // "best-effort:4"
}

// InputError reports input that cannot be planned. It names the field and
// the problem; nothing has been created when it is returned.
type InputError struct {
	Field string // "Path", "Args[2]", "Env[0]", "Dir", "ExtraFiles[1]"
	Msg   string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks the strings of s. It does not look at Files, which the
// caller validates when it resolves them to descriptors.
func (s *Spec) Validate() error {
	if s.Path == "" {
		return &InputError{"Path", "empty program path"}
	}
	if strings.IndexByte(s.Path, 0) >= 0 {
		return &InputError{"Path", "contains a NUL byte"}
	}
	if len(s.Argv) == 0 {
		return &InputError{"Args", "empty: Args must hold at least argv[0]"}
	}
	for i, a := range s.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return &InputError{fmt.Sprintf("Args[%d]", i), fmt.Sprintf("%q contains a NUL byte", a)}
		}
	}
	if strings.IndexByte(s.Dir, 0) >= 0 {
		return &InputError{"Dir", fmt.Sprintf("%q contains a NUL byte", s.Dir)}
	}
	if strings.IndexByte(s.Chroot, 0) >= 0 {
		return &InputError{"Chroot", fmt.Sprintf("%q contains a NUL byte", s.Chroot)}
	}
	for i, kv := range s.Env {
		if s.EnvFromParent && strings.IndexByte(kv, 0) < 0 {
			continue
		}
		if err := CheckEnv(kv); err != "" {
			return &InputError{fmt.Sprintf("Env[%d]", i), err}
		}
	}
	for i, f := range s.Files {
		if f.Kind == Open && strings.IndexByte(f.Path, 0) >= 0 {
			return &InputError{fmt.Sprintf("Files[%d]", i), fmt.Sprintf("%q contains a NUL byte", f.Path)}
		}
	}
	if len(s.Seccomp)%8 != 0 || len(s.Seccomp)/8 > 4096 {
		return &InputError{"Seccomp", fmt.Sprintf("%d bytes is not a filter of 1..4096 instructions", len(s.Seccomp))}
	}
	return nil
}

// CheckEnv returns what is wrong with one KEY=VALUE entry, or "".
func CheckEnv(kv string) string {
	if strings.IndexByte(kv, 0) >= 0 {
		return fmt.Sprintf("%q contains a NUL byte", kv)
	}
	i := strings.IndexByte(kv, '=')
	switch {
	case i < 0:
		return fmt.Sprintf("%q is not of the form KEY=VALUE", kv)
	case i == 0:
		return fmt.Sprintf("%q has an empty key", kv)
	}
	return ""
}
