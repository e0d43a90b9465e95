// Spawn runs a program the way the spawn library starts processes: the
// child makes only a short, fixed list of raw system calls between clone
// and execve, and `spawn explain` prints that list without running
// anything.
//
// Usage:
//
//	spawn run [options] [--] <program> [<argument>...]
//	spawn explain [options] [--] <program> [<argument>...]
//	spawn sigstate <pid>
//	spawn help [<command>]
//
// A <program> without a slash is looked up in PATH. Options end at "--" or
// at the first argument that is not an option, so in `spawn run ls -l` the
// -l is an argument of ls.
//
// Options (shared by run and explain; `spawn run --help` has them all,
// and docs/CLI.md says more):
//
//	-C, --dir <dir>          run the program in <dir>
//	-e, --env <name=value>   set an environment variable (repeatable)
//	-i, --clear-env          start from an empty environment
//	-a, --arg0 <name>        pass <name> as argv[0] instead of <program>
//	-h, --help               display help and exit
//
// and the child's attributes, in groups: descriptors (--open, --dup,
// --close, --close-fds), signals (--sigmask, --sigignore...), session
// (--setsid, --ctty...), credentials (--uid, --gid, --groups...), limits
// (--rlimit, --umask, --nice, --cpus, --sched, --ioprio), security
// (--no-new-privs, --seccomp-deny) and namespaces (--clone-ns, --setns,
// --cgroup...). Like env(1), `spawn run` passes on the descriptors it
// inherited from its caller unless given --close-fds.
//
// While the program runs, `spawn run` forwards SIGTERM, SIGHUP, SIGUSR1,
// SIGUSR2 and SIGALRM to it. It catches SIGINT and SIGQUIT without
// forwarding them: a terminal sends those to the whole foreground process
// group, so the program got them already.
//
// `spawn sigstate <pid>` shows the signals a process blocks, ignores,
// catches and has pending, and says why Ctrl-C would not stop it.
//
// Exit status of `spawn run`: the program's exit status, or 128+N if
// signal N killed it; 125 if spawn itself failed (bad usage, or a step
// before execve, such as chdir, failed); 126 if the program was found but
// could not be executed; 127 if it was not found. `spawn explain` exits 0,
// or 125, 126 or 127 as run would for a program it cannot plan.
// `spawn sigstate` exits 0, 1 if the process cannot be read, or 125.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses of spawn itself, as env(1) and timeout(1) use them.
const (
	exitFailure     = 125 // usage error, or failed before execve
	exitCannotExec  = 126 // program found but not executable
	exitNotFound    = 127 // program not found
	exitSignalsBase = 128 // + N: the program was killed by signal N
)

// A command is a subcommand of spawn.
type command struct {
	name    string
	usage   string // the arguments after the options, for --help
	missing string // the usage error when they are missing
	summary string // one line, for the overview
	about   string // a paragraph, for the command's --help
	options []optionGroup
	exit    string // the "Exit status:" section of --help
	run     func(cfg *config, argv []string) int
}

var commands = []*command{runCommand, explainCommand, sigstateCommand, benchCommand}

func main() {
	os.Exit(spawnMain(os.Args[1:]))
}

func spawnMain(args []string) int {
	if len(args) == 0 {
		overview(os.Stderr)
		return exitFailure
	}
	switch args[0] {
	case "help", "-h", "--help":
		if args[0] == "help" && len(args) > 1 {
			c := findCommand(args[1])
			if c == nil {
				return usageError("", fmt.Sprintf("unknown command '%s'", args[1]))
			}
			c.help(os.Stdout)
			return 0
		}
		overview(os.Stdout)
		return 0
	}
	c := findCommand(args[0])
	if c == nil {
		if strings.HasPrefix(args[0], "-") {
			return usageError("", fmt.Sprintf("unrecognized option '%s'", args[0]))
		}
		return usageError("", fmt.Sprintf("unknown command '%s'", args[0]))
	}
	cfg, argv, err := parseOptions(c.options, args[1:])
	switch {
	case err != nil:
		return usageError(c.name, err.Error())
	case cfg.help:
		c.help(os.Stdout)
		return 0
	case len(argv) == 0 && c.missing != "":
		return usageError(c.name, c.missing)
	}
	return c.run(cfg, argv)
}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// usageError reports a usage problem of command (or of spawn itself if
// command is "") and returns the exit status for it.
func usageError(command, problem string) int {
	try := "spawn --help"
	if command != "" {
		try = "spawn " + command + " --help"
	}
	fmt.Fprintf(os.Stderr, "spawn: %s\nTry '%s' for more information.\n", problem, try)
	return exitFailure
}

func overview(w io.Writer) {
	fmt.Fprint(w, "\nUsage:\n spawn <command> [options] [--] <program> [<argument>...]\n spawn sigstate <pid>\n\n")
	fmt.Fprint(w, "Start a program with a child that makes only a short list of raw system\ncalls between clone and execve.\n\n")
	fmt.Fprint(w, "Commands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, " %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, " %-9s %s\n", "help", "display help for a command")
	fmt.Fprint(w, "\nRun 'spawn <command> --help' or 'spawn help <command>' for its options.\n")
}

func (c *command) help(w io.Writer) {
	fmt.Fprintf(w, "\nUsage:\n spawn %s [options] %s\n\n", c.name, c.usage)
	fmt.Fprintf(w, "%s\n", c.about)
	writeOptionHelp(w, c.options)
	if c.exit != "" {
		fmt.Fprintf(w, "\nExit status:\n%s", c.exit)
	}
}
