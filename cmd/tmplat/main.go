package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"time"

	"github.com/gospawn/spawn"
)

func main() {
	runtime.GOMAXPROCS(1)
	noop := os.Args[1]
	for _, impl := range []string{"spawn", "os/exec", "spawn", "os/exec"} {
		stop := make(chan struct{})
		done := make(chan []time.Duration)
		go func() {
			var late []time.Duration
			tk := time.NewTicker(time.Millisecond)
			defer tk.Stop()
			last := time.Now()
			for {
				select {
				case <-stop:
					done <- late
					return
				case now := <-tk.C:
					late = append(late, now.Sub(last)-time.Millisecond)
					last = now
				}
			}
		}()
		t0 := time.Now()
		n := 0
		for time.Since(t0) < 2*time.Second {
			if impl == "spawn" {
				spawn.Command(noop).Run()
			} else {
				exec.Command(noop).Run()
			}
			n++
		}
		close(stop)
		late := <-done
		sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
		p := func(q float64) time.Duration { return late[int(float64(len(late)-1)*q)] }
		fmt.Printf("%-8s spawns %5d ticks %5d  p50 %8v p99 %8v max %8v\n", impl, n, len(late), p(0.5), p(0.99), late[len(late)-1])
	}
}
