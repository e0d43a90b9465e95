//go:build linux && amd64

package guarantee

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gospawn/spawn/internal/probe"
)

// Sizes of the runs. The spawn runs must keep at least these numbers: 10,000
// children for interpose, 5,000 children and 100,000 signals for the storm,
// 1,000 children for the sanitizer and fallback-path runs.
const (
	interposeN    = 10000
	stormN        = 5000
	stormSignals  = 100000
	smallN        = 2000 // sanitizer and fallback-path runs
	smallSignals  = 40000
	harnessBudget = 5 * time.Minute // per harness run
)

// figures is what the harness prints (the union of its modes).
type figures struct {
	Mode       string `json:"mode"`
	Impl       string `json:"impl"`
	Build      string `json:"build"`
	Spawndebug string `json:"spawndebug"`
	Clone      string `json:"clone"`
	Sanitizer  string `json:"sanitizer"`

	ChildEvents       uint64            `json:"child_events"`
	ChildEventFuncs   map[string]uint64 `json:"child_event_funcs"`
	ChildEventProcs   uint64            `json:"child_event_procs"`
	ParentCalls       uint64            `json:"parent_calls"`
	ParentCallsByFunc map[string]uint64 `json:"parent_calls_by_func"`
	HandlerRunsParent uint64            `json:"handler_runs_parent"`
	HandlerRunsOther  uint64            `json:"handler_runs_other"`
	Seconds           float64           `json:"seconds"`

	// interpose
	Spawns             int64 `json:"spawns"`
	Failures           int64 `json:"failures"`
	UnexpectedFailures int64 `json:"unexpected_failures"`
	ProbeReports       int64 `json:"probe_reports"`

	// storm
	SignalsSent      int64            `json:"signals_sent"`
	SignalsToThreads int64            `json:"signals_to_threads"`
	SignalsToGroup   int64            `json:"signals_to_group"`
	SignalsBySig     map[string]int64 `json:"signals_by_sig"`
	SendErrors       int64            `json:"send_errors"`
	Threads          int              `json:"threads"`
	ChildrenChecked  int64            `json:"children_checked"`
	Mismatches       int64            `json:"mismatches"`
	LostWaits        int64            `json:"lost_waits"`
	StartErrors      int64            `json:"start_errors"`

	// selftest
	ForkMallocStatus     string `json:"fork_malloc_status"`
	ForkMallocEvents     uint64 `json:"fork_malloc_events"`
	CloneVMMallocStatus  string `json:"clonevm_malloc_status"`
	CloneVMMallocEvents  uint64 `json:"clonevm_malloc_events"`
	CloneVMHandlerStatus string `json:"clonevm_handler_status"`
	CloneVMHandlerRuns   uint64 `json:"clonevm_handler_runs_other"`

	Problems []string `json:"problems"`
}

// cannot skips the test because the machine lacks a tool, or fails it
// where the checks must run (CI, or GUARANTEE_REQUIRE=1).
func cannot(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" || os.Getenv("GUARANTEE_REQUIRE") == "1" {
		t.Fatalf("%s (CI or GUARANTEE_REQUIRE=1: these checks must run)", msg)
	}
	t.Skipf("skipped: %s", msg)
}

// TestMain removes the binaries the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if theKit != nil {
		os.RemoveAll(theKit.dir)
	}
	os.Exit(code)
}

func heavy(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped under -short: thousands of children")
	}
}

// kit is what every test needs, built once: the interposer, the probe
// programs, and the plain harness.
type kit struct {
	dir, so, probe, noop string
	goTool               string

	mu       sync.Mutex
	harness  map[string]string // build ("plain", "race", "asan") → binary
	buildErr map[string]error
}

var (
	kitOnce    sync.Once
	theKit     *kit
	kitErr     string // why the kit could not be built
	kitMissing bool   // because a tool is missing: skip (fail in CI)
)

func getKit(t *testing.T) *kit {
	t.Helper()
	kitOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spawn-guarantee-")
		if err != nil {
			kitErr = err.Error()
			return
		}
		k := &kit{dir: dir, harness: map[string]string{}, buildErr: map[string]error{}}
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			kitErr, kitMissing = "no gcc (apt-get install -y gcc libc6-dev): "+err.Error(), true
			return
		}
		if k.goTool, err = exec.LookPath("go"); err != nil {
			k.goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
			if _, err := os.Stat(k.goTool); err != nil {
				kitErr, kitMissing = "no go tool in PATH", true
				return
			}
		}
		start := time.Now()
		k.so = filepath.Join(dir, "interpose.so")
		out, err := exec.Command(gcc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
			"-o", k.so, "c/interpose.c", "-ldl").CombinedOutput()
		if err != nil {
			kitErr = fmt.Sprintf("building interpose.so: %v\n%s", err, out)
			return
		}
		if k.probe, k.noop, err = probe.Build(dir); err != nil {
			kitErr, kitMissing = err.Error(), true // static linking needs libc6-dev
			return
		}
		soTime := time.Since(start)
		if err := k.build("plain"); err != nil {
			kitErr = err.Error()
			return
		}
		fmt.Fprintf(os.Stderr, "guarantee: built interpose.so and the probes in %.1fs, the cgo harness in %.1fs\n",
			soTime.Seconds(), time.Since(start).Seconds()-soTime.Seconds())
		theKit = k
	})
	if theKit == nil {
		if kitMissing {
			cannot(t, "%s", kitErr)
		}
		t.Fatal(kitErr)
	}
	return theKit
}

// build compiles the harness with cgo, plainly or with -race or -asan.
func (k *kit) build(kind string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.harness[kind]; ok {
		return nil
	}
	if err, ok := k.buildErr[kind]; ok {
		return err
	}
	bin := filepath.Join(k.dir, "harness-"+kind)
	args := []string{"build", "-o", bin}
	if kind != "plain" {
		args = append(args, "-"+kind)
	}
	args = append(args, "./harness")
	cmd := exec.Command(k.goTool, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		k.buildErr[kind] = err
		return err
	}
	k.harness[kind] = bin
	return nil
}

// run is one harness run.
type run struct {
	build string   // "plain", "race", "asan"
	args  []string // mode and flags; -probe, -noop, -dir are added
	env   []string // extra environment
}

// result is a finished run.
type result struct {
	fig    *figures
	stderr string
	err    error // the harness failed (exit status, no JSON)
	note   string
}

// asanOptions lets interpose.so come before libasan: libasan insists on
// being the first library loaded, but the interposer must be first to see
// malloc and the other calls libasan serves itself.
const asanOptions = "verify_asan_link_order=0"

func (k *kit) run(t *testing.T, r run) result {
	t.Helper()
	if err := k.build(r.build); err != nil {
		if r.build != "plain" {
			cannot(t, "cannot build the %s harness: %v", r.build, err)
		}
		t.Fatal(err)
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "interpose.log")
	args := append([]string{}, r.args...)
	switch r.args[0] {
	case "interpose":
		args = append(args, "-probe", k.probe, "-noop", k.noop, "-dir", dir)
	case "storm":
		args = append(args, "-probe", k.probe, "-dir", dir)
	}
	env := []string{"LD_PRELOAD=" + k.so, "INTERPOSE_LOG=" + logPath}
	if r.build == "asan" {
		env = append(env, "ASAN_OPTIONS="+asanOptions)
	}
	env = append(env, r.env...)

	res := k.exec(t, k.harness[r.build], args, env)
	if r.build == "race" && strings.Contains(res.stderr, "FATAL: ThreadSanitizer: unexpected memory mapping") {
		// Some kernels map too randomly for TSan: run without ASLR.
		t.Logf("TSan refused the memory layout; rerunning under setarch -R")
		res = k.exec(t, "setarch", append([]string{"x86_64", "-R", k.harness[r.build]}, args...), env)
		res.note = "needed setarch -R"
	}
	return res
}

func (k *kit) exec(t *testing.T, bin string, args, env []string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), harnessBudget)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	// Its own process group: the storm signals the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	res := result{stderr: stderr.String()}
	if err != nil {
		res.err = fmt.Errorf("harness %s: %v", strings.Join(args[:1], " "), err)
		return res
	}
	var f figures
	if err := json.Unmarshal(stdout.Bytes(), &f); err != nil {
		res.err = fmt.Errorf("harness output: %v: %q", err, stdout.String())
		return res
	}
	res.fig = &f
	return res
}

// cleanEnv is our environment without the variables a run sets itself.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LD_PRELOAD", "INTERPOSE_LOG", "INTERPOSE_ON_CHILD", "ASAN_OPTIONS", "TSAN_OPTIONS", "GORACE":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// must fails t if the run did not finish, or a sanitizer complained.
func must(t *testing.T, res result) *figures {
	t.Helper()
	if res.err != nil {
		t.Fatalf("%v\nstderr:\n%s", res.err, tail(res.stderr))
	}
	sanitizerClean(t, res.stderr)
	return res.fig
}

var sanitizerReports = []string{
	"WARNING: DATA RACE", "WARNING: ThreadSanitizer", "FATAL: ThreadSanitizer",
	"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "SUMMARY: AddressSanitizer",
}

func sanitizerClean(t *testing.T, stderr string) {
	t.Helper()
	for _, s := range sanitizerReports {
		if strings.Contains(stderr, s) {
			t.Errorf("stderr has %q:\n%s", s, tail(stderr))
		}
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

func label(f *figures, impl string) string {
	l := impl + " (" + f.Build
	if f.Spawndebug != "" {
		l += ", SPAWNDEBUG=" + f.Spawndebug
	}
	return l + ")"
}

func funcs(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, name := range []string{"sigaction", "signal", "sigprocmask", "pthread_sigmask", "malloc", "calloc", "realloc", "free", "getenv", "getpid"} {
		if c := m[name]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", name, c))
		}
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func logInterpose(t *testing.T, f *figures, impl string) {
	t.Helper()
	t.Logf("interpose %s: %d spawns (%d expected failures, %d unexpected, %d probe reports checked), "+
		"%d child-side events%s in %d children, %d parent-side calls, handler runs in a child %d, %.1fs",
		label(f, impl), f.Spawns, f.Failures, f.UnexpectedFailures, f.ProbeReports,
		f.ChildEvents, funcs(f.ChildEventFuncs), f.ChildEventProcs, f.ParentCalls, f.HandlerRunsOther, f.Seconds)
}

func logStorm(t *testing.T, f *figures, impl string) {
	t.Helper()
	t.Logf("storm %s: %d spawns, %d signals (%d to %d threads, %d to the process group), %d children checked, "+
		"%d mismatches, %d lost waits, %d start errors, handler runs in the parent %d / in a child %d, "+
		"%d child-side events%s in %d children, %d parent-side calls, %.1fs",
		label(f, impl), f.Spawns, f.SignalsSent, f.SignalsToThreads, f.Threads, f.SignalsToGroup, f.ChildrenChecked,
		f.Mismatches, f.LostWaits, f.StartErrors, f.HandlerRunsParent, f.HandlerRunsOther,
		f.ChildEvents, funcs(f.ChildEventFuncs), f.ChildEventProcs, f.ParentCalls, f.Seconds)
	if f.Clone != "" {
		t.Logf("storm %s: children created with %s", label(f, impl), f.Clone)
	}
}

// checkSpawn asserts the guarantee on a spawn run.
func checkSpawn(t *testing.T, f *figures, minSpawns, minSignals int64) {
	t.Helper()
	if f.Impl != "spawn" {
		t.Fatalf("impl %q, want spawn", f.Impl)
	}
	if f.ParentCalls == 0 {
		t.Errorf("the interposer saw no parent-side call: it is not live")
	}
	if f.ChildEvents != 0 {
		t.Errorf("%d libc calls in children before exec%s", f.ChildEvents, funcs(f.ChildEventFuncs))
	}
	if f.HandlerRunsOther != 0 {
		t.Errorf("the parent's signal handler ran %d times in a child", f.HandlerRunsOther)
	}
	if f.Spawns < minSpawns {
		t.Errorf("%d spawns, want at least %d", f.Spawns, minSpawns)
	}
	switch f.Mode {
	case "interpose":
		if f.UnexpectedFailures != 0 {
			t.Errorf("%d unexpected failures: %q", f.UnexpectedFailures, f.Problems)
		}
		if want := f.Spawns / 5; f.Failures != want {
			t.Errorf("%d expected failures happened, want %d", f.Failures, want)
		}
	case "storm":
		if f.SignalsSent < minSignals {
			t.Errorf("%d signals sent, want at least %d", f.SignalsSent, minSignals)
		}
		if f.Mismatches != 0 || f.LostWaits != 0 || f.StartErrors != 0 {
			t.Errorf("%d mismatches, %d lost waits, %d start errors: %q", f.Mismatches, f.LostWaits, f.StartErrors, f.Problems)
		}
		if f.ChildrenChecked != f.Spawns {
			t.Errorf("%d of %d children checked", f.ChildrenChecked, f.Spawns)
		}
	}
}

// TestSelftest proves that the detectors bite: a fork()ed child and a
// CLONE_VM child that call malloc before exec are caught by the
// interposer, and a CLONE_VM child that runs our signal handler is seen by
// the handler's counter.
func TestSelftest(t *testing.T) {
	k := getKit(t)
	f := must(t, k.run(t, run{build: "plain", args: []string{"selftest"}}))
	t.Logf("selftest: fork()+malloc child: %s, %d event(s); CLONE_VM+malloc child: %s, %d event(s); "+
		"CLONE_VM child raising the C-handled signal: %s, handler ran %d time(s) in it; %d parent-side calls",
		f.ForkMallocStatus, f.ForkMallocEvents, f.CloneVMMallocStatus, f.CloneVMMallocEvents,
		f.CloneVMHandlerStatus, f.CloneVMHandlerRuns, f.ParentCalls)
	if f.ForkMallocEvents == 0 || f.ForkMallocStatus != "killed by SIGABRT" {
		t.Errorf("fork()+malloc: %d events, %s; want 1, killed by SIGABRT", f.ForkMallocEvents, f.ForkMallocStatus)
	}
	if f.CloneVMMallocEvents == 0 || f.CloneVMMallocStatus != "killed by SIGABRT" {
		t.Errorf("CLONE_VM+malloc: %d events, %s; want 1, killed by SIGABRT", f.CloneVMMallocEvents, f.CloneVMMallocStatus)
	}
	if f.CloneVMHandlerRuns == 0 {
		t.Errorf("CLONE_VM child raising the handled signal: handler_runs_other did not move (%s)", f.CloneVMHandlerStatus)
	}
	if f.ParentCalls == 0 {
		t.Errorf("the interposer saw no parent-side call: it is not live")
	}
}

// TestInterpose starts children with varied attributes from 8 goroutines
// under the interposer, with spawn (checked) and os/exec (reported).
func TestInterpose(t *testing.T) {
	heavy(t)
	k := getKit(t)
	t.Run("spawn", func(t *testing.T) {
		f := must(t, k.run(t, run{build: "plain", args: []string{"interpose", "-n", fmt.Sprint(interposeN), "-impl", "spawn"}}))
		logInterpose(t, f, "spawn")
		checkSpawn(t, f, interposeN, 0)
	})
	t.Run("osexec", func(t *testing.T) {
		// Reference only. The interposer records child-side calls and
		// lets them through: aborting them crashes the parent (below).
		f := must(t, k.run(t, run{build: "plain", env: []string{"INTERPOSE_ON_CHILD=record"},
			args: []string{"interpose", "-n", fmt.Sprint(interposeN), "-impl", "osexec"}}))
		logInterpose(t, f, "os/exec, reference, calls recorded and let through")
	})
	t.Run("osexec-abort", func(t *testing.T) {
		// Reference only: os/exec under an interposer that aborts the
		// child, as a sanitizer that dies in the child would.
		res := k.run(t, run{build: "plain", args: []string{"interpose", "-n", fmt.Sprint(interposeN), "-impl", "osexec"}})
		switch {
		case res.err == nil:
			logInterpose(t, res.fig, "os/exec, reference, child aborted on a libc call")
		default:
			t.Logf("interpose os/exec (plain, reference, child aborted on a libc call): the harness died: %v; %s",
				res.err, firstLines(res.stderr, "interpose:", "fatal error", "SIG"))
		}
	})
}

// firstLines returns the first line of s that starts with each prefix.
func firstLines(s string, prefixes ...string) string {
	var out []string
	for _, p := range prefixes {
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(line, p) {
				out = append(out, strings.TrimSpace(line))
				break
			}
		}
	}
	return strings.Join(out, " | ")
}

// TestStorm starts probe children while other goroutines send the process
// signals, and checks each child's state.
func TestStorm(t *testing.T) {
	heavy(t)
	k := getKit(t)
	t.Run("spawn", func(t *testing.T) {
		f := must(t, k.run(t, run{build: "plain", args: []string{"storm",
			"-n", fmt.Sprint(stormN), "-signals", fmt.Sprint(stormSignals), "-impl", "spawn"}}))
		logStorm(t, f, "spawn")
		checkSpawn(t, f, stormN, stormSignals)
	})
	t.Run("osexec", func(t *testing.T) {
		f := must(t, k.run(t, run{build: "plain", env: []string{"INTERPOSE_ON_CHILD=record"}, args: []string{"storm",
			"-n", fmt.Sprint(stormN), "-signals", fmt.Sprint(stormSignals), "-impl", "osexec"}}))
		logStorm(t, f, "os/exec, reference, calls recorded and let through")
	})
}

// TestFallbackPaths runs the storm on spawn's fallback paths: the child
// resets the handlers itself (no CLONE_CLEAR_SIGHAND), and legacy clone.
func TestFallbackPaths(t *testing.T) {
	heavy(t)
	k := getKit(t)
	for _, dbg := range []string{"clearsighand=0", "clone3=0"} {
		t.Run(dbg, func(t *testing.T) {
			f := must(t, k.run(t, run{build: "plain", env: []string{"SPAWNDEBUG=" + dbg}, args: []string{"storm",
				"-n", fmt.Sprint(smallN), "-signals", fmt.Sprint(smallSignals), "-impl", "spawn"}}))
			logStorm(t, f, "spawn")
			checkSpawn(t, f, smallN, smallSignals)
			if strings.Contains(f.Clone, "CLONE_CLEAR_SIGHAND") || (dbg == "clone3=0" && !strings.HasPrefix(f.Clone, "clone(")) {
				t.Errorf("SPAWNDEBUG=%s did not take: children created with %s", dbg, f.Clone)
			}
		})
	}
}

// TestSanitizers runs interpose and storm with the harness built with -race
// (ThreadSanitizer) and -asan (AddressSanitizer).
func TestSanitizers(t *testing.T) {
	heavy(t)
	k := getKit(t)
	for _, build := range []string{"race", "asan"} {
		t.Run(build, func(t *testing.T) {
			if build == "asan" {
				if err := checkASan(k.dir); err != nil {
					cannot(t, "gcc cannot build with -fsanitize=address (apt-get install -y libasan8): %v", err)
				}
			}
			start := time.Now()
			if err := k.build(build); err != nil {
				cannot(t, "cannot build the -%s harness: %v", build, err)
			}
			t.Logf("built the -%s harness in %.1fs", build, time.Since(start).Seconds())
			want := map[string]string{"race": "tsan", "asan": "asan"}[build]

			res := k.run(t, run{build: build, args: []string{"interpose", "-n", fmt.Sprint(smallN), "-impl", "spawn"}})
			f := must(t, res)
			logInterpose(t, f, "spawn")
			if res.note != "" {
				t.Logf("-%s: %s", build, res.note)
			}
			if f.Sanitizer != want {
				t.Errorf("sanitizer runtime %q in the harness, want %q", f.Sanitizer, want)
			}
			checkSpawn(t, f, smallN, 0)

			f = must(t, k.run(t, run{build: build, args: []string{"storm",
				"-n", fmt.Sprint(smallN), "-signals", fmt.Sprint(smallSignals), "-impl", "spawn"}}))
			logStorm(t, f, "spawn")
			checkSpawn(t, f, smallN, smallSignals)

			f = must(t, k.run(t, run{build: build, env: []string{"INTERPOSE_ON_CHILD=record"},
				args: []string{"interpose", "-n", fmt.Sprint(smallN), "-impl", "osexec"}}))
			logInterpose(t, f, "os/exec, reference, calls recorded and let through")
		})
	}
}

// checkASan compiles and runs a trivial program with -fsanitize=address.
func checkASan(dir string) error {
	src := filepath.Join(dir, "asan-check.c")
	bin := filepath.Join(dir, "asan-check")
	if err := os.WriteFile(src, []byte("int main(void){return 0;}\n"), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("gcc", "-fsanitize=address", "-o", bin, src).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	if out, err := exec.Command(bin).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}
