//go:build linux

package spawn

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The Go runtime raises its own soft RLIMIT_NOFILE to the hard limit minus
// one at startup, and os/exec gives children the original soft limit back, so
// that programs using select(2) or sizing tables by the limit see what
// they would have seen without Go in between. spawn does the same. The
// original value is private to package syscall; the only way to learn it
// is to ask os/exec's own machinery: start the program itself stopped at
// exec (ptrace) and read the child's limit, once.
var nofile struct {
	sync.Mutex
	known     bool
	cur, max  uint64 // our limit when orig was learned
	orig      uint64 // the soft limit os/exec gives children
	available bool
}

// childNofile returns the soft RLIMIT_NOFILE to give children, and whether
// it differs from ours.
func childNofile() (soft, hard uint64, restore bool) {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil || rl.Max == 0 || rl.Cur != rl.Max-1 {
		// The runtime raises the soft limit to exactly hard-1; anything
		// else means it did not, or something set it since: children
		// inherit what we have, as with os/exec.
		return 0, 0, false
	}
	nofile.Lock()
	defer nofile.Unlock()
	if !nofile.known || nofile.cur != rl.Cur || nofile.max != rl.Max {
		nofile.orig, nofile.available = learnOriginalNofile()
		nofile.known, nofile.cur, nofile.max = true, rl.Cur, rl.Max
	}
	if !nofile.available || nofile.orig == rl.Cur {
		return 0, 0, false
	}
	return nofile.orig, rl.Max, true
}

// learnOriginalNofile starts this program, traced so that it stops at exec
// before running any of its code, reads the soft limit os/exec gave it,
// and kills it.
func learnOriginalNofile() (uint64, bool) {
	p, err := os.StartProcess("/proc/self/exe", []string{"spawn: reading RLIMIT_NOFILE"}, &os.ProcAttr{
		Sys: &syscall.SysProcAttr{Ptrace: true},
	})
	if err != nil {
		return 0, false
	}
	defer p.Wait()
	defer p.Kill()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", p.Pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) < 2 {
				break
			}
			v, err := strconv.ParseUint(f[0], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
