package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/stats/statsfile"
)

// newStatsCmd is `reprise stats TEST [flags]`: one statistical test from the
// command line. Every TEST is one row of statsfile.Tests, built by
// newStatsTestCmd with the flags it registers.
func newStatsCmd(g *globalOptions, s *streams) *cobra.Command {
	var tests []*cobra.Command
	for _, t := range statsfile.Tests() {
		tests = append(tests, newStatsTestCmd(s, t))
	}
	return newGroup("stats TEST", "Run one statistical test on samples read from files",
		help("stats"), tests...)
}

// statsOptions are the flags of one stats subcommand: the test's parameters
// and --output.
type statsOptions struct {
	params statsfile.Params
	output outputFormat
}

// newStatsTestCmd builds the subcommand of t: its flags, --output, and a
// RunE that prints t's result.
func newStatsTestCmd(s *streams, t statsfile.Test) *cobra.Command {
	o := &statsOptions{}
	cmd := newCommand(t.Name+" "+t.Use, t.Short, t.Long, cobra.NoArgs,
		func(context.Context, []string) error { return runStatsTest(s, t, o) })
	t.AddFlags(&o.params, cmd.Flags())
	o.params.Given = cmd.Flags().Changed
	addFormatFlag(cmd, &o.output, outputJSON)
	return cmd
}

// runStatsTest runs t with the parameters of o and prints its result on s.Out.
func runStatsTest(s *streams, t statsfile.Test, o *statsOptions) error {
	r, err := t.Run(&o.params)
	if err != nil {
		return err
	}
	return writeResult(s.Out, o.output, r, nil)
}
