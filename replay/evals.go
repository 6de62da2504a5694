package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// EvalMode says whether a replay also replays the record's pinned eval suite.
type EvalMode string

const (
	// EvalAuto (the default): replay the pinned suite when the record pins
	// one and the store holds a run of the record's system on it; skip it
	// otherwise, with a note.
	EvalAuto EvalMode = "auto"
	// EvalOn: the eval check is required; a record that pins no suite, or
	// whose system has no stored run on it, is a usage error (ErrUsage).
	EvalOn EvalMode = "on"
	// EvalOff: never replay the suite.
	EvalOff EvalMode = "off"
)

// ParseEvalMode parses auto, on or off.
func ParseEvalMode(s string) (EvalMode, error) {
	switch m := EvalMode(s); m {
	case EvalAuto, EvalOn, EvalOff:
		return m, nil
	}
	return "", fmt.Errorf("%w: --evals must be auto, on or off, got %q", ErrUsage, s)
}

// EvalStore is what the eval check needs of the store: it reads the suite
// and the stored runs and writes the new run.
type EvalStore interface {
	evals.Lister
	store.Writer
}

// EvalOptions configure the replay of a record's pinned eval suite.
type EvalOptions struct {
	// Mode is EvalAuto when empty; with Store nil the suite is never run.
	Mode  EvalMode
	Store EvalStore
	// Margin is the equivalence margin of the mean score (default
	// evals.DefaultEvalMargin).
	Margin float64
	// RunSeed is the new run's seed (nil: the baseline's seed + 1).
	RunSeed *int64
}

// EvalSection is the report's eval section: the pinned suite run again on
// the replay's session and compared, paired per item, with the stored run
// of the record's system on it.
type EvalSection struct {
	Suite        string `json:"suite"`
	SuiteName    string `json:"suite_name"`
	SuiteVersion string `json:"suite_version"`
	// BaselineRun is the stored run reproduced; Run the new one (stored).
	BaselineRun string `json:"baseline_run"`
	Run         string `json:"run"`
	RunSeed     int64  `json:"run_seed"`
	Epochs      int    `json:"epochs"`
	Items       int    `json:"items"`
	// MeanBaseline and MeanReplay are the mean scores over the paired
	// items; Diff = MeanReplay − MeanBaseline, [Lower, Upper] its 1 − 2·Level
	// paired t interval, which the TOST decides with.
	MeanBaseline float64 `json:"mean_baseline"`
	MeanReplay   float64 `json:"mean_replay"`
	Diff         float64 `json:"mean_diff"`
	Lower        float64 `json:"diff_lower"`
	Upper        float64 `json:"diff_upper"`
	Margin       float64 `json:"margin"`
	// Level is the eval check's share of the record's alpha; TOSTP the
	// TOST's p-value (equivalent when below Level).
	Level float64 `json:"level"`
	TOSTP float64 `json:"tost_p"`
	// Test and PValue are the paired difference test (McNemar for 0/1
	// scores, else Wilcoxon signed rank), reported, not decided on.
	Test     string       `json:"test"`
	PValue   float64      `json:"p_value"`
	Flipped  []evals.Flip `json:"flipped"`
	Verdict  string       `json:"verdict"`
	Warnings []string     `json:"warnings,omitempty"`
	RunsMS   float64      `json:"runs_ms"`
}

// prepareEval finds what the eval check of rec needs (nil: no check), or
// the error that stops the replay. Notes say why a check was skipped.
func prepareEval(ctx context.Context, rec *record.Record, o EvalOptions) (*evals.Pinned, []string, error) {
	mode := o.Mode
	if mode == "" {
		mode = EvalAuto
	}
	if mode == EvalOff || o.Store == nil {
		return nil, nil, nil
	}
	if rec.EvalSuite.IsZero() {
		if mode == EvalOn {
			return nil, nil, fmt.Errorf("%w: --evals on: record %s pins no eval suite (eval_suite)", ErrUsage, rec.RequestID)
		}
		return nil, nil, nil
	}
	p, err := evals.FindBaseline(ctx, o.Store, rec.EvalSuite, rec.System.ID)
	switch {
	case err == nil:
		return p, nil, nil
	case mode == EvalAuto && (errors.Is(err, evals.ErrNoBaseline) || errors.Is(err, store.ErrNotFound)):
		return nil, []string{fmt.Sprintf("the eval check was skipped (--evals auto): %v", err)}, nil
	case errors.Is(err, evals.ErrNoBaseline) || errors.Is(err, store.ErrNotFound):
		return nil, nil, fmt.Errorf("%w: --evals on: %w", ErrUsage, err)
	case errors.Is(err, store.ErrCorrupt) || errors.Is(err, evals.ErrSuite) || errors.Is(err, evals.ErrResults):
		return nil, nil, fmt.Errorf("%w: eval suite %s: %w", ErrIntegrity, rec.EvalSuite, err)
	}
	return nil, nil, err
}

// runEval runs the pinned suite on the replay's session.
func runEval(ctx context.Context, p *evals.Pinned, sess *launch.Session, rec *record.Record, opts Options) (*evalCheck, error) {
	t := launch.FromRecord(rec)
	t0 := opts.Now()
	r, err := p.Reproduce(ctx, sess, opts.Evals.Store, evals.ReproduceOptions{System: t.System, Protocol: t.Protocol, HardwareClass: t.HardwareClass,
		RunSeed: opts.Evals.RunSeed, Margin: opts.Evals.Margin, Alpha: min(opts.Rules.Alpha, 0.49), Logger: opts.Logger, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	return &evalCheck{r: r, margin: r.Comparison.Margin, ms: ms(opts.Now().Sub(t0))}, nil
}

// evalCheck is the eval suite's reproduction as one check of the record's
// verdict: it supports the record when the TOST shows the mean score
// equivalent within the margin, rejects it when the interval of the
// difference lies outside the margin, and is undecided otherwise. Its
// level is its share of the record's alpha (Bonferroni, like every check).
// The suite runs once, before the replay's runs, so its evidence is fixed:
// asking it again after every batch of a sequential replay gives the same
// answer and adds no false alarms (a SequentialCheck).
type evalCheck struct {
	r      *evals.Reproduction
	margin float64
	ms     float64
	// last is the finding at level lastAlpha (a sequential replay asks
	// after every batch at the same level; the bootstrap is not redone).
	last      *verdict.Finding
	lastAlpha float64
}

// Applies always: the check exists only when the suite was run.
func (c *evalCheck) Applies(output.Output) bool { return true }

// Run implements verdict.Check.
func (c *evalCheck) Run(_ output.Output, _ []output.Output, r verdict.Rules) (verdict.Finding, error) {
	alpha := min(r.Alpha, 0.49)
	if c.last != nil && c.lastAlpha == alpha {
		return *c.last, nil
	}
	cmp, err := c.r.Compare(c.margin, alpha)
	if err != nil {
		return verdict.Finding{}, err
	}
	name := fmt.Sprintf("eval suite %s %s", c.r.SuiteName, c.r.SuiteVersion)
	conf := 1 - 2*alpha
	f := verdict.Finding{Test: verdict.TestResult{
		Name:      name,
		Method:    fmt.Sprintf("paired TOST of the mean score, margin ±%g, over %d items (%s p = %.4g)", cmp.Margin, cmp.Items, cmp.Test, cmp.PValue),
		Statistic: &cmp.Diff, PValue: cmp.TOSTP, N: &cmp.Items,
		Interval: &verdict.Interval{Lower: *cmp.EqLower, Upper: *cmp.EqUpper, Conf: conf, Method: "paired t"},
		Rejected: ptrTo(c.r.Verdict == evals.Diverged),
	}}
	head := fmt.Sprintf("%s: mean score %.4f replayed vs %.4f stored (run %s), difference %+.4f, %.4g interval [%.4f, %.4f]",
		name, cmp.MeanB, cmp.MeanA, c.r.Baseline, cmp.Diff, conf, *cmp.EqLower, *cmp.EqUpper)
	switch c.r.Verdict {
	case evals.Reproduced:
		f.Outcome = verdict.Supports
		f.Reasons = []string{fmt.Sprintf("%s inside ±%g: the eval score reproduces (TOST p = %.4g < level %.4g)", head, cmp.Margin, *cmp.TOSTP, alpha)}
	case evals.Diverged:
		f.Outcome = verdict.Rejects
		f.Reasons = []string{fmt.Sprintf("%s outside ±%g: the eval score diverged (%d items flipped)", head, cmp.Margin, len(cmp.Flipped))}
	default:
		f.Outcome = verdict.Undecided
		f.Reasons = []string{fmt.Sprintf("%s overlaps ±%g without lying inside it: the eval check is inconclusive; more replay runs cannot settle it, more epochs in the stored run (evals run -k) or a wider --eval-margin can", head, cmp.Margin)}
		// No number of replay runs can make it support the stored
		// output: a sequential replay stops once the other checks can no
		// longer reject (replay.Decide's futility rule).
		f.Underpowered = "the eval suite's result is fixed before the replay's runs; more runs cannot settle it"
		f.RunsNeededLow = math.MaxInt32
	}
	c.last, c.lastAlpha = &f, alpha
	return f, nil
}

// RunSequential implements verdict.SequentialCheck: the evidence is fixed.
func (c *evalCheck) RunSequential(s output.Output, outs []output.Output, r verdict.Rules) (verdict.Finding, error) {
	return c.Run(s, outs, r)
}

var _ verdict.SequentialCheck = (*evalCheck)(nil)

func ptrTo[T any](v T) *T { return &v }

// section is the report's eval section of the last comparison.
func (c *evalCheck) section() *EvalSection {
	r, cmp := c.r, c.r.Comparison
	return &EvalSection{Suite: r.Suite.String(), SuiteName: r.SuiteName, SuiteVersion: r.SuiteVersion,
		BaselineRun: r.Baseline.String(), Run: r.Run.String(), RunSeed: r.RunSeed, Epochs: r.Epochs, Items: cmp.Items,
		MeanBaseline: cmp.MeanA, MeanReplay: cmp.MeanB, Diff: cmp.Diff, Lower: *cmp.EqLower, Upper: *cmp.EqUpper,
		Margin: cmp.Margin, Level: cmp.Alpha, TOSTP: *cmp.TOSTP, Test: cmp.Test, PValue: cmp.PValue, Flipped: cmp.Flipped,
		Verdict: r.Verdict, Warnings: cmp.Warnings, RunsMS: c.ms}
}

// foldEval puts the eval check's last comparison into the report. The
// eval check is not overruled by an exact match of the pinned seed: the
// decision came back, but a record is REPRODUCED only when its system also
// still scores as recorded on its pinned suite (DIVERGED when the eval
// diverged, INCONCLUSIVE when it did not settle). This only moves verdicts
// away from REPRODUCED, and the eval test still runs at its share of alpha,
// so the false-alarm bound holds.
func foldEval(rep *Report, c *evalCheck) {
	rep.Eval = c.section()
	if rep.Verdict != verdict.Reproduced {
		return
	}
	switch rep.Eval.Verdict {
	case evals.Diverged:
		rep.Verdict, rep.Basis = verdict.Diverged, ""
		rep.Reasons = append(rep.Reasons, "the decision reproduced, but the eval suite diverged: the record is DIVERGED")
	case evals.Inconclusive:
		rep.Verdict, rep.Basis = verdict.Inconclusive, ""
		rep.Reasons = append(rep.Reasons, "the decision reproduced, but the eval check is inconclusive: the record is INCONCLUSIVE")
	}
}

// writeEvalSection renders the eval section of report.md.
func writeEvalSection(b *strings.Builder, ev *EvalSection) {
	e, code := mdEscape, mdCode
	fmt.Fprintf(b, "## Eval suite: %s\n\n", e(ev.Verdict))
	fmt.Fprintf(b, "Suite %s %s (%s), run again on this replay's session: %d items × %d epochs, run seed %d, %.0f ms.\n\n",
		e(ev.SuiteName), e(ev.SuiteVersion), code(ev.Suite), ev.Items, ev.Epochs, ev.RunSeed, ev.RunsMS)
	b.WriteString("| | run | mean score |\n|---|---|---:|\n")
	fmt.Fprintf(b, "| stored (baseline) | %s | %.4f |\n| replayed | %s | %.4f |\n\n", code(ev.BaselineRun), ev.MeanBaseline, code(ev.Run), ev.MeanReplay)
	fmt.Fprintf(b, "Difference %+.4f, %.4g paired t interval [%.4f, %.4f], margin ±%g: TOST p = %.4g (level %.4g, the eval check's share of alpha). %s: p = %.4g.\n\n",
		ev.Diff, 1-2*ev.Level, ev.Lower, ev.Upper, ev.Margin, ev.TOSTP, ev.Level, e(ev.Test), ev.PValue)
	if len(ev.Flipped) == 0 {
		b.WriteString("No item flipped.\n\n")
	} else {
		b.WriteString("| flipped item | stored | replayed |\n|---|---:|---:|\n")
		for _, f := range ev.Flipped {
			fmt.Fprintf(b, "| %s | %.3f | %.3f |\n", e(f.Item), f.A, f.B)
		}
		b.WriteString("\n")
	}
	for _, w := range ev.Warnings {
		fmt.Fprintf(b, "- warning: %s\n", e(w))
	}
	if len(ev.Warnings) > 0 {
		b.WriteString("\n")
	}
}
