//go:build linux

package main

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn"
)

// attrGroups are the options that set the child's attributes, one group
// per heading of --help. Each applies itself to the *spawn.Cmd; finishCmd
// then checks the combinations.
var attrGroups = []optionGroup{
	descriptorOptions, signalOptions, sessionOptions, credentialOptions,
	limitOptions, securityOptions, namespaceOptions,
}

var descriptorOptions = optionGroup{"Descriptors:", []*option{
	{
		names: []string{"--close-fds"},
		help: "give the program only 0, 1, 2 and those of\n" +
			"--open and --dup",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.Security.InheritFDs = false
			return nil
		},
	},
	{
		names: []string{"--inherit-fds"},
		help:  "pass on inherited descriptors (the default)",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.Security.InheritFDs = true
			return nil
		},
	},
	{
		names: []string{"--open"}, arg: "<fd>:<path>[:<flags>]",
		help: "open <path> on <fd> in the program, after\n" +
			"--dir; <flags>: r read (default), w write,\n" +
			"a append, c create, t truncate; e.g.\n" +
			"3:out.log:wct (repeatable)",
		setConfig: func(cfg *config, v string) error {
			fd, path, flag, err := parseOpen(v)
			if err != nil {
				return fmt.Errorf("--open: %w", err)
			}
			cfg.files = append(cfg.files, fileAction{spawn.OpenFile(fd, path, flag, 0o666), "--open " + v, fd, -1})
			return nil
		},
	},
	{
		names: []string{"--dup"}, arg: "<fd>:<from>",
		help: "make <fd> a copy of <from>, like the shell's\n" +
			"<fd>>&<from> (repeatable)",
		setConfig: func(cfg *config, v string) error {
			a, b, ok := strings.Cut(v, ":")
			if !ok {
				return fmt.Errorf("--dup: %q: expected <fd>:<from>", v)
			}
			fd, err := parseFd(a)
			if err != nil {
				return fmt.Errorf("--dup: %w", err)
			}
			from, err := parseFd(b)
			if err != nil {
				return fmt.Errorf("--dup: %w", err)
			}
			cfg.files = append(cfg.files, fileAction{spawn.DupFile(fd, from), "--dup " + v, fd, from})
			return nil
		},
	},
	{
		names: []string{"--close"}, arg: "<fd>",
		help: "close <fd> (repeatable); --open, --dup and\n" +
			"--close apply in order",
		setConfig: func(cfg *config, v string) error {
			fd, err := parseFd(v)
			if err != nil {
				return fmt.Errorf("--close: %w", err)
			}
			cfg.files = append(cfg.files, fileAction{spawn.CloseFile(fd), "--close " + v, fd, -1})
			return nil
		},
	},
}}

var signalOptions = optionGroup{"Signals (<set>: INT,TERM,RTMIN+3 or none or all):", []*option{
	{
		names: []string{"--sigmask"}, arg: "<set>",
		help: "block <set> in the program (default none)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			set, err := parseSignalSet(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Signals.Mask, cmd.Signals.InheritMask = set, false
				return nil
			}, nil
		},
	},
	{
		names: []string{"--sigmask-inherit"},
		help: "give the program spawn's signal mask (the\n" +
			"last of it and --sigmask wins)",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.Signals.Mask, cmd.Signals.InheritMask = 0, true
			return nil
		},
	},
	{
		names: []string{"--sigdefault"}, arg: "<set>",
		help: "give <set> the default action even if spawn\n" +
			"was started with them ignored (repeatable)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			set, err := parseSignalSet(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Signals.Default |= set
				return nil
			}, nil
		},
	},
	{
		names: []string{"--sigignore"}, arg: "<set>",
		help: "make the program ignore <set> (repeatable)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			set, err := parseSignalSet(v)
			if err != nil {
				return nil, err
			}
			if set.Has(syscall.SIGKILL) || set.Has(syscall.SIGSTOP) {
				return nil, fmt.Errorf("%q: KILL and STOP cannot be ignored", v)
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Signals.Ignore |= set
				return nil
			}, nil
		},
	},
	{
		names: []string{"--sigreset-all"},
		help: "reset every signal to its default action,\n" +
			"ignored ones too (--sigignore still wins)",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.Signals.ResetAll = true
			return nil
		},
	},
}}

var sessionOptions = optionGroup{"Session:", []*option{
	{
		names: []string{"--setsid"},
		help: "run the program in a new session, without a\n" +
			"controlling terminal",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.Session.Setsid = true
			return nil
		},
	},
	{
		names: []string{"--setpgid"},
		help:  "run the program in a new process group",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.Session.Setpgid = true
			return nil
		},
	},
	{
		names: []string{"--pgid"}, arg: "<id>",
		help: "run the program in process group <id>\n" +
			"(implies --setpgid)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			id, err := strconv.Atoi(v)
			if err != nil || id < 0 {
				return nil, fmt.Errorf("invalid process group %q", v)
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Session.Setpgid, cmd.Session.Pgid = true, id
				return nil
			}, nil
		},
	},
	{
		names: []string{"--ctty"}, arg: "<path>",
		help: "make the terminal <path> the program's\n" +
			"controlling terminal (needs --setsid)",
		setCmd: func(cmd *spawn.Cmd, path string) error {
			f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
			if err != nil {
				return err
			}
			cmd.Session.Ctty = f
			return nil
		},
	},
	{
		names: []string{"--foreground"},
		help: "make the program's group the foreground\n" +
			"group of its terminal (--ctty, or stdin)",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.Session.Foreground = true
			return nil
		},
	},
	{
		names: []string{"--noctty"},
		help: "detach the program from its controlling\n" +
			"terminal (TIOCNOTTY on stdin)",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.Session.Noctty = true
			return nil
		},
	},
}}

var credentialOptions = optionGroup{"Credentials (each defaults to spawn's own: --uid alone keeps spawn's\ngid and supplementary groups; --groups '' drops the groups):", []*option{
	{
		names: []string{"--uid"}, arg: "<uid|name>",
		help: "run the program as user <uid>",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			uid, err := parseID(v, "user", func(name string) (string, error) {
				u, err := user.Lookup(name)
				if err != nil {
					return "", err
				}
				return u.Uid, nil
			})
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				credential(cmd).Uid = uid
				return nil
			}, nil
		},
	},
	{
		names: []string{"--gid"}, arg: "<gid|name>",
		help: "run the program with group <gid>",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			gid, err := parseGroup(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				credential(cmd).Gid = gid
				return nil
			}, nil
		},
	},
	{
		names: []string{"--groups"}, arg: "<list>",
		help: "set the supplementary groups: gids or names,\n" +
			"comma-separated",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			groups := []uint32{}
			if v != "" {
				for part := range strings.SplitSeq(v, ",") {
					gid, err := parseGroup(part)
					if err != nil {
						return nil, err
					}
					groups = append(groups, gid)
				}
			}
			return func(cmd *spawn.Cmd) error {
				c := credential(cmd)
				c.Groups, c.NoSetGroups = groups, false
				return nil
			}, nil
		},
	},
	{
		names: []string{"--keep-caps"},
		help: "keep the permitted capabilities across the\n" +
			"uid change (PR_SET_KEEPCAPS)",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			credential(cmd).KeepCaps = true
			return nil
		},
	},
	{
		names: []string{"--ambient-caps"}, arg: "<list>",
		help: "keep capabilities across exec although the\n" +
			"program does not run as root, e.g.\n" +
			"net_bind_service,CAP_NET_RAW (repeatable)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			caps, err := parseCaps(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				c := credential(cmd)
				c.AmbientCaps = append(c.AmbientCaps, caps...)
				return nil
			}, nil
		},
	},
}}

// credential returns the command's credential, made with spawn's own uid
// and gid and its supplementary groups left alone if there is none yet.
func credential(cmd *spawn.Cmd) *spawn.Credential {
	if cmd.Credential == nil {
		cmd.Credential = &spawn.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), NoSetGroups: true}
	}
	return cmd.Credential
}

var limitOptions = optionGroup{"Limits:", []*option{
	{
		names: []string{"--rlimit"}, arg: "<res>=<limit>",
		help: "set a resource limit, e.g. nofile=1024:4096;\n" +
			"<limit> is <soft>[:<hard>], numbers or\n" +
			"unlimited; without <hard>, the hard limit\n" +
			"stays as it is (repeatable)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			rl, err := parseRlimit(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Limits.Rlimits = append(cmd.Limits.Rlimits, rl)
				return nil
			}, nil
		},
	},
	{
		names: []string{"--umask"}, arg: "<mask>",
		help: "set the file mode creation mask (octal)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0o777 {
				return nil, fmt.Errorf("invalid mask %q (octal, 0 to 0777)", v)
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Limits.Umask = new(uint32(m))
				return nil
			}, nil
		},
	},
	{
		names: []string{"--nice"}, arg: "<n>",
		help: "set the nice value, -20 to 19",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			n, err := strconv.Atoi(v)
			if err != nil || n < -20 || n > 19 {
				return nil, fmt.Errorf("invalid nice value %q (-20 to 19)", v)
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Limits.Nice = new(n)
				return nil
			}, nil
		},
	},
	{
		names: []string{"--cpus"}, arg: "<list>",
		help: "run only on the CPUs <list>, e.g. 0-1,3",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			cpus, err := parseCPUs(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Limits.CPUs = cpus
				return nil
			}, nil
		},
	},
	{
		names: []string{"--sched"}, arg: "<policy>[:<prio>]",
		help: "set the scheduling policy: other, batch,\n" +
			"idle, fifo:<prio> or rr:<prio> (1 to 99)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			sc, err := parseSched(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Limits.Sched = sc
				return nil
			}, nil
		},
	},
	{
		names: []string{"--ioprio"}, arg: "<class>[:<level>]",
		help: "set the I/O priority: realtime[:<level>],\n" +
			"best-effort[:<level>] (level 0 to 7,\n" +
			"default 4) or idle",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			io, err := parseIOPrio(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Limits.IOPrio = io
				return nil
			}, nil
		},
	},
}}

var securityOptions = optionGroup{"Security:", []*option{
	{
		names: []string{"--no-new-privs"},
		help: "set no_new_privs: exec can no longer grant\n" +
			"privileges (setuid bits, file caps)",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			cmd.Security.NoNewPrivs = true
			return nil
		},
	},
	{
		names: []string{"--seccomp-deny"}, arg: "<syscalls>",
		help: "make these system calls fail with EPERM,\n" +
			"e.g. mkdir,mkdirat (names or numbers;\n" +
			"repeatable); needs --no-new-privs without\n" +
			"CAP_SYS_ADMIN; a call of another ABI (x32,\n" +
			"i386) kills the program",
		// finishCmd makes one filter for all of them.
		setConfig: func(cfg *config, v string) error {
			nrs, err := parseSyscalls(v)
			if err != nil {
				return fmt.Errorf("--seccomp-deny: %w", err)
			}
			cfg.seccompDeny = append(cfg.seccompDeny, nrs...)
			return nil
		},
	},
}}

var namespaceOptions = optionGroup{"Namespaces (<list>: user,mnt,pid,net,uts,ipc,cgroup,time):", []*option{
	{
		names: []string{"--clone-ns"}, arg: "<list>",
		help: "create the program in new namespaces\n" +
			"(repeatable)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			flags, err := parseNamespaces(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Namespaces.Clone |= flags
				return nil
			}, nil
		},
	},
	{
		names: []string{"--map-root"},
		help: "with --clone-ns user: map spawn's uid and\n" +
			"gid to root in the new user namespace",
		setCmd: func(cmd *spawn.Cmd, _ string) error {
			ns := &cmd.Namespaces
			ns.UidMappings = []spawn.IDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
			ns.GidMappings = []spawn.IDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
			ns.Setgroups = spawn.SetgroupsDeny
			return nil
		},
	},
	{
		names: []string{"--unshare"}, arg: "<list>",
		help: "make the program unshare namespaces (after\n" +
			"--setns; repeatable)",
		parseCmd: func(v string) (func(*spawn.Cmd) error, error) {
			flags, err := parseNamespaces(v)
			if err != nil {
				return nil, err
			}
			return func(cmd *spawn.Cmd) error {
				cmd.Namespaces.Unshare |= flags
				return nil
			}, nil
		},
	},
	{
		names: []string{"--setns"}, arg: "<path>",
		help: "enter the namespace <path>, e.g.\n" +
			"/proc/1234/ns/net (repeatable)",
		setCmd: func(cmd *spawn.Cmd, path string) error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			cmd.Namespaces.Join = append(cmd.Namespaces.Join, f)
			return nil
		},
	},
	{
		names: []string{"--cgroup"}, arg: "<dir>",
		help: "create the program in the cgroup v2 <dir>",
		setCmd: func(cmd *spawn.Cmd, dir string) error {
			if dir == "" {
				return errors.New("empty path")
			}
			cmd.Namespaces.CgroupPath = dir
			return nil
		},
	},
}}

// finishCmd checks the combinations of options once all of them have been
// applied, in the options' words rather than the library's, and makes
// what takes several options into account.
func finishCmd(cfg *config, cmd *spawn.Cmd) error {
	s, ns := cmd.Session, cmd.Namespaces
	switch {
	case s.Ctty != nil && !s.Setsid:
		return errors.New("--ctty needs --setsid: only a new session can get a controlling terminal")
	case s.Setsid && s.Setpgid:
		return errors.New("--setpgid and --pgid cannot be used with --setsid, which makes a new process group already")
	case s.Setsid && s.Foreground && s.Ctty == nil:
		return errors.New("--foreground with --setsid needs --ctty: a new session has no terminal")
	case len(ns.UidMappings) > 0 && ns.Clone&unix.CLONE_NEWUSER == 0:
		return errors.New("--map-root needs --clone-ns user")
	}
	if len(cfg.seccompDeny) > 0 {
		filter, err := denyFilter(cfg.seccompDeny)
		if err != nil {
			return fmt.Errorf("--seccomp-deny: %w", err)
		}
		cmd.Security.Seccomp = filter
	}
	if !cmd.Security.InheritFDs {
		// The library closes them with close_range(CLOSE_RANGE_CLOEXEC)
		// where the kernel has it (5.11); spawn's own copies marked
		// close-on-exec make --close-fds hold on older kernels too.
		fds, err := inheritedFDs(math.MaxInt)
		if err != nil {
			return err
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
		}
	}
	return setFiles(cfg, cmd)
}

// setFiles gives the command the descriptor changes of --open, --dup and
// --close, in order. With inherited descriptors passed on (the default),
// --dup may copy one of them and --close may close one.
func setFiles(cfg *config, cmd *spawn.Cmd) error {
	open := map[int]bool{0: true, 1: true, 2: true}
	if cmd.Security.InheritFDs && len(cfg.files) > 0 {
		fds, err := inheritedFDs(math.MaxInt)
		if err != nil {
			return err
		}
		for _, fd := range fds {
			open[fd] = true
		}
	}
	for _, a := range cfg.files {
		if a.from >= 0 && !open[a.from] {
			why := "spawn did not inherit it"
			if !cmd.Security.InheritFDs {
				why = "--close-fds"
			}
			return fmt.Errorf("%s: descriptor %d is not open in the program (%s)", a.option, a.from, why)
		}
		open[a.fd] = !strings.HasPrefix(a.option, "--close")
		cmd.Files = append(cmd.Files, a.action)
	}
	return nil
}

// inheritedFDs lists spawn's descriptors 3 to top-1 that have no
// close-on-exec flag: those it inherited from its caller. (Go opens
// every descriptor of its own with close-on-exec.)
func inheritedFDs(top int) ([]int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 || fd >= top {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			fds = append(fds, fd)
		}
	}
	return fds, nil
}

// parseSignalSet reads a <set>.
func parseSignalSet(v string) (spawn.SignalSet, error) {
	if strings.TrimSpace(v) == "" {
		return 0, errors.New(`empty signal set (give "none" for none)`)
	}
	return spawn.ParseSignalSet(v)
}

// parseFd reads a descriptor number.
func parseFd(v string) (int, error) {
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 || fd >= 1<<20 {
		return 0, fmt.Errorf("invalid descriptor %q", v)
	}
	return fd, nil
}

// parseOpen reads <fd>:<path>[:<flags>]. The flags are after the last
// colon if there are two: a path with a colon needs the flags.
func parseOpen(v string) (fd int, path string, flag int, err error) {
	fdText, rest, ok := strings.Cut(v, ":")
	if !ok {
		return 0, "", 0, fmt.Errorf("%q: expected <fd>:<path>[:<flags>]", v)
	}
	if fd, err = parseFd(fdText); err != nil {
		return 0, "", 0, err
	}
	path, flags := rest, "r"
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		path, flags = rest[:i], rest[i+1:]
	}
	if path == "" {
		return 0, "", 0, fmt.Errorf("%q: empty path", v)
	}
	var read, write bool
	for _, c := range flags {
		switch c {
		case 'r':
			read = true
		case 'w':
			write = true
		case 'a':
			write = true
			flag |= os.O_APPEND
		case 'c':
			flag |= os.O_CREATE
		case 't':
			flag |= os.O_TRUNC
		default:
			return 0, "", 0, fmt.Errorf("%q: unknown flag %q in %q (flags: r, w, a, c, t; a path with a colon needs them)", v, c, flags)
		}
	}
	switch {
	case flags == "":
		return 0, "", 0, fmt.Errorf("%q: empty flags (flags: r, w, a, c, t)", v)
	case flag&os.O_TRUNC != 0 && !write:
		return 0, "", 0, fmt.Errorf("%q: t (truncate) needs w", v)
	case read && write:
		flag |= os.O_RDWR
	case write:
		flag |= os.O_WRONLY
	}
	return fd, path, flag, nil
}

// parseID reads a user or group: a number, or a name that lookup turns
// into one.
func parseID(v, what string, lookup func(string) (string, error)) (uint32, error) {
	if v == "" {
		return 0, fmt.Errorf("empty %s", what)
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return uint32(n), nil
	}
	id, err := lookup(v)
	if err != nil {
		return 0, fmt.Errorf("unknown %s %q", what, v)
	}
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q has id %q", what, v, id)
	}
	return uint32(n), nil
}

func parseGroup(v string) (uint32, error) {
	return parseID(v, "group", func(name string) (string, error) {
		g, err := user.LookupGroup(name)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
}

// capabilities are the capability names, without CAP_, in lower case.
var capabilities = map[string]uintptr{
	"chown": unix.CAP_CHOWN, "dac_override": unix.CAP_DAC_OVERRIDE,
	"dac_read_search": unix.CAP_DAC_READ_SEARCH, "fowner": unix.CAP_FOWNER,
	"fsetid": unix.CAP_FSETID, "kill": unix.CAP_KILL, "setgid": unix.CAP_SETGID,
	"setuid": unix.CAP_SETUID, "setpcap": unix.CAP_SETPCAP,
	"linux_immutable": unix.CAP_LINUX_IMMUTABLE, "net_bind_service": unix.CAP_NET_BIND_SERVICE,
	"net_broadcast": unix.CAP_NET_BROADCAST, "net_admin": unix.CAP_NET_ADMIN,
	"net_raw": unix.CAP_NET_RAW, "ipc_lock": unix.CAP_IPC_LOCK, "ipc_owner": unix.CAP_IPC_OWNER,
	"sys_module": unix.CAP_SYS_MODULE, "sys_rawio": unix.CAP_SYS_RAWIO,
	"sys_chroot": unix.CAP_SYS_CHROOT, "sys_ptrace": unix.CAP_SYS_PTRACE,
	"sys_pacct": unix.CAP_SYS_PACCT, "sys_admin": unix.CAP_SYS_ADMIN, "sys_boot": unix.CAP_SYS_BOOT,
	"sys_nice": unix.CAP_SYS_NICE, "sys_resource": unix.CAP_SYS_RESOURCE,
	"sys_time": unix.CAP_SYS_TIME, "sys_tty_config": unix.CAP_SYS_TTY_CONFIG,
	"mknod": unix.CAP_MKNOD, "lease": unix.CAP_LEASE, "audit_write": unix.CAP_AUDIT_WRITE,
	"audit_control": unix.CAP_AUDIT_CONTROL, "setfcap": unix.CAP_SETFCAP,
	"mac_override": unix.CAP_MAC_OVERRIDE, "mac_admin": unix.CAP_MAC_ADMIN,
	"syslog": unix.CAP_SYSLOG, "wake_alarm": unix.CAP_WAKE_ALARM,
	"block_suspend": unix.CAP_BLOCK_SUSPEND, "audit_read": unix.CAP_AUDIT_READ,
	"perfmon": unix.CAP_PERFMON, "bpf": unix.CAP_BPF, "checkpoint_restore": unix.CAP_CHECKPOINT_RESTORE,
}

// parseCaps reads net_bind_service,CAP_NET_RAW,12.
func parseCaps(v string) ([]uintptr, error) {
	var caps []uintptr
	for part := range strings.SplitSeq(v, ",") {
		name := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(part)), "cap_")
		if c, ok := capabilities[name]; ok {
			caps = append(caps, c)
			continue
		}
		n, err := strconv.ParseUint(name, 10, 8)
		if err != nil {
			return nil, fmt.Errorf("unknown capability %q (names as in capabilities(7): net_bind_service or CAP_NET_BIND_SERVICE, or numbers)", part)
		}
		if n > unix.CAP_LAST_CAP {
			return nil, fmt.Errorf("capability %d is beyond the last one, %d", n, unix.CAP_LAST_CAP)
		}
		caps = append(caps, uintptr(n))
	}
	return caps, nil
}

var rlimits = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// parseRlimit reads <res>=<soft>[:<hard>]. Without <hard>, the hard limit
// is spawn's.
func parseRlimit(v string) (spawn.Rlimit, error) {
	name, limits, ok := strings.Cut(v, "=")
	if !ok {
		return spawn.Rlimit{}, fmt.Errorf("%q: expected <resource>=<soft>[:<hard>]", v)
	}
	res, ok := rlimits[strings.TrimPrefix(strings.ToLower(name), "rlimit_")]
	if !ok {
		return spawn.Rlimit{}, fmt.Errorf("unknown resource %q (try: %s)", name, strings.Join(slices.Sorted(maps.Keys(rlimits)), ", "))
	}
	name = strings.TrimPrefix(strings.ToLower(name), "rlimit_")
	limit := func(s string) (uint64, error) {
		if s == "unlimited" || s == "infinity" {
			return unix.RLIM_INFINITY, nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid %s limit %q (a number or unlimited)", name, s)
		}
		return n, nil
	}
	softText, hardText, hasHard := strings.Cut(limits, ":")
	soft, err := limit(softText)
	if err != nil {
		return spawn.Rlimit{}, err
	}
	var hard uint64
	if hasHard {
		if hard, err = limit(hardText); err != nil {
			return spawn.Rlimit{}, err
		}
	} else {
		var cur unix.Rlimit
		if err := unix.Getrlimit(res, &cur); err != nil {
			return spawn.Rlimit{}, fmt.Errorf("reading the %s hard limit: %w", name, err)
		}
		hard = cur.Max
	}
	if soft > hard {
		return spawn.Rlimit{}, fmt.Errorf("%s soft limit %s is above the hard limit %s", name, limitText(soft), limitText(hard))
	}
	return spawn.Rlimit{Resource: res, Cur: soft, Max: hard}, nil
}

func limitText(n uint64) string {
	if n == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(n, 10)
}

// parseCPUs reads 0-1,3.
func parseCPUs(v string) ([]int, error) {
	const maxCPU = 1023 // the library's CPU set
	if v == "" {
		return nil, errors.New("empty CPU list")
	}
	var cpus []int
	for part := range strings.SplitSeq(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err1 := strconv.Atoi(lo)
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || first < 0 || last < first || last > maxCPU {
			return nil, fmt.Errorf("invalid CPU list %q at %q (e.g. 0-1,3; CPUs 0 to %d)", v, part, maxCPU)
		}
		for c := first; c <= last; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

var schedPolicies = map[string]spawn.SchedPolicy{
	"other": unix.SCHED_NORMAL, "batch": unix.SCHED_BATCH, "idle": unix.SCHED_IDLE,
	"fifo": unix.SCHED_FIFO, "rr": unix.SCHED_RR,
}

// parseSched reads <policy>[:<prio>].
func parseSched(v string) (*spawn.Sched, error) {
	name, prioText, hasPrio := strings.Cut(v, ":")
	policy, ok := schedPolicies[name]
	if !ok {
		return nil, fmt.Errorf("unknown policy %q (try: other, batch, idle, fifo, rr)", name)
	}
	realtime := policy == unix.SCHED_FIFO || policy == unix.SCHED_RR
	prio := 0
	switch {
	case realtime && !hasPrio:
		return nil, fmt.Errorf("%q: %s needs a priority, e.g. %s:10", v, name, name)
	case realtime:
		n, err := strconv.Atoi(prioText)
		if err != nil || n < 1 || n > 99 {
			return nil, fmt.Errorf("invalid %s priority %q (1 to 99)", name, prioText)
		}
		prio = n
	case hasPrio && prioText != "0":
		return nil, fmt.Errorf("%q: %s takes no priority", v, name)
	}
	return &spawn.Sched{Policy: policy, Priority: prio}, nil
}

var ioClasses = map[string]spawn.IOPrioClass{
	"realtime": spawn.IOPrioRealtime, "best-effort": spawn.IOPrioBestEffort, "idle": spawn.IOPrioIdle,
}

// parseIOPrio reads <class>[:<level>].
func parseIOPrio(v string) (*spawn.IOPrio, error) {
	name, levelText, hasLevel := strings.Cut(v, ":")
	class, ok := ioClasses[name]
	if !ok {
		return nil, fmt.Errorf("unknown class %q (try: realtime, best-effort, idle)", name)
	}
	switch {
	case class == spawn.IOPrioIdle && hasLevel:
		return nil, fmt.Errorf("%q: idle takes no level", v)
	case class == spawn.IOPrioIdle:
		return &spawn.IOPrio{Class: class}, nil
	case !hasLevel:
		return &spawn.IOPrio{Class: class, Level: 4}, nil
	}
	level, err := strconv.Atoi(levelText)
	if err != nil || level < 0 || level > 7 {
		return nil, fmt.Errorf("invalid %s level %q (0 to 7)", name, levelText)
	}
	return &spawn.IOPrio{Class: class, Level: level}, nil
}

var namespaces = []struct {
	name string
	flag uintptr
}{
	{"user", unix.CLONE_NEWUSER}, {"mnt", unix.CLONE_NEWNS}, {"pid", unix.CLONE_NEWPID},
	{"net", unix.CLONE_NEWNET}, {"uts", unix.CLONE_NEWUTS}, {"ipc", unix.CLONE_NEWIPC},
	{"cgroup", unix.CLONE_NEWCGROUP}, {"time", unix.CLONE_NEWTIME},
}

// parseNamespaces reads user,net.
func parseNamespaces(v string) (uintptr, error) {
	var flags uintptr
next:
	for part := range strings.SplitSeq(v, ",") {
		for _, ns := range namespaces {
			if part == ns.name {
				flags |= ns.flag
				continue next
			}
		}
		return 0, fmt.Errorf("unknown namespace %q (try: user, mnt, pid, net, uts, ipc, cgroup, time)", part)
	}
	return flags, nil
}

// parseSyscalls reads mkdir,rmdir,83.
func parseSyscalls(v string) ([]uint32, error) {
	var nrs []uint32
	for part := range strings.SplitSeq(v, ",") {
		name := strings.ToLower(strings.TrimSpace(part))
		nr, ok := syscallNumbers[name]
		if !ok {
			n, err := strconv.ParseUint(name, 10, 32)
			if err != nil || n >= 1024 {
				if len(syscallNumbers) == 0 {
					return nil, fmt.Errorf("system call names are not known on %s: give numbers", runtimeArch)
				}
				return nil, fmt.Errorf("unknown system call %q (a name as in syscalls(2), or a number)", part)
			}
			nr = uint32(n)
		}
		if execCalls[nr] {
			return nil, fmt.Errorf("%s is how spawn starts the program: it cannot be denied", part)
		}
		nrs = append(nrs, nr)
	}
	return nrs, nil
}

// denyFilter is a seccomp filter that fails the system calls nrs with
// EPERM and allows the others. A system call of another ABI than the one
// the numbers are for kills the process: its numbers mean other calls.
func denyFilter(nrs []uint32) ([]unix.SockFilter, error) {
	if auditArch == 0 {
		return nil, fmt.Errorf("not supported on %s", runtimeArch)
	}
	slices.Sort(nrs)
	nrs = slices.Compact(nrs)
	if len(nrs) > 250 {
		return nil, fmt.Errorf("%d system calls: at most 250", len(nrs))
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
		// struct seccomp_data { int nr; __u32 arch; ... }
		offNr, offArch = 0, 4
	)
	f := []unix.SockFilter{
		{Code: ld, K: offArch},
		{Code: jeq, Jt: 1, K: auditArch},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
		{Code: ld, K: offNr},
	}
	if x32Bit != 0 {
		f = append(f,
			unix.SockFilter{Code: jge, Jf: 1, K: x32Bit},
			unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS})
	}
	// jeq nr, deny: the deny return is after the allow one.
	for i, nr := range nrs {
		f = append(f, unix.SockFilter{Code: jeq, Jt: uint8(len(nrs) - i), K: nr})
	}
	f = append(f,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)&unix.SECCOMP_RET_DATA})
	return f, nil
}

// execCalls are the system calls the child needs after the filter is in
// place: the exec itself (and the /bin/sh one of --script-fallback).
var execCalls = map[uint32]bool{unix.SYS_EXECVE: true}
