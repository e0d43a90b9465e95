//go:build linux && amd64 && cgo

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// The interposer's shared log (see ../c/interpose.c for the layout).
const (
	logMagic       = "INTRPOS1"
	offOwner       = 8
	offChildEvents = 16
	offNfunc       = 24
	offParentCalls = 32
	offChildCalls  = 160
	offEvents      = 288
	maxEvents      = 4096
	offChildProcs  = 65824
)

// funcNames are the wrapped functions, in the interposer's order.
var funcNames = []string{
	"sigaction", "signal", "sigprocmask", "pthread_sigmask", "malloc",
	"calloc", "realloc", "free", "getenv", "getpid",
}

// childEvent is one call the interposer caught in a child.
type childEvent struct {
	Func  string `json:"func"`
	Pid   int    `json:"pid"`
	Tid   int    `json:"tid"`
	Owner int    `json:"owner"`
}

// ilog is a snapshot of the interposer's counters.
type ilog struct {
	Owner        int
	ChildEvents  uint64
	ParentCalls  map[string]uint64
	ParentTotal  uint64
	ChildCalls   map[string]uint64
	FirstEvents  []childEvent
	ChildProcs   uint64 // distinct children with at least one event
	ownerMatches bool
}

var errNoInterposer = errors.New("interposer not loaded: run with LD_PRELOAD=interpose.so INTERPOSE_LOG=<file>")

// readLog reads the log named by INTERPOSE_LOG.
func readLog() (*ilog, error) {
	path := os.Getenv("INTERPOSE_LOG")
	if path == "" {
		return nil, errNoInterposer
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", errNoInterposer, err)
	}
	if len(b) < offChildProcs+8 || string(b[:8]) != logMagic {
		return nil, fmt.Errorf("%w (%s is not an interposer log)", errNoInterposer, path)
	}
	u := func(off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	l := &ilog{
		Owner:       int(u(offOwner)),
		ChildEvents: u(offChildEvents),
		ParentCalls: map[string]uint64{},
		ChildCalls:  map[string]uint64{},
	}
	if n := u(offNfunc); n != uint64(len(funcNames)) {
		return nil, fmt.Errorf("interposer log has %d functions, want %d", n, len(funcNames))
	}
	l.ownerMatches = l.Owner == os.Getpid()
	for i, name := range funcNames {
		if c := u(offParentCalls + 8*i); c > 0 {
			l.ParentCalls[name] = c
			l.ParentTotal += c
		}
		if c := u(offChildCalls + 8*i); c > 0 {
			l.ChildCalls[name] = c
		}
	}
	for i := 0; i < int(min(l.ChildEvents, 4)); i++ {
		off := offEvents + 16*i
		f := int(binary.LittleEndian.Uint32(b[off:]))
		name := fmt.Sprint(f)
		if f < len(funcNames) {
			name = funcNames[f]
		}
		ev := childEvent{
			Func:  name,
			Pid:   int(int32(binary.LittleEndian.Uint32(b[off+4:]))),
			Tid:   int(int32(binary.LittleEndian.Uint32(b[off+8:]))),
			Owner: int(int32(binary.LittleEndian.Uint32(b[off+12:]))),
		}
		l.FirstEvents = append(l.FirstEvents, ev)
	}
	l.ChildProcs = u(offChildProcs)
	return l, nil
}

// liveLog reads the log and checks that this process owns it and that the
// interposer has already seen calls from it.
func liveLog() (*ilog, error) {
	l, err := readLog()
	if err != nil {
		return nil, err
	}
	if !l.ownerMatches {
		return nil, fmt.Errorf("interposer log belongs to pid %d, not to us (%d): use a fresh INTERPOSE_LOG", l.Owner, os.Getpid())
	}
	if l.ParentTotal == 0 {
		return nil, errors.New("interposer loaded but saw no call from this process: it is not interposing")
	}
	return l, nil
}
