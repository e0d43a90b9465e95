package main

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/gospawn/spawn"
)

// config collects what options set that cannot go into the *spawn.Cmd
// directly, because the Cmd does not exist yet or because the order on the
// command line must not matter (--env applies after --clear-env).
type config struct {
	help     bool
	clearEnv bool
	env      []string // --env entries, in order

	seccompDeny []uint32     // --seccomp-deny system calls
	files       []fileAction // --open, --dup and --close, in order

	// cmd are the setters of options that apply to the *spawn.Cmd, with
	// their values, in command-line order.
	cmd []func(*spawn.Cmd) error
}

// A fileAction is one of --open, --dup and --close.
type fileAction struct {
	action   spawn.FileAction
	option   string // "--dup 2:1", for messages
	fd, from int    // from is -1 but for --dup
}

// An option is one entry of the option table. Exactly one of setConfig,
// setCmd and parseCmd is set: setConfig runs while the command line is
// parsed, setCmd on the built *spawn.Cmd; parseCmd reads the value while
// the command line is parsed (so that a bad value is reported before
// anything else) and returns what to do to the *spawn.Cmd. Any of them can
// reject the value: the error is reported as a usage error, prefixed with
// the option's name unless it is a setConfig error.
type option struct {
	names []string // "-C", "--dir": a one-letter name takes one dash
	arg   string   // the argument's name for --help, "" for none
	help  string   // lines after the first are indented under it

	setConfig func(cfg *config, value string) error
	setCmd    func(cmd *spawn.Cmd, value string) error
	parseCmd  func(value string) (func(cmd *spawn.Cmd) error, error)
}

// name is the option's long name if it has one, for messages.
func (o *option) name() string {
	return o.names[len(o.names)-1]
}

// optionError is a problem with the value of an option.
func optionError(o *option, err error) error {
	return fmt.Errorf("%s: %w", o.name(), err)
}

// An optionGroup is a heading of --help and its options.
type optionGroup struct {
	heading string
	options []*option
}

// commonOptions are the options of run and explain: the process and its
// environment, then the attribute groups of the platform (attrGroups),
// then --help.
var commonOptions = slices.Concat([]optionGroup{processOptions, environmentOptions}, attrGroups, []optionGroup{helpOptions})

var processOptions = optionGroup{"Process:", []*option{
	{
		names: []string{"-C", "--dir"}, arg: "<dir>",
		help: "run the program in <dir>",
		setCmd: func(cmd *spawn.Cmd, dir string) error {
			cmd.Dir = dir
			return nil
		},
	},
	{
		names: []string{"-a", "--arg0"}, arg: "<name>",
		help: "pass <name> as argv[0] instead of <program>",
		setCmd: func(cmd *spawn.Cmd, name string) error {
			cmd.Args[0] = name
			return nil
		},
	},
	{
		names: []string{"--root"}, arg: "<dir>",
		help: "chroot to <dir>; --dir and <program> are\n" +
			"then inside it (a name is still looked up\n" +
			"in spawn's PATH)",
		setCmd: func(cmd *spawn.Cmd, dir string) error {
			if dir == "" {
				return errors.New("empty directory")
			}
			cmd.Chroot = dir
			return nil
		},
	},
	{
		names: []string{"--script-fallback"},
		help: "run a program without a #! line with\n" +
			"/bin/sh, as execvp(3) does",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.ScriptFallback = true
			return nil
		},
	},
	{
		names: []string{"--pdeathsig"}, arg: "<signal>",
		help: "send <signal> to the program if spawn dies",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			sig, err := parseSignal(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Pdeathsig = sig
				return nil
			}, nil
		},
	},
}}

var environmentOptions = optionGroup{"Environment:", []*option{
	{
		names: []string{"-e", "--env"}, arg: "<name=value>",
		help: "set an environment variable (repeatable;\napplied after --clear-env)",
		setConfig: func(cfg *config, kv string) error {
			name, _, ok := strings.Cut(kv, "=")
			switch {
			case !ok:
				return fmt.Errorf("invalid --env value '%s': expected <name>=<value>", kv)
			case name == "":
				return fmt.Errorf("invalid --env value '%s': empty name", kv)
			}
			cfg.env = append(cfg.env, kv)
			return nil
		},
	},
	{
		names: []string{"-i", "--clear-env"},
		help:  "start from an empty environment",
		setConfig: func(cfg *config, _ string) error {
			cfg.clearEnv = true
			return nil
		},
	},
}}

var helpOptions = optionGroup{"", []*option{
	{
		names: []string{"-h", "--help"},
		help:  "display this help and exit",
		setConfig: func(cfg *config, _ string) error {
			cfg.help = true
			return nil
		},
	},
}}

// parseSignal reads one signal: "TERM", "SIGTERM", "15", "RTMIN+3".
func parseSignal(v string) (syscall.Signal, error) {
	if strings.Contains(v, ",") {
		return 0, fmt.Errorf("%q: expected one signal", v)
	}
	set, err := spawn.ParseSignalSet(v)
	switch {
	case err != nil:
		return 0, err
	case bits.OnesCount64(uint64(set)) != 1:
		return 0, fmt.Errorf("%q: expected one signal", v)
	}
	return syscall.Signal(bits.TrailingZeros64(uint64(set)) + 1), nil
}

// parseOptions parses the options at the start of args and returns the
// rest: the program and its arguments. Options end at "--" or at the first
// argument that is not an option. Parsing stops at --help.
func parseOptions(groups []optionGroup, args []string) (*config, []string, error) {
	byName := make(map[string]*option)
	for _, g := range groups {
		for _, o := range g.options {
			for _, n := range o.names {
				byName[n] = o
			}
		}
	}
	cfg := &config{}
	apply := func(o *option, value string) error {
		switch {
		case o.setCmd != nil:
			cfg.cmd = append(cfg.cmd, func(cmd *spawn.Cmd) error {
				if err := o.setCmd(cmd, value); err != nil {
					return optionError(o, err)
				}
				return nil
			})
			return nil
		case o.parseCmd != nil:
			set, err := o.parseCmd(value)
			if err != nil {
				return optionError(o, err)
			}
			cfg.cmd = append(cfg.cmd, func(cmd *spawn.Cmd) error {
				if err := set(cmd); err != nil {
					return optionError(o, err)
				}
				return nil
			})
			return nil
		}
		return o.setConfig(cfg, value)
	}

	i := 0
	for i < len(args) && !cfg.help {
		a := args[i]
		i++
		switch {
		case a == "--":
			return cfg, args[i:], nil

		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a, "=")
			o := byName[name]
			switch {
			case o == nil:
				// As getopt_long, name the whole argument: '--=x',
				// '--bogus=1'.
				return nil, nil, fmt.Errorf("unrecognized option '%s'", a)
			case o.arg == "" && hasValue:
				return nil, nil, fmt.Errorf("option '%s' doesn't allow an argument", name)
			case o.arg != "" && !hasValue:
				if i == len(args) {
					return nil, nil, fmt.Errorf("option '%s' requires an argument", name)
				}
				value = args[i]
				i++
			}
			if err := apply(o, value); err != nil {
				return nil, nil, err
			}

		case len(a) > 1 && a[0] == '-':
			// A cluster of short options: -ie A=1, -C/tmp, -iCdir.
			for j := 1; j < len(a) && !cfg.help; j++ {
				o := byName["-"+a[j:j+1]]
				if o == nil {
					return nil, nil, fmt.Errorf("invalid option -- '%s'", a[j:j+1])
				}
				value := ""
				if o.arg != "" {
					switch {
					case j+1 < len(a):
						value = a[j+1:]
					case i < len(args):
						value = args[i]
						i++
					default:
						return nil, nil, fmt.Errorf("option requires an argument -- '%s'", a[j:j+1])
					}
					j = len(a)
				}
				if err := apply(o, value); err != nil {
					return nil, nil, err
				}
			}

		default:
			return cfg, args[i-1:], nil
		}
	}
	return cfg, args[i:], nil
}

// buildCmd makes the command for the program and arguments in argv and
// applies the options to it. An error is an option value that the Cmd
// rejected: a usage error.
func buildCmd(cfg *config, argv []string) (*spawn.Cmd, error) {
	cmd := spawn.Command(argv[0], argv[1:]...)
	// Like env(1), pass on the descriptors spawn inherited from its
	// caller; --close-fds turns it off.
	cmd.Security.InheritFDs = true
	for _, set := range cfg.cmd {
		if err := set(cmd); err != nil {
			return nil, err
		}
	}
	if err := finishCmd(cfg, cmd); err != nil {
		return nil, err
	}
	switch {
	case cfg.clearEnv:
		cmd.Env = append(make([]string, 0, len(cfg.env)), cfg.env...)
	case len(cfg.env) > 0:
		env := os.Environ()
		if cmd.Dir != "" {
			// With a non-nil Env the library no longer sets PWD to
			// Dir: do it here, before the entries that may override it.
			if pwd, err := filepath.Abs(cmd.Dir); err == nil {
				env = append(env, "PWD="+pwd)
			}
		}
		cmd.Env = append(env, cfg.env...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd, nil
}

// writeOptionHelp writes the option table, one group per heading.
func writeOptionHelp(w io.Writer, groups []optionGroup) {
	usage := func(o *option) string {
		var b strings.Builder
		if len(o.names[0]) != 2 {
			b.WriteString("    ") // no short name: align the long one
		}
		b.WriteString(strings.Join(o.names, ", "))
		if o.arg != "" {
			b.WriteString(" " + o.arg)
		}
		return b.String()
	}
	width := 0
	for _, g := range groups {
		for _, o := range g.options {
			width = max(width, len(usage(o)))
		}
	}
	width += 3
	for _, g := range groups {
		fmt.Fprintln(w)
		if g.heading != "" {
			fmt.Fprintln(w, g.heading)
		}
		for _, o := range g.options {
			lines := strings.Split(o.help, "\n")
			fmt.Fprintf(w, " %-*s%s\n", width, usage(o), lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(w, " %-*s  %s\n", width, "", l)
			}
		}
	}
}
