package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/runopts"
)

type envOptions struct{ Output outputFormat }

func newEnvCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &envOptions{}
	cmd := newCommand("env", "Print this host's hardware class and environment snapshot", "", cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runEnv(ctx, s, o) })
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

func runEnv(ctx context.Context, s *streams, o *envOptions) error {
	h := runopts.ThisHost(ctx)
	return writeResult(s.Out, o.Output, h, h.WriteText)
}
