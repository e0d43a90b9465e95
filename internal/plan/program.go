//go:build linux

package plan

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/sigset"
)

// ArgKind says how an Arg's value is turned into the register value the
// system call receives.
type ArgKind uint8

const (
	// Imm passes Val itself.
	Imm ArgKind = iota
	// DataAddr passes the address of data item number Val.
	DataAddr
	// SlotAddr passes the address of result slot number Val.
	SlotAddr
	// SlotValue passes the 8-byte value stored in slot number Val (an
	// indirect argument: the value an earlier op stored there).
	SlotValue
	// SavedMaskAddr passes the address of the signal mask the spawning thread
	// had when it blocked all signals around clone.
	SavedMaskAddr
)

// Arg is one system call argument.
type Arg struct {
	Kind ArgKind
	Val  uint64
}

// I returns an immediate argument.
func I[T ~int | ~uint | ~int32 | ~uint32 | ~int64 | ~uint64 | ~uintptr](v T) Arg {
	return Arg{Kind: Imm, Val: uint64(v)}
}

// Kind distinguishes ordinary system calls from the few ops that need a loop.
type Kind uint8

const (
	// Syscall is one raw system call.
	Syscall Kind = iota
	// ResetHandlers sets every signal whose handler value is above
	// Args[0] back to SIG_DFL: with 1 (SIG_IGN), the handled ones (used
	// when the kernel cannot do it at clone time with CLONE_CLEAR_SIGHAND);
	// with 0, ignored ones too.
	ResetHandlers
	// WaitNonZero sleeps (futex) until the 4-byte word at Args[0], a
	// SlotAddr, is not zero: the parent sets and wakes it.
	WaitNonZero
)

// NoSlot marks an op that stores no result.
const NoSlot = -1

// Op is one step of the child program: one system call and what to do with
// its result.
type Op struct {
	Kind Kind
	Nr   uintptr
	Args [6]Arg
	// Store is the slot that receives the result on success, or NoSlot.
	Store int
	// Expect, if HasExpect, is the only successful result accepted; any
	// other fails the op with ExpectErrno.
	HasExpect   bool
	Expect      uint64
	ExpectErrno uint32
	// AllowErrno, if non-zero, is an errno that counts as success (the
	// program goes on to the next op).
	AllowErrno uint32
	// Step indexes Program.Steps: what this op is for, in words.
	Step int
}

// Step says, as a person would, what one or more ops do. An error in the
// child is reported with the step of the op that failed. The argument's
// text is made only when it is asked for (errors, explain), so that
// planning a spawn allocates no strings.
type Step struct {
	Name string // the operation: "chdir", "dup3", "execve"
	arg  stepArg
}

type argHow uint8

const (
	argText    argHow = iota // text as is
	argQuote                 // text quoted
	argFileTo                // file → child fd
	argMoveOut               // file out of the way, to fd ≥ n
	argAbove                 // fd n and above
	argMask                  // {signal set}
)

type stepArg struct {
	how   argHow
	text  string
	file  File
	child int
	set   uint64
}

// Arg returns the step's argument as displayed: `"/srv"`, `pipe (fd 7) →
// stdout`.
func (s Step) Arg() string {
	a := s.arg
	switch a.how {
	case argQuote:
		return strconv.Quote(a.text)
	case argFileTo:
		if a.file.Kind == Closed {
			return ChildFdName(a.child)
		}
		return a.file.label() + " → " + ChildFdName(a.child)
	case argMoveOut:
		return fmt.Sprintf("%s out of the way, to fd ≥ %d", a.file.label(), a.child)
	case argAbove:
		return "fd " + strconv.Itoa(a.child) + " and above"
	case argMask:
		if a.set == 0 {
			return "{}"
		}
		return "{" + sigset.Set(a.set).String() + "}"
	}
	return a.text
}

func (s Step) String() string {
	arg := s.Arg()
	if arg == "" {
		return s.Name
	}
	return s.Name + " " + arg
}

// DatumKind says how a datum is laid out in the child's memory.
type DatumKind uint8

const (
	// CString is Str followed by a NUL byte.
	CString DatumKind = iota
	// CStringVec is a NULL-terminated array of pointers to the NUL-terminated
	// strings of Vec (an argv or envp).
	CStringVec
	// Bytes is Raw, as is.
	Bytes
	// SockFprog is a struct sock_fprog whose filter is Raw (8 bytes per
	// instruction), laid out right after it.
	SockFprog
	// SigSet is the 8-byte signal set Word.
	SigSet
)

// Datum is one item of read-only data the child's system calls point at.
type Datum struct {
	Kind DatumKind
	Str  string
	Vec  []string
	Raw  []byte
	Show string // how explain shows it, e.g. "{INT,TERM}"; if empty, its contents
	Word uint64 // SigSet
	// Hidden shows a CStringVec as its length only (an environment).
	Hidden bool
}

// Program is the complete child program.
type Program struct {
	Ops   []Op
	Steps []Step
	Data  []Datum
	Slots int
	// ExecStep is the step of the final exec, which tells the caller which
	// program was meant to run.
	ExecStep int
	// HasWake says the child waits (WaitNonZero) on slot WakeSlot until
	// the parent sets it.
	HasWake  bool
	WakeSlot int
}

var programs = sync.Pool{New: func() any { return new(Program) }}

// newProgram returns an empty Program, reusing the memory of one freed
// before.
func newProgram() *Program { return programs.Get().(*Program) }

// Free lets the program's memory be reused by a later Build. The program
// must not be used afterwards.
func (p *Program) Free() {
	clear(p.Ops)
	clear(p.Steps)
	clear(p.Data)
	*p = Program{Ops: p.Ops[:0], Steps: p.Steps[:0], Data: p.Data[:0]}
	programs.Put(p)
}

// AddStep appends a step with a literal argument and returns its index.
func (p *Program) AddStep(name, arg string) int {
	return p.addStep(name, stepArg{text: arg})
}

// AddQuotedStep appends a step whose argument is s, quoted.
func (p *Program) AddQuotedStep(name, s string) int {
	return p.addStep(name, stepArg{how: argQuote, text: s})
}

func (p *Program) addStep(name string, a stepArg) int {
	p.Steps = append(p.Steps, Step{Name: name, arg: a})
	return len(p.Steps) - 1
}

// IsFinal reports whether op number i ends the child's use of the
// parent's memory: an exec (the last op, or the /bin/sh fallback before it),
// or an exit_group a test program may end with.
func (p *Program) IsFinal(i int) bool {
	nr := p.Ops[i].Nr
	return p.Ops[i].Kind == Syscall && (nr == unix.SYS_EXECVE || nr == unix.SYS_EXECVEAT || nr == unix.SYS_EXIT_GROUP)
}

// AddString adds a NUL-terminated string and returns an argument holding
// its address.
func (p *Program) AddString(s string) Arg {
	p.Data = append(p.Data, Datum{Kind: CString, Str: s})
	return Arg{Kind: DataAddr, Val: uint64(len(p.Data) - 1)}
}

// AddVec adds a NULL-terminated string vector and returns its address.
func (p *Program) AddVec(v []string) Arg {
	p.Data = append(p.Data, Datum{Kind: CStringVec, Vec: v})
	return Arg{Kind: DataAddr, Val: uint64(len(p.Data) - 1)}
}

// AddEnv adds an environment vector, which explain shows as a count only
// (values may be secrets).
func (p *Program) AddEnv(env []string) Arg {
	p.Data = append(p.Data, Datum{Kind: CStringVec, Vec: env, Hidden: true})
	return Arg{Kind: DataAddr, Val: uint64(len(p.Data) - 1)}
}

// AddSigSet adds an 8-byte signal set and returns its address.
func (p *Program) AddSigSet(set uint64) Arg {
	p.Data = append(p.Data, Datum{Kind: SigSet, Word: set})
	return Arg{Kind: DataAddr, Val: uint64(len(p.Data) - 1)}
}

// AddBytes adds raw bytes, shown as show by explain, and returns their
// address.
func (p *Program) AddBytes(b []byte, show string) Arg {
	p.Data = append(p.Data, Datum{Kind: Bytes, Raw: b, Show: show})
	return Arg{Kind: DataAddr, Val: uint64(len(p.Data) - 1)}
}

// NewSlot reserves an 8-byte result slot and returns its index.
func (p *Program) NewSlot() int {
	p.Slots++
	return p.Slots - 1
}

// Call appends a plain system call op for step and returns a pointer to it
// so the caller can set Store, Expect or AllowErrno.
func (p *Program) Call(step int, nr uintptr, args ...Arg) *Op {
	if len(args) > 6 {
		panic("plan: more than six system call arguments")
	}
	op := Op{Kind: Syscall, Nr: nr, Store: NoSlot, Step: step}
	copy(op.Args[:], args)
	p.Ops = append(p.Ops, op)
	return &p.Ops[len(p.Ops)-1]
}

// Validate checks the program's internal references. The planner only
// produces valid programs; the engine checks anyway before the child runs.
func (p *Program) Validate() error {
	if len(p.Ops) == 0 {
		return fmt.Errorf("plan: empty program")
	}
	for i, op := range p.Ops {
		if op.Kind == WaitNonZero && op.Args[0].Kind != SlotAddr {
			return fmt.Errorf("plan: op %d: wait on something else than a slot", i)
		}
		if op.Step < 0 || op.Step >= len(p.Steps) {
			return fmt.Errorf("plan: op %d: step %d out of range", i, op.Step)
		}
		if op.HasExpect && op.ExpectErrno == 0 {
			return fmt.Errorf("plan: op %d: expect without an errno to report", i)
		}
		if op.Store != NoSlot && (op.Store < 0 || op.Store >= p.Slots) {
			return fmt.Errorf("plan: op %d: store slot %d out of range", i, op.Store)
		}
		for j, a := range op.Args {
			switch a.Kind {
			case Imm, SavedMaskAddr:
			case DataAddr:
				if a.Val >= uint64(len(p.Data)) {
					return fmt.Errorf("plan: op %d arg %d: datum %d out of range", i, j, a.Val)
				}
			case SlotAddr, SlotValue:
				if a.Val >= uint64(p.Slots) {
					return fmt.Errorf("plan: op %d arg %d: slot %d out of range", i, j, a.Val)
				}
			default:
				return fmt.Errorf("plan: op %d arg %d: unknown kind %d", i, j, a.Kind)
			}
		}
	}
	return nil
}

// String prints the program one op per line, as `spawn explain` shows it.
func (p *Program) String() string {
	var b strings.Builder
	for i, op := range p.Ops {
		fmt.Fprintf(&b, "%3d  %s\n", i+1, p.describe(op))
	}
	return b.String()
}

// describe renders one op: its step, and the system call behind it.
func (p *Program) describe(op Op) string {
	s := p.Steps[op.Step].String()
	call := p.CallString(op)
	if call == "" {
		return s
	}
	return fmt.Sprintf("%-44s %s", s, call)
}
