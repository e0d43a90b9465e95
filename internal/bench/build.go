package bench

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gospawn/spawn/internal/probe"
)

//go:embed c/floor.c
var floorSource []byte

// Env holds the programs the benchmarks run.
type Env struct {
	Noop  string // the static no-op program of internal/probe: _start → exit_group(0)
	True  string // /bin/true, a dynamically linked program
	Floor string // c/floor.c: the C baselines, and a cheap sleeping child
	Exe   string // this executable, re-run for the scenarios that need a process of their own

	dir string
}

// NewEnv compiles the no-op program and the C floor into a new temporary
// directory, which Close removes.
func NewEnv() (*Env, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	dir, err := os.MkdirTemp("", "spawn-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	e := &Env{True: "/bin/true", Exe: exe, dir: dir}
	if _, e.Noop, err = probe.Build(dir); err == nil {
		e.Floor, err = buildFloor(dir)
	}
	if err == nil {
		_, err = os.Stat(e.True)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: %w", err)
	}
	return e, nil
}

// Close removes the programs.
func (e *Env) Close() error { return os.RemoveAll(e.dir) }

// Target returns the path of a target by name: "noop" or "true".
func (e *Env) Target(name string) string {
	if name == "noop" {
		return e.Noop
	}
	return e.True
}

// buildFloor compiles c/floor.c with $CC (default "cc", may include
// arguments), as internal/probe builds its programs.
func buildFloor(dir string) (string, error) {
	cc := strings.Fields(os.Getenv("CC"))
	if len(cc) == 0 {
		cc = []string{"cc"}
	}
	src := filepath.Join(dir, "floor.c")
	if err := os.WriteFile(src, floorSource, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "floor")
	args := append(append([]string{}, cc[1:]...), "-O2", "-Wall", "-Werror", "-o", bin, src)
	if out, err := exec.Command(cc[0], args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("compiling floor.c failed: %s %s: %v\n%s", cc[0], strings.Join(args, " "), err, out)
	}
	return bin, nil
}
