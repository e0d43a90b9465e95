//go:build linux

package plan

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/sigset"
)

// planCred emits step 6: supplementary groups, then gid, then uid (each
// needs the privilege the next one gives up), then capabilities.
func planCred(p *Program, s *Spec) {
	c := s.Cred
	if c == nil {
		return
	}
	if c.SetGroups {
		b := make([]byte, 4*max(len(c.Groups), 1))
		var names []string
		for i, g := range c.Groups {
			binary.NativeEndian.PutUint32(b[4*i:], g)
			names = append(names, strconv.FormatUint(uint64(g), 10))
		}
		show := "[" + strings.Join(names, ",") + "]"
		st := p.AddStep("setgroups", show)
		p.Call(st, unix.SYS_SETGROUPS, I(len(c.Groups)), p.AddBytes(b, show))
	}
	st := p.AddStep("setresgid", strconv.FormatUint(uint64(c.GID), 10))
	p.Call(st, unix.SYS_SETRESGID, I(c.GID), I(c.GID), I(c.GID))
	if c.KeepCaps || len(c.Ambient) > 0 {
		st := p.AddStep("keep capabilities", "across setresuid")
		p.Call(st, unix.SYS_PRCTL, I(unix.PR_SET_KEEPCAPS), I(1), I(0), I(0), I(0))
	}
	st = p.AddStep("setresuid", strconv.FormatUint(uint64(c.UID), 10))
	p.Call(st, unix.SYS_SETRESUID, I(c.UID), I(c.UID), I(c.UID))
	if len(c.Ambient) > 0 {
		// The capabilities must be inheritable (and permitted) before
		// they can be made ambient.
		hdr := make([]byte, 8)
		binary.NativeEndian.PutUint32(hdr, unix.LINUX_CAPABILITY_VERSION_3)
		st := p.AddStep("capset", "ambient capabilities inheritable")
		p.Call(st, unix.SYS_CAPSET, p.AddBytes(hdr, "{v3}"), p.AddBytes(c.CapData, "{…}"))
		for _, cap := range c.Ambient {
			st := p.AddStep("raise ambient capability", fmt.Sprintf("%d", cap))
			p.Call(st, unix.SYS_PRCTL, I(unix.PR_CAP_AMBIENT), I(unix.PR_CAP_AMBIENT_RAISE), I(cap), I(0), I(0))
		}
	}
}

// planPdeathsig emits step 8: the parent-death signal, then the check that
// the parent did not die before it was set (the signal would never come).
func planPdeathsig(p *Program, s *Spec) {
	if s.Pdeathsig == 0 {
		return
	}
	st := p.AddStep("set parent-death signal", "SIG"+sigset.Name(s.Pdeathsig))
	p.Call(st, unix.SYS_PRCTL, I(unix.PR_SET_PDEATHSIG), I(s.Pdeathsig), I(0), I(0), I(0))
	st = p.AddStep("check the parent is alive", "getppid() == "+strconv.Itoa(s.ParentPid))
	op := p.Call(st, unix.SYS_GETPPID)
	op.HasExpect, op.Expect, op.ExpectErrno = true, uint64(s.ParentPid), uint32(unix.ESRCH)
}
