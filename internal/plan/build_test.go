//go:build linux

package plan

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func baseSpec() *Spec {
	return &Spec{
		Path:  "/bin/echo",
		Argv:  []string{"echo", "hi"},
		Env:   []string{"A=1"},
		Files: []File{{Fd: 0}, {Fd: 1}, {Fd: 2}},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Spec)
		field string
		msg   string
	}{
		{"empty path", func(s *Spec) { s.Path = "" }, "Path", "empty"},
		{"NUL in path", func(s *Spec) { s.Path = "/bin/a\x00b" }, "Path", "NUL"},
		{"no argv", func(s *Spec) { s.Argv = nil }, "Args", "argv[0]"},
		{"NUL in an argument", func(s *Spec) { s.Argv = []string{"echo", "a\x00"} }, "Args[1]", "NUL"},
		{"NUL in env", func(s *Spec) { s.Env = []string{"A=1", "B=\x00"} }, "Env[1]", "NUL"},
		{"env without =", func(s *Spec) { s.Env = []string{"JUSTAKEY"} }, "Env[0]", "KEY=VALUE"},
		{"env with empty key", func(s *Spec) { s.Env = []string{"=x"} }, "Env[0]", "empty key"},
		{"NUL in dir", func(s *Spec) { s.Dir = "/tmp\x00" }, "Dir", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSpec()
			tt.edit(s)
			_, err := Build(s)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Build error = %v, want an *InputError", err)
			}
			if ie.Field != tt.field || !strings.Contains(ie.Msg, tt.msg) {
				t.Errorf("error = %q, want field %q and a message containing %q", err, tt.field, tt.msg)
			}
		})
	}
	if _, err := Build(baseSpec()); err != nil {
		t.Errorf("valid spec: %v", err)
	}
}

// TestOrder checks the documented order of the steps.
func TestOrder(t *testing.T) {
	s := baseSpec()
	s.Dir = "/srv"
	s.CloseRangeCloexec = true
	p, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, op := range p.Ops {
		names = append(names, SyscallName(op.Nr))
		if op.Kind == ResetHandlers {
			names[len(names)-1] = "reset"
		}
	}
	want := "reset chdir fcntl fcntl fcntl close_range rt_sigprocmask execve"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("ops = %s\nwant  %s", got, want)
	}
	if p.Ops[len(p.Ops)-1].Step != p.ExecStep {
		t.Errorf("last op is not the exec step")
	}

	// When the kernel clears handlers at clone, the child does not.
	s.KernelClearsHandlers = true
	p, _ = Build(s)
	if p.Ops[0].Kind == ResetHandlers {
		t.Errorf("reset op planned although the kernel clears handlers")
	}
	// Without close_range(CLOEXEC) the step is left out.
	s.CloseRangeCloexec = false
	p, _ = Build(s)
	for _, op := range p.Ops {
		if op.Nr == unix.SYS_CLOSE_RANGE {
			t.Errorf("close_range planned although unavailable")
		}
	}
}

// TestLink checks the linked words the interpreter reads.
func TestLink(t *testing.T) {
	p := &Program{}
	st := p.AddStep("test", "")
	slot := p.NewSlot()
	op := p.Call(st, unix.SYS_FCNTL, I(3), I(unix.F_DUPFD_CLOEXEC), I(10))
	op.Store = slot
	op2 := p.Call(st, unix.SYS_GETPPID)
	op2.HasExpect, op2.Expect, op2.ExpectErrno = true, 1234, uint32(unix.ESRCH)
	op3 := p.Call(st, unix.SYS_CLOSE, Arg{Kind: SlotValue, Val: uint64(slot)})
	op3.AllowErrno = uint32(unix.EBADF)
	p.Ops = append(p.Ops, Op{Kind: ResetHandlers, Store: NoSlot, Step: st})
	p.Call(st, unix.SYS_EXECVE, p.AddString("/bin/x"), p.AddVec([]string{"x", "yy"}), p.AddVec(nil))
	p.Call(st, unix.SYS_RT_SIGPROCMASK, I(0), I(0), Arg{Kind: SavedMaskAddr})

	const base = 0x10000
	buf := make([]byte, p.Size())
	n, err := p.Link(buf, base, 0xabc0)
	if err != nil || n != len(buf) {
		t.Fatalf("Link = %d, %v; want %d, nil", n, err, len(buf))
	}
	le := binary.NativeEndian
	word := func(op, w int) uint64 { return le.Uint64(buf[op*OpSize+w*8:]) }
	at := func(addr uint64) []byte { return buf[addr-base:] }
	cstr := func(addr uint64) string {
		b := at(addr)
		return string(b[:strings.IndexByte(string(b), 0)])
	}
	slotAddr := uint64(base + len(p.Ops)*OpSize)

	if word(0, WordNr) != unix.SYS_FCNTL || word(0, WordArg0) != 3 || word(0, WordArg0+2) != 10 {
		t.Errorf("op 0 words wrong")
	}
	if word(0, WordFlags) != FlagStore || word(0, WordStoreAddr) != slotAddr {
		t.Errorf("op 0: flags %#x store %#x, want store to %#x", word(0, WordFlags), word(0, WordStoreAddr), slotAddr)
	}
	if word(1, WordFlags) != FlagExpect || word(1, WordExpect) != 1234 || word(1, WordExpectErrno) != uint64(unix.ESRCH) {
		t.Errorf("op 1: expect words wrong")
	}
	if word(2, WordFlags) != FlagIndirect0 || word(2, WordArg0) != slotAddr || word(2, WordAllowErrno) != uint64(unix.EBADF) {
		t.Errorf("op 2: indirect argument words wrong")
	}
	if word(3, WordFlags) != FlagReset {
		t.Errorf("op 3: reset flag missing")
	}
	if got := cstr(word(4, WordArg0)); got != "/bin/x" {
		t.Errorf("execve path = %q", got)
	}
	argv := word(4, WordArg0+1)
	if cstr(le.Uint64(at(argv))) != "x" || cstr(le.Uint64(at(argv+8))) != "yy" || le.Uint64(at(argv+16)) != 0 {
		t.Errorf("argv vector wrong")
	}
	if envp := word(4, WordArg0+2); le.Uint64(at(envp)) != 0 {
		t.Errorf("empty envp is not NULL-terminated")
	}
	if word(5, WordArg0+2) != 0xabc0 {
		t.Errorf("saved mask address = %#x", word(5, WordArg0+2))
	}
	if _, err := p.Link(make([]byte, p.Size()-1), base, 0); err == nil {
		t.Errorf("Link into a short buffer succeeded")
	}
}

func TestValidateProgram(t *testing.T) {
	p := &Program{}
	st := p.AddStep("x", "")
	p.Call(st, unix.SYS_DUP3, Arg{Kind: SlotValue, Val: 3})
	if err := p.Validate(); err == nil {
		t.Errorf("reference to a missing slot accepted")
	}
	p = &Program{}
	p.Call(0, unix.SYS_GETPID)
	if err := p.Validate(); err == nil {
		t.Errorf("op without a step accepted")
	}
	p = &Program{}
	st = p.AddStep("x", "")
	p.Call(st, unix.SYS_GETPID).HasExpect = true
	if err := p.Validate(); err == nil {
		t.Errorf("expect without errno accepted")
	}
}

func TestExplainText(t *testing.T) {
	s := baseSpec()
	s.Dir = "/srv"
	s.Files = []File{{Fd: 7, Name: "pipe"}, {Fd: 1}, {Fd: 2}}
	p, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	out := p.String()
	for _, want := range []string{
		`reset signal handlers`,
		`chdir "/srv"`, `chdir("/srv")`,
		`dup3 pipe (fd 7) → stdin`, `dup3(7, 0, 0)`,
		`execve "/bin/echo"`, `execve("/bin/echo", ["echo", "hi"], [1 variable])`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
}
