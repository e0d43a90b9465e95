//go:build linux

package plan

import (
	"fmt"
	"strings"
)

// File is one descriptor the child receives.
type File struct {
	// Fd is the parent's descriptor, or -1 for "closed in the child".
	Fd int
	// Name describes the file in steps: "pipe", "/dev/null", "/tmp/log".
	Name string
}

// Spec is everything the planner needs to know about one process.
type Spec struct {
	// Path is the program passed to execve.
	Path string
	// Argv is the argument vector, Argv[0] included.
	Argv []string
	// Env is the environment, as KEY=VALUE strings, already de-duplicated.
	Env []string
	// Dir is the working directory, or "" to keep the parent's.
	Dir string
	// Files maps child descriptors to parent descriptors: child fd i gets
	// Files[i].
	Files []File

	// KernelClearsHandlers says the clone itself resets handled signals to
	// SIG_DFL (CLONE_CLEAR_SIGHAND). Without it the child does so first.
	KernelClearsHandlers bool
	// CloseRangeCloexec says close_range(CLOSE_RANGE_CLOEXEC) is available
	// (Linux 5.11). Without it, descriptors the parent left open without
	// O_CLOEXEC are inherited, as with os/exec.
	CloseRangeCloexec bool
}

// InputError reports input that cannot be planned. It names the field and
// the problem; nothing has been created when it is returned.
type InputError struct {
	Field string // "Path", "Args[2]", "Env[0]", "Dir", "ExtraFiles[1]"
	Msg   string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks the strings of s. It does not look at Files, which the
// caller validates when it resolves them to descriptors.
func (s *Spec) Validate() error {
	if s.Path == "" {
		return &InputError{"Path", "empty program path"}
	}
	if strings.IndexByte(s.Path, 0) >= 0 {
		return &InputError{"Path", "contains a NUL byte"}
	}
	if len(s.Argv) == 0 {
		return &InputError{"Args", "empty: Args must hold at least argv[0]"}
	}
	for i, a := range s.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return &InputError{fmt.Sprintf("Args[%d]", i), fmt.Sprintf("%q contains a NUL byte", a)}
		}
	}
	if strings.IndexByte(s.Dir, 0) >= 0 {
		return &InputError{"Dir", fmt.Sprintf("%q contains a NUL byte", s.Dir)}
	}
	for i, kv := range s.Env {
		if err := CheckEnv(kv); err != "" {
			return &InputError{fmt.Sprintf("Env[%d]", i), err}
		}
	}
	return nil
}

// CheckEnv returns what is wrong with one KEY=VALUE entry, or "".
func CheckEnv(kv string) string {
	if strings.IndexByte(kv, 0) >= 0 {
		return fmt.Sprintf("%q contains a NUL byte", kv)
	}
	i := strings.IndexByte(kv, '=')
	switch {
	case i < 0:
		return fmt.Sprintf("%q is not of the form KEY=VALUE", kv)
	case i == 0:
		return fmt.Sprintf("%q has an empty key", kv)
	}
	return ""
}
