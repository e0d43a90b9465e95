//go:build linux

package spawn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// FromExec returns a Cmd that runs what cmd, an unstarted *exec.Cmd, would
// run: the same Path, Args, Env, Dir, streams, ExtraFiles, WaitDelay and
// Err, and the spawn equivalent of every syscall.SysProcAttr field
// (docs/MIGRATING.md has the table). exec.Cmd does not reveal the context
// of a command made by exec.CommandContext; use FromExecContext for those.
// The exec.Cmd must not be started afterwards.
//
// Take pipes from the returned Cmd (StdinPipe, StdoutPipe, StderrPipe), not
// from the exec.Cmd: exec.Cmd keeps the child's ends of its own pipes to
// itself and closes them only when it starts, so they would stay open in
// the parent (and a reader of the output would never see its end).
func FromExec(cmd *exec.Cmd) (*Cmd, error) {
	if cmd != nil && cmd.Cancel != nil {
		return nil, fmt.Errorf("spawn: FromExec: %s was made by exec.CommandContext, whose context exec.Cmd does not reveal: use FromExecContext", cmd.Path)
	}
	return fromExec(cmd)
}

// FromExecContext is FromExec for a command made by exec.CommandContext(ctx,
// ...): the Cmd is canceled by ctx as spawn.CommandContext's is (cmd's own
// Cancel function refers to exec's Process and is not kept).
func FromExecContext(ctx context.Context, cmd *exec.Cmd) (*Cmd, error) {
	if ctx == nil {
		panic("spawn: nil Context")
	}
	c, err := fromExec(cmd)
	if err != nil {
		return nil, err
	}
	c.ctx = ctx
	c.Cancel = func() error { return c.Process.Kill() }
	return c, nil
}

func fromExec(cmd *exec.Cmd) (*Cmd, error) {
	if cmd == nil {
		return nil, errors.New("spawn: FromExec: nil *exec.Cmd")
	}
	if cmd.Process != nil {
		return nil, fmt.Errorf("spawn: FromExec: %s was already started", cmd.Path)
	}
	c := &Cmd{
		Path: cmd.Path, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir,
		Stdin: cmd.Stdin, Stdout: cmd.Stdout, Stderr: cmd.Stderr,
		ExtraFiles: cmd.ExtraFiles, WaitDelay: cmd.WaitDelay, Err: cmd.Err,
	}
	if err := c.translateSysProcAttr(cmd.SysProcAttr); err != nil {
		c.closeOwned()
		return nil, fmt.Errorf("spawn: FromExec: %w", err)
	}
	return c, nil
}

// translateSysProcAttr sets the attributes equivalent to a.
func (c *Cmd) translateSysProcAttr(a *syscall.SysProcAttr) error {
	if a == nil {
		return nil
	}
	c.Chroot = a.Chroot
	if cr := a.Credential; cr != nil {
		c.Credential = &Credential{Uid: cr.Uid, Gid: cr.Gid, Groups: cr.Groups, NoSetGroups: cr.NoSetGroups}
	}
	if len(a.AmbientCaps) > 0 {
		if c.Credential == nil {
			// os/exec raises ambient capabilities without changing
			// the user; so does the identity we are already.
			c.Credential = &Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), NoSetGroups: true}
		}
		c.Credential.AmbientCaps = a.AmbientCaps
	}
	c.Ptrace = a.Ptrace
	c.Session = SessionAttrs{Setsid: a.Setsid, Setpgid: a.Setpgid && !a.Setsid, Pgid: a.Pgid,
		Foreground: a.Foreground, Noctty: a.Noctty}
	switch {
	case a.Setctty:
		// Ctty is a descriptor number in the child.
		f, err := c.childFile(a.Ctty)
		if err != nil {
			return fmt.Errorf("SysProcAttr.Ctty: %w", err)
		}
		c.Session.Ctty = f
	case a.Foreground:
		// os/exec uses Ctty as the parent's descriptor here.
		f, err := c.ownDup(a.Ctty, "tty")
		if err != nil {
			return fmt.Errorf("SysProcAttr.Ctty: %w", err)
		}
		c.Session.Ctty = f
	}
	c.Pdeathsig = a.Pdeathsig
	c.Namespaces.Clone = a.Cloneflags
	c.Namespaces.Unshare = a.Unshareflags
	for _, m := range a.UidMappings {
		c.Namespaces.UidMappings = append(c.Namespaces.UidMappings, IDMap(m))
	}
	for _, m := range a.GidMappings {
		c.Namespaces.GidMappings = append(c.Namespaces.GidMappings, IDMap(m))
	}
	if a.GidMappingsEnableSetgroups {
		c.Namespaces.Setgroups = SetgroupsAllow
	}
	if a.UseCgroupFD {
		f, err := c.ownDup(a.CgroupFD, "cgroup")
		if err != nil {
			return fmt.Errorf("SysProcAttr.CgroupFD: %w", err)
		}
		c.Namespaces.Cgroup = f
	}
	c.pidfdOut = a.PidFD
	return nil
}

// childFile returns the *os.File that becomes child descriptor fd.
func (c *Cmd) childFile(fd int) (*os.File, error) {
	var v any
	switch {
	case fd == 0:
		v = c.Stdin
	case fd == 1:
		v = c.Stdout
	case fd == 2:
		v = c.Stderr
	case fd >= 3 && fd-3 < len(c.ExtraFiles):
		v = c.ExtraFiles[fd-3]
	default:
		return nil, fmt.Errorf("child descriptor %d is not among the streams and ExtraFiles", fd)
	}
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return nil, fmt.Errorf("child descriptor %d is not an *os.File", fd)
	}
	return f, nil
}

// ownDup duplicates the caller's descriptor fd into a file the Cmd owns
// and closes once started.
func (c *Cmd) ownDup(fd int, name string) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("descriptor %d: %w", fd, err)
	}
	f := os.NewFile(uintptr(nfd), name)
	c.owned = append(c.owned, f)
	return f, nil
}

// setPidfdOut gives the caller of FromExec a descriptor of the child's
// pidfd, as SysProcAttr.PidFD does.
func (c *Cmd) setPidfdOut() error {
	if c.pidfdOut == nil {
		return nil
	}
	*c.pidfdOut = -1
	f, err := c.Process.handle()
	if err != nil {
		return err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var derr error
	rc.Control(func(fd uintptr) {
		*c.pidfdOut, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	return derr
}
