package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gospawn/spawn"
)

var runCommand = &command{
	name:    "run",
	usage:   programUsage,
	missing: "no program given",
	summary: "run a program and exit with its exit status",
	about: "Run <program> with <argument>s and exit with its exit status. Standard\n" +
		"input, output and error are passed to it as they are, and so are the\n" +
		"other descriptors spawn inherited from its caller, as env(1) does\n" +
		"(3<file in a shell, a make jobserver, systemd's LISTEN_FDS): give\n" +
		"--close-fds to pass only 0, 1, 2 and those of --open and --dup.\n" +
		"\n" +
		"SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 and SIGALRM sent to spawn are forwarded\n" +
		"to the program. SIGINT and SIGQUIT are not: a terminal sends them to the\n" +
		"whole foreground process group, so the program already got them.\n" +
		"Of the signals spawn was started with ignored, only SIGHUP and SIGINT\n" +
		"stay ignored in the program (the Go runtime handles the others): use\n" +
		"--sigignore for more.",
	options: commonOptions,
	exit: " 125      if spawn itself fails (bad usage, or a step before execve\n" +
		"          such as chdir failed)\n" +
		" 126      if <program> is found but cannot be executed\n" +
		" 127      if <program> cannot be found\n" +
		" 128+N    if <program> is killed by signal N\n" +
		" -        the exit status of <program> otherwise\n",
	run: run,
}

var explainCommand = &command{
	name:    "explain",
	usage:   programUsage,
	missing: "no program given",
	summary: "print the system calls the child would make; run nothing",
	about: "Print the plan of the child that 'spawn run' would start with the same\n" +
		"options: how it is cloned, then each system call it makes up to execve.\n" +
		"Nothing is run.",
	options: commonOptions,
	exit: " 0        if the plan is printed\n" +
		" 125      if spawn fails (bad usage, invalid input)\n" +
		" 126      if <program> is found but cannot be executed\n" +
		" 127      if <program> cannot be found\n",
	run: explain,
}

const programUsage = "[--] <program> [<argument>...]"

// forwarded are the signals run passes on to the program; caught are the
// ones it only survives (the program got them from the terminal).
var (
	forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM}
	caught    = []os.Signal{syscall.SIGINT, syscall.SIGQUIT}
)

func run(cfg *config, argv []string) int {
	cmd, err := buildCmd(cfg, argv)
	if err != nil {
		return usageError("run", err.Error())
	}

	// A signal that spawn was started with ignored (nohup, or SIGINT for
	// a background job) stays ignored, so the program inherits that.
	sigc := make(chan os.Signal, 16)
	for _, s := range append(forwarded, caught...) {
		if !signal.Ignored(s) {
			signal.Notify(sigc, s)
		}
	}
	if err := cmd.Start(); err != nil {
		signal.Stop(sigc)
		return startFailed(err)
	}
	// Signals that arrived before Start are in sigc: they are forwarded
	// now.
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigc:
				if isForwarded(s) {
					cmd.Process.Signal(s) // os.ErrProcessDone: too late, ignore
				}
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigc)
	close(done)

	var ee *spawn.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.Signaled():
		return exitSignalsBase + int(ee.Signal())
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	printError(err)
	return exitFailure
}

func isForwarded(s os.Signal) bool {
	for _, f := range forwarded {
		if s == f {
			return true
		}
	}
	return false
}

func explain(cfg *config, argv []string) int {
	cmd, err := buildCmd(cfg, argv)
	if err != nil {
		return usageError("explain", err.Error())
	}
	plan, err := cmd.Explain()
	if err != nil {
		return startFailed(err)
	}
	fmt.Print(plan.String())
	return 0
}

// startFailed reports an error of Start or Explain and returns the exit
// status for it.
func startFailed(err error) int {
	var se *spawn.Error
	if !errors.As(err, &se) {
		printError(err)
		return exitFailure
	}
	// Hints that name fields of the Cmd, or that an option answers.
	switch {
	case se.Step == "seccomp" && errors.Is(err, syscall.EACCES):
		se.Hint = "add --no-new-privs: without it, the filter needs CAP_SYS_ADMIN"
	case se.Step == "execve" && errors.Is(err, syscall.ENOEXEC):
		se.Hint = strings.TrimPrefix(se.Hint+"; --script-fallback runs such a file with /bin/sh", "; ")
	}
	printError(err)
	switch se.Step {
	case "search PATH":
		switch {
		case errors.Is(err, spawn.ErrNotFound), errors.Is(err, fs.ErrNotExist):
			return exitNotFound
		case errors.Is(err, spawn.ErrDot):
			// Found, through a relative PATH entry: refused, as
			// os/exec does.
			return exitCannotExec
		}
	case "execve":
		if errors.Is(err, fs.ErrNotExist) {
			return exitNotFound
		}
		return exitCannotExec
	}
	return exitFailure
}

// printError prints err to stderr. Errors of the library say "spawn ..."
// already.
func printError(err error) {
	msg := err.Error()
	if !strings.HasPrefix(msg, "spawn") {
		msg = "spawn: " + msg
	}
	fmt.Fprintln(os.Stderr, msg)
}
