package spawn_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/gospawn/spawn"
)

func ExampleCommand() {
	out, err := spawn.Command("echo", "hello", "world").Output()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output: hello world
}

func ExampleCmd_Run_exitStatus() {
	err := spawn.Command("sh", "-c", "exit 3").Run()
	var ee *spawn.ExitError
	if errors.As(err, &ee) {
		fmt.Println("exit code:", ee.ExitCode())
	}
	// Output: exit code: 3
}

func ExampleError() {
	cmd := spawn.Command("/bin/true")
	cmd.Dir = "/nonexistent"
	err := cmd.Run()

	var se *spawn.Error
	if errors.As(err, &se) {
		fmt.Println("failed step:", se.Step, se.Arg)
	}
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	fmt.Println(err)
	// Output:
	// failed step: chdir "/nonexistent"
	// true
	// spawn /bin/true: chdir "/nonexistent": no such file or directory
}

func ExampleCmd_Stdin() {
	cmd := spawn.Command("tr", "a-z", "A-Z")
	cmd.Stdin = strings.NewReader("shout\n")
	out, _ := cmd.Output()
	fmt.Print(string(out))
	// Output: SHOUT
}

func ExampleCommandContext() {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := spawn.CommandContext(ctx, "sleep", "10").Run()
	fmt.Println(err)
	// Output: signal: killed
}

func ExampleCmd_Explain() {
	cmd := spawn.Command("/bin/true")
	cmd.Dir = "/srv"
	cmd.Env = []string{"A=1"}
	plan, err := cmd.Explain()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range plan.Steps {
		if strings.HasPrefix(s.Step, "chdir") || strings.HasPrefix(s.Step, "execve") {
			fmt.Println(s.Step)
		}
	}
	// Output:
	// chdir "/srv"
	// execve "/bin/true"
}
