//go:build linux && amd64

package engine

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/plan"
)

func BenchmarkPlanBuild(b *testing.B) {
	env := os.Environ()
	spec := &plan.Spec{Path: "/bin/true", Argv: []string{"true"}, Env: env, Files: []plan.File{{Fd: 0}, {Fd: 1}, {Fd: 2}}, KernelClearsHandlers: true, CloseRangeCloexec: true}
	b.ReportAllocs()
	for b.Loop() {
		p, _ := plan.Build(spec)
		p.Free()
	}
}

func BenchmarkLink(b *testing.B) {
	env := os.Environ()
	spec := &plan.Spec{Path: "/bin/true", Argv: []string{"true"}, Env: env, Files: []plan.File{{Fd: 0}, {Fd: 1}, {Fd: 2}}, KernelClearsHandlers: true, CloseRangeCloexec: true}
	p, _ := plan.Build(spec)
	buf := make([]byte, p.Size())
	for b.Loop() {
		p.Link(buf, 0x1000, 0)
	}
}

// BenchmarkCloneExit: clone a child that exits at once, and wait for it.
func BenchmarkCloneExit(b *testing.B) {
	p := &plan.Program{}
	st := p.AddStep("exit", "")
	p.Call(st, unix.SYS_EXIT_GROUP, plan.I(0))
	f := loadFeatures()
	for b.Loop() {
		var pend Pending
		clone(p, &plan.Spec{}, Options{}, f, &pend)
		pend.prog = nil
		h := pend.r.hdr
		for h.tid != 0 {
			unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafePointer(&h.tid)), futexWait, 1, 0, 0, 0)
		}
		putRegion(pend.r)
		reap(pend.pidfd)
		unix.Close(pend.pidfd)
	}
}

func unsafePointer(p *uint32) unsafe.Pointer { return unsafe.Pointer(p) }
