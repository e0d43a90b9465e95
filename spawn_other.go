//go:build !linux

package spawn

import (
	"errors"
	"os"
	"syscall"
)

var errNoExec error = syscall.ENOEXEC

// ErrNotSupported is returned by Start on systems other than Linux.
var errNotSupported = errors.New("spawn: starting processes is supported on Linux only")

func isEPIPE(err error) bool { return errors.Is(err, syscall.EPIPE) }

func checkStrings(path string, argv, env []string, dir string) error { return nil }

func startProcess(path string, argv, env []string, dir string, files []*os.File) (*Process, error) {
	return nil, &Error{Path: path, Step: "start", Err: errNotSupported}
}

// Wait is not supported on this system.
func (p *Process) Wait() (*ProcessState, error) { return nil, errNotSupported }

// Signal is not supported on this system.
func (p *Process) Signal(sig os.Signal) error { return errNotSupported }

func explain(path string, argv, env []string, dir string, files []*os.File) (*Plan, error) {
	return nil, &Error{Path: path, Step: "start", Err: errNotSupported}
}
