package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/gospawn/spawn"
)

var sigstateCommand = &command{
	name:    "sigstate",
	usage:   "<pid>",
	missing: "no process given",
	summary: "show the signals a process blocks, ignores, catches and has pending",
	about: "Show what /proc/<pid>/status says about the signals of process <pid>\n" +
		"(\"self\" is spawn itself): which ones it blocks, ignores, catches with a\n" +
		"handler, and has pending; each thread's mask and pending signals when\n" +
		"the threads differ; and, when Ctrl-C would not stop the process, why.",
	options: []optionGroup{helpOptions},
	exit: " 0        if the state is printed\n" +
		" 1        if the process does not exist or cannot be read\n" +
		" 125      if the usage is wrong\n",
	run: sigstate,
}

// procSignals are the signal fields of /proc/PID/status (or of one
// thread's /proc/PID/task/TID/status).
type procSignals struct {
	name    string
	threads int
	pnd     spawn.SignalSet // SigPnd: pending for the thread
	shdPnd  spawn.SignalSet // ShdPnd: pending for the process
	blk     spawn.SignalSet // SigBlk
	ign     spawn.SignalSet // SigIgn
	cgt     spawn.SignalSet // SigCgt
}

func readProcSignals(path string) (*procSignals, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ps := &procSignals{}
	sets := map[string]*spawn.SignalSet{
		"SigPnd": &ps.pnd, "ShdPnd": &ps.shdPnd, "SigBlk": &ps.blk, "SigIgn": &ps.ign, "SigCgt": &ps.cgt,
	}
	for line := range strings.Lines(string(data)) {
		key, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "Name":
			ps.name = value
		case "Threads":
			ps.threads, _ = strconv.Atoi(value)
		default:
			set, ok := sets[key]
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(value, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %q is not a signal mask", path, key, value)
			}
			*set = spawn.SignalSet(n)
			delete(sets, key)
		}
	}
	if len(sets) > 0 {
		return nil, fmt.Errorf("%s: no signal masks", path)
	}
	return ps, nil
}

// procStat are the fields of /proc/PID/stat that say whether Ctrl-C can
// reach the process.
type procStat struct {
	pgrp, session, ttyNr, tpgid int
}

func readProcStat(pid string) (*procStat, error) {
	data, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return nil, err
	}
	// pid (comm) state ppid pgrp session tty_nr tpgid ...; comm may
	// hold spaces and parentheses.
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	if i < 0 || len(f) < 6 {
		return nil, errors.New("unexpected /proc stat format")
	}
	var st procStat
	for j, p := range []*int{&st.pgrp, &st.session, &st.ttyNr, &st.tpgid} {
		if *p, err = strconv.Atoi(f[2+j]); err != nil {
			return nil, errors.New("unexpected /proc stat format")
		}
	}
	return &st, nil
}

type threadSignals struct {
	tid      string
	blk, pnd spawn.SignalSet
}

func sigstate(_ *config, argv []string) int {
	if len(argv) > 1 {
		return usageError("sigstate", fmt.Sprintf("unexpected argument '%s'", argv[1]))
	}
	pid := argv[0]
	if n, err := strconv.Atoi(pid); pid != "self" && (err != nil || n <= 0) {
		return usageError("sigstate", fmt.Sprintf("invalid process id '%s'", pid))
	}
	ps, err := readProcSignals(filepath.Join("/proc", pid, "status"))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		fmt.Fprintf(os.Stderr, "spawn: sigstate: no process %s\n", pid)
		return 1
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "spawn: sigstate: %v\n", err)
		return 1
	}
	if pid == "self" {
		pid = strconv.Itoa(os.Getpid())
	}
	var threads []threadSignals
	if tids, err := os.ReadDir(filepath.Join("/proc", pid, "task")); err == nil {
		for _, t := range tids {
			ts, err := readProcSignals(filepath.Join("/proc", pid, "task", t.Name(), "status"))
			if err != nil {
				continue // exited meanwhile
			}
			threads = append(threads, threadSignals{t.Name(), ts.blk, ts.pnd})
		}
	}
	slices.SortFunc(threads, func(a, b threadSignals) int {
		x, _ := strconv.Atoi(a.tid)
		y, _ := strconv.Atoi(b.tid)
		return x - y
	})
	st, _ := readProcStat(pid) // nil if the process is gone already
	printSigstate(os.Stdout, pid, ps, threads, st)
	return 0
}

func printSigstate(w io.Writer, pid string, ps *procSignals, threads []threadSignals, st *procStat) {
	plural := "s"
	if ps.threads == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "process %s (%s), %d thread%s\n\n", pid, ps.name, ps.threads, plural)
	rows := []struct {
		field, meaning string
		set            spawn.SignalSet
	}{
		{"SigBlk", "blocked", ps.blk},
		{"SigIgn", "ignored", ps.ign},
		{"SigCgt", "caught (a handler runs)", ps.cgt},
		{"SigPnd", "pending for the thread", ps.pnd},
		{"ShdPnd", "pending for the process", ps.shdPnd},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-7s %-24s %s\n", r.field, r.meaning, setText(r.set))
	}
	differ := slices.ContainsFunc(threads, func(t threadSignals) bool {
		return t.blk != threads[0].blk || t.pnd != threads[0].pnd
	})
	if differ {
		fmt.Fprint(w, "\nThe threads differ:\n")
		tidWidth, pndWidth := len("TID"), len("SigPnd")
		for _, t := range threads {
			tidWidth = max(tidWidth, len(t.tid))
			pndWidth = max(pndWidth, len(setText(t.pnd)))
		}
		fmt.Fprintf(w, "%-*s  %-*s  %s\n", tidWidth, "TID", pndWidth, "SigPnd", "SigBlk")
		for _, t := range threads {
			fmt.Fprintf(w, "%-*s  %-*s  %s\n", tidWidth, t.tid, pndWidth, setText(t.pnd), setText(t.blk))
		}
	}
	fmt.Fprintf(w, "\n%s\n", diagnoseSIGINT(ps, threads, st))
}

// setText prints a set of more than half the signals by what it lacks:
// "all but KILL,STOP".
func setText(s spawn.SignalSet) string {
	if s != spawn.AllSignals && bits.OnesCount64(uint64(s)) > 32 {
		return "all but " + (^s).String()
	}
	return s.String()
}

// diagnoseSIGINT says in one line whether Ctrl-C stops the process, and
// if not, why.
func diagnoseSIGINT(ps *procSignals, threads []threadSignals, st *procStat) string {
	blocked := ps.blk.Has(syscall.SIGINT)
	if len(threads) > 0 {
		blocked = !slices.ContainsFunc(threads, func(t threadSignals) bool { return !t.blk.Has(syscall.SIGINT) })
	}
	pending := ps.pnd.Has(syscall.SIGINT) || ps.shdPnd.Has(syscall.SIGINT)
	switch {
	case ps.ign.Has(syscall.SIGINT):
		return "SIGINT is ignored: Ctrl-C will not stop this process; its parent probably ignored it (nohup, a background job of a non-interactive shell)"
	case blocked && pending:
		return "SIGINT is blocked, and one is pending: Ctrl-C takes effect only when the process unblocks it; it probably inherited the mask from its parent"
	case blocked:
		return "SIGINT is blocked: Ctrl-C stays pending until the process unblocks it; it probably inherited the mask from its parent"
	case ps.cgt.Has(syscall.SIGINT):
		return "SIGINT is caught: the program handles Ctrl-C itself and decides whether to stop"
	case st == nil:
		return "SIGINT has its default action: it ends the process"
	case st.ttyNr == 0:
		return "SIGINT has its default action, but the process has no controlling terminal: Ctrl-C cannot reach it (kill -INT can)"
	case st.tpgid != st.pgrp:
		return fmt.Sprintf("SIGINT has its default action, but the process (group %d) is not in its terminal's foreground group (%d): Ctrl-C goes to that group", st.pgrp, st.tpgid)
	}
	return "SIGINT has its default action: Ctrl-C in its terminal ends the process"
}
