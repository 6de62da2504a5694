package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/verdict"
)

// Result is one record of a night: the replay's verdict, its p-value, and
// the verdict after false-discovery control across the night.
type Result struct {
	RequestID     string    `json:"request_id"`
	Timestamp     time.Time `json:"timestamp"`
	System        string    `json:"system"`
	SystemName    string    `json:"system_name"`
	HardwareClass string    `json:"hardware_class"`
	// ReplayVerdict is the record's own verdict, as `replay` gives it.
	ReplayVerdict verdict.Verdict `json:"replay_verdict"`
	Basis         string          `json:"basis,omitempty"`
	// PValue is the record's p-value (see RecordPValue) and PTest the test
	// it came from; nil for an error or a record with no test.
	PValue *float64 `json:"p_value"`
	PTest  string   `json:"p_test,omitempty"`
	// QValue is the Benjamini–Hochberg adjusted p-value across the night.
	QValue *float64 `json:"q_value"`
	// Verdict is the night's verdict: DIVERGED only when the replay
	// diverged and QValue <= FDR.
	Verdict verdict.Verdict `json:"verdict"`
	// Why is the reason of the verdict (the report's reasons, or the error).
	Why        string  `json:"why"`
	Error      string  `json:"error,omitempty"`
	ErrorClass string  `json:"error_class,omitempty"` // "integrity", "environment", "usage"
	Stored     Stored  `json:"stored"`
	Labels     []Count `json:"label_counts,omitempty"`
	// Scores are replayed scores of the stored label (of every label,
	// ScoresAllLabels, when no replay gave the stored label), at most
	// MaxScores.
	Scores          []float64 `json:"scores,omitempty"`
	ScoresAllLabels bool      `json:"scores_all_labels,omitempty"`
	Reports         string    `json:"reports,omitempty"`
	// FleetP is the record's randomized conformal p-value (ConformalP) over
	// the outputs of its first FleetRuns fresh seeds, uniform when the
	// decision came from the pinned system; nil without one (an error, a
	// text-only output, a night without the fleet test). See Fleet.
	FleetP    *float64 `json:"fleet_p,omitempty"`
	FleetRuns int      `json:"fleet_runs,omitempty"`
	// Fingerprints and ServedModels are what the server said of itself
	// during the replay (runners.Info: openai system_fingerprint and
	// model), for `nightly history`.
	Fingerprints []string `json:"fingerprints,omitempty"`
	ServedModels []string `json:"served_models,omitempty"`
}

// Stored is the stored output of a record (label and score).
type Stored struct {
	Label *string  `json:"label"`
	Score *float64 `json:"score"`
}

// Count is one label's count among a record's replays.
type Count struct {
	Label string `json:"label"`
	N     int    `json:"n"`
}

// MaxScores is how many replayed scores a Result keeps for plots.
const MaxScores = 500

// RecordPValue is a record's p-value for the night's false-discovery
// control: the smallest p-value among its report's c applicable tests,
// times c (Bonferroni, capped at 1), so that it is a valid p-value of the
// record as a whole (the smallest of c p-values alone is not: under an
// honest record it falls below t with probability up to c·t). A frequency
// test without a p-value contributes the exact one-sided binomial p-value
// of its count under the minimum frequency, P(X <= k), X ~ Binomial(n, min
// frequency) (stats.BinomTest, alternative less): small when the stored
// value came back less often than a reproducible output would. It returns
// nil when no test gives one; the name is the test the smallest came from.
func RecordPValue(ev verdict.Evaluation, rules verdict.Rules) (*float64, string) {
	var best *float64
	name := ""
	consider := func(p float64, n string) {
		if best == nil || p < *best {
			best, name = &p, n
		}
	}
	for _, t := range ev.Tests {
		if t.Skipped != "" {
			continue
		}
		if t.PValue != nil {
			consider(*t.PValue, t.Name)
			continue
		}
		if t.Successes != nil && t.Trials != nil && *t.Trials > 0 {
			r, err := stats.BinomTest(*t.Successes, *t.Trials, rules.WithDefaults().MinFrequency, stats.Less, 0.95)
			if err == nil {
				consider(r.PValue, t.Name+" (binomial, less)")
			}
		}
	}
	if best != nil && len(ev.Tests) > 1 {
		p := min(1, *best*float64(len(ev.Tests)))
		best = &p
		name = fmt.Sprintf("%s (Bonferroni over %d tests)", name, len(ev.Tests))
	}
	return best, name
}

// sessionKey groups records that one session can serve: the system, the
// hardware class, the protocol, and the record's environment and limits.
func sessionKey(r *record.Record) string {
	b, _ := json.Marshal(struct {
		P string
		E map[string]string
		L *record.Limits
	}{r.Runtime.Protocol, r.Runtime.EnvVars, r.Runtime.Limits})
	return SystemKey(r) + " " + string(b)
}

// group splits records (sorted by system) into session groups, in order.
func group(recs []*record.Record) [][]*record.Record {
	idx := map[string]int{}
	var out [][]*record.Record
	for _, r := range recs {
		k := sessionKey(r)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// replayed is one record's replay as a night sees it: the last replay's
// result (nil: none), the p-value of its confirming replays and the test it
// came from ("" when it had none, see confirm), the session it was lent
// (nil: none), and the replay's error.
type replayed struct {
	res         *replay.Result
	confirmP    *float64
	confirmTest string
	sess        *launch.Session
	err         error
	// fleet are the outputs of the record's first fleet runs (fleet.go).
	fleet []output.Output
}

// runGroup replays one system's records on one session lent by pool,
// journals each (finish), and retires the session when the group is done.
func (n *night) runGroup(ctx context.Context, pool *launch.Pool, recs []*record.Record) error {
	var last *launch.Session
	defer func() { pool.Retire(ctx, last) }()
	for _, rec := range recs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rp := n.replayOne(ctx, pool, rec)
		if rp.sess != nil {
			last = rp.sess
		}
		if ctx.Err() != nil {
			return ctx.Err() // not journaled: the record is replayed again on resume
		}
		r, werr := n.outcome(rec, rp)
		if werr != nil {
			return werr
		}
		if rp.err != nil && rp.sess != nil && !errors.Is(rp.err, replay.ErrIntegrity) {
			pool.Release(ctx, rp.sess, true) // the session may be dead or out of step
		}
		if err := n.finish(r); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return nil
}

// replayOne replays rec on a session lent by pool (Prepare, Run, Decide),
// and confirms it (confirm) unless its pinned seed reproduced it exactly.
func (n *night) replayOne(ctx context.Context, pool *launch.Pool, rec *record.Record) (rp replayed) {
	o := n.opts.Replay
	o.Progress = n.enter(rec.RequestID, stageReplay, max(o.N, o.MaxRuns), o.Sequential)
	p, err := replay.Prepare(ctx, n.st, rec, o)
	if err != nil {
		return replayed{err: err}
	}
	sess, err := pool.Acquire(ctx, p.Target(), p.Launch)
	if err != nil {
		rp.res, rp.err = p.Fail(replay.SessionError(err), o)
		return rp
	}
	rp.sess = sess
	k := n.opts.FleetRuns
	if rp.res, rp.err = runDecide(ctx, sess, p, o); rp.err == nil && n.opts.ConfirmN > 0 && !exactMatch(rp.res) {
		rp.confirmP, rp.confirmTest, rp.res, rp.err = confirm(ctx, n.st, rec, sess, n.opts, rp.res, &rp.fleet, n.enter)
	} else if rp.err == nil && n.opts.ConfirmN > 0 && k > 0 {
		if rp.fleet, err = fleetReplay(ctx, n.st, rec, sess, n.opts); err != nil {
			n.opts.Replay.Logger.Warn("fleet runs failed: the record has no fleet p-value", "request_id", rec.RequestID, "err", err)
		}
	} else if rp.err == nil {
		rp.fleet = freshOutputs(rp.res, k)
	}
	return rp
}

// runDecide runs a prepared record on sess and decides its verdict.
func runDecide(ctx context.Context, sess *launch.Session, p *replay.Prepared, o replay.Options) (*replay.Result, error) {
	res, err := replay.Run(ctx, sess, p, o)
	if err != nil {
		return res, err
	}
	return res, replay.Decide(res, o)
}

// outcome is the night's result of one record's replay, after writing its
// reports; the error returned is a failure to write them.
func (n *night) outcome(rec *record.Record, rp replayed) (Result, error) {
	res := rp.res
	r := Result{RequestID: rec.RequestID, Timestamp: rec.Timestamp, System: SystemKey(rec), SystemName: SystemName(rec),
		HardwareClass: rec.Runtime.HardwareClass, Stored: Stored{Label: rec.Output.Label, Score: rec.Output.Score}}
	if res != nil && len(res.Runs) > 0 {
		dir := filepath.Join(n.opts.Out, RecordsDir, rec.RequestID)
		if werr := res.WriteFiles(dir); werr != nil {
			return r, fmt.Errorf("%s: write reports: %w", rec.RequestID, werr)
		}
		r.Reports = filepath.Join(RecordsDir, rec.RequestID)
	}
	if rp.err != nil {
		r.ReplayVerdict, r.Error, r.ErrorClass = verdict.Failed, rp.err.Error(), ErrorClass(rp.err)
		return r, nil
	}
	rep := res.Report
	r.ReplayVerdict, r.Basis = rep.Verdict, rep.Basis
	r.PValue, r.PTest = RecordPValue(rep.Evaluation, n.opts.Replay.Rules)
	if rp.confirmTest != "" {
		r.PValue, r.PTest = rp.confirmP, rp.confirmTest
	}
	r.Why = joinReasons(rep.Reasons)
	r.fleetP(rec.Output.Output, rp.fleet)
	if res.Report.Runner != nil {
		r.Fingerprints, r.ServedModels = res.Report.Runner.Fingerprints, res.Report.Runner.ServedModels
	}
	for _, l := range sortedKeys(rep.LabelCounts) {
		r.Labels = append(r.Labels, Count{Label: l, N: rep.LabelCounts[l]})
	}
	r.Scores = replayedScores(res.Runs, rec.Output.Label)
	if len(r.Scores) == 0 && rec.Output.Label != nil {
		r.Scores, r.ScoresAllLabels = replayedScores(res.Runs, nil), true
	}
	return r, nil
}

// replayedScores are the first MaxScores scores of the fresh-seed runs
// that replayed label (every run's when label is nil).
func replayedScores(runs []replay.RunRow, label *string) []float64 {
	var out []float64
	for _, run := range runs {
		if run.Kind == "replay" && run.Score != nil && len(out) < MaxScores &&
			(label == nil || run.Label != nil && *run.Label == *label) {
			out = append(out, *run.Score)
		}
	}
	return out
}

// ConfirmStages is the number of confirming replays a record may get: one
// of Options.ConfirmN runs, and, when that one is INCONCLUSIVE (a check
// without the power to reject, e.g. the stored label too rare among the
// replays for its score to be tested), one of ConfirmGrowth × ConfirmN.
const (
	ConfirmStages = 2
	ConfirmGrowth = 20
)

// confirm replays a record whose pinned seed did not reproduce its stored
// output exactly with a fixed number of fresh seeds (the same derived seeds
// as the sequential replay, so the first runs repeat): ConfirmN, then
// ConfirmGrowth × ConfirmN when the first is INCONCLUSIVE. It returns the
// last replay and the record's p-value: the smaller of the stages'
// RecordPValue times ConfirmStages (Bonferroni over the stages, whether or
// not the second ran), capped at 1. Each stage's p-value is that of a
// fixed-N experiment, so this is a valid p-value whatever decides to run
// the second stage; whether a record is confirmed at all depends only on its
// pinned-seed run. The first stage's first FleetRuns outputs go to fleet
// (see Options.FleetRuns). Each stage's runs are reported through enter
// (nil: not reported).
func confirm(ctx context.Context, st replay.Blobs, rec *record.Record, sess *launch.Session, opts Options, seq *replay.Result, fleet *[]output.Output,
	enter func(id, stage string, total int, sequential bool) func(done, total int)) (*float64, string, *replay.Result, error) {
	var best *float64
	name := ""
	res := seq
	for stage, n := 0, opts.ConfirmN; stage < ConfirmStages; stage, n = stage+1, n*ConfirmGrowth {
		co := opts.Replay
		co.Sequential, co.N, co.Progress = false, n, nil
		if enter != nil {
			co.Progress = enter(rec.RequestID, stageConfirm(stage), n, false)
		}
		p, err := replay.Prepare(ctx, st, rec, co)
		if err != nil {
			res, err = p.Fail(err, co)
			return nil, "", res, err
		}
		if res, err = runDecide(ctx, sess, p, co); err != nil {
			return nil, "", res, err
		}
		if stage == 0 {
			*fleet = freshOutputs(res, opts.FleetRuns) // the first stage: its first seeds are every record's fleet seeds
		}
		if p, t := RecordPValue(res.Report.Evaluation, opts.Replay.Rules); p != nil && (best == nil || *p < *best) {
			best, name = p, fmt.Sprintf("%s, confirming replay of %d runs", t, n)
		}
		if res.Report.Verdict != verdict.Inconclusive {
			break
		}
	}
	if best == nil {
		return nil, "", res, nil
	}
	p := min(1, *best*ConfirmStages)
	return &p, fmt.Sprintf("%s; Bonferroni over %d confirming stages", name, ConfirmStages), res, nil
}

// exactMatch reports whether a replay's pinned seed gave back the stored
// output exactly.
func exactMatch(res *replay.Result) bool {
	return res != nil && res.Report != nil && res.Report.Exact != nil && res.Report.Exact.ExactMatch
}

// ErrorClass classifies a replay error for exit codes: "integrity",
// "usage" or "environment".
func ErrorClass(err error) string {
	switch {
	case errors.Is(err, replay.ErrIntegrity):
		return "integrity"
	case errors.Is(err, replay.ErrNoRecord), errors.Is(err, replay.ErrReportsDir), errors.Is(err, replay.ErrLocked),
		errors.Is(err, replay.ErrDuplicateRequest), errors.Is(err, record.ErrMalformed), errors.Is(err, verdict.ErrRules),
		errors.Is(err, runners.ErrRegistryNotAllowed):
		return "usage"
	case errors.Is(err, runners.ErrImageMismatch):
		return "integrity"
	}
	return "environment"
}

func joinReasons(rs []string) string {
	var b bytes.Buffer
	for i, r := range rs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r)
	}
	return b.String()
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
