// Package spawn starts Linux processes with no Go code and no libc code in
// the child between clone and execve.
//
// It is shaped like os/exec: replace exec.Command with spawn.Command and the
// rest of the code keeps its meaning (Cmd, Run, Output, pipes, Context,
// WaitDelay, ExitError).
//
// # Why
//
// To start a process quickly, a runtime clones a child that shares its
// memory (CLONE_VM, as vfork does). Whatever that child runs before execve
// runs on the parent's memory: a libc function that a sanitizer or an
// LD_PRELOAD library intercepts, an allocator, a logger, or the parent's
// own signal handler if a signal lands at the wrong moment. Any of them can
// corrupt the parent.
//
// spawn compiles everything the child must do (dup3 a pipe onto stdout,
// chdir, set the signal mask...) into a short list of raw system calls. The
// child runs a tiny interpreter written in assembly over that list and then
// calls execve; it calls no function, touches no memory but its own stack
// and the list, and runs with every signal blocked until its last step.
// `spawn explain` (and Cmd.Explain) prints that list.
//
// # What the child gets
//
// Unless asked otherwise, the child gets:
//
//   - Args, Env and Dir as with os/exec (Env nil: the parent's environment,
//     with PWD set to Dir; duplicate keys: the last wins);
//   - descriptors 0, 1 and 2 from Stdin, Stdout and Stderr (/dev/null when
//     nil) and 3+i from ExtraFiles[i], and no other descriptor, even one the
//     parent opened or inherited without O_CLOEXEC (Linux 5.11 or later);
//   - every signal the parent handles reset to its default action, every
//     signal the parent ignores still ignored (POSIX exec semantics, which
//     nohup-style wrappers rely on), and an empty signal mask whatever the
//     mask of the thread that called Start.
//
// # Errors
//
// A start that fails returns an *Error naming the step, such as
//
//	spawn /usr/bin/git: chdir "/nope": no such file or directory
//
// and leaves nothing behind: no process, no descriptor, no pipe.
//
// # Waiting
//
// Process holds the child's pidfd. Wait sleeps in the Go netpoller until the
// pidfd turns readable, so thousands of waiting children cost no extra OS
// threads; Signal and Kill use pidfd_send_signal, so they never reach a
// process that reused the pid.
//
// Starting processes is implemented for linux/amd64. Elsewhere the package
// compiles and Start returns an error saying so.
package spawn
