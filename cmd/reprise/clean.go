package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/runopts"
)

func newCleanCmd(g *globalOptions, s *streams) *cobra.Command {
	var all bool
	c := newCommand("clean [--all]", "Remove containers and session folders left by a killed reprise",
		help("clean"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runClean(ctx, g, s, all) })
	c.Flags().BoolVar(&all, "all", false, "also remove the containers of replays still running")
	return c
}

func runClean(ctx context.Context, g *globalOptions, s *streams, all bool) error {
	dirs, derr := runopts.RemoveSessionDirs()
	for _, d := range dirs {
		fmt.Fprintln(s.Out, d)
	}
	if derr != nil {
		fmt.Fprintf(s.Err, "reprise: clean session folders: %v\n", derr)
	}
	if len(dirs) > 0 {
		fmt.Fprintf(s.Err, "removed %d session folder(s)\n", len(dirs))
	}
	ids, err := runopts.RemoveContainers(ctx, all, g.logger(s))
	for _, id := range ids {
		fmt.Fprintln(s.Out, id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Err, "removed %d container(s)\n", len(ids))
	return nil
}
