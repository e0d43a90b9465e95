package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gospawn/spawn/internal/bench"
)

var benchCommand = &command{
	name:    "bench",
	usage:   "[<scenario>...]",
	missing: "", // every scenario by default
	summary: "measure how fast spawn starts processes, against os/exec and C",
	about: "Measure how fast spawn starts programs, against os/exec,\n" +
		"syscall.ForkExec, glibc's posix_spawn and a C vfork+execve loop (the\n" +
		"floor), starting a static no-op program and /bin/true. Each scenario\n" +
		"alternates the implementations and compares their medians: on a busy\n" +
		"machine only the ratios measured in the same run mean anything.\n" +
		"\n" +
		"Scenarios (all of them unless some are named):\n" +
		" latency      serial Start+Wait time\n" +
		" pipelined    spawn.StartAll in batches, then Wait; target: 1.3 times the\n" +
		"              rate of the C vfork loop\n" +
		" parallel     Start+Wait from 1, 2, 4 and 8 goroutines\n" +
		" threads      OS threads while 1,000 and 10,000 children are waited on\n" +
		"              (os/exec may crash at Go's 10,000-thread limit)\n" +
		" allocs       allocations per Start+Wait\n" +
		" parent-size  Start+Wait from a 4 GiB parent ÷ from a 10 MiB one; target:\n" +
		"              at most 1.1 (C fork+exec for contrast)\n" +
		" scheduler    lateness of a 1 ms ticker with GOMAXPROCS=1 while spawning;\n" +
		"              target: spawn's 99th percentile under 1 ms\n" +
		"\n" +
		"The C programs are compiled with $CC (default cc), which must link\n" +
		"statically (gcc and libc6-dev). A full run takes a few minutes.",
	options: []optionGroup{benchOptions, helpOptions},
	exit: " 0        if every scenario ran, whether or not it met its target\n" +
		" 1        if a scenario failed\n" +
		" 125      if the usage is wrong or the programs cannot be built\n",
	run: benchRun,
}

// benchFlags are what bench's options set: config has no room for them.
// benchRun takes them, so that each parse starts afresh.
var benchFlags benchSettings

type benchSettings struct {
	quick, json bool
	svg         string
	size        *bench.Size // if set, overrides quick (tests use bench.Tiny)
}

var benchOptions = optionGroup{"Options:", []*option{
	{
		names: []string{"-q", "--quick"},
		help: "a run of under a minute: fewer rounds, 3,000\n" +
			"children instead of 10,000, a 1 GiB parent\n" +
			"instead of 4 GiB",
		setConfig: func(*config, string) error {
			benchFlags.quick = true
			return nil
		},
	},
	{
		names: []string{"--json"},
		help:  "print the results as JSON instead of tables",
		setConfig: func(*config, string) error {
			benchFlags.json = true
			return nil
		},
	},
	{
		names: []string{"--svg"}, arg: "<file>",
		help: "also draw the main ratios as an SVG bar\nchart in <file>",
		setConfig: func(_ *config, file string) error {
			if file == "" {
				return fmt.Errorf("--svg: empty file name")
			}
			benchFlags.svg = file
			return nil
		},
	},
}}

// Benchmark subprocesses are this program run again with
// SPAWN_BENCH_CHILD set: they must be caught before anything else runs,
// in the spawn binary and in its test binary alike.
func init() {
	bench.RunChildIfRequested()
}

func benchRun(_ *config, argv []string) int {
	opts := benchFlags
	benchFlags = benchSettings{}
	return runBench(opts, argv, os.Stdout, os.Stderr)
}

// runBench runs the scenarios named in argv (all if none) and prints the
// report to stdout, and progress to stderr.
func runBench(opts benchSettings, argv []string, stdout, stderr io.Writer) int {
	for _, name := range argv {
		if !isScenario(name) {
			return usageError("bench", fmt.Sprintf("unknown scenario '%s'", name))
		}
	}
	size := bench.Full
	if opts.quick {
		size = bench.Quick
	}
	if opts.size != nil {
		size = *opts.size
	}

	env, err := bench.NewEnv()
	if err != nil {
		fmt.Fprintf(stderr, "spawn: bench: %v\n", err)
		return exitFailure
	}
	defer env.Close()
	// Ctrl-C: remove the compiled programs before dying. The subprocesses
	// die with us (parent-death signal).
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc)
	go func() {
		if s, ok := <-sigc; ok {
			env.Close()
			os.Exit(exitSignalsBase + int(s.(syscall.Signal)))
		}
	}()

	p := newProgress(stderr)
	rep, err := bench.Run(env, bench.Config{Size: size, Only: argv, Progress: p.show})
	p.done()
	if err != nil {
		return usageError("bench", err.Error())
	}

	if opts.json {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "spawn: bench: %v\n", err)
			return exitFailure
		}
		stdout.Write(append(b, '\n'))
	} else {
		bench.WriteText(stdout, rep)
	}
	if opts.svg != "" {
		if err := writeSVGFile(opts.svg, rep); err != nil {
			fmt.Fprintf(stderr, "spawn: bench: %v\n", err)
			return exitFailure
		}
	}
	if failed := rep.Failed(); len(failed) > 0 {
		for _, s := range failed {
			fmt.Fprintf(stderr, "spawn: bench: %s %s failed: %s\n", s.ID, s.Name, s.Error)
		}
		return 1
	}
	return 0
}

func isScenario(name string) bool {
	for _, si := range bench.Scenarios {
		if strings.EqualFold(name, si.Name) || strings.EqualFold(name, si.ID) {
			return true
		}
	}
	return false
}

func writeSVGFile(path string, rep *bench.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := bench.WriteSVG(f, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// progress shows what is being measured on stderr: on a terminal, one line
// rewritten in place; otherwise a line per scenario.
type progress struct {
	w        io.Writer
	terminal bool
	last     string // the "[3/7]" of the last line written, off a terminal
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) show(msg string) {
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s...", msg)
		return
	}
	step, _, _ := strings.Cut(msg, " ")
	if step != p.last {
		p.last = step
		fmt.Fprintf(p.w, "%s...\n", msg)
	}
}

func (p *progress) done() {
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
