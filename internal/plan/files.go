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
	if f.Kind == Open {
		return strconv.Quote(f.Path)
	}
	if f.Name == "" {
		return "fd " + strconv.Itoa(f.Fd)
	}
	return fmt.Sprintf("%s (fd %d)", f.Name, f.Fd)
}

// planFiles emits the descriptor shuffle that gives child fd i what
// files[i] says, whatever the overlaps, and returns how to refer, after
// the shuffle, to each parent descriptor in late (used by later steps,
// such as the descriptor of the program to exec).
//
// Targets are assigned in increasing order. A parent descriptor s below the
// target i being assigned was itself a target already assigned (destroyed)
// unless it maps to itself, so such sources are first copied out of the
// way, above every target, with F_DUPFD_CLOEXEC; the copy's number is known
// only in the child, so the op stores it in a slot and the later dup3 reads
// it from there. A source above i is read before its own number is
// assigned. So the parent's fds 3 and 4 swapped into the child's 4 and 3
// take three calls: move 3 away, dup3(4, 3), dup3(moved, 4).
//
// A file to open is opened first (O_CLOEXEC) and moved above every target
// the same way, since the number open returns may be a target. dup3 clears
// close-on-exec on the new descriptor; a source already on its target only
// needs close-on-exec cleared.
func planFiles(p *Program, files []File, late []int) []Arg {
	n := len(files)
	// Parent fd (or OpenID) → slot holding its copy. Few entries, so a
	// slice searched linearly: planning allocates nothing per spawn.
	type copyOf struct{ key, slot int }
	var movedBuf, openedBuf [8]copyOf
	moved, opened := movedBuf[:0], openedBuf[:0]
	find := func(list []copyOf, key int) (int, bool) {
		for _, c := range list {
			if c.key == key {
				return c.slot, true
			}
		}
		return 0, false
	}

	clobbered := func(s int) bool { // is parent fd s overwritten by the shuffle?
		return s >= 0 && s < n && files[s].Kind != Keep && !(files[s].Kind == FromParent && files[s].Fd == s)
	}
	needsMove := func(i int) bool {
		f := files[i]
		return f.Kind == FromParent && f.Fd < i && clobbered(f.Fd)
	}
	move := func(fd int, f File) {
		if _, ok := find(moved, fd); ok {
			return
		}
		slot := p.NewSlot()
		moved = append(moved, copyOf{fd, slot})
		st := p.addStep("dup", stepArg{how: argMoveOut, file: f, child: n})
		p.Call(st, unix.SYS_FCNTL, I(fd), I(unix.F_DUPFD_CLOEXEC), I(n)).Store = slot
	}

	for i, f := range files {
		switch {
		case needsMove(i):
			move(f.Fd, f)
		case f.Kind == Open:
			if _, ok := find(opened, f.OpenID); ok {
				continue
			}
			tmp := p.NewSlot()
			st := p.addStep("open", stepArg{how: argFileTo, file: f, child: i})
			p.Call(st, unix.SYS_OPENAT, I(int64(unix.AT_FDCWD)), p.AddString(f.Path),
				I(f.Flags|unix.O_CLOEXEC), I(f.Perm)).Store = tmp
			slot := p.NewSlot()
			opened = append(opened, copyOf{f.OpenID, slot})
			p.Call(st, unix.SYS_FCNTL, Arg{Kind: SlotValue, Val: uint64(tmp)}, I(unix.F_DUPFD_CLOEXEC), I(n)).Store = slot
		}
	}
	var lateArgs []Arg
	for _, fd := range late {
		if clobbered(fd) {
			move(fd, File{Fd: fd})
			slot, _ := find(moved, fd)
			lateArgs = append(lateArgs, Arg{Kind: SlotValue, Val: uint64(slot)})
		} else {
			lateArgs = append(lateArgs, I(fd))
		}
	}

	for i, f := range files {
		switch {
		case f.Kind == Keep:
		case f.Kind == Closed:
			st := p.addStep("close", stepArg{how: argFileTo, file: f, child: i})
			p.Call(st, unix.SYS_CLOSE, I(i)).AllowErrno = uint32(unix.EBADF)
		case f.Kind == Open:
			st := p.addStep("dup3", stepArg{how: argFileTo, file: f, child: i})
			slot, _ := find(opened, f.OpenID)
			p.Call(st, unix.SYS_DUP3, Arg{Kind: SlotValue, Val: uint64(slot)}, I(i), I(0))
		case f.Fd == i:
			st := p.addStep("clear close-on-exec", stepArg{how: argFileTo, file: f, child: i})
			p.Call(st, unix.SYS_FCNTL, I(i), I(unix.F_SETFD), I(0))
		case needsMove(i):
			st := p.addStep("dup3", stepArg{how: argFileTo, file: f, child: i})
			slot, _ := find(moved, f.Fd)
			p.Call(st, unix.SYS_DUP3, Arg{Kind: SlotValue, Val: uint64(slot)}, I(i), I(0))
		default:
			st := p.addStep("dup3", stepArg{how: argFileTo, file: f, child: i})
			p.Call(st, unix.SYS_DUP3, I(f.Fd), I(i), I(0))
		}
	}
	return lateArgs
}
