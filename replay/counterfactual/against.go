package counterfactual

import (
	"context"
	"fmt"
	"time"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// AgainstSchema names the report.json format of a counterfactual replay.
const AgainstSchema = "reprise/against/v1"

// AgainstReport is report.json of a counterfactual replay.
type AgainstReport struct {
	Schema string        `json:"schema"`
	Record RecordSummary `json:"record"`
	// Systems are A (the record's own, role "recorded") and B ("against").
	Systems []SystemSection  `json:"systems"`
	Verdict verdict.Sameness `json:"verdict"`
	// Comparison is the two-system test at the look that settled it.
	Comparison *verdict.Comparison `json:"comparison"`
	Looks      []LookResult        `json:"looks"`
	Params     Params              `json:"params"`
	Notes      []string            `json:"notes"`
	Error      string              `json:"error,omitempty"`
	Timings    Timings             `json:"timings"`
}

// RecordSummary identifies the record.
type RecordSummary struct {
	RequestID   string `json:"request_id"`
	Timestamp   string `json:"timestamp"`
	Protocol    string `json:"protocol"`
	InputDigest string `json:"input_digest"`
	output.Columns
}

func summary(rec *record.Record) RecordSummary {
	return RecordSummary{RequestID: rec.RequestID, Timestamp: rec.Timestamp.Format(time.RFC3339Nano), Protocol: rec.Runtime.Protocol,
		InputDigest: rec.Input.Digest.String(), Columns: output.ColumnsOf(rec.Output.Output)}
}

// LookResult is one look of the comparison: runs per system, its share of
// alpha and level, and the verdict there.
type LookResult struct {
	Runs    int              `json:"runs"`
	Share   float64          `json:"share"`
	Level   float64          `json:"level"`
	Verdict verdict.Sameness `json:"verdict"`
}

// Params are the settings the comparison ran with.
type Params struct {
	Sequential bool          `json:"sequential"`
	N          int           `json:"n,omitempty"`
	MaxRuns    int           `json:"max_runs,omitempty"`
	ReplaySeed system.Seed64 `json:"replay_seed"`
	Rules      verdict.Rules `json:"rules"`
}

// paramsOf is the settings of a replay of rec with opts: the replay seed
// opts.ReplaySeed, or the one derived from the request id; MaxRuns when
// sequential, else N.
func paramsOf(rec *record.Record, opts replay.Options) Params {
	p := Params{Sequential: opts.Sequential, ReplaySeed: system.Seed64(replay.DeriveReplaySeed(rec.RequestID)), Rules: opts.Rules}
	if opts.ReplaySeed != nil {
		p.ReplaySeed = system.Seed64(*opts.ReplaySeed)
	}
	if opts.Sequential {
		p.MaxRuns = opts.MaxRuns
	} else {
		p.N = opts.N
	}
	return p
}

// Timings are wall times.
type Timings struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	TotalMS  float64   `json:"total_ms"`
}

func (t *Timings) finish(now time.Time) {
	t.Finished = now
	t.TotalMS = float64(now.Sub(t.Started).Microseconds()) / 1000
}

// AgainstResult is a counterfactual replay: its report and every run.
type AgainstResult struct {
	Report *AgainstReport
	Runs   []Run
}

// Against replays rec's input on its own system (A) and on other (B), one
// session each lent by pool (a sharing pool: every chunk of runs borrows
// the system's one session), and compares the two systems on this input
// (verdict.CompareSystems) along NewPlan(opts.Sequential, opts.N,
// opts.MaxRuns): after each look's runs on A then on B, it stops once the
// verdict is settled. A's fresh seeds are replay's (the replay seed,
// opts.ReplaySeed or derived from the request id, per chunk), B's a
// stream of their own; the record's pinned seed runs once on each.
// Integrity is verified first (nothing runs on a failure: replay.Prepare).
// On an error after it, the result still holds the report (Error set) and
// the runs so far. Errors wrap ErrProtocol, replay's and the runners'.
func Against(ctx context.Context, st replay.Blobs, rec *record.Record, other System, pool *launch.Pool, opts replay.Options) (*AgainstResult, error) {
	defaults(&opts)
	plan := NewPlan(opts.Sequential, opts.N, opts.MaxRuns)
	rep := &AgainstReport{Schema: AgainstSchema, Record: summary(rec), Verdict: verdict.Undetermined, Looks: []LookResult{}, Notes: []string{},
		Params:  paramsOf(rec, opts),
		Timings: Timings{Started: opts.Now()}}
	res := &AgainstResult{Report: rep}
	fail := func(err error) (*AgainstResult, error) {
		rep.Error = err.Error()
		rep.Timings.finish(opts.Now())
		return res, err
	}
	tb, err := other.target(rec)
	if err != nil {
		return fail(err)
	}
	p, err := replay.Prepare(ctx, st, rec, opts)
	if err != nil {
		return fail(err)
	}
	a, b := newSection("recorded", Recorded(rec, "the record's system")), newSection("against", other)
	sides := [2]*runner{{pool: pool, p: p, target: p.Target(), opts: opts, side: 0, sec: &a}, {pool: pool, p: p, target: tb, opts: opts, side: 1, sec: &b}}
	var outs [2][]output.Output
	draw := func(s, n int) ([]output.Output, error) {
		more, err := sides[s].chunk(ctx, n)
		outs[s] = append(outs[s], more...)
		return more, err
	}
	c, j, err := plan.Sequence(rec.Output.Output, opts.Rules, draw)
	for _, s := range sides {
		res.Runs = append(res.Runs, s.runs...)
	}
	for s, sec := range []*SystemSection{&a, &b} {
		sec.Runs, sec.LabelCounts = len(outs[s]), labelCounts(outs[s])
		sec.Stored = storedShare(rec.Output.Output, outs[s], opts.Rules.Conf)
	}
	rep.Systems = []SystemSection{a, b}
	if err != nil {
		return fail(err)
	}
	rep.Comparison, rep.Verdict = c, c.Verdict
	for i := 0; i <= j; i++ {
		l := plan.Looks[i]
		lr := LookResult{Runs: l.Runs, Share: l.Share, Level: opts.Rules.Alpha * l.Share, Verdict: verdict.Undetermined}
		if i == j {
			lr.Verdict = c.Verdict
		}
		rep.Looks = append(rep.Looks, lr)
	}
	if a.SystemID == b.SystemID {
		rep.Notes = append(rep.Notes, "both sides are one composite version (the same system id): they share one session, each with its own seeds")
	}
	rep.Notes = append(rep.Notes, againstNotes(rep, plan, j)...)
	rep.Timings.finish(opts.Now())
	return res, nil
}

// againstNotes say how the comparison stopped and what the stored output
// shows on each system.
func againstNotes(rep *AgainstReport, plan Plan, j int) []string {
	var notes []string
	l := plan.Looks[j]
	if rep.Params.Sequential {
		notes = append(notes, fmt.Sprintf("sequential: looks after %s runs of each system; stopped at look %d of %d (%d runs each, at %g of alpha)", lookList(plan), j+1, len(plan.Looks), l.Runs, l.Share))
	}
	for _, s := range rep.Systems {
		if s.Stored != nil {
			notes = append(notes, fmt.Sprintf("%s (%s) gave the stored %s in %d of %d runs (%.0f%% interval [%.4f, %.4f])",
				s.Role, s.Version, s.Stored.What, s.Stored.K, s.Stored.N, 100*s.Stored.Interval.Conf, s.Stored.Interval.Lower, s.Stored.Interval.Upper))
		}
		if s.Exact != nil {
			notes = append(notes, fmt.Sprintf("%s (%s): the pinned seed %d gave the stored output exactly: %v", s.Role, s.Version, s.Exact.Seed, s.Exact.ExactMatch))
		}
	}
	return notes
}

func lookList(p Plan) string {
	s := ""
	for i, l := range p.Looks {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(l.Runs)
	}
	return s
}
