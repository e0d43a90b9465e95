package spawn

import (
	"os"
	"syscall"

	"github.com/gospawn/spawn/internal/sigset"
)

// The attribute groups of a Cmd. The zero value of every field means
// "leave as inherited"; docs/ATTRIBUTES.md lists each attribute with its
// system call, its place in the child's order of steps, and its errors.

// SignalSet is a set of signals 1..64. It parses and prints names the way
// `kill -l` does: "INT,TERM,RTMIN+3" (RTMIN is 34, glibc's SIGRTMIN).
type SignalSet uint64

// NewSignalSet makes a set of the given signals.
func NewSignalSet(sigs ...syscall.Signal) SignalSet {
	var s sigset.Set
	for _, sig := range sigs {
		s = s.Add(int(sig))
	}
	return SignalSet(s)
}

// AllSignals is every signal, 1..64.
const AllSignals = ^SignalSet(0)

// ParseSignalSet reads "INT,TERM,RTMIN+3" (names with or without SIG, in
// any case, or numbers), "all" or "none".
func ParseSignalSet(s string) (SignalSet, error) {
	set, err := sigset.Parse(s)
	return SignalSet(set), err
}

// Has reports whether sig is in the set.
func (s SignalSet) Has(sig syscall.Signal) bool { return sigset.Set(s).Has(int(sig)) }

// Add returns the set with sig added.
func (s SignalSet) Add(sig syscall.Signal) SignalSet { return SignalSet(sigset.Set(s).Add(int(sig))) }

// String prints the set as ParseSignalSet reads it: "INT,TERM", "none".
func (s SignalSet) String() string { return sigset.Set(s).String() }

// SignalAttrs sets the child's signal dispositions and mask. By default the
// child gets every handled signal reset to SIG_DFL, ignored signals still
// ignored, and an empty mask.
type SignalAttrs struct {
	// Mask is the set of signals blocked in the child.
	Mask SignalSet
	// InheritMask gives the child the signal mask of the thread that
	// called Start, instead of Mask.
	InheritMask bool
	// Default lists signals set back to SIG_DFL even if the parent ignores
	// them (POSIX_SPAWN_SETSIGDEF): a parent that ignores SIGPIPE should
	// not hand that to `yes | head`.
	Default SignalSet
	// Ignore lists signals the child ignores (as nohup does for SIGHUP).
	// SIGKILL and SIGSTOP cannot be ignored.
	Ignore SignalSet
	// ResetAll sets every signal to SIG_DFL, including those the parent
	// ignores. Ignore still applies after it.
	ResetAll bool
}

// SessionAttrs places the child in a session and process group and gives it
// a terminal.
type SessionAttrs struct {
	// Setsid starts a new session (and process group) led by the child,
	// with no controlling terminal.
	Setsid bool
	// Setpgid puts the child in process group Pgid, or in a new group of
	// its own if Pgid is 0.
	Setpgid bool
	Pgid    int
	// Ctty is a terminal. With Setsid, it becomes the child's controlling
	// terminal (TIOCSCTTY). With Foreground, it is the terminal whose
	// foreground group the child takes. The file does not have to be among
	// the child's descriptors: spawn uses the parent's descriptor before
	// the child's are arranged.
	Ctty *os.File
	// Foreground makes the child's process group the foreground group of
	// Ctty, or of the parent's stdin if Ctty is nil (tcsetpgrp). It implies
	// Setpgid. The child does it with SIGTTOU blocked, so neither it nor
	// the parent is stopped, and nothing is left ignored.
	Foreground bool
	// Noctty makes the child give up its controlling terminal (TIOCNOTTY
	// on its stdin).
	Noctty bool
}

// Credential is the identity the child runs as. Changing it needs
// privilege (CAP_SETUID, CAP_SETGID).
type Credential struct {
	Uid uint32
	Gid uint32
	// Groups are the supplementary groups. Unless NoSetGroups, the child's
	// groups become exactly Groups (none if empty).
	Groups      []uint32
	NoSetGroups bool
	// KeepCaps keeps the permitted capabilities across the uid change
	// (PR_SET_KEEPCAPS).
	KeepCaps bool
	// AmbientCaps are capabilities (unix.CAP_*) the program keeps across
	// exec although it does not run as root. The parent must have them.
	AmbientCaps []uintptr
}

// Rlimit is one resource limit: Resource is unix.RLIMIT_*; Cur and Max are
// the soft and hard limits (unix.RLIM_INFINITY for unlimited).
type Rlimit struct {
	Resource int
	Cur, Max uint64
}

// SchedPolicy is a scheduling policy (unix.SCHED_*).
type SchedPolicy int

// Sched is a scheduling policy and priority (sched_setscheduler). Priority
// is 1..99 for SCHED_FIFO and SCHED_RR, 0 for the others.
type Sched struct {
	Policy   SchedPolicy
	Priority int
}

// IOPrioClass is an I/O scheduling class.
type IOPrioClass int

// The I/O scheduling classes (linux/ioprio.h).
const (
	IOPrioRealtime   IOPrioClass = 1
	IOPrioBestEffort IOPrioClass = 2
	IOPrioIdle       IOPrioClass = 3
)

// IOPrio is an I/O priority: a class and a level 0 (highest) to 7.
type IOPrio struct {
	Class IOPrioClass
	Level int
}

// LimitAttrs sets resource limits and scheduling.
type LimitAttrs struct {
	// Rlimits are set with prlimit64, in order. Raising a hard limit
	// needs CAP_SYS_RESOURCE.
	Rlimits []Rlimit
	// Umask, if not nil, is the child's file mode creation mask, e.g.
	// new(uint32(0o077)).
	Umask *uint32
	// Nice, if not nil, is the child's nice value, -20..19. Lowering it
	// below the parent's needs CAP_SYS_NICE.
	Nice *int
	// CPUs, if not nil, are the CPUs the child may run on.
	CPUs []int
	// Sched, if not nil, is the child's scheduling policy.
	Sched *Sched
	// IOPrio, if not nil, is the child's I/O priority.
	IOPrio *IOPrio
}

// IDMap maps a range of ids in a new user namespace to ids outside it.
type IDMap struct {
	ContainerID int
	HostID      int
	Size        int
}

// SetgroupsPolicy says what a new user namespace's /proc/PID/setgroups
// holds when the parent writes its gid map.
type SetgroupsPolicy int

const (
	// SetgroupsDeny forbids setgroups in the namespace; needed when the
	// parent is not privileged. It is the default.
	SetgroupsDeny SetgroupsPolicy = iota
	// SetgroupsAllow allows it (the parent needs CAP_SETGID).
	SetgroupsAllow
)

// NamespaceAttrs puts the child in new or existing namespaces and in a
// cgroup.
type NamespaceAttrs struct {
	// Clone are CLONE_NEW* flags: new namespaces created with the child.
	Clone uintptr
	// UidMappings and GidMappings are written to the child's uid_map and
	// gid_map, while it waits, when Clone has CLONE_NEWUSER.
	UidMappings []IDMap
	GidMappings []IDMap
	Setgroups   SetgroupsPolicy
	// Unshare are CLONE_NEW* flags the child unshares (after joining Join).
	Unshare uintptr
	// Join are namespace files (/proc/PID/ns/*, opened) the child enters
	// with setns, in order.
	Join []*os.File
	// Cgroup is a cgroup v2 directory (opened) or CgroupPath its path: the
	// child is created in it (CLONE_INTO_CGROUP, Linux 5.7).
	Cgroup     *os.File
	CgroupPath string
}

// FileAction is one change to the child's descriptors, applied after
// Stdin, Stdout, Stderr and ExtraFiles are in place; see OpenFile, DupFile
// and CloseFile.
type FileAction struct {
	op   fileOp
	fd   int
	from int
	path string
	flag int
	perm os.FileMode
}

type fileOp uint8

const (
	fileOpen fileOp = iota + 1
	fileDup
	fileClose
)

// OpenFile opens path in the child (after chdir, as the child's user) and
// puts it on descriptor fd, like a shell's `fd>path`. flag and perm are as
// for os.OpenFile; O_CLOEXEC is not needed.
func OpenFile(fd int, path string, flag int, perm os.FileMode) FileAction {
	return FileAction{op: fileOpen, fd: fd, path: path, flag: flag, perm: perm}
}

// DupFile makes the child's descriptor fd a copy of its descriptor from,
// like a shell's `fd>&from` (DupFile(2, 1) is 2>&1).
func DupFile(fd, from int) FileAction { return FileAction{op: fileDup, fd: fd, from: from} }

// CloseFile closes the child's descriptor fd.
func CloseFile(fd int) FileAction { return FileAction{op: fileClose, fd: fd} }
