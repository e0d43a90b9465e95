// Package probe builds and parses the test probe: a small static C program
// (c/probe.c) that reports the process state it inherited across execve as
// JSON, and a static no-op program (c/noop.c) that only calls exit_group(0).
//
// The probe is written in C because the Go runtime rewrites signal
// dispositions and the signal mask at startup, so a Go program cannot report
// what it inherited. The package is test-only; it imports "testing".
//
// The probe is controlled only by environment variables, never by argv:
//
//	SPAWN_PROBE_OUT=path          write the report to path (O_CREAT|O_TRUNC|O_CLOEXEC, 0644)
//	                              instead of stdout; opened after all state is collected
//	SPAWN_PROBE_WRITE=fd:text,... after collecting state, write text to each fd
//	                              (text cannot contain ','; failures go to Report.Errors)
//	SPAWN_PROBE_READ=fd           then read fd until EOF into Report.Read
//	SPAWN_PROBE_SLEEP=seconds     sleep after reporting (fractions allowed)
//	SPAWN_PROBE_KILL=signo        then restore SIG_DFL, unblock signo and kill itself with it
//	SPAWN_PROBE_EXIT=code         exit status (default 0)
//
// A malformed variable, or a failure to write the report, makes the probe
// print a message to stderr and exit with status 125. The report is one JSON
// object followed by a newline.
package probe

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

//go:embed c/probe.c c/noop.c
var sources embed.FS

// Names of the environment variables that control the probe.
const (
	EnvOut   = "SPAWN_PROBE_OUT"
	EnvWrite = "SPAWN_PROBE_WRITE"
	EnvRead  = "SPAWN_PROBE_READ"
	EnvSleep = "SPAWN_PROBE_SLEEP"
	EnvKill  = "SPAWN_PROBE_KILL"
	EnvExit  = "SPAWN_PROBE_EXIT"
)

// ExitBadUsage is the probe's exit status for a malformed control variable
// or a failure to write the report.
const ExitBadUsage = 125

// Infinity is RLIM_INFINITY as reported in Rlimit.
const Infinity = ^uint64(0)

// Report is the state the probe observed in itself.
type Report struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Cwd  string   `json:"cwd"`
	Exe  string   `json:"exe"` // readlink /proc/self/exe

	Pid   int `json:"pid"`
	Ppid  int `json:"ppid"`
	Pgid  int `json:"pgid"`
	Sid   int `json:"sid"`
	Tpgid int `json:"tpgid"`  // foreground pgrp of the controlling tty, -1 if none
	TtyNr int `json:"tty_nr"` // device number of the controlling tty, 0 if none

	Umask uint32 `json:"umask"`

	// Signal sets from /proc/self/status: bit n-1 is signal n (see HasSig).
	SigBlk uint64 `json:"sig_blk"`
	SigIgn uint64 `json:"sig_ign"`
	SigCgt uint64 `json:"sig_cgt"`
	SigPnd uint64 `json:"sig_pnd"`
	ShdPnd uint64 `json:"shd_pnd"`

	// FDs lists every open fd in ascending order, excluding the ones the
	// probe opened itself.
	FDs []FD `json:"fds"`

	// Rlimits is keyed by lower-case resource name without RLIMIT_: as,
	// core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile,
	// nproc, rss, rtprio, rttime, sigpending, stack.
	Rlimits map[string]Rlimit `json:"rlimits"`

	Uid    int   `json:"uid"`
	Euid   int   `json:"euid"`
	Suid   int   `json:"suid"`
	Gid    int   `json:"gid"`
	Egid   int   `json:"egid"`
	Sgid   int   `json:"sgid"`
	Groups []int `json:"groups"`

	Nice          int   `json:"nice"`           // getpriority(PRIO_PROCESS, 0), i.e. -20..19
	Affinity      []int `json:"affinity"`       // CPUs in the sched_getaffinity mask
	SchedPolicy   int   `json:"sched_policy"`   // sched_getscheduler (may include SCHED_RESET_ON_FORK)
	SchedPriority int   `json:"sched_priority"` // sched_getparam
	IOPrio        int   `json:"ioprio"`         // raw ioprio_get(IOPRIO_WHO_PROCESS, 0)

	NoNewPrivs int `json:"no_new_privs"`
	Seccomp    int `json:"seccomp"` // 0 none, 1 strict, 2 filter
	PdeathSig  int `json:"pdeath_sig"`
	Dumpable   int `json:"dumpable"`
	KeepCaps   int `json:"keep_caps"`

	CapInh uint64 `json:"cap_inh"`
	CapPrm uint64 `json:"cap_prm"`
	CapEff uint64 `json:"cap_eff"`
	CapBnd uint64 `json:"cap_bnd"`
	CapAmb uint64 `json:"cap_amb"`

	// Namespaces maps the entries of /proc/self/ns (cgroup, ipc, mnt, net,
	// pid, pid_for_children, time, time_for_children, user, uts) to their
	// link targets, e.g. "mnt:[4026531832]". Missing entries are absent.
	Namespaces map[string]string `json:"namespaces"`
	Cgroup     string            `json:"cgroup"` // /proc/self/cgroup, trimmed
	Root       string            `json:"root"`   // readlink /proc/self/root
	TracerPid  int               `json:"tracer_pid"`

	// Read is what the probe read with SPAWN_PROBE_READ.
	Read string `json:"read,omitempty"`
	// Errors lists non-fatal problems, such as a failed SPAWN_PROBE_WRITE.
	Errors []string `json:"errors,omitempty"`
}

// FD describes one open file descriptor.
type FD struct {
	Num     int    `json:"num"`
	Target  string `json:"target"`  // readlink /proc/self/fd/N
	Flags   int    `json:"flags"`   // fcntl(F_GETFL)
	Cloexec bool   `json:"cloexec"` // fcntl(F_GETFD) & FD_CLOEXEC
	Dev     uint64 `json:"dev"`     // fstat
	Ino     uint64 `json:"ino"`
	Mode    uint32 `json:"mode"`
}

// Rlimit is one resource limit; Infinity means RLIM_INFINITY.
type Rlimit struct {
	Cur uint64 `json:"cur"`
	Max uint64 `json:"max"`
}

// FD returns the entry for fd n, or nil if n was not open.
func (r *Report) FD(n int) *FD {
	for i := range r.FDs {
		if r.FDs[i].Num == n {
			return &r.FDs[i]
		}
	}
	return nil
}

// FDNums returns the numbers of the open fds in ascending order.
func (r *Report) FDNums() []int {
	nums := make([]int, len(r.FDs))
	for i, fd := range r.FDs {
		nums[i] = fd.Num
	}
	return nums
}

// HasSig reports whether sig is in a signal set such as Report.SigIgn.
func HasSig(set uint64, sig syscall.Signal) bool {
	return sig >= 1 && sig <= 64 && set&(1<<(sig-1)) != 0
}

// Parse decodes a report written by the probe. Unknown fields are an error,
// so the C and Go sides cannot silently drift apart.
func Parse(b []byte) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("probe: parsing report: %w (report: %q)", err, truncate(b))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("probe: trailing data after report: %q", truncate(b))
	}
	if r.Pid <= 0 || r.Rlimits == nil {
		return nil, fmt.Errorf("probe: not a probe report: %q", truncate(b))
	}
	return &r, nil
}

func truncate(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}

// Build writes the probe and no-op sources into dir and compiles them with
// $CC (default "cc", may include arguments) as static executables dir/probe
// and dir/noop, mode 0755.
func Build(dir string) (probePath, noopPath string, err error) {
	cc := strings.Fields(os.Getenv("CC"))
	if len(cc) == 0 {
		cc = []string{"cc"}
	}
	if _, err := exec.LookPath(cc[0]); err != nil {
		return "", "", fmt.Errorf("probe: C compiler %q not found: %v; install gcc (apt-get install -y gcc libc6-dev)", cc[0], err)
	}
	targets := []struct {
		name  string
		flags []string
	}{
		{"probe", []string{"-static", "-O2", "-Wall", "-Werror"}},
		{"noop", []string{"-static", "-nostdlib", "-O2", "-fno-stack-protector", "-Wall", "-Werror"}},
	}
	var paths []string
	for _, t := range targets {
		src, err := sources.ReadFile("c/" + t.name + ".c")
		if err != nil {
			return "", "", err
		}
		srcPath := filepath.Join(dir, t.name+".c")
		if err := os.WriteFile(srcPath, src, 0o644); err != nil {
			return "", "", fmt.Errorf("probe: %w", err)
		}
		bin := filepath.Join(dir, t.name)
		args := append(append(append([]string{}, cc[1:]...), t.flags...), "-o", bin, srcPath)
		cmd := exec.Command(cc[0], args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("probe: compiling %s.c failed: %s %s: %v\n%s\n"+
				"(static linking needs gcc and libc6-dev: apt-get install -y gcc libc6-dev)",
				t.name, cc[0], strings.Join(args, " "), err, out)
		}
		// Tests may run the binaries as other users or under a strict umask.
		if err := os.Chmod(bin, 0o755); err != nil {
			return "", "", fmt.Errorf("probe: %w", err)
		}
		paths = append(paths, bin)
	}
	return paths[0], paths[1], nil
}

var built struct {
	once        sync.Once
	probe, noop string
	err         error
}

// build compiles the programs once per process into a fresh directory under
// os.TempDir. The directory is left behind on purpose: tests in the same
// process share it, and it must outlive any one test.
func build() error {
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "spawn-probe-")
		if err == nil {
			// Let tests that change credentials execute the binaries.
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			built.err = fmt.Errorf("probe: %w", err)
			return
		}
		built.probe, built.noop, built.err = Build(dir)
		if built.err != nil {
			os.RemoveAll(dir)
		}
	})
	return built.err
}

// ForTest returns the path of the probe, building it on first use, and
// fails tb if it cannot be built.
func ForTest(tb testing.TB) (probePath string) {
	tb.Helper()
	if err := build(); err != nil {
		tb.Fatal(err)
	}
	return built.probe
}

// NoopForTest returns the path of the static no-op program, building it on
// first use, and fails tb if it cannot be built.
func NoopForTest(tb testing.TB) string {
	tb.Helper()
	if err := build(); err != nil {
		tb.Fatal(err)
	}
	return built.noop
}
