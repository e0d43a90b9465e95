package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	// The threads scenario runs this test binary again.
	RunChildIfRequested()
	os.Exit(m.Run())
}

func TestPercentile(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 50, 2},
		{[]float64{4, 1, 3, 2}, 50, 2.5},
		{[]float64{4, 1, 3, 2}, 0, 1},
		{[]float64{4, 1, 3, 2}, 100, 4},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 90, 10},
		{[]float64{7}, 99, 7},
	} {
		if got := Percentile(c.xs, c.p); got != c.want {
			t.Errorf("Percentile(%v, %g) = %g, want %g", c.xs, c.p, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
	xs := []float64{3, 1, 2}
	Median(xs)
	if xs[0] != 3 {
		t.Error("Median sorted its argument")
	}
	if got := Spread([]float64{90, 100, 110}); math.Abs(got-0.1) > 1e-9 {
		t.Errorf("Spread = %g, want 0.1", got)
	}
	if got := Spread([]float64{5}); got != 0 {
		t.Errorf("Spread of one sample = %g", got)
	}
}

func TestMeets(t *testing.T) {
	for _, c := range []struct {
		v      float64
		target string
		want   bool
	}{
		{1.3, "≥ 1.3", true}, {1.29, "≥ 1.3", false},
		{1.1, "≤ 1.1", true}, {1.2, "≤ 1.1", false},
		{0.99, "< 1", true}, {1, "< 1", false},
		{2, "> 1", true}, {1, "bogus", false},
	} {
		if got := meets(c.v, c.target); got != c.want {
			t.Errorf("meets(%g, %q) = %v", c.v, c.target, got)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{950, "ns/op", "950 ns"},
		{312_400, "ns/op", "312 µs"},
		{31_240, "ns", "31.2 µs"},
		{1_234_000, "ns/op", "1.23 ms"},
		{3120.4, "procs/s", "3120/s"},
		{1.234, "×", "1.23×"},
		{0.5801, "ms", "0.580 ms"},
		{1784, "B/op", "1784 B"},
		{7, "allocs/op", "7"},
		{1003, "threads", "1003"},
	} {
		if got := FormatValue(c.v, c.unit); got != c.want {
			t.Errorf("FormatValue(%g, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aaa bbb ccc  ddd", 7)
	if strings.Join(got, "|") != "aaa bbb|ccc ddd" {
		t.Errorf("wrap: %q", got)
	}
	if got := wrap("", 10); len(got) != 0 {
		t.Errorf("wrap of nothing: %q", got)
	}
}

func TestHeadTail(t *testing.T) {
	h := &headTail{max: 4}
	io.WriteString(h, "ab")
	io.WriteString(h, "cdefgh")
	if got := h.String(); got != "abcdefgh" {
		t.Errorf("headTail = %q", got)
	}
	io.WriteString(h, "ijklmn")
	if got := h.String(); got != "abcd\n...\nklmn" {
		t.Errorf("headTail = %q", got)
	}
	msg := "started 500\nstarted 1000\nruntime: program exceeds 10000-thread limit\nfatal error: thread exhaustion\n"
	if lineWith(msg, "thread limit") != "runtime: program exceeds 10000-thread limit" || lastLineWith(msg, "started ") != "started 1000" {
		t.Errorf("lineWith, lastLineWith: %q, %q", lineWith(msg, "thread limit"), lastLineWith(msg, "started "))
	}
}

// sampleReport is a report as Run makes it, with a failed result, a met
// and a missed target, and a value beyond the chart's scale.
func sampleReport() *Report {
	s1 := &Scenario{ID: "S1", Name: "latency", Title: "serial start+wait latency", Method: "Start then Wait."}
	s1.add("noop", ImplSpawn, "ns/op", []float64{250e3, 260e3, 240e3})
	s1.add("noop", ImplExec, "ns/op", []float64{300e3, 310e3, 290e3})
	s1.ratio("noop: spawn speedup vs os/exec", s1.value("noop", ImplExec), s1.value("noop", ImplSpawn), "higher", "", true)
	s1.ratio("noop: spawn-batch rate ÷ vfork-floor rate", 1.9, 1, "higher", "≥ 1.3", true)
	s1.ratio("a ratio far off the scale & more", 25, 1, "higher", "", true)
	s4 := &Scenario{ID: "S4", Name: "threads", Title: "OS threads", Method: "Threads."}
	s4.add("N=10000", ImplSpawn, "threads", []float64{6})
	s4.addError("N=10000", ImplExec, "threads", errors.New("crashed: thread limit (runtime: program exceeds 10000-thread limit)"))
	s4.ratio("N=10000: os/exec threads ÷ spawn threads", s4.value("N=10000", ImplExec), s4.value("N=10000", ImplSpawn), "higher", "", false)
	s4.check("spawn p99 ticker lateness", 1.2, "ms", "lower", "< 1", false)
	s4.Error = "something broke"
	return &Report{Size: "quick", Machine: Machine{Kernel: "6.1", CPUs: 2, GoVersion: "go1.26"},
		Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Seconds: 12, Scenarios: []*Scenario{s1, s4}}
}

func TestWriteText(t *testing.T) {
	rep := sampleReport()
	var b bytes.Buffer
	WriteText(&b, rep)
	out := b.String()
	for _, want := range []string{
		"S1 latency: serial start+wait latency",
		"250 µs ±4%", "300 µs ±3%",
		"noop: spawn speedup vs os/exec", "1.20×",
		"crashed: thread limit",
		"not measured",
		"FAILED: something broke",
		"Targets\n",
		"S1 noop: spawn-batch rate ÷ vfork-floor rate      1.90×  target ≥ 1.3 ✓",
		"S4 spawn p99 ticker lateness                   1.200 ms  target < 1 ✗",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if got := len(rep.Failed()); got != 1 {
		t.Errorf("Failed() has %d scenarios, want 1", got)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report does not marshal: %v", err)
	}
}

func TestWriteSVG(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSVG(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	for _, want := range []string{"<svg ", "noop: spawn speedup vs os/exec", "target ≥ 1.3", "&amp; more", "▸ 25.00×", "</svg>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(svg, "os/exec threads") {
		t.Error("SVG shows a ratio not marked for the chart")
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err != nil {
			if err != io.EOF {
				t.Fatalf("SVG is not well-formed: %v", err)
			}
			break
		}
	}
}

func TestRunUnknownScenario(t *testing.T) {
	if _, err := Run(&Env{}, Config{Only: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "latency") {
		t.Errorf("Run(nope): %v", err)
	}
}

// TestRunTiny runs two scenarios, one of them in subprocesses, at the
// tiny size.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hundreds of processes; skipped with -short")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("spawn starts processes on linux/amd64 only")
	}
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	var progress []string
	rep, err := Run(env, Config{Size: Tiny, Only: []string{"S1", "threads"}, Progress: func(s string) { progress = append(progress, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scenarios) != 2 || rep.Scenarios[0].Name != "latency" || rep.Scenarios[1].Name != "threads" {
		t.Fatalf("scenarios: %+v", rep.Scenarios)
	}
	for _, s := range rep.Scenarios {
		if s.Error != "" {
			t.Errorf("%s: %s", s.ID, s.Error)
		}
	}
	lat := rep.Scenario("latency")
	for _, impl := range []string{ImplSpawn, ImplExec, ImplForkExec, ImplPosixSpawn, ImplVfork} {
		for _, row := range []string{"noop", "/bin/true"} {
			if r := lat.Result(row, impl); r == nil || len(r.Samples) != 2 || r.Value < 1e3 || r.Value > 1e9 {
				t.Errorf("latency %s %s: %+v", row, impl, r)
			}
		}
	}
	if r := rep.Scenario("threads").Result("N=100", ImplExec); r == nil || r.Value < 50 {
		t.Errorf("os/exec waiting on 100 children: %+v threads", r)
	}
	if len(progress) == 0 || !strings.HasPrefix(progress[0], "[1/2] latency") || !strings.HasPrefix(progress[len(progress)-1], "[2/2] threads") {
		t.Errorf("progress: %q", progress)
	}
}
