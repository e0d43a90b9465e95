//go:build linux

package plan

import (
	"encoding/binary"
	"strconv"

	"golang.org/x/sys/unix"
)

// planSession emits step 3: setsid, setpgid, controlling terminal and
// foreground group. The child blocks every signal here, SIGTTOU included,
// so tcsetpgrp from a background group neither stops it nor needs SIGTTOU
// ignored (which would leak into the program).
func planSession(p *Program, s *Spec) {
	if s.Setsid {
		st := p.AddStep("setsid", "")
		p.Call(st, unix.SYS_SETSID)
	}
	if (s.Setpgid || s.Foreground) && !s.Setsid { // setsid made a new group already
		arg := "new group"
		if s.Pgid != 0 {
			arg = "join group " + strconv.Itoa(s.Pgid)
		}
		st := p.AddStep("setpgid", arg)
		p.Call(st, unix.SYS_SETPGID, I(0), I(s.Pgid))
	}
	if s.Ctty != nil && s.AcquireCtty {
		st := p.AddStep("set controlling terminal", s.Ctty.label())
		p.Call(st, unix.SYS_IOCTL, I(s.Ctty.Fd), I(unix.TIOCSCTTY), I(0))
	}
	if s.Foreground {
		fd := 0
		name := "stdin"
		if s.Ctty != nil {
			fd, name = s.Ctty.Fd, s.Ctty.label()
		}
		st := p.AddStep("tcsetpgrp", "the child's group → foreground of "+name)
		var pgid Arg
		if s.Pgid != 0 {
			b := make([]byte, 8)
			binary.NativeEndian.PutUint32(b, uint32(s.Pgid))
			pgid = p.AddBytes(b, "&"+strconv.Itoa(s.Pgid))
		} else {
			// The new group's id is the child's pid, known only in
			// the child: store getpid() and pass its address.
			slot := p.NewSlot()
			p.Call(st, unix.SYS_GETPID).Store = slot
			pgid = Arg{Kind: SlotAddr, Val: uint64(slot)}
		}
		p.Call(st, unix.SYS_IOCTL, I(fd), I(unix.TIOCSPGRP), pgid)
	}
}
