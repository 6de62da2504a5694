package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/store"
)

func newEvalsCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("evals", "Eval suites: pack, run, compare and re-score pinned systems on content-addressed suites",
		help("evals"),
		newEvalsPackCmd(g, s), newEvalsLsCmd(g, s), newEvalsShowCmd(g, s), newEvalsDiffCmd(g, s),
		newEvalsRunCmd(g, s), newEvalsHistoryCmd(g, s), newEvalsCompareCmd(g, s), newEvalsRescoreCmd(g, s), newEvalsLeakageCmd(g, s), newEvalsCheckCmd(g, s))
}

func newEvalsPackCmd(g *globalOptions, s *streams) *cobra.Command {
	maxItems := byteSize(evals.DefaultMaxItemsSize)
	cmd := newCommand("pack DIR", "Validate and store a suite folder; prints its digest",
		help("evals-pack"), cobra.ExactArgs(1),
		func(ctx context.Context, args []string) error {
			return runEvalsPack(ctx, g, s, args[0], evals.SuiteLimits{MaxItemsSize: int64(maxItems)})
		})
	cmd.Flags().Var(&maxItems, "max-items-size", "largest items.jsonl to read, e.g. 1g")
	return cmd
}

func runEvalsPack(ctx context.Context, g *globalOptions, s *streams, dir string, lim evals.SuiteLimits) error {
	su, err := evals.LoadDirContext(ctx, dir, lim)
	if err != nil {
		return err
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	d, err := evals.Pack(ctx, st, su)
	if err == nil {
		_, err = fmt.Fprintln(s.Out, d)
	}
	return err
}

// evalsOutputOptions are the options of the evals verbs that have only
// --output (ls, diff).
type evalsOutputOptions struct{ Output outputFormat }

func newEvalsLsCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsOutputOptions{}
	cmd := newCommand("ls", "List the suites in the store", "", cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runEvalsLs(ctx, g, s, o) })
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

func runEvalsLs(ctx context.Context, g *globalOptions, s *streams, o *evalsOutputOptions) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	infos, err := evals.ListInfos(ctx, st)
	if err != nil {
		return err
	}
	return writeResult(s.Out, o.Output, infos, infos.WriteText)
}

type evalsShowOptions struct {
	Output outputFormat
	Items  bool
}

func newEvalsShowCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsShowOptions{}
	cmd := newCommand("show SUITE", "Show a suite (digest in the store, or a folder)", "", cobra.ExactArgs(1),
		func(ctx context.Context, args []string) error { return runEvalsShow(ctx, g, s, o, args[0]) })
	addFormatFlag(cmd, &o.Output, outputText)
	cmd.Flags().BoolVar(&o.Items, "items", false, "also list the items (id, tags, reference)")
	return cmd
}

func runEvalsShow(ctx context.Context, g *globalOptions, s *streams, o *evalsShowOptions, arg string) error {
	var rd store.Reader = store.NewMem()
	if _, err := digest.Parse(arg); err == nil || store.IsPrefix(arg) {
		st, err := openStore(g)
		if err != nil {
			return err
		}
		rd = st
	}
	su, err := evals.ResolveSuite(ctx, rd, arg)
	if err != nil {
		return err
	}
	v := evals.SuiteShow{SuiteInfo: su.Info()}
	if o.Items {
		v.ItemList = su.Items
	}
	return writeResult(s.Out, o.Output, v, v.WriteText)
}

func newEvalsDiffCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsOutputOptions{}
	cmd := newCommand("diff A B", "Items added, removed and changed, and whether the scorer changed, from suite A to B", "", cobra.ExactArgs(2),
		func(ctx context.Context, args []string) error { return runEvalsDiff(ctx, g, s, o, args[0], args[1]) })
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

func runEvalsDiff(ctx context.Context, g *globalOptions, s *streams, o *evalsOutputOptions, a, b string) error {
	var rd store.Reader = store.NewMem()
	if st, err := store.Open(g.storeDir()); err == nil {
		rd = evals.ReadOnly{Reader: st}
	}
	sa, err := evals.ResolveSuite(ctx, rd, a)
	if err != nil {
		return err
	}
	sb, err := evals.ResolveSuite(ctx, rd, b)
	if err != nil {
		return err
	}
	d := evals.DiffSuites(sa, sb)
	return writeResult(s.Out, o.Output, d, func(w io.Writer) error {
		fmt.Fprintf(w, "a: %s %s (%s)\nb: %s %s (%s)\n", sa.Spec.Name, sa.Spec.Version, d.A, sb.Spec.Name, sb.Spec.Version, d.B)
		return writeFields(w, d)
	})
}
