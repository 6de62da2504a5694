package docker

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// TestExited: a server that exits at once takes its network namespace with
// it before the engine has seen the exit (seen in 1 of 14 CI runs as a false
// "unsupported"). A vanished /proc entry waits for the engine; a refused
// setns on a live process is not an exit.
func TestExited(t *testing.T) {
	runningFor := func(n int) func() *container.State {
		calls := 0
		return func() *container.State {
			calls++
			return &container.State{Running: calls <= n}
		}
	}
	gone := fmt.Errorf("open /proc/1/ns/net: %w", fs.ErrNotExist)
	cases := []struct {
		name  string
		err   error
		state func() *container.State
		want  bool
	}{
		{"engine already saw the exit", syscall.EPERM, runningFor(0), true},
		{"proc gone, engine catches up", gone, runningFor(3), true},
		{"process gone (ESRCH)", fmt.Errorf("setns: %w", syscall.ESRCH), runningFor(2), true},
		{"no privilege on a live process", fmt.Errorf("enter: %w", syscall.EPERM), runningFor(1000), false},
		{"inspect fails", gone, func() *container.State { return nil }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := exited(c.err, c.state); got != c.want {
				t.Fatalf("exited(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}
