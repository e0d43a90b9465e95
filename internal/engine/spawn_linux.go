//go:build linux

package engine

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/plan"
)

// header is the block shared by parent and child, at the top of the child's
// stack. The assembly reads its fields through go_asm.h offsets.
type header struct {
	tid         uint32 // CLONE_CHILD_CLEARTID word: non-zero until the child execs or exits
	_           uint32
	failStep    uint64 // set by a failing child: the step of the op that failed
	failErrno   uint64 // set by a failing child: the errno (never 0 on failure)
	curOp       uint64 // address of the op the child is running
	pidfd       int32  // CLONE_PIDFD result
	_           int32
	mode        uint64 // modeClone3 or modeClone
	legacyFlags uint64 // clone(2) flags, exit signal in the low byte
	stackTop    uint64 // the child's initial stack pointer, for clone(2)
	prog        uint64 // address of the first op
	nops        uint64 // number of ops
	fullMask    uint64 // every signal: blocked across clone
	oldMask     uint64 // the spawning thread's mask, restored after clone
	dflAct      [4]uint64
	oldAct      [4]uint64
	cloneArgs   cloneArgs
}

// cloneArgs is the kernel's struct clone_args (linux/sched.h), which
// golang.org/x/sys/unix does not define.
type cloneArgs struct {
	flags      uint64
	pidfd      uint64
	childTID   uint64
	parentTID  uint64
	exitSignal uint64
	stack      uint64
	stackSize  uint64
	tls        uint64
	setTID     uint64
	setTIDSize uint64
	cgroup     uint64
}

// FUTEX_WAIT and FUTEX_WAKE from linux/futex.h, absent from x/sys/unix.
const (
	futexWait = 0
	futexWake = 1
)

// Features of the kernel the engine relies on, discovered at first use and
// downgraded when the kernel refuses them.
const (
	noClone3 uint32 = 1 << iota
	noClearSighand
	noCloseRangeCloexec
)

var (
	features     atomic.Uint32
	featuresOnce sync.Once
)

func loadFeatures() uint32 {
	featuresOnce.Do(func() {
		var f uint32
		// A no-op close_range far above any open descriptor fails only
		// if the kernel lacks close_range or its CLOEXEC flag.
		if unix.CloseRange(math.MaxInt32-1, math.MaxInt32-1, unix.CLOSE_RANGE_CLOEXEC) != nil {
			f |= noCloseRangeCloexec
		}
		f |= parseDebug(os.Getenv("SPAWNDEBUG"))
		features.Or(f)
	})
	return features.Load()
}

// parseDebug reads SPAWNDEBUG, a comma-separated list that forces the
// fallback paths: clone3=0 (use clone), clearsighand=0 (reset handlers in
// the child), closerange=0 (no close_range).
func parseDebug(s string) uint32 {
	var f uint32
	for _, kv := range strings.Split(s, ",") {
		switch strings.TrimSpace(kv) {
		case "clone3=0":
			f |= noClone3 | noClearSighand
		case "clearsighand=0":
			f |= noClearSighand
		case "closerange=0":
			f |= noCloseRangeCloexec
		}
	}
	return f
}

// Force switches the fallback paths on or off for tests, and returns a
// function that restores the previous state.
func Force(useClone3, useClearSighand bool) (restore func()) {
	prev := loadFeatures()
	f := prev &^ (noClone3 | noClearSighand)
	if !useClone3 {
		f |= noClone3 | noClearSighand
	}
	if !useClearSighand {
		f |= noClearSighand
	}
	features.Store(f)
	return func() { features.Store(prev) }
}

// ForceCloseRange switches close_range(CLOSE_RANGE_CLOEXEC) off (as on a
// kernel before 5.11) or back on, for tests; it returns a function that
// restores the previous state.
func ForceCloseRange(use bool) (restore func()) {
	prev := loadFeatures()
	f := prev &^ noCloseRangeCloexec
	if !use {
		f |= noCloseRangeCloexec
	}
	features.Store(f)
	return func() { features.Store(prev) }
}

// CloneInfo describes how the child is created, for explain.
type CloneInfo struct {
	Syscall string   // "clone3" or "clone"
	Flags   []string // CLONE_* names
}

// prepare fills the kernel-dependent fields of spec for the features f.
func prepare(spec *plan.Spec, f uint32) {
	spec.KernelClearsHandlers = f&noClearSighand == 0
	spec.CloseRangeCloexec = f&noCloseRangeCloexec == 0
}

func cloneInfo(f uint32, spec *plan.Spec) CloneInfo {
	ci := CloneInfo{Syscall: "clone3", Flags: []string{"CLONE_VM", "CLONE_PIDFD", "CLONE_CHILD_CLEARTID"}}
	if f&noClone3 != 0 {
		ci.Syscall = "clone"
	} else if f&noClearSighand == 0 {
		ci.Flags = append(ci.Flags, "CLONE_CLEAR_SIGHAND")
	}
	if spec != nil {
		for _, ns := range strings.Split(plan.NamespaceNames(spec.CloneFlags), ",") {
			if ns != "" {
				ci.Flags = append(ci.Flags, cloneNewName(ns))
			}
		}
		if spec.Cgroup != nil {
			ci.Flags = append(ci.Flags, "CLONE_INTO_CGROUP("+spec.Cgroup.Name+")")
		}
	}
	return ci
}

// Explain returns the program Spawn would run for spec, and how it would
// clone, without running anything.
func Explain(spec *plan.Spec) (*plan.Program, CloneInfo, error) {
	if !supported {
		return nil, CloneInfo{}, ErrNotSupported
	}
	f := loadFeatures()
	s := *spec
	prepare(&s, f)
	p, err := plan.Build(&s)
	return p, cloneInfo(f, spec), err
}

// Child is a started process.
type Child struct {
	Pid   int
	Pidfd int
}

// StepError reports that the child failed at a step of its program.
type StepError struct {
	Prog  *plan.Program
	Step  int // index into Prog.Steps; -1 if the program ended without exec
	Errno syscall.Errno
}

func (e *StepError) Error() string {
	if e.Step < 0 {
		return "child program ended without exec"
	}
	return e.Prog.Steps[e.Step].String() + ": " + e.Errno.Error()
}

func (e *StepError) Unwrap() error { return e.Errno }

// CloneError reports that the kernel refused to create the child.
type CloneError struct {
	Syscall string
	Errno   syscall.Errno
}

func (e *CloneError) Error() string { return e.Syscall + ": " + e.Errno.Error() }
func (e *CloneError) Unwrap() error { return e.Errno }

// ErrNotSupported is returned on platforms the engine has no assembly for.
var ErrNotSupported = errors.New("spawn: starting processes is not supported on this platform (linux/amd64 only)")

// Options are what the engine does in the parent around the clone.
type Options struct {
	// AfterClone, if set, runs in the parent right after the clone while
	// the child waits (a spec with WaitForParent): it writes the uid/gid
	// maps of a new user namespace. If it fails, the child is killed and
	// reaped, and Spawn returns its error.
	AfterClone func(pid int) error
}

// Spawn starts a child that runs the program planned for spec and waits
// until it has exec'd. On failure nothing is left behind: no process, no
// descriptor, no mapping in use, and the program that failed is returned
// for the error message (nil on success).
func Spawn(spec *plan.Spec, opt Options) (*plan.Program, Child, error) {
	var p Pending
	if err := Launch(spec, opt, &p); err != nil {
		return p.prog, Child{}, err
	}
	return p.Finish()
}

// Pending is a child that was created and may still be running its
// program: Finish waits for it to exec.
type Pending struct {
	prog    *plan.Program
	r       *region
	pid     int
	pidfd   int
	hookErr error
}

// Launch creates the child for spec and returns without waiting for it to
// exec, so that a batch of children can exec at once; p.Finish must be
// called. On error nothing was created.
//
// A spec with a parent-death signal is started from one dedicated OS
// thread that never exits: the kernel sends that signal when the thread
// that created the child exits, and Go threads come and go.
func Launch(spec *plan.Spec, opt Options, p *Pending) error {
	if !supported {
		return ErrNotSupported
	}
	if spec.Pdeathsig != 0 {
		// Copies, so that the lasting thread's closure does not make the
		// caller's spec and p escape (and allocate) on every spawn.
		sc, pc := *spec, Pending{}
		err := launchOnLastingThread(&sc, opt, &pc)
		*p = pc
		return err
	}
	return launch(spec, opt, p)
}

func launchOnLastingThread(spec *plan.Spec, opt Options, p *Pending) (err error) {
	onLastingThread(func() { err = launch(spec, opt, p) })
	return err
}

func launch(spec *plan.Spec, opt Options, p *Pending) error {
	f := loadFeatures()
	errno, err := attempt(spec, opt, f, p)
	if err != nil || errno == 0 {
		return err
	}
	// The kernel refused the clone. If a feature it may lack could be the
	// reason, try once without it, and keep going without it only if that
	// gets past clone: clone3 may be missing or filtered (ENOSYS, EPERM),
	// and CLONE_CLEAR_SIGHAND arrived after clone3 (EINVAL).
	var fallback uint32
	switch {
	case f&noClone3 == 0 && spec.Cgroup == nil && (errno == unix.ENOSYS || errno == unix.EPERM):
		fallback = noClone3 | noClearSighand
	case f&noClearSighand == 0 && errno == unix.EINVAL:
		fallback = noClearSighand
	}
	if fallback != 0 {
		var p2 Pending
		errno2, err2 := attempt(spec, opt, f|fallback, &p2)
		if errno2 == 0 {
			features.Or(fallback)
			p.prog.Free()
			*p = p2
			return err2
		}
		p2.prog.Free()
	}
	return &CloneError{Syscall: cloneInfo(f, nil).Syscall, Errno: errno}
}

// attempt plans spec for the features f and clones the child. A non-zero
// errno means clone itself failed and nothing was created.
func attempt(spec *plan.Spec, opt Options, f uint32, p *Pending) (syscall.Errno, error) {
	if spec.Cgroup != nil && f&noClone3 != 0 {
		return 0, errors.New("placing the child in a cgroup needs clone3 (CLONE_INTO_CGROUP, Linux 5.7)")
	}
	s := *spec
	prepare(&s, f)
	prog, err := plan.Build(&s)
	if err != nil {
		return 0, err
	}
	p.prog = prog
	return clone(prog, &s, opt, f, p)
}

// lasting is one goroutine locked to its OS thread for good, which starts
// the children that have a parent-death signal.
var lasting struct {
	once sync.Once
	reqs chan func()
}

func onLastingThread(f func()) {
	lasting.once.Do(func() {
		lasting.reqs = make(chan func())
		go func() {
			// Never unlocked: the thread lives as long as the process.
			runtime.LockOSThread()
			for req := range lasting.reqs {
				req()
			}
		}()
	})
	done := make(chan struct{})
	lasting.reqs <- func() { f(); close(done) }
	<-done
}

// clone links prog into a region and clones the child into p. A non-zero
// errno means clone itself failed and nothing was created.
func clone(prog *plan.Program, spec *plan.Spec, opt Options, f uint32, p *Pending) (syscall.Errno, error) {
	r, err := getRegion(prog.Size())
	if err != nil {
		return 0, err
	}
	h := r.hdr
	if _, err := prog.Link(r.image, r.imageAddr, uint64(uintptr(unsafe.Pointer(&h.oldMask)))); err != nil {
		putRegion(r)
		return 0, err
	}

	*h = header{}
	h.tid = 1
	h.pidfd = -1
	h.fullMask = ^uint64(0)
	h.prog = r.imageAddr
	h.nops = uint64(len(prog.Ops))
	h.stackTop = r.stackLow + stackSize
	flags := uint64(unix.CLONE_VM|unix.CLONE_PIDFD|unix.CLONE_CHILD_CLEARTID) | spec.CloneFlags
	if f&noClone3 != 0 {
		h.mode = modeClone
		h.legacyFlags = flags | uint64(unix.SIGCHLD)
	} else {
		h.mode = modeClone3
		if f&noClearSighand == 0 {
			flags |= unix.CLONE_CLEAR_SIGHAND
		}
		h.cloneArgs = cloneArgs{
			pidfd:      uint64(uintptr(unsafe.Pointer(&h.pidfd))),
			childTID:   uint64(uintptr(unsafe.Pointer(&h.tid))),
			exitSignal: uint64(unix.SIGCHLD),
			stack:      r.stackLow,
			stackSize:  stackSize,
		}
		if spec.Cgroup != nil {
			flags |= unix.CLONE_INTO_CGROUP
			h.cloneArgs.cgroup = uint64(spec.Cgroup.Fd)
		}
		h.cloneArgs.flags = flags
	}

	// The child gets a copy of our descriptor table at clone. Code that
	// opens a descriptor and only then marks it close-on-exec holds
	// syscall.ForkLock for reading; when nothing in the child marks
	// every inherited descriptor close-on-exec, keep such code out of
	// the clone, as os/exec does.
	lock := spec.InheritFDs || !spec.CloseRangeCloexec
	if lock {
		syscall.ForkLock.Lock()
	}
	ret := rawSpawn(h)
	if lock {
		syscall.ForkLock.Unlock()
	}
	if e := int64(ret); e < 0 && e > -4096 {
		putRegion(r)
		return syscall.Errno(-e), nil
	}
	*p = Pending{prog: prog, r: r, pid: int(ret), pidfd: int(h.pidfd)}

	if prog.HasWake {
		if opt.AfterClone != nil {
			p.hookErr = opt.AfterClone(p.pid)
		}
		if p.hookErr != nil {
			unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0)
		} else {
			word := (*uint32)(unsafe.Pointer(&r.image[prog.SlotOffset(prog.WakeSlot)]))
			atomic.StoreUint32(word, 1)
			syscall.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), futexWake, 1, 0, 0, 0)
		}
	}
	return 0, nil
}

// Finish waits until the child has exec'd or failed. On success the
// program is freed and nil; on failure the child is reaped and its pidfd
// closed, and the program is returned for the error message.
func (p *Pending) Finish() (*plan.Program, Child, error) {
	h := p.r.hdr
	// Sleep until the kernel clears the CLEARTID word: the child has
	// exec'd or exited, and no longer uses the region. syscall.Syscall6
	// (not RawSyscall) lets the scheduler hand our P to another goroutine
	// while we wait.
	tid := &h.tid
	for atomic.LoadUint32(tid) != 0 {
		syscall.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(tid)), futexWait, 1, 0, 0, 0)
	}
	failErrno, failStep := h.failErrno, h.failStep
	// The index of the op the child was at when it stopped using our
	// memory: an exec op if it exec'd (or died in execve).
	cur := -1
	if h.curOp >= h.prog {
		cur = int((h.curOp - h.prog) / plan.OpSize)
	}
	putRegion(p.r)
	p.r = nil

	if failErrno == 0 && p.hookErr == nil {
		if cur >= 0 && cur < len(p.prog.Ops) && !p.prog.IsFinal(cur) {
			// Killed (by a signal) before it could exec.
			return p.prog, Child{}, p.killedBeforeExec(cur)
		}
		p.prog.Free()
		p.prog = nil
		return nil, Child{Pid: p.pid, Pidfd: p.pidfd}, nil
	}
	// The child failed (it wrote its failure and exited 127) or was
	// killed: reap it so that no zombie is left, and close its pidfd.
	reap(p.pidfd)
	unix.Close(p.pidfd)
	if p.hookErr != nil {
		return p.prog, Child{}, p.hookErr
	}
	step := int(failStep)
	if failStep == ^uint64(0) {
		step = -1
	}
	return p.prog, Child{}, &StepError{Prog: p.prog, Step: step, Errno: syscall.Errno(failErrno)}
}

// killedBeforeExec reaps a child that died at op index cur, and reports
// how.
func (p *Pending) killedBeforeExec(cur int) error {
	var ru syscall.Rusage
	var status syscall.WaitStatus
	for {
		_, st, done, err := WaitPidfd(p.pidfd, &ru)
		if err != nil || done {
			status = st
			break
		}
		var fds = []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}}
		unix.Poll(fds, -1)
	}
	unix.Close(p.pidfd)
	return &KilledError{Prog: p.prog, Step: p.prog.Ops[cur].Step, Status: status}
}

// KilledError reports a child that died, killed by a signal, before it
// could exec.
type KilledError struct {
	Prog   *plan.Program
	Step   int // the step it was running
	Status syscall.WaitStatus
}

func (e *KilledError) Error() string {
	return e.Prog.Steps[e.Step].String() + ": killed by signal " + e.Status.Signal().String() + " before exec"
}

// reap collects a child known to be exiting.
func reap(pidfd int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED, nil)
		if err != unix.EINTR {
			return
		}
	}
}

// ensure the header fits the space reserved for it.
var _ [headerSize - unsafe.Sizeof(header{})]byte

func init() {
	if unsafe.Sizeof(header{}) > headerSize {
		panic(fmt.Sprintf("engine: header is %d bytes, more than %d", unsafe.Sizeof(header{}), headerSize))
	}
}

func cloneNewName(ns string) string {
	if ns == "mnt" {
		return "CLONE_NEWNS"
	}
	return "CLONE_NEW" + strings.ToUpper(ns)
}
