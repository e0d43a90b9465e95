package spawn

import (
	"errors"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
)

// Error reports a process that could not be started: which program, which
// step of starting it failed, on what, and why.
//
//	spawn /usr/bin/git: chdir "/nope": no such file or directory
//	spawn /srv/app: execve "/srv/app": permission denied (not executable: mode -rw-r--r--)
//
// It unwraps to the underlying cause, usually a syscall.Errno, so
// errors.Is(err, fs.ErrNotExist) and errors.Is(err, syscall.EACCES) work.
// Step names the operation as `spawn explain` lists it: "chdir", "dup3",
// "execve", "search PATH", "invalid" (bad input, detected before anything
// was created), "clone3" (the kernel refused to create the process).
type Error struct {
	Path string // the program
	Step string // the step that failed
	Arg  string // the step's argument as displayed, e.g. `"/nope"`; may be empty
	Err  error  // the cause
	// Hint, if not empty, says what the cause probably means here, e.g.
	// "the file exists: its #! interpreter is missing".
	Hint string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("spawn ")
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(e.Step)
	if e.Arg != "" {
		b.WriteByte(' ')
		b.WriteString(e.Arg)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteByte(')')
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotFound is returned (wrapped in an *Error) when a program name without
// a slash is not found in PATH. It is exec.ErrNotFound, so code written for
// os/exec keeps working.
var ErrNotFound = exec.ErrNotFound

// ErrDot is returned (wrapped in an *Error, and stored in Cmd.Err by
// Command) when PATH lookup finds the program only through a relative PATH
// entry such as "." or "". It is exec.ErrDot: as with os/exec, clear
// Cmd.Err to run the program anyway.
var ErrDot = exec.ErrDot

// ErrWaitDelay is returned by Cmd.Wait when the process exited successfully
// but its I/O pipes were still open (held by a grandchild, say) when
// WaitDelay expired. It is exec.ErrWaitDelay.
var ErrWaitDelay = exec.ErrWaitDelay

// invalidError is bad input; it matches fs.ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == fs.ErrInvalid }

func invalid(path, field, msg string) *Error {
	return &Error{Path: path, Step: "invalid", Arg: field, Err: &invalidError{msg}}
}

// ExitError reports a process that ran and did not exit successfully.
type ExitError struct {
	*ProcessState

	// Stderr holds up to the first and last 32 KiB of the process's
	// standard error if Cmd.Output captured it (Cmd.Stderr was nil).
	Stderr []byte
}

func (e *ExitError) Error() string { return e.ProcessState.String() }

// errString quotes a path for messages.
func quote(s string) string { return strconv.Quote(s) }

var errAlreadyStarted = errors.New("spawn: already started")
