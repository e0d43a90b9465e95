//go:build linux

package plan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// fdTable models a process's descriptor table: fd → open file id and
// close-on-exec flag. It lets the tests run the descriptor ops of a program
// the way the kernel would, without starting anything.
type fdEntry struct {
	file    int
	cloexec bool
}

type fdTable map[int]fdEntry

func (t fdTable) lowestFree(from int) int {
	for fd := from; ; fd++ {
		if _, ok := t[fd]; !ok {
			return fd
		}
	}
}

// simulate runs p's descriptor ops against t and then "execs" (drops the
// close-on-exec descriptors). It fails the test on an op it does not model
// or one the kernel would refuse.
func simulate(t *testing.T, p *Program, table fdTable) fdTable {
	t.Helper()
	slots := make([]uint64, p.Slots)
	arg := func(a Arg) uint64 {
		switch a.Kind {
		case Imm:
			return a.Val
		case SlotValue:
			return slots[a.Val]
		}
		t.Fatalf("unexpected argument kind %d", a.Kind)
		return 0
	}
	for _, op := range p.Ops {
		step := p.Steps[op.Step].String()
		var res uint64
		var errno unix.Errno
		switch op.Nr {
		case unix.SYS_FCNTL:
			fd, cmd := int(arg(op.Args[0])), arg(op.Args[1])
			e, ok := table[fd]
			if !ok {
				errno = unix.EBADF
				break
			}
			switch cmd {
			case unix.F_DUPFD_CLOEXEC:
				nfd := table.lowestFree(int(arg(op.Args[2])))
				table[nfd] = fdEntry{e.file, true}
				res = uint64(nfd)
			case unix.F_SETFD:
				table[fd] = fdEntry{e.file, arg(op.Args[2])&unix.FD_CLOEXEC != 0}
			default:
				t.Fatalf("%s: fcntl cmd %d not modelled", step, cmd)
			}
		case unix.SYS_DUP3:
			old, nfd := int(arg(op.Args[0])), int(arg(op.Args[1]))
			e, ok := table[old]
			switch {
			case !ok:
				errno = unix.EBADF
			case old == nfd:
				errno = unix.EINVAL
			default:
				table[nfd] = fdEntry{e.file, false}
				res = uint64(nfd)
			}
		case unix.SYS_CLOSE:
			fd := int(arg(op.Args[0]))
			if _, ok := table[fd]; !ok {
				errno = unix.EBADF
			}
			delete(table, fd)
		case unix.SYS_CLOSE_RANGE:
			lo := int(arg(op.Args[0]))
			for fd, e := range table {
				if fd >= lo {
					table[fd] = fdEntry{e.file, true}
				}
			}
		case unix.SYS_RT_SIGPROCMASK, unix.SYS_CHDIR:
		case unix.SYS_EXECVE:
			for fd, e := range table {
				if e.cloexec {
					delete(table, fd)
				}
			}
			return table
		default:
			t.Fatalf("%s: system call %d not modelled", step, op.Nr)
		}
		if errno != 0 && uint32(errno) != op.AllowErrno {
			t.Fatalf("%s: %s fails with %v", step, p.CallString(op), errno)
		}
		if errno == 0 && op.Store != NoSlot {
			slots[op.Store] = res
		}
	}
	t.Fatalf("program ended without execve")
	return nil
}

// checkMapping plans src (child fd i = parent fd src[i], -1 closed) against
// a parent whose open descriptors are parentFds (all close-on-exec, as Go
// opens them, except those listed in inheritable), and checks that the child
// ends up with exactly what was asked.
func checkMapping(t *testing.T, src []int, parentFds []int, inheritable []int) {
	t.Helper()
	table := fdTable{}
	for _, fd := range parentFds {
		table[fd] = fdEntry{file: 1000 + fd, cloexec: !slices.Contains(inheritable, fd)}
	}
	spec := &Spec{Path: "/bin/x", Argv: []string{"x"}, KernelClearsHandlers: true, CloseRangeCloexec: true}
	for _, fd := range src {
		if fd < 0 {
			spec.Files = append(spec.Files, File{Kind: Closed})
		} else {
			spec.Files = append(spec.Files, File{Fd: fd})
		}
	}
	p, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	got := simulate(t, p, table)
	want := fdTable{}
	for i, fd := range src {
		if fd >= 0 {
			want[i] = fdEntry{file: 1000 + fd}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("mapping %v from parent fds %v:\nchild got  %v\nwanted     %v\nprogram:\n%s", src, parentFds, got, want, p)
	}
}

func TestFileMappings(t *testing.T) {
	tests := []struct {
		name        string
		src         []int // child fd i gets parent fd src[i]
		parent      []int
		inheritable []int
	}{
		{"stdio passed through", []int{0, 1, 2}, []int{0, 1, 2}, []int{0, 1, 2}},
		{"pipes above the targets", []int{7, 8, 9}, []int{0, 1, 2, 7, 8, 9}, nil},
		{"stdout to stderr too", []int{0, 1, 1}, []int{0, 1, 2}, nil},
		{"parent 3 and 4 swapped into child 4 and 3", []int{0, 1, 2, 4, 3}, []int{0, 1, 2, 3, 4}, nil},
		{"a source already on its target", []int{9, 1, 9, 3}, []int{1, 3, 9}, nil},
		{"rotation", []int{1, 2, 0}, []int{0, 1, 2}, nil},
		{"one parent fd to every target", []int{2, 2, 2, 2}, []int{2}, nil},
		{"closed in the child", []int{5, -1, 6}, []int{0, 1, 2, 5, 6}, []int{1}},
		{"inherited non-cloexec fds beyond are closed", []int{0, 1, 2}, []int{0, 1, 2, 10, 251}, []int{10, 251}},
		{"chain", []int{3, 0, 1, 2}, []int{0, 1, 2, 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkMapping(t, tt.src, tt.parent, tt.inheritable)
		})
	}
}

// TestFileMappingsRandom checks thousands of random mappings, overlaps and
// cycles included.
func TestFileMappingsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		n := 1 + r.IntN(8)
		var parent []int
		for fd := range 12 {
			if r.IntN(3) > 0 {
				parent = append(parent, fd)
			}
		}
		if len(parent) == 0 {
			parent = []int{r.IntN(12)}
		}
		src := make([]int, n)
		for i := range src {
			if r.IntN(10) == 0 {
				src[i] = -1
			} else {
				src[i] = parent[r.IntN(len(parent))]
			}
		}
		checkMapping(t, src, parent, nil)
	}
}

// The swap costs three calls: one move out of the way and two dup3s.
func TestSwapIsMinimal(t *testing.T) {
	spec := &Spec{Path: "/bin/x", Argv: []string{"x"}, KernelClearsHandlers: true,
		Files: []File{{Fd: 0}, {Fd: 1}, {Fd: 2}, {Fd: 4}, {Fd: 3}}}
	p, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	var moves, dups int
	for _, op := range p.Ops {
		switch {
		case op.Nr == unix.SYS_FCNTL && op.Args[1].Val == unix.F_DUPFD_CLOEXEC:
			moves++
		case op.Nr == unix.SYS_DUP3:
			dups++
		}
	}
	if moves != 1 || dups != 2 {
		t.Errorf("swap took %d moves and %d dup3s, want 1 and 2:\n%s", moves, dups, p)
	}
}
