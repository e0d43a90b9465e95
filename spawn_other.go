//go:build !linux

package spawn

import (
	"errors"
	"os"
	"syscall"
)

var errNoExec error = syscall.ENOEXEC

var errNotSupported = errors.New("spawn: starting processes is supported on Linux only")

func isEPIPE(err error) bool { return errors.Is(err, syscall.EPIPE) }

type prepared struct{ path string }

func (p *prepared) release() {}

func (c *Cmd) prepare(p *prepared, path string, argv, env []string) error {
	p.path = path
	return &Error{Path: path, Step: "start", Err: errNotSupported}
}

type pending struct{}

func (st *starting) launch() error {
	return &Error{Path: st.prep.path, Step: "start", Err: errNotSupported}
}

func (st *starting) finish() (*Process, error) {
	return nil, &Error{Path: st.prep.path, Step: "start", Err: errNotSupported}
}

func explain(p *prepared, files []*os.File) (*Plan, error) {
	return nil, &Error{Path: p.path, Step: "start", Err: errNotSupported}
}

// Wait is not supported on this system.
func (p *Process) Wait() (*ProcessState, error) { return nil, errNotSupported }

// Signal is not supported on this system.
func (p *Process) Signal(sig os.Signal) error { return errNotSupported }

// isExecutable reports whether p is a regular file with an execute bit.
func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func (c *Cmd) setPidfdOut() error { return nil }
