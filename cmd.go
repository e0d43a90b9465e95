package spawn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Cmd is a command to run, shaped like exec.Cmd: code written for os/exec
// keeps its meaning when exec.Command becomes spawn.Command.
//
// A Cmd cannot be reused after Start, Run, Output or CombinedOutput.
type Cmd struct {
	// Path is the program to run. If it is relative, it is taken relative
	// to Dir. Command sets it to the result of the PATH lookup.
	Path string

	// Args holds the arguments, Args[0] included (the name the program
	// sees as its own). If empty, Start uses {Path}.
	Args []string

	// Env is the environment, as KEY=VALUE strings. If nil, the child gets
	// the parent's environment (os.Environ), with PWD set to Dir when Dir
	// is set. If a key appears more than once, the last value wins. Every
	// entry must contain "=" after a non-empty key, and no NUL byte.
	//
	// If Env sets PATH, a program name given to Command without a slash is
	// looked up in that PATH when the command starts (os/exec uses the
	// parent's PATH even then).
	Env []string

	// Dir is the working directory of the child. If empty, the child runs
	// in the parent's working directory. A relative Dir is taken relative
	// to the parent's working directory.
	Dir string

	// Stdin is the child's standard input. If nil, the child reads from
	// /dev/null. If it is an *os.File, the child gets that file itself.
	// Otherwise a goroutine copies from Stdin into a pipe to the child;
	// Wait does not return before that copy has finished (Stdin hit EOF or
	// failed, or the pipe broke), or before WaitDelay expires.
	Stdin io.Reader

	// Stdout and Stderr are the child's standard output and error. If nil,
	// the child writes to /dev/null. If one is an *os.File, the child gets
	// that file itself. Otherwise a goroutine copies from a pipe into the
	// writer; Wait waits for it, and it ends only when every process
	// holding the pipe's write end has closed it (grandchildren included):
	// see WaitDelay. If Stdout and Stderr are the same writer (==), the
	// child gets one pipe for both, and at most one goroutine writes to it.
	Stdout io.Writer
	Stderr io.Writer

	// ExtraFiles are additional open files the child gets: entry i becomes
	// descriptor 3+i. Entries must be open files (not nil). The child gets
	// no other descriptor than 0, 1, 2 and these.
	ExtraFiles []*os.File

	// Files are changes to the child's descriptors (OpenFile, DupFile,
	// CloseFile), applied in order once Stdin, Stdout, Stderr and
	// ExtraFiles are in place. A descriptor they leave between others is
	// closed.
	Files []FileAction

	// DirFile, if not nil, is the working directory as an open directory
	// (fchdir), instead of Dir.
	DirFile *os.File

	// Chroot, if not empty, is the child's root directory. Dir and a
	// relative Path are then taken inside it.
	Chroot string

	// ExecFile, if not nil, is the program as an open file (execveat with
	// AT_EMPTY_PATH): what runs is what was opened, whatever happens to
	// Path meanwhile. Path then only names it in errors. It must be a
	// binary, or a script whose descriptor the child inherits.
	ExecFile *os.File

	// ScriptFallback runs a program the kernel cannot execute (no #!
	// line, ENOEXEC) with /bin/sh, as execvp does. Off by default: the
	// error then says the file has no interpreter line.
	ScriptFallback bool

	// Signals sets the child's signal dispositions and mask.
	Signals SignalAttrs

	// Session places the child in a new session or process group, and
	// gives it a controlling terminal.
	Session SessionAttrs

	// Credential, if not nil, is the user and groups the child runs as.
	Credential *Credential

	// Limits sets resource limits, priority, CPU affinity, scheduling and
	// umask.
	Limits LimitAttrs

	// Security sets no_new_privs, a seccomp filter, and descriptor
	// inheritance.
	Security SecurityAttrs

	// Pdeathsig, if not 0, is the signal the child gets when the parent
	// process exits. (The kernel sends it when the creating thread exits;
	// spawn creates such children from one OS thread that lives as long as
	// the process.)
	Pdeathsig syscall.Signal

	// Namespaces puts the child in new or existing namespaces and in a
	// cgroup.
	Namespaces NamespaceAttrs

	// Ptrace makes the child stop at exec for the parent to trace it
	// (PTRACE_TRACEME). The ptrace calls must come from the thread that
	// called Start (lock it with runtime.LockOSThread).
	Ptrace bool

	// Process is the started process, set by Start.
	Process *Process

	// ProcessState describes the exited process, set by Wait.
	ProcessState *ProcessState

	// Err is set by Command when the program could not be found (it wraps
	// ErrNotFound or ErrDot); Start returns it. Clearing an ErrDot lets
	// the relative program run.
	Err error

	// Cancel, if non-nil, is called when the Context of a command made by
	// CommandContext is done before the command exits. CommandContext sets
	// it to kill the process (Process.Kill). As with os/exec, Wait then
	// reports the command's own status if it failed (an *ExitError,
	// "signal: killed"); if it exited successfully anyway, Wait returns
	// the context's error, or the error Cancel returned (wrapped) unless
	// that is os.ErrProcessDone.
	Cancel func() error

	// WaitDelay bounds how long Wait waits, after the context is done (and
	// Cancel ran) or after the process exited, for the process to exit and
	// for the I/O pipes to close. When it expires, the process is killed
	// and the parent's ends of the pipes are closed. Zero means no bound.
	// Wait then returns ErrWaitDelay if nothing else went wrong.
	WaitDelay time.Duration

	ctx          context.Context
	lookName     string // the name given to Command, if it was looked up
	lookedUpPath string // the Path that lookup produced
	startCalled  atomic.Bool
	waitCalled   atomic.Bool
	owned        []*os.File // files FromExec made, closed once started
	pidfdOut     *int       // FromExec: where SysProcAttr.PidFD wants a pidfd

	childFiles   []*os.File  // child ends of pipes: closed in the parent after Start
	parentPipes  []io.Closer // parent ends of pipes: closed by Wait
	goroutines   []func() error
	goroutineErr <-chan error
	ctxResult    <-chan ctxResult
}

type ctxResult struct {
	err   error
	timer *time.Timer
}

// Command returns a Cmd to run the program name with the given arguments.
// Only Path and Args are set.
//
// A name without a path separator is looked up in PATH, as exec.Command
// does; if the lookup fails, Cmd.Err says why and Start returns it. A name
// with a separator is used as is.
func Command(name string, arg ...string) *Cmd {
	c := &Cmd{Path: name, Args: append([]string{name}, arg...)}
	if filepath.Base(name) == name {
		c.lookName = name
		lp, err := lookPath(name, os.Getenv("PATH"))
		if lp != "" {
			c.Path = lp
		}
		c.lookedUpPath = c.Path
		c.Err = err
	}
	return c
}

// CommandContext is Command with a context: if ctx is done before the
// command exits, Cancel is called (by default, it kills the process).
func CommandContext(ctx context.Context, name string, arg ...string) *Cmd {
	if ctx == nil {
		panic("spawn: nil Context")
	}
	c := Command(name, arg...)
	c.ctx = ctx
	c.Cancel = func() error { return c.Process.Kill() }
	return c
}

// String returns the command line, for logs: the program path and
// arguments, space-separated.
func (c *Cmd) String() string {
	if c.Err != nil {
		return strings.Join(c.Args, " ")
	}
	var b strings.Builder
	b.WriteString(c.Path)
	for _, a := range c.argv()[1:] {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	return b.String()
}

func (c *Cmd) argv() []string {
	if len(c.Args) > 0 {
		return c.Args
	}
	return []string{c.Path}
}

// Environ returns the environment the command would run with, as it is
// configured now.
func (c *Cmd) Environ() []string {
	env, _ := c.environ()
	return env
}

func (c *Cmd) environ() ([]string, error) {
	env := c.Env
	if env == nil {
		env = os.Environ()
		if c.Dir != "" {
			pwd, err := filepath.Abs(c.Dir)
			if err != nil {
				return dedupEnv(env), err
			}
			env = append(env, "PWD="+pwd)
		}
	}
	return dedupEnv(env), nil
}

// dedupEnv keeps the last value of each key, in the order of the last
// occurrences. Malformed entries are kept for validation to report. An
// environment without duplicates (the usual case) is returned as it is.
func dedupEnv(env []string) []string {
	if !hasDuplicateKeys(env) {
		return env
	}
	seen := make(map[string]bool, len(env))
	out := make([]string, 0, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		k, _, ok := strings.Cut(kv, "=")
		if ok {
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, kv)
	}
	slices.Reverse(out)
	return out
}

// hasDuplicateKeys reports whether two entries of env have the same key.
// It runs on every Start, so it allocates nothing for an ordinary
// environment and compares keys' lengths before their bytes.
func hasDuplicateKeys(env []string) bool {
	if len(env) > 256 {
		seen := make(map[string]bool, len(env))
		for _, kv := range env {
			k, _, _ := strings.Cut(kv, "=")
			if seen[k] {
				return true
			}
			seen[k] = true
		}
		return false
	}
	var keysBuf [256]string
	keys := keysBuf[:len(env)]
	for i, kv := range env {
		if j := strings.IndexByte(kv, '='); j >= 0 {
			keys[i] = kv[:j]
		} else {
			keys[i] = kv
		}
	}
	for i, a := range keys {
		for _, b := range keys[i+1:] {
			if len(a) == len(b) && a == b {
				return true
			}
		}
	}
	return false
}

// lookupEnv returns the value of key in env (last one wins).
func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Run starts the command and waits for it to finish. The error is nil if
// the command ran and exited with status 0; an *ExitError if it ran and
// failed; an *Error if it could not start.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the command and returns its standard output. If Stderr was
// nil, a failing command's *ExitError holds (the start and end of) its
// standard error.
func (c *Cmd) Output() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("spawn: Stdout already set")
	}
	var stdout bytes.Buffer
	c.Stdout = &stdout
	var saver *prefixSuffixSaver
	if c.Stderr == nil {
		saver = &prefixSuffixSaver{N: 32 << 10}
		c.Stderr = saver
	}
	err := c.Run()
	var ee *ExitError
	if saver != nil && errors.As(err, &ee) {
		ee.Stderr = saver.Bytes()
	}
	return stdout.Bytes(), err
}

// CombinedOutput runs the command and returns its standard output and
// standard error, interleaved as written.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("spawn: Stdout already set")
	}
	if c.Stderr != nil {
		return nil, errors.New("spawn: Stderr already set")
	}
	var b bytes.Buffer
	c.Stdout = &b
	c.Stderr = &b
	err := c.Run()
	return b.Bytes(), err
}

// StdinPipe returns a pipe connected to the child's standard input. Wait
// closes it after the process exits; close it yourself to send EOF sooner.
func (c *Cmd) StdinPipe() (io.WriteCloser, error) {
	if c.Stdin != nil {
		return nil, errors.New("spawn: Stdin already set")
	}
	if c.Process != nil {
		return nil, errors.New("spawn: StdinPipe after process started")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c.Stdin = pr
	c.childFiles = append(c.childFiles, pr)
	wc := &closeOnce{File: pw}
	c.parentPipes = append(c.parentPipes, wc)
	return wc, nil
}

// StdoutPipe returns a pipe connected to the child's standard output. Wait
// closes it after the process exits, so read everything before calling
// Wait (and do not call Run).
func (c *Cmd) StdoutPipe() (io.ReadCloser, error) { return c.outputPipe(&c.Stdout, "Stdout") }

// StderrPipe is StdoutPipe for standard error.
func (c *Cmd) StderrPipe() (io.ReadCloser, error) { return c.outputPipe(&c.Stderr, "Stderr") }

func (c *Cmd) outputPipe(stream *io.Writer, name string) (io.ReadCloser, error) {
	if *stream != nil {
		return nil, errors.New("spawn: " + name + " already set")
	}
	if c.Process != nil {
		return nil, errors.New("spawn: " + name + "Pipe after process started")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	*stream = pw
	c.childFiles = append(c.childFiles, pw)
	c.parentPipes = append(c.parentPipes, pr)
	return pr, nil
}

// closeOnce lets both the caller and Wait close the stdin pipe.
type closeOnce struct {
	*os.File
	once sync.Once
	err  error
}

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.File.Close() })
	return c.err
}

func (c *Cmd) closeOwned() {
	closeAll(c.owned)
	c.owned = nil
}

func closeAll[T io.Closer](cs []T) {
	for _, c := range cs {
		c.Close()
	}
}
