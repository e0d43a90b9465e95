//go:build linux

package engine

import (
	"fmt"
	"math/bits"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A region is one child's memory: a guard page, the child's stack, the
// shared header, and the linked program image, in one anonymous mapping.
//
//	[ guard | stack ... ↑ | header | image ... ]
//	                      ^ the child's initial stack pointer
//
// The child never calls a function, so the stack only has to exist; the
// guard page turns an impossible overflow into a fault in the child instead
// of a write into whatever the parent mapped below.
type region struct {
	mem       []byte
	hdr       *header
	image     []byte
	imageAddr uint64
	stackLow  uint64 // lowest address of the stack (above the guard page)
	class     int
}

const (
	stackSize  = 16 << 10
	headerSize = 512
	minClass   = 16 // 64 KiB
	maxClass   = 26 // 64 MiB; larger programs are refused (argv+env beyond ARG_MAX)
	// keepSmall and keepLarge bound how many idle regions each size class
	// keeps mapped; extra ones are unmapped when returned.
	keepSmall = 64
	keepLarge = 2
)

var pageSize = unix.Getpagesize()

var pool struct {
	sync.Mutex
	free   [maxClass + 1][]*region
	mapped int // regions currently mapped, idle or in use
	inUse  int
}

func overhead() int { return pageSize + stackSize + headerSize }

// getRegion returns an idle region whose image holds at least size bytes.
func getRegion(size int) (*region, error) {
	need := overhead() + size
	class := bits.Len(uint(need - 1))
	if class < minClass {
		class = minClass
	}
	if class > maxClass {
		return nil, &TooLargeError{Size: size}
	}
	pool.Lock()
	if n := len(pool.free[class]); n > 0 {
		r := pool.free[class][n-1]
		pool.free[class] = pool.free[class][:n-1]
		pool.inUse++
		pool.Unlock()
		return r, nil
	}
	pool.Unlock()

	mem, err := unix.Mmap(-1, 0, 1<<class, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK)
	if err != nil {
		return nil, fmt.Errorf("mmap child stack: %w", err)
	}
	if err := unix.Mprotect(mem[:pageSize], unix.PROT_NONE); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("mprotect guard page: %w", err)
	}
	base := uint64(uintptr(unsafe.Pointer(&mem[0])))
	hdrOff := pageSize + stackSize
	r := &region{
		mem:       mem,
		hdr:       (*header)(unsafe.Pointer(&mem[hdrOff])),
		image:     mem[hdrOff+headerSize:],
		imageAddr: base + uint64(hdrOff+headerSize),
		stackLow:  base + uint64(pageSize),
		class:     class,
	}
	pool.Lock()
	pool.mapped++
	pool.inUse++
	pool.Unlock()
	return r, nil
}

// putRegion returns r to the pool. Only call it once the child no longer
// uses the region: its CLEARTID word has been cleared.
func putRegion(r *region) {
	keep := keepSmall
	if r.class > minClass+2 {
		keep = keepLarge
	}
	pool.Lock()
	pool.inUse--
	if len(pool.free[r.class]) < keep {
		pool.free[r.class] = append(pool.free[r.class], r)
		pool.Unlock()
		return
	}
	pool.mapped--
	pool.Unlock()
	unix.Munmap(r.mem)
}

// PoolStats reports how many child regions are mapped and how many of those
// are in use by a spawn in progress (for tests: a finished spawn, failed or
// not, holds none).
func PoolStats() (mapped, inUse int) {
	pool.Lock()
	defer pool.Unlock()
	return pool.mapped, pool.inUse
}

// TooLargeError reports a program (arguments, environment and steps) too
// large to start; it unwraps to E2BIG, as execve would fail.
type TooLargeError struct{ Size int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("argument list and environment too large (%d bytes)", e.Size)
}

func (e *TooLargeError) Unwrap() error { return unix.E2BIG }
