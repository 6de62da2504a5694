package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/store"
)

func newEvalsCmd(g *globalOptions, s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evals",
		Short: "Eval suites: pack, run, compare and re-score pinned systems on content-addressed suites",
		Long: `An eval suite is a folder with suite.json (name, version, description, scorer,
metadata) and items.jsonl (id, input, reference, tags). 'evals pack' stores it;
its digest is what a record's eval_suite pins. Results are kept in the store,
keyed by (system id, suite digest), and never removed.`,
	}
	cmd.AddCommand(newEvalsPackCmd(g, s), newEvalsLsCmd(g, s), newEvalsShowCmd(g, s), newEvalsDiffCmd(g, s),
		newEvalsRunCmd(g, s), newEvalsHistoryCmd(g, s), newEvalsCompareCmd(g, s), newEvalsRescoreCmd(g, s), newEvalsLeakageCmd(g, s), newEvalsCheckCmd(g, s))
	return cmd
}

// resolveSuite reads SUITE as a digest in the store, or a folder (packed
// into the store when st is a writer).
func resolveSuite(ctx context.Context, st store.Reader, arg string) (*evals.Suite, error) {
	if d, err := digest.Parse(arg); err == nil {
		return evals.Load(ctx, st, d)
	}
	if fi, err := os.Stat(arg); err != nil || !fi.IsDir() {
		return nil, usageErrorf("suite %q: neither a suite digest (sha256:…) nor a folder", arg)
	}
	su, err := evals.LoadDir(arg)
	if err != nil {
		return nil, err
	}
	if w, ok := st.(store.Writer); ok {
		if _, err := evals.Pack(ctx, w, su); err != nil {
			return nil, err
		}
	}
	return su, nil
}

func newEvalsPackCmd(g *globalOptions, s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "pack DIR",
		Short: "Validate and store a suite folder; prints its digest",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runEvalsPack(c.Context(), g, s, args[0])
		},
	}
}

func runEvalsPack(ctx context.Context, g *globalOptions, s *streams, dir string) error {
	su, err := evals.LoadDir(dir)
	if err != nil {
		return err
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	d, err := evals.Pack(ctx, st, su)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, d)
	return nil
}

// suiteInfo is one suite as ls and show print it.
type suiteInfo struct {
	Digest      digest.Digest     `json:"digest"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Description string            `json:"description,omitempty"`
	Scorer      evals.ScorerSpec  `json:"scorer"`
	Items       int               `json:"items"`
	Tags        map[string]int    `json:"tags,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	SuiteJSON   digest.Digest     `json:"suite_json"`
	ItemsJSONL  digest.Digest     `json:"items_jsonl"`
}

func infoOf(su *evals.Suite) suiteInfo {
	tags := map[string]int{}
	for _, it := range su.Items {
		for _, t := range it.Tags {
			tags[t]++
		}
	}
	return suiteInfo{Digest: su.Digest, Name: su.Spec.Name, Version: su.Spec.Version, Description: su.Spec.Description,
		Scorer: su.Spec.Scorer, Items: len(su.Items), Tags: tags, Metadata: su.Spec.Metadata,
		SuiteJSON: su.Manifest.Spec, ItemsJSONL: su.Manifest.Items}
}

type evalsLsOptions struct{ Output outputFormat }

func newEvalsLsCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsLsOptions{}
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the suites in the store",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runEvalsLs(c.Context(), g, s, o)
		},
	}
	addOutputFlag(cmd, &o.Output, outputText)
	return cmd
}

func runEvalsLs(ctx context.Context, g *globalOptions, s *streams, o *evalsLsOptions) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	ds, err := evals.ListSuites(ctx, st)
	if err != nil {
		return err
	}
	infos := []suiteInfo{}
	for _, d := range ds {
		su, err := evals.Load(ctx, st, d)
		if err != nil {
			return err
		}
		infos = append(infos, infoOf(su))
	}
	return writeResult(s.Out, o.Output, infos, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DIGEST\tNAME\tVERSION\tITEMS\tSCORER")
		for _, i := range infos {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", i.Digest, i.Name, i.Version, i.Items, i.Scorer.Type)
		}
		return tw.Flush()
	})
}

type evalsShowOptions struct {
	Output outputFormat
	Items  bool
}

func newEvalsShowCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsShowOptions{}
	cmd := &cobra.Command{
		Use:   "show SUITE",
		Short: "Show a suite (digest in the store, or a folder)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runEvalsShow(c.Context(), g, s, o, args[0])
		},
	}
	addOutputFlag(cmd, &o.Output, outputText)
	cmd.Flags().BoolVar(&o.Items, "items", false, "also list the items (id, tags, reference)")
	return cmd
}

func runEvalsShow(ctx context.Context, g *globalOptions, s *streams, o *evalsShowOptions, arg string) error {
	var rd store.Reader = store.NewMem()
	if _, err := digest.Parse(arg); err == nil {
		st, err := openStore(g)
		if err != nil {
			return err
		}
		rd = st
	}
	su, err := resolveSuite(ctx, rd, arg)
	if err != nil {
		return err
	}
	type shown struct {
		suiteInfo
		ItemList []evals.Item `json:"item_list,omitempty"`
	}
	v := shown{suiteInfo: infoOf(su)}
	if o.Items {
		v.ItemList = su.Items
	}
	return writeResult(s.Out, o.Output, v, func(w io.Writer) error {
		if err := writeSuiteInfo(w, v.suiteInfo); err != nil {
			return err
		}
		if o.Items {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ITEM\tTAGS\tREFERENCE")
			for _, it := range su.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", it.ID, dash(strings.Join(it.Tags, ",")), it.Reference)
			}
			return tw.Flush()
		}
		return nil
	})
}

type evalsDiffOptions struct{ Output outputFormat }

func newEvalsDiffCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsDiffOptions{}
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Items added, removed and changed, and whether the scorer changed, from suite A to B",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return runEvalsDiff(c.Context(), g, s, o, args[0], args[1])
		},
	}
	addOutputFlag(cmd, &o.Output, outputText)
	return cmd
}

func runEvalsDiff(ctx context.Context, g *globalOptions, s *streams, o *evalsDiffOptions, a, b string) error {
	var rd store.Reader = store.NewMem()
	if st, err := store.Open(g.storeDir()); err == nil {
		rd = readOnly{st}
	}
	sa, err := resolveSuite(ctx, rd, a)
	if err != nil {
		return err
	}
	sb, err := resolveSuite(ctx, rd, b)
	if err != nil {
		return err
	}
	d := evals.DiffSuites(sa, sb)
	return writeResult(s.Out, o.Output, d, func(w io.Writer) error {
		fmt.Fprintf(w, "a: %s %s (%s)\nb: %s %s (%s)\n", sa.Spec.Name, sa.Spec.Version, d.A, sb.Spec.Name, sb.Spec.Version, d.B)
		return writeFields(w, d)
	})
}

// writeSuiteInfo prints a suite as aligned "key: value" lines.
func writeSuiteInfo(w io.Writer, i suiteInfo) error {
	scorer, err := json.Marshal(i.Scorer)
	if err != nil {
		return err
	}
	kv := func(m map[string]string) string {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			parts = append(parts, k+"="+m[k])
		}
		return dash(strings.Join(parts, ", "))
	}
	tags := map[string]string{}
	for k, n := range i.Tags {
		tags[k] = strconv.Itoa(n)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, r := range [][2]string{
		{"digest", i.Digest.String()}, {"name", i.Name}, {"version", i.Version}, {"description", dash(i.Description)},
		{"scorer", string(scorer)}, {"items", strconv.Itoa(i.Items)}, {"tags", kv(tags)}, {"metadata", kv(i.Metadata)},
		{"suite.json", i.SuiteJSON.String()}, {"items.jsonl", i.ItemsJSONL.String()},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

// readOnly hides a store's Writer so resolveSuite does not pack.
type readOnly struct{ store.Reader }
