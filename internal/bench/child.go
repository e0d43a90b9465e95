package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gospawn/spawn"
)

// childEnvVar holds the JSON childSpec of a benchmark subprocess.
const childEnvVar = "SPAWN_BENCH_CHILD"

// A childSpec says what a benchmark subprocess does.
type childSpec struct {
	Kind    string  `json:"kind"` // "threads", "heap" or "sched"
	Impl    string  `json:"impl,omitempty"`
	N       int     `json:"n,omitempty"`        // threads: children to start and wait for
	Sleeper string  `json:"sleeper,omitempty"`  // threads: the floor program, run as "floor sleep 30"
	HeapMiB int     `json:"heap_mib,omitempty"` // heap: MiB of heap to touch
	Target  string  `json:"target,omitempty"`   // heap, sched: the program to start
	Iters   int     `json:"iters,omitempty"`    // heap: starts per request
	Seconds float64 `json:"seconds,omitempty"`  // sched: how long to measure
}

// RunChildIfRequested returns at once, unless this process is a benchmark
// subprocess started by Run: then it does what it was asked and exits.
// Programs that call Run must call it before anything else (at the start
// of main, in TestMain, or in an init function).
func RunChildIfRequested() {
	v, ok := os.LookupEnv(childEnvVar)
	if !ok {
		return
	}
	os.Unsetenv(childEnvVar)
	environ = os.Environ()
	var s childSpec
	err := json.Unmarshal([]byte(v), &s)
	if err == nil {
		switch s.Kind {
		case "threads":
			err = childThreads(s, os.Stdout)
		case "heap":
			err = childHeap(s, os.Stdin, os.Stdout)
		case "sched":
			err = childSched(s, os.Stdout)
		default:
			err = fmt.Errorf("unknown kind %q", s.Kind)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench subprocess %s: %v\n", v, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// A child is a running benchmark subprocess.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *headTail
}

// startChild starts this executable as the subprocess spec, with extra
// environment variables. It runs in a process group of its own, which
// wait kills, so that no child it started outlives it even if it crashes.
func (e *Env) startChild(spec childSpec, env ...string) (*child, error) {
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(e.Exe)
	cmd.Env = append(append(os.Environ(), env...), childEnvVar+"="+string(js))
	cmd.SysProcAttr = childAttr()
	c := &child{cmd: cmd, stderr: &headTail{max: 8 << 10}}
	cmd.Stderr = c.stderr
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.stdout = bufio.NewReader(out)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

// readLine reads a line the subprocess printed.
func (c *child) readLine() (string, error) {
	line, err := c.stdout.ReadString('\n')
	if err != nil {
		return "", c.failure(err, c.wait())
	}
	return strings.TrimSpace(line), nil
}

// failure describes why the subprocess failed: err, or werr, the error
// of its wait.
func (c *child) failure(err, werr error) error {
	if werr != nil {
		err = werr
	}
	msg := strings.TrimSpace(c.stderr.String())
	if strings.Contains(msg, "thread exhaustion") || strings.Contains(msg, "thread limit") {
		what := lineWith(msg, "thread limit")
		if started := lastLineWith(msg, "started "); started != "" {
			what += "; " + started + " children by then"
		}
		return fmt.Errorf("%w (%s)", ErrThreadLimit, what)
	}
	if msg != "" {
		return fmt.Errorf("%v: %s", err, lastLines(msg, 3))
	}
	return err
}

// wait closes stdin, waits for the subprocess, kills what is left of its
// process group (children of a subprocess that crashed) and waits until
// they are gone, so that the next measurement does not run while
// thousands of processes die.
func (c *child) wait() error {
	c.stdin.Close()
	io.Copy(io.Discard, c.stdout)
	err := c.cmd.Wait()
	pgid := c.cmd.Process.Pid
	if syscall.Kill(-pgid, syscall.SIGKILL) == nil {
		// Zombies are still members until their new parent reaps them.
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
			if syscall.Kill(-pgid, 0) != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return err
}

// runChild runs the subprocess spec to its end and returns what it printed.
func (e *Env) runChild(spec childSpec, env ...string) ([]byte, error) {
	c, err := e.startChild(spec, env...)
	if err != nil {
		return nil, err
	}
	c.stdin.Close()
	out, err := io.ReadAll(c.stdout)
	werr := c.wait()
	if err != nil || werr != nil {
		return nil, c.failure(err, werr)
	}
	return out, nil
}

// headTail keeps the first and the last max bytes written to it: Go
// names a fatal error first, then prints every goroutine.
type headTail struct {
	mu         sync.Mutex
	max        int
	head, tail []byte
	dropped    bool
}

func (t *headTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if room := t.max - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > t.max {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-t.max:]...)
		t.dropped = true
	}
	return n, nil
}

func (t *headTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	sep := ""
	if t.dropped {
		sep = "\n...\n"
	}
	return string(t.head) + sep + string(t.tail)
}

// lineWith returns the first line of s that contains sub.
func lineWith(s, sub string) string {
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// lastLineWith returns the last line of s that starts with prefix.
func lastLineWith(s, prefix string) string {
	last := ""
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, prefix) {
			last = strings.TrimSpace(line)
		}
	}
	return last
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " / ")
}

// ---- S4: threads ----

// ThreadsResult is what WaitThreads measured.
type ThreadsResult struct {
	Before       int     `json:"before"`        // OS threads before the first start
	Peak         int     `json:"peak"`          // most OS threads seen while all children were waited on
	StartSeconds float64 `json:"start_seconds"` // how long starting them took
}

// WaitThreads starts n children that sleep for 30 s, with impl (ImplSpawn
// or ImplExec), each waited on by a goroutine of its own, and reports the
// OS threads of the process meanwhile; then it kills them. It does so in a
// subprocess (this executable, run again: see RunChildIfRequested) with
// RLIMIT_NOFILE raised. If the subprocess died at Go's thread limit, the
// error wraps ErrThreadLimit.
func (e *Env) WaitThreads(impl string, n int) (ThreadsResult, error) {
	var res ThreadsResult
	out, err := e.runChild(childSpec{Kind: "threads", Impl: impl, N: n, Sleeper: e.Floor}, "GOTRACEBACK=none")
	if err == nil {
		err = decodeJSON(out, &res)
	}
	return res, err
}

// childThreads starts s.N sleeping children, each waited on by a goroutine
// of its own, reports the OS threads of the process, then kills them.
func childThreads(s childSpec, out io.Writer) error {
	// Every spawn and os/exec child holds a pidfd.
	if err := raiseNofile(uint64(2*s.N + 1000)); err != nil {
		return err
	}
	res := ThreadsResult{Before: threads()}
	var wg sync.WaitGroup
	kills := make([]func() error, 0, s.N)
	t0 := time.Now()
	for i := range s.N {
		if i > 0 && i%500 == 0 {
			// Progress, for the report if Go's thread limit kills us.
			fmt.Fprintf(os.Stderr, "started %d\n", i)
		}
		switch s.Impl {
		case ImplSpawn:
			c := spawn.Command(s.Sleeper, "sleep", "30")
			if err := c.Start(); err != nil {
				return err
			}
			kills = append(kills, c.Process.Kill)
			wg.Go(func() { c.Wait() })
		case ImplExec:
			c := exec.Command(s.Sleeper, "sleep", "30")
			if err := c.Start(); err != nil {
				return err
			}
			kills = append(kills, c.Process.Kill)
			wg.Go(func() { c.Wait() })
		default:
			return fmt.Errorf("unknown implementation %q", s.Impl)
		}
	}
	res.StartSeconds = time.Since(t0).Seconds()
	// Let every goroutine reach Wait, then watch the thread count.
	for range 20 {
		time.Sleep(50 * time.Millisecond)
		res.Peak = max(res.Peak, threads())
	}
	for _, kill := range kills {
		kill()
	}
	wg.Wait()
	return json.NewEncoder(out).Encode(res)
}

// threads returns the number of OS threads of this process.
func threads() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}

// raiseNofile raises RLIMIT_NOFILE to at least want, as far as the hard
// limit and (with CAP_SYS_RESOURCE) fs.nr_open allow.
func raiseNofile(want uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur >= want {
		return nil
	}
	if rl.Max < want {
		max := want
		if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
			if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
				max = min(max, n)
			}
		}
		hard := syscall.Rlimit{Cur: max, Max: max}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &hard) == nil {
			return nil
		}
	}
	rl.Cur = rl.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
}

// ---- S6: parent size ----

// heapHold keeps the touched heap alive.
var heapHold []byte

// childHeap touches s.HeapMiB of heap, prints "ready", then for each line
// naming an implementation, starts s.Target s.Iters times with it and
// prints the mean ns per start+wait.
func childHeap(s childSpec, in io.Reader, out io.Writer) error {
	heapHold = make([]byte, s.HeapMiB<<20)
	for i := 0; i < len(heapHold); i += 4096 {
		heapHold[i] = 1
	}
	runtime.GC()
	fmt.Fprintln(out, "ready")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		once := Once(sc.Text())
		if once == nil {
			return fmt.Errorf("unknown implementation %q", sc.Text())
		}
		ns, err := loop(once, s.Target, s.Iters)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%g\n", ns)
	}
	runtime.KeepAlive(heapHold)
	return sc.Err()
}

// ---- S7: scheduler ----

type schedResult struct {
	Lateness []float64 `json:"lateness_ns"` // one per tick received
	Spawns   int       `json:"spawns"`
}

// childSched runs with GOMAXPROCS=1: a goroutine receives the ticks of a
// 1 ms time.Ticker for s.Seconds and records how late each arrived, while
// another starts and waits for s.Target in a loop with s.Impl (none: the
// ticker alone).
func childSched(s childSpec, out io.Writer) error {
	runtime.GOMAXPROCS(1)
	once := Once(s.Impl)
	if once == nil && s.Impl != ImplNone {
		return fmt.Errorf("unknown implementation %q", s.Impl)
	}
	var (
		res    schedResult
		stop   = make(chan struct{})
		done   = make(chan error, 1)
		spawns int
	)
	go func() {
		for once != nil {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := once(s.Target); err != nil {
				done <- err
				return
			}
			spawns++
		}
		done <- nil
	}()
	time.Sleep(20 * time.Millisecond) // let the spawner get going
	ticker := time.NewTicker(time.Millisecond)
	end := time.Now().Add(time.Duration(s.Seconds * float64(time.Second)))
	res.Lateness = make([]float64, 0, int(s.Seconds*1000)+16)
	for t := range ticker.C {
		now := time.Now()
		// A tick carries the time it was due (see time.sendTime).
		res.Lateness = append(res.Lateness, float64(now.Sub(t).Nanoseconds()))
		if now.After(end) {
			break
		}
	}
	ticker.Stop()
	close(stop)
	if err := <-done; err != nil {
		return err
	}
	res.Spawns = spawns
	return json.NewEncoder(out).Encode(res)
}

// decodeJSON decodes the one JSON value of a subprocess's output.
func decodeJSON(b []byte, v any) error {
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		return errors.New("bad subprocess output: " + err.Error())
	}
	return nil
}
