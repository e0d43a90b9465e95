package spawn_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/probe"
)

// helperEnv selects a helper mode of the test binary (see TestMain).
const helperEnv = "SPAWN_TEST_HELPER"

func TestMain(m *testing.M) {
	switch mode := os.Getenv(helperEnv); {
	case mode == "":
		os.Exit(m.Run())
	case strings.HasPrefix(mode, "refuse-clone3:"):
		refuseClone3Helper(strings.TrimPrefix(mode, "refuse-clone3:"))
	case strings.HasPrefix(mode, "unprivileged:"):
		unprivilegedHelper(strings.TrimPrefix(mode, "unprivileged:"))
	case mode == "foreground":
		foregroundHelper()
	case mode == "noctty":
		nocttyHelper()
	case mode == "pdeathsig":
		pdeathsigHelper()
	case mode == "nofile":
		nofileHelper()
	case mode == "malformed-env":
		malformedEnvHelper()
	case mode == "lookpath":
		lookpathHelper()
	case mode == "mount-private":
		mountPrivateHelper()
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, mode)
		os.Exit(2)
	}
}

// fallbackResult is what the refuse-clone3 helper reports.
type fallbackResult struct {
	Clone     string // how the second spawn was planned
	ResetStep bool   // whether the child resets handlers itself
	SigCgt    uint64 // what the first child reported
	SigIgn    uint64
	SigBlk    uint64
	ParentIgn uint64 // what the helper itself ignores
	Err       string
}

// refuseClone3Helper makes clone3 fail with errno (as a container runtime's
// seccomp profile does), then starts the probe and reports what happened.
func refuseClone3Helper(errno string) {
	res := fallbackResult{}
	defer func() {
		json.NewEncoder(os.Stdout).Encode(res)
		os.Exit(0)
	}()
	e := unix.ENOSYS
	if errno == "EPERM" {
		e = unix.EPERM
	}
	if err := refuseSyscall(unix.SYS_CLONE3, e); err != nil {
		res.Err = "seccomp: " + err.Error()
		return
	}
	// Prove the filter bites before relying on it.
	if _, _, en := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0); en != e {
		res.Err = fmt.Sprintf("clone3 returned %v, want %v", en, e)
		return
	}
	out := os.Getenv("OUT")
	c := spawn.Command(os.Getenv("PROBE"))
	c.Env = []string{probe.EnvOut + "=" + out}
	if err := c.Run(); err != nil {
		res.Err = err.Error()
		return
	}
	b, _ := os.ReadFile(out)
	r, err := probe.Parse(b)
	if err != nil {
		res.Err = err.Error()
		return
	}
	res.SigCgt, res.SigIgn, res.SigBlk = r.SigCgt, r.SigIgn, r.SigBlk
	res.ParentIgn, _ = procStatusHex("SigIgn")
	p, err := spawn.Command("/bin/true").Explain()
	if err != nil {
		res.Err = err.Error()
		return
	}
	res.Clone = p.Clone
	res.ResetStep = strings.HasPrefix(p.Steps[0].Step, "reset signal handlers")
}

// refuseSyscall installs, on every thread, a seccomp filter that fails
// system call nr with errno.
func refuseSyscall(nr int, errno unix.Errno) error {
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.AUDIT_ARCH_X86_64, Jt: 0, Jf: 3},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: uint32(nr), Jt: 0, Jf: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(errno)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, _, en := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	if en != 0 {
		return en
	}
	return nil
}

// TestClone3Refused: where clone3 is refused (ENOSYS on old kernels and
// under some seccomp profiles, EPERM under others), spawn notices, falls
// back to clone, has the child reset the handlers itself, and the child
// gets the same signal state.
func TestClone3Refused(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the seccomp filter here checks for x86_64")
	}
	for _, errno := range []string{"ENOSYS", "EPERM"} {
		t.Run(errno, func(t *testing.T) {
			c := exec.Command(os.Args[0], "-test.run=^$")
			c.Env = append(os.Environ(), helperEnv+"=refuse-clone3:"+errno,
				"PROBE="+probe.ForTest(t), "OUT="+t.TempDir()+"/report.json")
			c.Stderr = os.Stderr
			out, err := c.Output()
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			var res fallbackResult
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("helper output %q: %v", out, err)
			}
			if res.Err != "" {
				t.Fatal(res.Err)
			}
			if !strings.HasPrefix(res.Clone, "clone(") || !res.ResetStep {
				t.Errorf("after clone3 failed with %s: planned %q, reset step %v; want clone( and a reset step", errno, res.Clone, res.ResetStep)
			}
			if res.SigCgt != 0 || res.SigBlk != 0 || res.SigIgn != res.ParentIgn {
				t.Errorf("child signal state: caught %#x blocked %#x ignored %#x, want 0, 0, %#x", res.SigCgt, res.SigBlk, res.SigIgn, res.ParentIgn)
			}
		})
	}
}
