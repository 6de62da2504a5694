package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/system"
)

type systemDiffOptions struct {
	Output outputFormat
}

// systemDiffResult is what system diff prints: the difference and the
// arguments that named A and B.
type systemDiffResult struct {
	ASource string `json:"a_source"`
	BSource string `json:"b_source"`
	system.Difference
}

func newSystemDiffCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &systemDiffOptions{}
	cmd := newCommand("diff A B",
		"Name the parts two composite versions pin differently (image, model, config, each component)",
		help("system-diff"), cobra.ExactArgs(2),
		func(ctx context.Context, args []string) error { return runSystemDiff(ctx, g, s, o, args[0], args[1]) })
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

func runSystemDiff(ctx context.Context, g *globalOptions, s *streams, o *systemDiffOptions, a, b string) error {
	sa, err := loadSystem(ctx, g, a)
	if err != nil {
		return err
	}
	sb, err := loadSystem(ctx, g, b)
	if err != nil {
		return err
	}
	res := systemDiffResult{ASource: a, BSource: b, Difference: system.Diff(&sa, &sb)}
	text := func(w io.Writer) error { return res.WriteText(w, a, b) }
	if err := writeResult(s.Out, o.Output, res, text); err != nil {
		return err
	}
	if !res.Same {
		return &silentError{code: exitDiverged} // the systems differ: exit 1
	}
	return nil
}

// loadSystem reads arg as a system file or decision record
// (capture.LoadTarget, which checks the id), or as a system id the store
// knows: the system of a stored eval run.
func loadSystem(ctx context.Context, g *globalOptions, arg string) (system.System, error) {
	id, err := digest.Parse(arg)
	if err != nil {
		t, err := capture.LoadTarget(arg)
		return t.System, err
	}
	st, err := openStore(g)
	if err != nil {
		return system.System{}, err
	}
	sys, found, err := evals.SystemByID(ctx, st, id)
	if err == nil && !found {
		err = usageErrorf("system %s: the store %s knows no system with this id (it knows systems from their eval runs); give a decision record or a system file", id, g.storeDir())
	}
	return sys, err
}
