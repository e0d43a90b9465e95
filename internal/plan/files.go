//go:build linux

package plan

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// ChildFdName names child descriptor i as a user thinks of it.
func ChildFdName(i int) string {
	switch i {
	case 0:
		return "stdin"
	case 1:
		return "stdout"
	case 2:
		return "stderr"
	}
	return "fd " + strconv.Itoa(i)
}

func (f File) label() string {
	if f.Name == "" {
		return "fd " + strconv.Itoa(f.Fd)
	}
	return fmt.Sprintf("%s (fd %d)", f.Name, f.Fd)
}

// planFiles emits the descriptor shuffle that gives the child fd i the open
// file of the parent's fd files[i].Fd, whatever the overlaps.
//
// Targets are assigned in increasing order. A source s below the target i
// being assigned was itself a target already assigned (destroyed) unless it
// maps to itself, so such sources are first copied out of the way, above
// every target, with F_DUPFD_CLOEXEC; the copy's number is known only in the
// child, so the op stores it in a slot and the later dup3 reads it from
// there. A source above i is read before its own number is assigned. So the
// parent's fds 3 and 4 swapped into the child's 4 and 3 take three calls:
// move 3 away, dup3(4, 3), dup3(moved, 4).
//
// dup3 clears close-on-exec on the new descriptor; a source already on its
// target only needs close-on-exec cleared.
func planFiles(p *Program, files []File) {
	n := len(files)
	moved := map[int]int{} // parent fd → slot holding its copy

	needsMove := func(i int) bool {
		s := files[i].Fd
		return s >= 0 && s < i && files[s].Fd != s
	}
	for i := range files {
		if !needsMove(i) {
			continue
		}
		s := files[i].Fd
		if _, ok := moved[s]; ok {
			continue
		}
		slot := p.NewSlot()
		moved[s] = slot
		st := p.AddStep("dup", fmt.Sprintf("%s out of the way, to fd ≥ %d", files[i].label(), n))
		op := p.Call(st, unix.SYS_FCNTL, I(s), I(unix.F_DUPFD_CLOEXEC), I(n))
		op.Store = slot
	}

	for i, f := range files {
		switch {
		case f.Fd < 0:
			st := p.AddStep("close", ChildFdName(i))
			op := p.Call(st, unix.SYS_CLOSE, I(i))
			op.AllowErrno = uint32(unix.EBADF)
		case f.Fd == i:
			st := p.AddStep("clear close-on-exec", f.label()+" → "+ChildFdName(i))
			p.Call(st, unix.SYS_FCNTL, I(i), I(unix.F_SETFD), I(0))
		case needsMove(i):
			st := p.AddStep("dup3", f.label()+" → "+ChildFdName(i))
			p.Call(st, unix.SYS_DUP3, Arg{Kind: SlotValue, Val: uint64(moved[f.Fd])}, I(i), I(0))
		default:
			st := p.AddStep("dup3", f.label()+" → "+ChildFdName(i))
			p.Call(st, unix.SYS_DUP3, I(f.Fd), I(i), I(0))
		}
	}
}
