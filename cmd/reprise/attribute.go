package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/replay"
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
	o.Request.Given = cmd.Flags().Changed
	o.runnerOptions.addFlags(cmd)
	o.runnerOptions.addInFlightFlags(cmd.Flags())
	f := cmd.Flags()
	f.StringArrayVar(&o.Candidates, "candidates", nil, "candidate systems: system files or records (repeatable; further arguments after the record are candidates too)")
	f.IntVarP(&o.N, "n", "n", 100, "number of runs with fresh seeds per candidate (a fixed-N replay; implies --sequential=false unless given)")
	f.BoolVar(&o.Sequential, "sequential", true, "run in batches and stop as soon as each candidate's verdict is settled")
	f.IntVar(&o.MaxRuns, "max-runs", verdict.DefaultMaxRuns, "most fresh-seed runs per candidate")
	f.IntVar(&o.Batch, "batch", verdict.DefaultBatch, "runs between two looks of a sequential replay")
	f.Uint64Var(&o.ReplaySeed, "replay-seed", 0, "seed of the fresh seeds (default: derived from the request id)")
	dr := verdict.DefaultRules()
	f.Float64Var(&o.MinFrequency, "min-frequency", dr.MinFrequency, "minimum frequency of the stored label among a candidate's runs for it to reproduce")
	f.Float64Var(&o.Alpha, "alpha", dr.Alpha, "family-wise error rate over the candidates: at most this probability of rejecting the system that decided")
	f.Float64Var(&o.Conf, "conf", dr.Conf, "confidence level of the frequency intervals")
	f.Float64Var(&o.Margin, "margin", dr.Margin, "equivalence margin against reference outputs")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "replay even if this host's hardware class differs from the record's (stated in the report)")
	addDestFlag(cmd, &o.Out, "DIR", "output directory (default out/<request_id>/attribute)")
	addOutputFlag(cmd, &o.Output, outputText)
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
	rec, err := replay.LoadRecord(args[0])
	if err != nil {
		return err
	}
	others, err := loadSystems(cands)
	if err != nil {
		return err
	}
	pool, st, ro, err := o.cfSetup(ctx, g, s)
	if err != nil {
		return err
	}
	defer pool.Close(ctx)
	res, err := counterfactual.Attribute(ctx, st, rec, others, pool, ro)
	line := attributeLine{Record: args[0], RequestID: rec.RequestID, Set: []string{}, Models: []string{}}
	if res != nil && writeable(err, len(res.Runs)) {
		dir := reportsDir(o.Out, rec.RequestID, "attribute")
		if werr := res.WriteFiles(dir); werr != nil && err == nil {
			err = fmt.Errorf("write reports: %w", werr)
		}
		line.Reports = dir
	}
	return finishAttribute(s, o.Output, line, res, err)
}

// attributeCode is the exit code of an attribution: the verdict on the
// record's own system.
func attributeCode(v verdict.Verdict) int { return verdictCode(v) }

// finishAttribute prints the outcome and returns the exit condition.
func finishAttribute(s *streams, format outputFormat, line attributeLine, res *counterfactual.AttributeResult, err error) error {
	if err != nil {
		line.ExitCode, line.Error = exitCode(err), err.Error()
	} else {
		rep := res.Report
		line.Set, line.Recorded = rep.Set, rep.Recorded
		for _, id := range rep.Set {
			i := slices.IndexFunc(rep.Candidates, func(c counterfactual.CandidateResult) bool { return c.SystemID == id })
			line.Models = append(line.Models, rep.Candidates[i].Version)
		}
		line.ExitCode = attributeCode(rep.Recorded)
	}
	if format == outputJSON {
		if werr := writeJSON(s.Out, line); werr != nil {
			return werr
		}
	} else if err == nil {
		fmt.Fprintf(s.Out, "%s\n", clean(fmt.Sprintf("%s %s: {%s}  (the record's system: %s)", line.Record, line.RequestID, strings.Join(line.Models, ", "), line.Recorded)))
		for _, c := range res.Report.Candidates {
			fmt.Fprintln(s.Out, clean(fmt.Sprintf("  %-9s %-12s %s  %s", c.Role, c.Verdict, c.Version, c.Source)))
		}
		if line.Reports != "" {
			fmt.Fprintln(s.Out, clean("reports: "+line.Reports))
		}
	}
	if err != nil {
		return err
	}
	if line.ExitCode != exitOK {
		return &silentError{line.ExitCode}
	}
	return nil
}
