package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/runners/docker"
	"github.com/reprise-dev/reprise/runners/process"
)

func newCleanCmd(g *globalOptions, s *streams) *cobra.Command {
	var all bool
	c := newCommand("clean [--all]", "Remove containers and session folders left by a killed reprise",
		`reprise removes its containers and its session folders (the copies of the
model and config, reprise-session-<pid>-* in the temp folder) on every exit
path it controls (including Ctrl-C). A process killed with SIGKILL cannot:
'reprise clean' removes the session folders of this user whose reprise
process is gone, and force-removes the containers with the reprise label
whose lease is no longer held (missing, unlocked because its owner died, or
not renewed for 30 s), and prints their paths and ids. Containers of replays
still running, and those whose lease this process cannot see (another host
or TMPDIR), are kept unless --all.`, cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runClean(ctx, g, s, all) })
	c.Flags().BoolVar(&all, "all", false, "also remove the containers of replays still running")
	return c
}

func runClean(ctx context.Context, g *globalOptions, s *streams, all bool) error {
	dirs, derr := launch.RemoveOrphans("", launch.WorkDirPrefix, process.HomePrefix)
	for _, d := range dirs {
		fmt.Fprintln(s.Out, d)
	}
	if derr != nil {
		fmt.Fprintf(s.Err, "reprise: clean session folders: %v\n", derr)
	}
	if len(dirs) > 0 {
		fmt.Fprintf(s.Err, "removed %d session folder(s)\n", len(dirs))
	}
	r, err := docker.New(ctx, docker.Options{Logger: g.logger(s)})
	if err != nil {
		return err
	}
	defer r.Close()
	ids, err := docker.RemoveLeftovers(ctx, r.Client(), all)
	for _, id := range ids {
		fmt.Fprintln(s.Out, id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Err, "removed %d container(s)\n", len(ids))
	return nil
}
