package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/replay/counterfactual"
	"github.com/reprise-dev/reprise/verdict"
)

type attributeOptions struct {
	replayOptions
	Candidates []string
}

func newAttributeCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &attributeOptions{}
	cmd := newCommand("attribute RECORD --candidates SYS...", "Which system decided a record: the confidence set of candidate systems",
		help("attribute"), cobra.MinimumNArgs(1),
		func(ctx context.Context, args []string) error { return runAttribute(ctx, g, s, o, args) })
	o.addRequestFlags(cmd)
	cmd.Flags().StringArrayVar(&o.Candidates, "candidates", nil, "candidate systems: system files or records (repeatable; further arguments after the record are candidates too)")
	setUsage(cmd.Flags(), map[string]string{
		"n":             "number of runs with fresh seeds per candidate (a fixed-N replay; implies --sequential=false unless given)",
		"sequential":    "run in batches and stop as soon as each candidate's verdict is settled",
		"max-runs":      "most fresh-seed runs per candidate",
		"min-frequency": "minimum frequency of the stored label among a candidate's runs for it to reproduce",
		"alpha":         "family-wise error rate over the candidates: at most this probability of rejecting the system that decided",
		"margin":        "equivalence margin against reference outputs",
	})
	addDestFlag(cmd, &o.Out, "DIR", "output directory (default out/<request_id>/attribute)")
	addFormatFlag(cmd, &o.Output, outputText)
	o.Evals, o.EvalMargin = string(evals.CheckOff), evals.DefaultEvalMargin
	return cmd
}

// attributeLine is the JSON summary of an attribution.
type attributeLine struct {
	Record    string          `json:"record"`
	RequestID string          `json:"request_id,omitempty"`
	Set       []string        `json:"set"`
	Models    []string        `json:"models"`
	Recorded  verdict.Verdict `json:"recorded,omitempty"`
	Reports   string          `json:"reports,omitempty"`
	Error     string          `json:"error,omitempty"`
	ExitCode  int             `json:"exit_code"`
}

func runAttribute(ctx context.Context, g *globalOptions, s *streams, o *attributeOptions, args []string) error {
	cands := slices.Concat(o.Candidates, args[1:])
	if len(cands) == 0 {
		return usageErrorf("attribute needs at least one candidate system (--candidates SYS...)")
	}
	r, err := o.cfSetup(ctx, g, s, args[0], cands)
	if err != nil {
		return err
	}
	defer r.pool.Close(ctx)
	res, err := counterfactual.Attribute(ctx, r.st, r.rec, r.others, r.pool, r.ro)
	line := attributeLine{Record: args[0], RequestID: r.rec.RequestID, Set: []string{}, Models: []string{}}
	if res != nil {
		line.Reports, err = r.reports(res.WriteFiles, len(res.Runs), err, o.Out, "attribute")
	}
	if err != nil {
		line.ExitCode, line.Error = exitCode(err), err.Error()
	} else {
		rep := res.Report
		line.Set, line.Recorded = rep.Set, rep.Recorded
		for _, id := range rep.Set {
			i := slices.IndexFunc(rep.Candidates, func(c counterfactual.CandidateResult) bool { return c.SystemID == id })
			line.Models = append(line.Models, rep.Candidates[i].Version)
		}
		line.ExitCode = verdictCode(rep.Recorded) // the verdict on the record's own system
	}
	return finishCF(s, o.Output, line, line.ExitCode, err, func(w io.Writer) {
		fmt.Fprintf(w, "%s\n", clean(fmt.Sprintf("%s %s: {%s}  (the record's system: %s)", line.Record, line.RequestID, strings.Join(line.Models, ", "), line.Recorded)))
		for _, c := range res.Report.Candidates {
			fmt.Fprintln(w, clean(fmt.Sprintf("  %-9s %-12s %s  %s", c.Role, c.Verdict, c.Version, c.Source)))
		}
		if line.Reports != "" {
			fmt.Fprintln(w, clean("reports: "+line.Reports))
		}
	})
}
