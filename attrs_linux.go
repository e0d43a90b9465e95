//go:build linux

package spawn

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/plan"
)

// childFd says where one child descriptor comes from, before the standard
// streams' pipes exist: file index i of the list Start builds (0, 1, 2 for
// the standard streams, 3+i for ExtraFiles[i]), an opened file, or closed.
type childFd struct {
	index    int // >= 0: files[index]
	open     *FileAction
	openID   int
	closed   bool
	gap      bool // not asked for: closed, or left as inherited (InheritFDs)
	parentFd int  // >= 0: the parent's descriptor itself (DupFile of an inherited one)
}

// prepared is a Cmd turned into a plan.Spec, minus the descriptors of the
// standard streams, which Start creates only once everything was checked.
type prepared struct {
	spec  plan.Spec
	fds   []childFd
	maps  func(pid int) error // writes uid/gid maps, for a new user namespace
	close []*os.File          // files opened for the spec (cgroup by path)

	// Room for the common case, so that a prepared on the stack makes no
	// allocation.
	fdsBuf   [8]childFd
	filesBuf [8]plan.File
}

// release closes what prepare opened. It may be called more than once.
func (p *prepared) release() {
	for _, f := range p.close {
		f.Close()
	}
	p.close = nil
}

// prepare checks every attribute of c and builds the spec. It creates no
// process, pipe or descriptor, except to open CgroupPath.
func (c *Cmd) prepare(p *prepared, path string, argv, env []string) error {
	bad := func(field, format string, args ...any) error {
		return invalid(path, field, fmt.Sprintf(format, args...))
	}
	p.spec = plan.Spec{Path: path, Argv: argv, Env: env, Dir: c.Dir, Chroot: c.Chroot,
		ScriptFallback: c.ScriptFallback, InheritFDs: c.Security.InheritFDs, EnvFromParent: c.Env == nil}
	s := &p.spec
	if err := s.Validate(); err != nil {
		return inputError(path, err)
	}
	fileRef := func(field string, f *os.File) (*plan.FdRef, error) {
		if f == nil {
			return nil, nil
		}
		if f.Fd() == ^uintptr(0) {
			return nil, bad(field, "file %q is closed", f.Name())
		}
		return &plan.FdRef{Fd: int(f.Fd()), Name: fileName(f)}, nil
	}
	var err error

	// Directory and executable.
	if c.DirFile != nil && c.Dir != "" {
		return bad("DirFile", "set together with Dir %q: choose one", c.Dir)
	}
	if s.DirFd, err = fileRef("DirFile", c.DirFile); err != nil {
		return err
	}
	if s.ExecFd, err = fileRef("ExecFile", c.ExecFile); err != nil {
		return err
	}
	if c.ExecFile != nil && c.ScriptFallback {
		return bad("ScriptFallback", "cannot be used with ExecFile")
	}

	// Signals.
	sa := c.Signals
	if sa.Ignore.Has(syscall.SIGKILL) || sa.Ignore.Has(syscall.SIGSTOP) {
		return bad("Signals.Ignore", "SIGKILL and SIGSTOP cannot be ignored")
	}
	s.SigDefault, s.SigIgnore, s.ResetAll = uint64(sa.Default), uint64(sa.Ignore), sa.ResetAll
	s.Mask, s.InheritMask = uint64(sa.Mask), sa.InheritMask

	// Session and terminal.
	ss := c.Session
	if ss.Pgid < 0 {
		return bad("Session.Pgid", "%d is negative", ss.Pgid)
	}
	if ss.Pgid != 0 && !ss.Setpgid && !ss.Foreground {
		return bad("Session.Pgid", "set without Setpgid")
	}
	if ss.Ctty != nil && !ss.Setsid && !ss.Foreground {
		return bad("Session.Ctty", "set without Setsid (to make it the controlling terminal) or Foreground")
	}
	if ss.Setsid && ss.Setpgid {
		return bad("Session.Setpgid", "set together with Setsid, which already makes a new group")
	}
	if ss.Setsid && ss.Foreground && ss.Ctty == nil {
		return bad("Session.Foreground", "with Setsid, the new session has no terminal: set Ctty")
	}
	s.Setsid, s.Setpgid, s.Pgid, s.Foreground, s.Noctty = ss.Setsid, ss.Setpgid, ss.Pgid, ss.Foreground, ss.Noctty
	if s.Ctty, err = fileRef("Session.Ctty", ss.Ctty); err != nil {
		return err
	}
	s.AcquireCtty = ss.Setsid && ss.Ctty != nil

	// Limits and scheduling.
	if err := c.prepareLimits(s, bad); err != nil {
		return err
	}

	// Credentials.
	if cr := c.Credential; cr != nil {
		// (uid_t)-1 means "leave unchanged" to the kernel: refuse it
		// rather than silently keep the parent's identity.
		if cr.Uid == ^uint32(0) {
			return bad("Credential.Uid", "4294967295 ((uid_t)-1) is not a user")
		}
		if cr.Gid == ^uint32(0) {
			return bad("Credential.Gid", "4294967295 ((gid_t)-1) is not a group")
		}
		for i, g := range cr.Groups {
			if g == ^uint32(0) {
				return bad(fmt.Sprintf("Credential.Groups[%d]", i), "4294967295 ((gid_t)-1) is not a group")
			}
		}
		s.Cred = &plan.Cred{UID: cr.Uid, GID: cr.Gid, Groups: cr.Groups, SetGroups: !cr.NoSetGroups,
			KeepCaps: cr.KeepCaps, Ambient: cr.AmbientCaps}
		if len(cr.AmbientCaps) > 0 {
			data, err := ambientCapData(cr.AmbientCaps)
			if err != nil {
				return bad("Credential.AmbientCaps", "%v", err)
			}
			s.Cred.CapData = data
		}
	}

	// Security.
	s.NoNewPrivs, s.Ptrace = c.Security.NoNewPrivs, c.Ptrace
	if n := len(c.Security.Seccomp); n > 0 {
		if n > 4096 {
			return bad("Security.Seccomp", "%d instructions, more than the kernel's 4096", n)
		}
		// struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }
		s.Seccomp = make([]byte, 0, 8*n)
		for _, ins := range c.Security.Seccomp {
			s.Seccomp = binary.NativeEndian.AppendUint16(s.Seccomp, ins.Code)
			s.Seccomp = append(s.Seccomp, ins.Jt, ins.Jf)
			s.Seccomp = binary.NativeEndian.AppendUint32(s.Seccomp, ins.K)
		}
	}

	// Parent death.
	if c.Pdeathsig != 0 && c.Ptrace {
		return bad("Ptrace", "cannot be combined with Pdeathsig: the tracer would be spawn's own thread, not yours")
	}
	if c.Pdeathsig != 0 {
		if c.Pdeathsig < 1 || c.Pdeathsig > 64 {
			return bad("Pdeathsig", "%d is not a signal", int(c.Pdeathsig))
		}
		s.Pdeathsig = int(c.Pdeathsig)
		s.ParentPid = os.Getpid()
		if c.Namespaces.Clone&unix.CLONE_NEWPID != 0 {
			s.ParentPid = 0 // the parent is outside the child's pid namespace
		}
	}

	if err := c.prepareNamespaces(p, bad, fileRef); err != nil {
		p.release()
		return err
	}
	if err := c.prepareFiles(p, bad); err != nil {
		p.release()
		return err
	}
	return nil
}

func (c *Cmd) prepareLimits(s *plan.Spec, bad func(string, string, ...any) error) error {
	l := c.Limits
	if soft, hard, restore := childNofile(); restore {
		// Before the caller's own limits, which may set NOFILE too.
		s.Rlimits = append(s.Rlimits, plan.Rlimit{Resource: unix.RLIMIT_NOFILE, Name: "NOFILE", Cur: soft, Max: hard})
	}
	for i, rl := range l.Rlimits {
		name, ok := rlimitNames[rl.Resource]
		field := fmt.Sprintf("Limits.Rlimits[%d]", i)
		if !ok {
			return bad(field, "unknown resource %d", rl.Resource)
		}
		if rl.Cur > rl.Max {
			return bad(field, "%s soft limit %d above hard limit %d", name, rl.Cur, rl.Max)
		}
		s.Rlimits = append(s.Rlimits, plan.Rlimit{Resource: rl.Resource, Name: name, Cur: rl.Cur, Max: rl.Max})
	}
	if l.Umask != nil {
		if *l.Umask > 0o777 {
			return bad("Limits.Umask", "%#o is not a mode mask (0..0777)", *l.Umask)
		}
		s.Umask = l.Umask
	}
	if l.Nice != nil {
		if *l.Nice < -20 || *l.Nice > 19 {
			return bad("Limits.Nice", "%d out of range -20..19", *l.Nice)
		}
		s.Nice = l.Nice
	}
	if l.CPUs != nil {
		if len(l.CPUs) == 0 {
			return bad("Limits.CPUs", "empty: the child could run nowhere")
		}
		var set unix.CPUSet
		for _, cpu := range l.CPUs {
			if cpu < 0 || cpu >= len(set)*64 {
				return bad("Limits.CPUs", "CPU %d out of range 0..%d", cpu, len(set)*64-1)
			}
			set.Set(cpu)
		}
		for _, word := range set {
			s.Affinity = binary.NativeEndian.AppendUint64(s.Affinity, uint64(word))
		}
		s.AffinityText = cpuList(l.CPUs)
	}
	if sc := l.Sched; sc != nil {
		name, ok := schedNames[sc.Policy]
		if !ok {
			return bad("Limits.Sched", "unknown policy %d", sc.Policy)
		}
		realtime := sc.Policy == unix.SCHED_FIFO || sc.Policy == unix.SCHED_RR
		if realtime && (sc.Priority < 1 || sc.Priority > 99) {
			return bad("Limits.Sched", "%s priority %d out of range 1..99", name, sc.Priority)
		}
		if !realtime && sc.Priority != 0 {
			return bad("Limits.Sched", "%s takes priority 0, not %d", name, sc.Priority)
		}
		s.Sched = &plan.Sched{Policy: int(sc.Policy), Priority: sc.Priority, Text: name + ":" + strconv.Itoa(sc.Priority)}
	}
	if io := l.IOPrio; io != nil {
		name, ok := ioClassNames[io.Class]
		if !ok {
			return bad("Limits.IOPrio", "unknown class %d", io.Class)
		}
		if io.Level < 0 || io.Level > 7 {
			return bad("Limits.IOPrio", "level %d out of range 0..7", io.Level)
		}
		s.IOPrio = &plan.IOPrio{Value: int(io.Class)<<13 | io.Level, Text: name + ":" + strconv.Itoa(io.Level)}
	}
	return nil
}

func (c *Cmd) prepareNamespaces(p *prepared, bad func(string, string, ...any) error, fileRef func(string, *os.File) (*plan.FdRef, error)) error {
	ns := c.Namespaces
	s := &p.spec
	const all = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
		unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME
	if ns.Clone&^all != 0 {
		return bad("Namespaces.Clone", "%#x has flags other than CLONE_NEW*", ns.Clone&^all)
	}
	if ns.Unshare&^all != 0 {
		return bad("Namespaces.Unshare", "%#x has flags other than CLONE_NEW*", ns.Unshare&^all)
	}
	s.CloneFlags, s.Unshare = uint64(ns.Clone), uint64(ns.Unshare)
	if (len(ns.UidMappings) > 0 || len(ns.GidMappings) > 0) && ns.Clone&unix.CLONE_NEWUSER == 0 {
		return bad("Namespaces.UidMappings", "id maps need CLONE_NEWUSER in Namespaces.Clone")
	}
	if ns.Clone&unix.CLONE_NEWUSER != 0 {
		s.WaitForParent = true
		uidMap, gidMap := idMapText(ns.UidMappings), idMapText(ns.GidMappings)
		setgroups := "deny"
		if ns.Setgroups == SetgroupsAllow {
			setgroups = "allow"
		}
		p.maps = func(pid int) error {
			return writeIDMaps(pid, uidMap, gidMap, setgroups)
		}
	}
	for i, f := range ns.Join {
		ref, err := fileRef(fmt.Sprintf("Namespaces.Join[%d]", i), f)
		if err != nil {
			return err
		}
		if ref == nil {
			return bad(fmt.Sprintf("Namespaces.Join[%d]", i), "nil *os.File")
		}
		s.Join = append(s.Join, plan.Namespace{Fd: ref.Fd, Name: ref.Name})
	}
	switch {
	case ns.Cgroup != nil && ns.CgroupPath != "":
		return bad("Namespaces.CgroupPath", "set together with Namespaces.Cgroup: choose one")
	case ns.Cgroup != nil:
		ref, err := fileRef("Namespaces.Cgroup", ns.Cgroup)
		if err != nil {
			return err
		}
		s.Cgroup = ref
	case ns.CgroupPath != "":
		f, err := os.OpenFile(ns.CgroupPath, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return &Error{Path: s.Path, Step: "open cgroup", Arg: strconv.Quote(ns.CgroupPath), Err: underlying(err)}
		}
		p.close = append(p.close, f)
		s.Cgroup = &plan.FdRef{Fd: int(f.Fd()), Name: ns.CgroupPath}
	}
	return nil
}

// prepareFiles applies Files to the descriptor table 0..2+len(ExtraFiles).
func (c *Cmd) prepareFiles(p *prepared, bad func(string, string, ...any) error) error {
	n := 3 + len(c.ExtraFiles)
	table := p.fdsBuf[:0]
	for i := range n {
		table = append(table, childFd{index: i, parentFd: -1})
	}
	const maxFd = 1 << 20
	for i, a := range c.Files {
		field := fmt.Sprintf("Files[%d]", i)
		if a.fd < 0 || a.fd >= maxFd {
			return bad(field, "descriptor %d out of range 0..%d", a.fd, maxFd-1)
		}
		for len(table) <= a.fd {
			table = append(table, childFd{index: -1, parentFd: -1, gap: true})
		}
		switch a.op {
		case fileOpen:
			if a.path == "" || strings.IndexByte(a.path, 0) >= 0 {
				return bad(field, "OpenFile path %q is empty or contains a NUL byte", a.path)
			}
			table[a.fd] = childFd{index: -1, parentFd: -1, open: &c.Files[i], openID: i}
		case fileDup:
			switch {
			case a.from >= 0 && a.from < len(table) && !table[a.from].closed && !table[a.from].gap:
				table[a.fd] = table[a.from]
			case c.Security.InheritFDs && a.from >= 0 && isOpenFd(a.from):
				// An inherited descriptor the child would get anyway.
				table[a.fd] = childFd{index: -1, parentFd: a.from}
			default:
				return bad(field, "DupFile(%d, %d): descriptor %d is not open in the child", a.fd, a.from, a.from)
			}
		case fileClose:
			table[a.fd] = childFd{index: -1, parentFd: -1, closed: true}
		default:
			return bad(field, "zero FileAction: use OpenFile, DupFile or CloseFile")
		}
	}
	// Gaps at the end need no step: with InheritFDs they are left alone,
	// otherwise everything from the end of the table on is closed at exec.
	for len(table) > 0 && table[len(table)-1].gap {
		table = table[:len(table)-1]
	}
	p.fds = table
	if lim := nofileLimit(); uint64(len(table)) > lim {
		field := "ExtraFiles"
		if len(table) > n {
			field = "Files"
		}
		return bad(field, "the child needs descriptors up to %d, above its RLIMIT_NOFILE of %d", len(table)-1, lim)
	}
	return nil
}

// isOpenFd reports whether this process has descriptor fd open.
func isOpenFd(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// files resolves the descriptor table against the files Start made.
func (p *prepared) files(files []*os.File) {
	p.spec.Files = p.filesBuf[:0]
	if len(p.fds) > len(p.filesBuf) {
		p.spec.Files = make([]plan.File, 0, len(p.fds))
	}
	p.spec.Files = p.spec.Files[:len(p.fds)]
	for i, e := range p.fds {
		switch {
		case e.gap && p.spec.InheritFDs:
			p.spec.Files[i] = plan.File{Kind: plan.Keep}
		case e.closed || e.gap:
			p.spec.Files[i] = plan.File{Kind: plan.Closed}
		case e.parentFd >= 0:
			p.spec.Files[i] = plan.File{Fd: e.parentFd, Name: "inherited"}
		case e.open != nil:
			p.spec.Files[i] = plan.File{Kind: plan.Open, Path: e.open.path, Flags: e.open.flag,
				Perm: uint32(e.open.perm.Perm()), OpenID: e.openID}
		default:
			f := files[e.index]
			p.spec.Files[i] = plan.File{Fd: int(f.Fd()), Name: fileName(f)}
		}
	}
}

// nofileLimit is the soft RLIMIT_NOFILE the child inherits.
func nofileLimit() uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return unix.RLIM_INFINITY
	}
	return rl.Cur
}

// ambientCapData computes the capset data the child installs after its
// uid change: the permitted set is kept (PR_SET_KEEPCAPS), the ambient
// capabilities become inheritable too, and effective is empty (exec
// recomputes it).
func ambientCapData(caps []uintptr) ([]byte, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil, err
	}
	for _, c := range caps {
		if c > unix.CAP_LAST_CAP {
			return nil, fmt.Errorf("capability %d is beyond CAP_LAST_CAP (%d)", c, unix.CAP_LAST_CAP)
		}
		i, bit := c/32, uint32(1)<<(c%32)
		if data[i].Permitted&bit == 0 {
			return nil, fmt.Errorf("capability %d is not in the parent's permitted set", c)
		}
		data[i].Inheritable |= bit
	}
	b := make([]byte, 24)
	for i, d := range data {
		binary.NativeEndian.PutUint32(b[12*i:], 0)
		binary.NativeEndian.PutUint32(b[12*i+4:], d.Permitted)
		binary.NativeEndian.PutUint32(b[12*i+8:], d.Inheritable)
	}
	return b, nil
}

func idMapText(m []IDMap) string {
	var b strings.Builder
	for _, e := range m {
		fmt.Fprintf(&b, "%d %d %d\n", e.ContainerID, e.HostID, e.Size)
	}
	return b.String()
}

// writeIDMaps writes a new user namespace's maps while its first process
// waits. setgroups must be written before gid_map.
func writeIDMaps(pid int, uidMap, gidMap, setgroups string) error {
	write := func(name, content string) error {
		if content == "" {
			return nil
		}
		path := fmt.Sprintf("/proc/%d/%s", pid, name)
		if err := os.WriteFile(path, []byte(content), 0); err != nil {
			return &Error{Step: "write " + name, Arg: strconv.Quote(strings.TrimSpace(content)), Err: underlying(err)}
		}
		return nil
	}
	if err := write("uid_map", uidMap); err != nil {
		return err
	}
	if gidMap != "" {
		if err := write("setgroups", setgroups); err != nil {
			return err
		}
	}
	return write("gid_map", gidMap)
}

// underlying strips the *PathError of an os call whose path the step
// already names.
func underlying(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// cpuList prints CPUs as "0-3,6".
func cpuList(cpus []int) string {
	c := slices.Clone(cpus)
	slices.Sort(c)
	c = slices.Compact(c)
	var parts []string
	for i := 0; i < len(c); {
		j := i
		for j+1 < len(c) && c[j+1] == c[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", c[i], c[j]))
		} else {
			parts = append(parts, strconv.Itoa(c[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

var rlimitNames = map[int]string{
	unix.RLIMIT_AS: "AS", unix.RLIMIT_CORE: "CORE", unix.RLIMIT_CPU: "CPU", unix.RLIMIT_DATA: "DATA",
	unix.RLIMIT_FSIZE: "FSIZE", unix.RLIMIT_LOCKS: "LOCKS", unix.RLIMIT_MEMLOCK: "MEMLOCK",
	unix.RLIMIT_MSGQUEUE: "MSGQUEUE", unix.RLIMIT_NICE: "NICE", unix.RLIMIT_NOFILE: "NOFILE",
	unix.RLIMIT_NPROC: "NPROC", unix.RLIMIT_RSS: "RSS", unix.RLIMIT_RTPRIO: "RTPRIO",
	unix.RLIMIT_RTTIME: "RTTIME", unix.RLIMIT_SIGPENDING: "SIGPENDING", unix.RLIMIT_STACK: "STACK",
}

var schedNames = map[SchedPolicy]string{
	unix.SCHED_NORMAL: "other", unix.SCHED_FIFO: "fifo", unix.SCHED_RR: "rr",
	unix.SCHED_BATCH: "batch", unix.SCHED_IDLE: "idle",
}

var ioClassNames = map[IOPrioClass]string{
	IOPrioRealtime: "realtime", IOPrioBestEffort: "best-effort", IOPrioIdle: "idle",
}
