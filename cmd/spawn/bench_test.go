//go:build linux && amd64

package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gospawn/spawn/internal/bench"
)

// parseBench parses a bench command line as spawnMain would.
func parseBench(t *testing.T, args ...string) (benchSettings, []string) {
	t.Helper()
	benchFlags = benchSettings{}
	cfg, argv, err := parseOptions(benchCommand.options, args)
	if err != nil {
		t.Fatalf("bench %q: %v", args, err)
	}
	if cfg.help {
		t.Fatalf("bench %q: help", args)
	}
	opts := benchFlags
	benchFlags = benchSettings{}
	return opts, argv
}

// TestBenchJSON runs every scenario, at the tiny size that only tests use,
// through the same code as `spawn bench --quick --json --svg FILE`, and
// checks that the report has every scenario with sane numbers.
func TestBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every benchmark scenario (about 10 s, thousands of processes); skipped with -short")
	}
	svg := filepath.Join(t.TempDir(), "bench.svg")
	opts, argv := parseBench(t, "--quick", "--json", "--svg", svg)
	if !opts.quick || !opts.json || opts.svg != svg || len(argv) != 0 {
		t.Fatalf("parsed %+v, %q", opts, argv)
	}
	tiny := bench.Tiny
	opts.size = &tiny
	var stdout, stderr bytes.Buffer
	if code := runBench(opts, argv, &stdout, &stderr); code != 0 {
		t.Fatalf("bench: exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr.String(), stdout.String())
	}
	var rep bench.Report
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("bench --json: %v", err)
	}
	if rep.Size != "tiny" || rep.Machine.CPUs < 1 || rep.Seconds <= 0 {
		t.Errorf("report header: size %q, machine %+v, %g s", rep.Size, rep.Machine, rep.Seconds)
	}
	if len(rep.Scenarios) != len(bench.Scenarios) {
		t.Errorf("%d scenarios, want %d", len(rep.Scenarios), len(bench.Scenarios))
	}
	for _, si := range bench.Scenarios {
		s := rep.Scenario(si.Name)
		if s == nil {
			t.Errorf("no scenario %s %s", si.ID, si.Name)
			continue
		}
		if s.Error != "" {
			t.Errorf("%s failed: %s", s.ID, s.Error)
		}
		if len(s.Results) == 0 || len(s.Ratios) == 0 || s.Method == "" {
			t.Errorf("%s: %d results, %d ratios, method %q", s.ID, len(s.Results), len(s.Ratios), s.Method)
		}
		for _, r := range s.Results {
			if r.Error != "" {
				t.Errorf("%s %s %s: %s", s.ID, r.Row, r.Impl, r.Error)
				continue
			}
			if !sane(r.Value, r.Unit) && r.Impl != bench.ImplNone {
				t.Errorf("%s %s %s: %g %s is not sane", s.ID, r.Row, r.Impl, r.Value, r.Unit)
			}
		}
		for _, r := range s.Ratios {
			if r.Error != "" || !(r.Value > 0) || math.IsInf(r.Value, 0) {
				t.Errorf("%s ratio %q: %g (%s)", s.ID, r.Name, r.Value, r.Error)
			}
		}
	}

	// Properties that hold even at the tiny size.
	if s := rep.Scenario("threads"); s != nil {
		if r := s.Result("N=100", bench.ImplSpawn); r == nil || r.Value > 30 {
			t.Errorf("spawn: %+v threads with 100 children waited on; want a handful", r)
		}
		if r := s.Result("N=100", bench.ImplExec); r == nil || r.Value < 50 {
			t.Errorf("os/exec: %+v threads with 100 children waited on; want about 100", r)
		}
	}
	if s := rep.Scenario("scheduler"); s != nil {
		for _, impl := range []string{bench.ImplNone, bench.ImplSpawn, bench.ImplExec} {
			p50, p99, mx := s.Result("p50", impl), s.Result("p99", impl), s.Result("max", impl)
			if p50 == nil || p99 == nil || mx == nil || !(p50.Value <= p99.Value && p99.Value <= mx.Value) {
				t.Errorf("scheduler %s: p50 %+v, p99 %+v, max %+v", impl, p50, p99, mx)
			}
		}
		if r := s.Result("spawns/s", bench.ImplSpawn); r == nil || r.Value <= 0 {
			t.Errorf("scheduler: spawn started nothing: %+v", r)
		}
	}

	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("<svg ")) || !strings.Contains(string(b), "spawn speedup vs os/exec") {
		t.Errorf("SVG:\n%s", b)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := d.Token(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("SVG is not well-formed XML: %v", err)
			}
			break
		}
	}
}

// sane reports whether v is a plausible value in unit.
func sane(v float64, unit string) bool {
	switch unit {
	case "ns/op":
		return v >= 1e3 && v <= 1e9 // 1 µs to 1 s per start+wait
	case "ns":
		return v > 0 && v <= 10e9
	case "procs/s":
		return v >= 1 && v <= 1e6
	case "threads":
		return v >= 1 && v <= 100000
	case "allocs/op":
		return v >= 1 && v <= 10000
	case "B/op":
		return v >= 8 && v <= 1e7
	case "ticks":
		return v >= 1
	}
	return false
}

func TestBenchUsage(t *testing.T) {
	opts, argv := parseBench(t, "latency", "S7")
	if opts.quick || opts.json || opts.svg != "" || len(argv) != 2 {
		t.Errorf("parsed %+v, %q", opts, argv)
	}
	benchFlags = benchSettings{}
	for _, args := range [][]string{{"--svg"}, {"--svg="}, {"--bogus"}, {"--json=1"}} {
		if _, _, err := parseOptions(benchCommand.options, args); err == nil {
			t.Errorf("bench %q: no error", args)
		}
	}
	benchFlags = benchSettings{}

	// An unknown scenario is a usage error, found before anything is built.
	stderr := os.Stderr
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stderr = w
	code := runBench(benchSettings{}, []string{"nope"}, io.Discard, io.Discard)
	os.Stderr = stderr
	w.Close()
	msg, _ := io.ReadAll(r)
	if code != exitFailure || !strings.Contains(string(msg), "unknown scenario 'nope'") ||
		!strings.Contains(string(msg), "spawn bench --help") {
		t.Errorf("bench nope: exit %d, %q", code, msg)
	}
}

func TestBenchHelp(t *testing.T) {
	var b bytes.Buffer
	benchCommand.help(&b)
	for line := range strings.Lines(b.String()) {
		if n := utf8.RuneCountInString(strings.TrimSuffix(line, "\n")); n > 80 {
			t.Errorf("bench --help: line of %d columns: %q", n, line)
		}
	}
	for _, s := range []string{"Usage:\n spawn bench [options] [<scenario>...]", "--quick", "--json", "--svg <file>",
		"Exit status:", "pipelined", "parent-size", "scheduler"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("bench --help lacks %q:\n%s", s, b.String())
		}
	}
	for _, si := range bench.Scenarios {
		if !strings.Contains(b.String(), "\n "+si.Name+" ") {
			t.Errorf("bench --help does not list scenario %s", si.Name)
		}
	}
}
