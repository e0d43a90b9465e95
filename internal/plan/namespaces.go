//go:build linux

package plan

import (
	"encoding/binary"
	"strings"

	"golang.org/x/sys/unix"
)

// nsFlags names CLONE_NEW* flags.
var nsFlags = []struct {
	flag uint64
	name string
}{
	{unix.CLONE_NEWUSER, "user"}, {unix.CLONE_NEWNS, "mnt"}, {unix.CLONE_NEWPID, "pid"},
	{unix.CLONE_NEWNET, "net"}, {unix.CLONE_NEWUTS, "uts"}, {unix.CLONE_NEWIPC, "ipc"},
	{unix.CLONE_NEWCGROUP, "cgroup"}, {unix.CLONE_NEWTIME, "time"},
}

// NamespaceNames returns "user,net" for CLONE_NEWUSER|CLONE_NEWNET.
func NamespaceNames(flags uint64) string {
	var names []string
	for _, f := range nsFlags {
		if flags&f.flag != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ",")
}

// planNamespaces emits step 2.
func planNamespaces(p *Program, s *Spec) {
	if s.WaitForParent {
		// The parent writes uid_map and gid_map of the new user
		// namespace, then sets this word and wakes us. Until then we
		// have no identity in it, so nothing else can be done.
		slot := p.NewSlot()
		p.WakeSlot, p.HasWake = slot, true
		st := p.AddStep("wait for the uid/gid maps", "")
		// Each sleep times out after 10 s: if the parent died before
		// waking us, fail instead of sleeping forever.
		ts := make([]byte, 16)
		binary.NativeEndian.PutUint64(ts, 10)
		timeout := p.AddBytes(ts, "{10s}")
		p.Ops = append(p.Ops, Op{Kind: WaitNonZero, Args: [6]Arg{{Kind: SlotAddr, Val: uint64(slot)}, timeout}, Store: NoSlot, Step: st})
	}
	for _, ns := range s.Join {
		st := p.AddStep("setns", File{Fd: ns.Fd, Name: ns.Name}.label())
		p.Call(st, unix.SYS_SETNS, I(ns.Fd), I(ns.Type))
	}
	if s.Unshare != 0 {
		st := p.AddStep("unshare", NamespaceNames(s.Unshare))
		p.Call(st, unix.SYS_UNSHARE, I(s.Unshare))
		if s.Unshare&unix.CLONE_NEWNS != 0 {
			// As os/exec does: mounts made in the new namespace must
			// not propagate back to the parent's (systemd makes "/"
			// shared).
			st := p.AddStep("make mounts private", `"/" (MS_REC|MS_PRIVATE)`)
			p.Call(st, unix.SYS_MOUNT, p.AddString("none"), p.AddString("/"), I(0), I(unix.MS_REC|unix.MS_PRIVATE), I(0))
		}
	}
}
