package spawn_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gospawn/spawn"
	"github.com/gospawn/spawn/internal/engine"
)

// writeFile creates an executable (or not) file in dir.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStartErrors: each way a start can fail is its own error, naming the
// step and its argument, and unwrapping to the errno.
func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	noExec := writeFile(t, dir, "data.txt", "hello\n", 0o644)
	badInterp := writeFile(t, dir, "script", "#!/nonexistent/interpreter\n", 0o755)
	garbage := writeFile(t, dir, "garbage", "\x01\x02\x03 not a program\n", 0o755)

	tests := []struct {
		name    string
		cmd     func() *spawn.Cmd
		step    string
		arg     string
		errno   error
		is      error
		message string
	}{
		{"missing working directory",
			func() *spawn.Cmd { c := spawn.Command("/bin/true"); c.Dir = "/nonexistent"; return c },
			"chdir", `"/nonexistent"`, syscall.ENOENT, fs.ErrNotExist,
			`spawn /bin/true: chdir "/nonexistent": no such file or directory`},
		{"working directory is a file",
			func() *spawn.Cmd { c := spawn.Command("/bin/true"); c.Dir = noExec; return c },
			"chdir", `"` + noExec + `"`, syscall.ENOTDIR, nil,
			"not a directory"},
		{"missing program",
			func() *spawn.Cmd { return spawn.Command("/nonexistent/prog") },
			"execve", `"/nonexistent/prog"`, syscall.ENOENT, fs.ErrNotExist,
			`spawn /nonexistent/prog: execve "/nonexistent/prog": no such file or directory`},
		{"program not executable",
			func() *spawn.Cmd { return spawn.Command(noExec) },
			"execve", `"` + noExec + `"`, syscall.EACCES, fs.ErrPermission,
			"permission denied (not executable: mode -rw-r--r--)"},
		{"program is a directory",
			func() *spawn.Cmd { return spawn.Command(dir) },
			"execve", `"` + dir + `"`, syscall.EACCES, fs.ErrPermission,
			"(it is a directory)"},
		{"script interpreter missing",
			func() *spawn.Cmd { return spawn.Command(badInterp) },
			"execve", `"` + badInterp + `"`, syscall.ENOENT, fs.ErrNotExist,
			"(the file exists: its #! interpreter or its dynamic loader is missing)"},
		{"not a program",
			func() *spawn.Cmd { return spawn.Command(garbage) },
			"execve", `"` + garbage + `"`, syscall.ENOEXEC, nil,
			"exec format error (not a binary this kernel runs, and no #! interpreter line)"},
		{"relative program taken relative to Dir",
			func() *spawn.Cmd { c := spawn.Command("./data.txt"); c.Dir = dir; return c },
			"execve", `"./data.txt"`, syscall.EACCES, fs.ErrPermission,
			"not executable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cmd()
			err := c.Start()
			if err == nil {
				c.Wait()
				t.Fatal("Start succeeded")
			}
			var se *spawn.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is not a *spawn.Error", err, err)
			}
			if se.Step != tt.step || se.Arg != tt.arg {
				t.Errorf("step %q arg %q, want %q %q", se.Step, se.Arg, tt.step, tt.arg)
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("error %v does not unwrap to %v", err, tt.errno)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) is false", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("message %q does not contain %q", err, tt.message)
			}
			if c.Process != nil {
				t.Errorf("Cmd.Process set after a failed Start")
			}
		})
	}
}

func TestNotFoundInPath(t *testing.T) {
	c := spawn.Command("no-such-program-xyz")
	c.Env = []string{"PATH=/nonexistent/bin:/usr/bin"}
	err := c.Run()
	var se *spawn.Error
	if !errors.As(err, &se) || se.Step != "search PATH" || !errors.Is(err, spawn.ErrNotFound) {
		t.Fatalf("err = %v, want a search PATH *Error wrapping ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), `"/nonexistent/bin:/usr/bin"`) {
		t.Errorf("error %q does not name the PATH searched", err)
	}
}

// TestValidation: bad input fails before anything is created.
func TestValidation(t *testing.T) {
	closed, _ := os.Open("/etc/hostname")
	closed.Close()
	var nilFile *os.File
	tests := []struct {
		name  string
		edit  func(c *spawn.Cmd)
		field string
	}{
		{"NUL in path", func(c *spawn.Cmd) { c.Path = "/bin/tr\x00ue" }, "Path"},
		{"NUL in an argument", func(c *spawn.Cmd) { c.Args = []string{"true", "a\x00b"} }, "Args[1]"},
		{"NUL in argv[0]", func(c *spawn.Cmd) { c.Args = []string{"tr\x00ue"} }, "Args[0]"},
		{"NUL in the environment", func(c *spawn.Cmd) { c.Env = []string{"A=1", "B=x\x00y"} }, "Env[1]"},
		{"environment entry without =", func(c *spawn.Cmd) { c.Env = []string{"NOVALUE"} }, "Env[0]"},
		{"environment entry with an empty key", func(c *spawn.Cmd) { c.Env = []string{"=value"} }, "Env[0]"},
		{"NUL in Dir", func(c *spawn.Cmd) { c.Dir = "/tmp\x00" }, "Dir"},
		{"nil ExtraFiles entry", func(c *spawn.Cmd) { c.ExtraFiles = []*os.File{os.Stdin, nil} }, "ExtraFiles[1]"},
		{"closed ExtraFiles entry", func(c *spawn.Cmd) { c.ExtraFiles = []*os.File{closed} }, "ExtraFiles[0]"},
		{"nil *os.File as Stdin", func(c *spawn.Cmd) { c.Stdin = nilFile }, "Stdin"},
		{"closed file as Stdout", func(c *spawn.Cmd) { c.Stdout = closed }, "Stdout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fds := openFds(t)
			c := spawn.Command("/bin/true")
			c.Stderr = &bytes.Buffer{} // a pipe would be made for it
			tt.edit(c)
			err := c.Start()
			var se *spawn.Error
			if !errors.As(err, &se) || se.Step != "invalid" || se.Arg != tt.field {
				t.Fatalf("err = %v, want an invalid %s *Error", err, tt.field)
			}
			if !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("errors.Is(%v, fs.ErrInvalid) is false", err)
			}
			if after := openFds(t); !slices.Equal(fds, after) {
				t.Errorf("descriptors changed: %v → %v", fds, after)
			}
			if ch := children(t); ch != "" {
				t.Errorf("children left: %s", ch)
			}
		})
	}
}

// TestFailuresLeaveNothingBehind makes every kind of step fail many times,
// with pipes to clean up, and checks that the parent's descriptors,
// threads, children and child stacks are what they were before.
func TestFailuresLeaveNothingBehind(t *testing.T) {
	dir := t.TempDir()
	noExec := writeFile(t, dir, "data.txt", "x", 0o644)
	bogus := os.NewFile(9999, "not-open") // a descriptor closed behind Go's back
	failures := map[string]func() *spawn.Cmd{
		"chdir":       func() *spawn.Cmd { c := spawn.Command("/bin/true"); c.Dir = "/nonexistent"; return c },
		"execve":      func() *spawn.Cmd { return spawn.Command("/nonexistent") },
		"execve perm": func() *spawn.Cmd { return spawn.Command(noExec) },
		"dup3":        func() *spawn.Cmd { c := spawn.Command("/bin/true"); c.ExtraFiles = []*os.File{bogus}; return c },
		"search PATH": func() *spawn.Cmd { return spawn.Command("no-such-program-xyz") },
		"invalid":     func() *spawn.Cmd { return spawn.Command("/bin/true", "\x00") },
	}
	steps := map[string]string{"execve perm": "execve"}
	runAll := func() {
		for name, mk := range failures {
			c := mk()
			c.Stdin = strings.NewReader("input")
			c.Stdout = &bytes.Buffer{}
			c.Stderr = &bytes.Buffer{}
			err := c.Start()
			var se *spawn.Error
			want := name
			if s, ok := steps[name]; ok {
				want = s
			}
			if !errors.As(err, &se) || se.Step != want {
				t.Fatalf("%s: err = %v, want a %s failure", name, err, want)
			}
		}
	}
	runAll() // warm up: lazily opened /dev/null, pooled stacks, runtime threads
	fds, thr, kids := openFds(t), threads(t), children(t)
	for range 50 {
		runAll()
	}
	if after := openFds(t); !slices.Equal(fds, after) {
		t.Errorf("descriptors: %v before, %v after", fds, after)
	}
	// The runtime may start an idle M or two of its own accord; a leak
	// would add one per failure (300 here).
	if after := threads(t); after > thr+2 {
		t.Errorf("threads: %d before, %d after 300 failed starts", thr, after)
	}
	if after := children(t); after != kids {
		t.Errorf("children: %q before, %q after", kids, after)
	}
	if _, inUse := engine.PoolStats(); inUse != 0 {
		t.Errorf("%d child stacks still in use", inUse)
	}
}

// TestKilledBeforeExec: a child killed by a signal before it could exec is
// a failed Start that names the step, not a started process.
func TestKilledBeforeExec(t *testing.T) {
	// Opening a FIFO nobody writes blocks the child at its open step.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	c := spawn.Command("/bin/true")
	c.Files = []spawn.FileAction{spawn.OpenFile(3, fifo, os.O_RDONLY, 0)}
	done := make(chan error, 1)
	go func() { done <- c.Start() }()
	var pid int
	for deadline := time.Now().Add(10 * time.Second); pid == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the child never appeared")
		}
		if ch := strings.Fields(children(t)); len(ch) > 0 {
			pid, _ = strconv.Atoi(ch[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	err := <-done
	var se *spawn.Error
	if !errors.As(err, &se) || se.Step != "open" || !strings.Contains(err.Error(), "killed by signal killed before exec") {
		t.Fatalf("Start = %v, want the open step, killed before exec", err)
	}
	if c.Process != nil {
		t.Errorf("Process set for a child that never exec'd")
	}
	if ch := children(t); ch != "" {
		t.Errorf("children left: %s", ch)
	}
}
