package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/runners/docker"
)

func newCleanCmd(g *globalOptions, s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "clean",
		Short: "Remove containers left by a killed reprise (those with the reprise label)",
		Long: `reprise removes its containers on every exit path it controls (including Ctrl-C).
A process killed with SIGKILL cannot: 'reprise clean' force-removes every
container carrying the reprise label and prints their ids.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runClean(c.Context(), g, s)
		},
	}
}

func runClean(ctx context.Context, g *globalOptions, s *streams) error {
	r, err := docker.New(ctx, docker.Options{Logger: g.logger(s)})
	if err != nil {
		return err
	}
	defer r.Close()
	ids, err := docker.RemoveLeftovers(ctx, r.Client())
	for _, id := range ids {
		fmt.Fprintln(s.Out, id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Err, "removed %d container(s)\n", len(ids))
	return nil
}
