package spawn_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/probe"
)

// checkFd asserts that child descriptor n is the open file f, inheritable.
func checkFd(t *testing.T, r *probe.Report, n int, f *os.File) {
	t.Helper()
	got := r.FD(n)
	if got == nil {
		t.Errorf("child fd %d is not open (child fds %v)", n, r.FDNums())
		return
	}
	dev, ino := devIno(t, f)
	if got.Dev != dev || got.Ino != ino {
		t.Errorf("child fd %d is %s (dev %d ino %d), want %s (dev %d ino %d)", n, got.Target, got.Dev, got.Ino, f.Name(), dev, ino)
	}
	if got.Cloexec {
		t.Errorf("child fd %d is close-on-exec in the child", n)
	}
}

func checkFdNums(t *testing.T, r *probe.Report, n int) {
	t.Helper()
	var want []int
	for i := range n {
		want = append(want, i)
	}
	if got := r.FDNums(); !slices.Equal(got, want) {
		t.Errorf("child has fds %v, want exactly %v", got, want)
	}
}

// TestStdioFiles: *os.File streams reach the child as themselves.
func TestStdioFiles(t *testing.T) {
	dir := t.TempDir()
	stdout, _ := os.Create(dir + "/out")
	stderr, _ := os.Create(dir + "/err")
	stdin, _ := os.Open("/etc/hostname")
	defer stdout.Close()
	defer stderr.Close()
	defer stdin.Close()

	c, out := probeCmd(t, probe.EnvWrite+"=1:to-stdout,2:to-stderr")
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	r := runProbe(t, c, out)
	checkFd(t, r, 0, stdin)
	checkFd(t, r, 1, stdout)
	checkFd(t, r, 2, stderr)
	checkFdNums(t, r, 3)
	if b, _ := os.ReadFile(dir + "/out"); string(b) != "to-stdout" {
		t.Errorf("stdout file holds %q", b)
	}
	if b, _ := os.ReadFile(dir + "/err"); string(b) != "to-stderr" {
		t.Errorf("stderr file holds %q", b)
	}
}

// TestStdioPipes: readers and writers are connected through pipes.
func TestStdioPipes(t *testing.T) {
	input := strings.Repeat("line of input\n", 20000) // more than a pipe buffer
	var stdout, stderr bytes.Buffer
	c, out := probeCmd(t, probe.EnvWrite+"=1:to-stdout,2:to-stderr", probe.EnvRead+"=0")
	c.Stdin = strings.NewReader(input)
	c.Stdout, c.Stderr = &stdout, &stderr
	r := runProbe(t, c, out)
	if r.Read != input {
		t.Errorf("child read %d bytes of stdin, want %d", len(r.Read), len(input))
	}
	if stdout.String() != "to-stdout" || stderr.String() != "to-stderr" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	for fd := range 3 {
		if f := r.FD(fd); f == nil || !strings.HasPrefix(f.Target, "pipe:") {
			t.Errorf("child fd %d is %v, want a pipe", fd, f)
		}
	}
	checkFdNums(t, r, 3)
}

// TestSameWriterOnePipe: Stdout == Stderr shares one pipe, as in os/exec.
func TestSameWriterOnePipe(t *testing.T) {
	var both bytes.Buffer
	c, out := probeCmd(t, probe.EnvWrite+"=1:a,2:b,1:c")
	c.Stdout, c.Stderr = &both, &both
	r := runProbe(t, c, out)
	if both.String() != "abc" {
		t.Errorf("combined output %q, want abc", both.String())
	}
	if r.FD(1).Ino != r.FD(2).Ino {
		t.Errorf("stdout %s and stderr %s are different pipes", r.FD(1).Target, r.FD(2).Target)
	}
}

// TestNilStdioIsDevNull: nil streams are /dev/null, and no file is opened
// for them per Start.
func TestNilStdioIsDevNull(t *testing.T) {
	c, out := probeCmd(t)
	r := runProbe(t, c, out)
	for fd := range 3 {
		if f := r.FD(fd); f == nil || f.Target != "/dev/null" {
			t.Errorf("child fd %d is %v, want /dev/null", fd, f)
		}
	}
	before := len(openFds(t))
	c, out = probeCmd(t)
	runProbe(t, c, out)
	if after := len(openFds(t)); after != before {
		t.Errorf("parent fds went from %d to %d across a Start with nil streams", before, after)
	}
}

// placeAt dups f onto parent descriptor fd (close-on-exec, like every
// descriptor Go opens) and returns the new *os.File.
func placeAt(t *testing.T, f *os.File, fd int) *os.File {
	t.Helper()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Skipf("parent fd %d is in use; cannot build the overlapping mapping", fd)
	}
	if err := unix.Dup3(int(f.Fd()), fd, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	nf := os.NewFile(uintptr(fd), f.Name())
	t.Cleanup(func() { nf.Close() })
	return nf
}

// TestExtraFilesOverlapping: ExtraFiles whose parent descriptors are other
// entries' child numbers — swapped, self-targeted, shared — land right, and
// the child has no descriptor besides them.
func TestExtraFilesOverlapping(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.Create(dir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	// Child fds 3..22 (20 ExtraFiles). Parent fds 20, 21, 22 are placed so
	// that: child 20 ← parent 21 and child 21 ← parent 20 (a swap),
	// child 22 ← parent 22 (already on its target), and child 3 ← parent
	// 21 as well (one file on two numbers).
	a := placeAt(t, open("a"), 20)
	b := placeAt(t, open("b"), 21)
	s := placeAt(t, open("self"), 22)
	extra := make([]*os.File, 20)
	for i := range extra {
		extra[i] = open("f" + string(rune('A'+i)))
	}
	extra[20-3] = b
	extra[21-3] = a
	extra[22-3] = s
	extra[0] = b

	c, out := probeCmd(t)
	c.ExtraFiles = extra
	r := runProbe(t, c, out)
	for i, f := range extra {
		checkFd(t, r, 3+i, f)
	}
	checkFdNums(t, r, 23)
	// The parent's descriptors still hold what they held.
	for fd, name := range map[*os.File]string{a: "a", b: "b", s: "self"} {
		fi, _ := os.Stat(dir + "/" + name)
		dev, ino := devIno(t, fd)
		if st := fi.Sys().(*syscall.Stat_t); st.Dev != dev || st.Ino != ino {
			t.Errorf("parent fd %d no longer holds %s", fd.Fd(), name)
		}
	}
}

// TestStdioSwapped: the parent's stdout as the child's stderr and the
// parent's stderr as the child's stdout.
func TestStdioSwapped(t *testing.T) {
	c, out := probeCmd(t)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stderr, os.Stdout
	r := runProbe(t, c, out)
	checkFd(t, r, 0, os.Stdin)
	checkFd(t, r, 1, os.Stderr)
	checkFd(t, r, 2, os.Stdout)
}

// TestInheritableParentFdsDoNotLeak: a descriptor the parent opened without
// O_CLOEXEC (or inherited) does not reach the child.
func TestInheritableParentFdsDoNotLeak(t *testing.T) {
	fd, err := unix.Open("/etc/hostname", unix.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	c, out := probeCmd(t)
	r := runProbe(t, c, out)
	checkFdNums(t, r, 3)
}
