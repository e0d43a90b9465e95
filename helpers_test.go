package spawn_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/probe"
)

// probeCmd returns a command that runs the probe with args, writing its
// report to a file (so the child's stdout stays free for the test) and with
// the extra environment entries env.
func probeCmd(t *testing.T, env ...string) (*spawn.Cmd, string) {
	t.Helper()
	// Not t.TempDir: children that drop root must be able to reach it.
	dir, err := os.MkdirTemp("", "spawn-report-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Cleanup(func() { os.RemoveAll(dir) })
	out := filepath.Join(dir, "report.json")
	c := spawn.Command(probe.ForTest(t), "arg1")
	c.Env = append([]string{probe.EnvOut + "=" + out}, env...)
	return c, out
}

// readReport parses the report the probe wrote.
func readReport(t *testing.T, path string) *probe.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("probe wrote no report: %v", err)
	}
	r, err := probe.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runProbe runs c (from probeCmd) and returns what the child reported.
func runProbe(t *testing.T, c *spawn.Cmd, out string) *probe.Report {
	t.Helper()
	if err := c.Run(); err != nil {
		t.Fatalf("%s: %v", c, err)
	}
	return readReport(t, out)
}

// openFds lists this process's open descriptors.
func openFds(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, e := range ents {
		fd, _ := strconv.Atoi(e.Name())
		fds = append(fds, fd)
	}
	return fds
}

// threads returns the Threads: count of this process.
func threads(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

// statusField returns a hex field (SigIgn, SigCgt...) of /proc/self/status.
func statusField(t testing.TB, name string) uint64 {
	t.Helper()
	v, err := procStatusHex(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func procStatusHex(name string) (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no %s: line in /proc/self/status", name)
}

// children lists this process's children, zombies included.
func children(t *testing.T) string {
	t.Helper()
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	var all []string
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		if s := strings.TrimSpace(string(b)); s != "" {
			all = append(all, s)
		}
	}
	return strings.Join(all, " ")
}

// sigbit is the /proc/PID/status bit of sig.
func sigbit(sig unix.Signal) uint64 { return 1 << (uint(sig) - 1) }

// devIno identifies an open file.
func devIno(t *testing.T, f *os.File) (uint64, uint64) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Dev, st.Ino
}
