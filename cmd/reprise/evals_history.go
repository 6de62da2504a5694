package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/store"
)

type evalsHistoryOptions struct {
	Suite  string
	System string
	Output outputFormat
}

func newEvalsHistoryCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsHistoryOptions{}
	cmd := &cobra.Command{
		Use:   "history (--suite SUITE | --system SYS)",
		Short: "Every system's score on a suite, or every suite a system was scored on",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runEvalsHistory(c.Context(), g, s, o)
		},
	}
	cmd.Flags().StringVar(&o.Suite, "suite", "", "suite digest or folder")
	cmd.Flags().StringVar(&o.System, "system", "", "system id (sha256:…), system file or decision record")
	addOutputFlag(cmd, &o.Output, outputText)
	return cmd
}

func runEvalsHistory(ctx context.Context, g *globalOptions, s *streams, o *evalsHistoryOptions) error {
	if o.Suite == "" && o.System == "" {
		return usageErrorf("give --suite or --system (or both)")
	}
	st, err := openStore(g)
	if err != nil {
		return err
	}
	var suite, sys digest.Digest
	if o.Suite != "" {
		su, err := resolveSuite(ctx, readOnly{st}, o.Suite)
		if err != nil {
			return err
		}
		suite = su.Digest
	}
	if o.System != "" {
		if sys, err = systemID(o.System); err != nil {
			return err
		}
	}
	h, err := evals.History(ctx, st, suite, sys)
	if err != nil {
		return err
	}
	res := make([]evalRunResult, 0, len(h))
	for _, e := range h {
		res = append(res, resultOf(e.Run, e.RunManifest))
	}
	return writeResult(s.Out, o.Output, res, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSUITE\tSYSTEM\tMODEL\tITEMS×K\tMEAN\tCI")
		for _, r := range res {
			fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%d×%d\t%.4f\t[%.4f, %.4f]\n", short(r.Run), r.SuiteName, r.SuiteVersion,
				short(r.System), r.Model, r.Summary.Items, r.Epochs, r.Summary.Mean, r.Summary.Lower, r.Summary.Upper)
		}
		return tw.Flush()
	})
}

func short(d digest.Digest) string {
	s := d.String()
	if len(s) > 19 {
		return s[:19]
	}
	return s
}

// loadRunArg reads a run by digest (a unique prefix of at least 12 hex
// digits after "sha256:" is accepted too).
func loadRunArg(ctx context.Context, st *store.Layout, arg string) (digest.Digest, *evals.RunManifest, []evals.Row, error) {
	d, err := digest.Parse(arg)
	if err != nil {
		h, herr := evals.History(ctx, st, digest.Digest{}, digest.Digest{})
		if herr != nil {
			return d, nil, nil, herr
		}
		var hits []digest.Digest
		for _, e := range h {
			if len(arg) >= 19 && len(arg) < len(e.Run.String()) && e.Run.String()[:len(arg)] == arg {
				hits = append(hits, e.Run)
			}
		}
		if len(hits) != 1 {
			return d, nil, nil, usageErrorf("results %q: not a run digest (or a unique prefix of one)", arg)
		}
		d = hits[0]
	}
	m, err := evals.LoadRun(ctx, st, d)
	if err != nil {
		return d, nil, nil, err
	}
	rows, err := evals.LoadRows(ctx, st, m)
	return d, m, rows, err
}
