package spawn

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Start starts the command and returns without waiting for it. After a
// successful Start, call Wait to reap the process and release its
// resources.
//
// Bad input (a NUL byte in Path, Args, Env or Dir, an Env entry that is not
// KEY=VALUE, a nil or closed file) is reported before anything is created.
// If the child fails before it runs the program (the working directory is
// missing, the program is not executable, a signal killed it...), Start
// returns an *Error that names the step, and leaves no process, descriptor
// or pipe behind.
func (c *Cmd) Start() error {
	st := newStarting()
	defer st.free()
	err := c.begin(st)
	if err == nil {
		err = st.launch()
	}
	var p *Process
	if err == nil {
		p, err = st.finish()
	}
	return c.end(st, p, err)
}

// StartAll starts every command as one batch: it creates all the children
// before waiting for any of them to exec, so their execs overlap — each
// child execs on its own CPU while the next is created — instead of one
// after the other. It returns when every child has exec'd or failed. Each
// command is then as after its own Start: started (Process set, Wait to be
// called) or not, and the error joins the failures of those not started.
func StartAll(cmds ...*Cmd) error {
	for i, c := range cmds {
		if c == nil {
			return fmt.Errorf("spawn: StartAll: command %d is nil", i)
		}
	}
	sts := make([]*starting, len(cmds))
	errs := make([]error, len(cmds))
	for i, c := range cmds {
		sts[i] = newStarting()
		if errs[i] = c.begin(sts[i]); errs[i] == nil {
			errs[i] = sts[i].launch()
		}
	}
	for i, c := range cmds {
		var p *Process
		if errs[i] == nil {
			p, errs[i] = sts[i].finish()
		}
		errs[i] = c.end(sts[i], p, errs[i])
		sts[i].free()
	}
	return errors.Join(errs...)
}

// starting is a Cmd between begin and end: prepared, its standard streams
// made, and its child created by launch.
type starting struct {
	prep     prepared
	files    []*os.File
	filesBuf [8]*os.File
	pending  pending
	begun    bool
}

// Starting a command needs a few hundred bytes of scratch space that would
// otherwise be allocated on every Start; it is pooled.
var startings = sync.Pool{New: func() any { return new(starting) }}

func newStarting() *starting { return startings.Get().(*starting) }

func (st *starting) free() {
	*st = starting{}
	startings.Put(st)
}

// begin checks everything and makes the child's standard streams; nothing
// else is created before the child.
func (c *Cmd) begin(st *starting) error {
	if c.startCalled.Swap(true) {
		return errAlreadyStarted
	}
	st.begun = true
	if c.Path == "" && c.Err == nil {
		c.Err = errors.New("spawn: no command")
	}
	if c.Cancel != nil && c.ctx == nil {
		return errors.New("spawn: command with a non-nil Cancel was not created with CommandContext")
	}
	env, envErr := c.environ()
	if err := c.resolvePath(env); err != nil {
		return err
	}
	if envErr != nil {
		return &Error{Path: c.Path, Step: "invalid", Arg: "Dir", Err: envErr}
	}
	if c.ctx != nil {
		select {
		case <-c.ctx.Done():
			return c.ctx.Err()
		default:
		}
	}
	if err := c.validate(); err != nil {
		return err
	}
	if err := c.prepare(&st.prep, c.Path, c.argv(), env); err != nil {
		return err
	}

	files := st.filesBuf[:3]
	var err error
	if files[0], err = c.childStdin(); err != nil {
		return &Error{Path: c.Path, Step: "pipe", Arg: "stdin", Err: err}
	}
	if files[1], err = c.childWriter(c.Stdout); err != nil {
		return &Error{Path: c.Path, Step: "pipe", Arg: "stdout", Err: err}
	}
	if c.Stderr != nil && interfaceEqual(c.Stderr, c.Stdout) {
		files[2] = files[1]
	} else if files[2], err = c.childWriter(c.Stderr); err != nil {
		return &Error{Path: c.Path, Step: "pipe", Arg: "stderr", Err: err}
	}
	st.files = append(files, c.ExtraFiles...)
	return nil
}

// end releases what starting the command needed and, if the process
// started, sets Process and starts the I/O copying and context watching.
func (c *Cmd) end(st *starting, p *Process, err error) error {
	if !st.begun {
		return err // a second Start: leave the first one's state alone
	}
	closeAll(c.childFiles)
	c.childFiles = nil
	c.closeOwned()
	st.prep.release()
	if err != nil {
		closeAll(c.parentPipes)
		c.parentPipes = nil
		c.goroutines = nil
		return err
	}
	c.Process = p
	c.setPidfdOut() // on failure it stores -1, as os/exec does

	if len(c.goroutines) > 0 {
		errc := make(chan error, 1)
		c.goroutineErr = errc
		type status struct {
			running  int
			firstErr error
		}
		statusc := make(chan status, 1)
		statusc <- status{running: len(c.goroutines)}
		for _, fn := range c.goroutines {
			go func() {
				err := fn()
				s := <-statusc
				if s.firstErr == nil {
					s.firstErr = err
				}
				s.running--
				if s.running == 0 {
					errc <- s.firstErr
				} else {
					statusc <- s
				}
			}()
		}
		c.goroutines = nil
	}

	if (c.Cancel != nil || c.WaitDelay != 0) && c.ctx != nil && c.ctx.Done() != nil {
		resultc := make(chan ctxResult)
		c.ctxResult = resultc
		go c.watchCtx(resultc)
	}
	return nil
}

// resolvePath repeats the PATH lookup of Command when Env sets a PATH of
// its own, and returns the lookup error, if any.
func (c *Cmd) resolvePath(env []string) error {
	if c.lookName != "" && c.Path == c.lookedUpPath && c.Env != nil {
		if path, ok := lookupEnv(env, "PATH"); ok && path != os.Getenv("PATH") {
			lp, err := lookPath(c.lookName, path)
			var se *Error
			if errors.As(err, &se) && errors.Is(err, ErrDot) {
				se.Hint = "found as " + lp + "; set Cmd.Path to it to run it"
			}
			if lp != "" {
				c.Path = lp
			}
			c.lookedUpPath = c.Path
			c.Err = err
		}
	}
	return c.Err
}

// validate checks the standard streams and ExtraFiles; prepare checks the
// rest. Both run before any pipe is made.
func (c *Cmd) validate() error {
	check := func(field string, f *os.File) error {
		if f == nil {
			return invalid(c.Path, field, "nil *os.File")
		}
		if f.Fd() == ^uintptr(0) {
			return invalid(c.Path, field, fmt.Sprintf("file %q is closed", f.Name()))
		}
		return nil
	}
	for i, std := range []any{c.Stdin, c.Stdout, c.Stderr} {
		// A nil *os.File inside the interface would otherwise pass
		// the nil test and reach the child as a closed descriptor.
		if f, ok := std.(*os.File); ok {
			if err := check(stdTitle[i], f); err != nil {
				return err
			}
		}
	}
	for i, f := range c.ExtraFiles {
		if err := check(fmt.Sprintf("ExtraFiles[%d]", i), f); err != nil {
			return err
		}
	}
	return nil
}

var stdTitle = [3]string{"Stdin", "Stdout", "Stderr"}

func (c *Cmd) childStdin() (*os.File, error) {
	if c.Stdin == nil {
		return devNull()
	}
	if f, ok := c.Stdin.(*os.File); ok {
		return f, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c.childFiles = append(c.childFiles, pr)
	c.parentPipes = append(c.parentPipes, pw)
	c.goroutines = append(c.goroutines, func() error {
		_, err := io.Copy(pw, c.Stdin)
		if errors.Is(err, os.ErrClosed) || isEPIPE(err) {
			// The child stopped reading (exited, or closed stdin):
			// not an error of the command.
			err = nil
		}
		if err1 := pw.Close(); err == nil {
			err = err1
		}
		return err
	})
	return pr, nil
}

func (c *Cmd) childWriter(w io.Writer) (*os.File, error) {
	if w == nil {
		return devNull()
	}
	if f, ok := w.(*os.File); ok {
		return f, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c.childFiles = append(c.childFiles, pw)
	c.parentPipes = append(c.parentPipes, pr)
	c.goroutines = append(c.goroutines, func() error {
		_, err := io.Copy(w, pr)
		pr.Close() // if the copy stopped on a write error
		return err
	})
	return pw, nil
}

// interfaceEqual compares two writers with ==, which panics for
// uncomparable dynamic types; those are never equal.
func interfaceEqual(a, b any) (eq bool) {
	defer func() { recover() }()
	return a == b
}

// Wait waits for the command to exit and for the copying of its standard
// input, output and error to finish (see Stdin, Stdout and WaitDelay).
//
// The error is nil if the command ran and exited with status 0, an
// *ExitError if it exited otherwise, the context's error if the context
// ended it, or an I/O error from the copying.
func (c *Cmd) Wait() error {
	if c.Process == nil {
		return errors.New("spawn: not started")
	}
	if c.waitCalled.Swap(true) {
		return errors.New("spawn: Wait was already called")
	}
	state, err := c.Process.Wait()
	if err == nil && !state.Success() {
		err = &ExitError{ProcessState: state}
	}
	c.ProcessState = state

	var timer *time.Timer
	if c.ctxResult != nil {
		watch := <-c.ctxResult
		timer = watch.timer
		if err == nil && watch.err != nil {
			err = watch.err
		}
	}
	if gerr := c.awaitGoroutines(timer); err == nil {
		err = gerr
	}
	closeAll(c.parentPipes)
	c.parentPipes = nil
	return err
}

// watchCtx cancels the command when its context is done, then enforces
// WaitDelay. It reports to Wait through resultc.
func (c *Cmd) watchCtx(resultc chan<- ctxResult) {
	select {
	case resultc <- ctxResult{}:
		return
	case <-c.ctx.Done():
	}

	var err error
	if c.Cancel != nil {
		if cerr := c.Cancel(); cerr == nil {
			// The process will exit because of the context: report it,
			// unless it exits successfully anyway.
			err = c.ctx.Err()
		} else if !errors.Is(cerr, os.ErrProcessDone) {
			err = fmt.Errorf("spawn: canceling Cmd: %w", cerr)
		}
	}
	if c.WaitDelay == 0 {
		resultc <- ctxResult{err: err}
		return
	}

	timer := time.NewTimer(c.WaitDelay)
	select {
	case resultc <- ctxResult{err: err, timer: timer}:
		return
	case <-timer.C:
	}

	// The process did not exit within WaitDelay of the cancellation.
	killed := false
	if kerr := c.Process.Kill(); kerr == nil {
		killed = true
	} else if !errors.Is(kerr, os.ErrProcessDone) {
		err = fmt.Errorf("spawn: killing Cmd: %w", kerr)
	}
	if c.goroutineErr != nil {
		select {
		case gerr := <-c.goroutineErr:
			if err == nil && !killed {
				err = gerr
			}
		default:
			// A grandchild may hold the pipes open: stop copying.
			closeAll(c.parentPipes)
			<-c.goroutineErr
			if err == nil {
				err = ErrWaitDelay
			}
		}
		c.goroutineErr = nil
	}
	resultc <- ctxResult{err: err}
}

// awaitGoroutines waits for the I/O goroutines, for at most WaitDelay (from
// timer, if the context watcher started one, else from now).
func (c *Cmd) awaitGoroutines(timer *time.Timer) error {
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		c.goroutineErr = nil
	}()
	if c.goroutineErr == nil {
		return nil
	}
	if timer == nil {
		if c.WaitDelay == 0 {
			return <-c.goroutineErr
		}
		select {
		case err := <-c.goroutineErr:
			return err
		default:
		}
		timer = time.NewTimer(c.WaitDelay)
	}
	select {
	case <-timer.C:
		closeAll(c.parentPipes)
		<-c.goroutineErr
		return ErrWaitDelay
	case err := <-c.goroutineErr:
		return err
	}
}
