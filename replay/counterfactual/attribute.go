package counterfactual

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/verdict"
)

// AttributeSchema names the report.json format of an attribution.
const AttributeSchema = "reprise/attribute/v1"

// AttributeReport is report.json of an attribution.
type AttributeReport struct {
	Schema string        `json:"schema"`
	Record RecordSummary `json:"record"`
	// Candidates are the systems tested, the record's own first (role
	// "recorded"), each with its replay verdict at level Alpha/m.
	Candidates []CandidateResult `json:"candidates"`
	// Set is the confidence set: the system ids of the candidates not
	// rejected, most likely first (Order).
	Set []string `json:"set"`
	// Order says how Set is ordered.
	Order string `json:"order"`
	// Recorded is the record's own system's verdict: REPRODUCED (in the
	// set, supported), DIVERGED (excluded) or INCONCLUSIVE (in the set,
	// not rejected for want of evidence).
	Recorded verdict.Verdict `json:"recorded"`
	// Alpha is the family-wise error rate; Level = Alpha/m each.
	Alpha   float64  `json:"alpha"`
	Level   float64  `json:"level"`
	Params  Params   `json:"params"`
	Reasons []string `json:"reasons"`
	Notes   []string `json:"notes"`
	Error   string   `json:"error,omitempty"`
	Timings Timings  `json:"timings"`
}

// CandidateResult is one candidate's replay of the stored output.
type CandidateResult struct {
	SystemSection
	// Also are the other names the same system (id) was given by.
	Also    []string        `json:"also,omitempty"`
	Verdict verdict.Verdict `json:"verdict"`
	Basis   string          `json:"basis,omitempty"`
	InSet   bool            `json:"in_set"`
	// Rank is the place in the set (1: most likely; 0: not in it).
	Rank    int                  `json:"rank,omitempty"`
	Tests   []verdict.TestResult `json:"tests"`
	Reasons []string             `json:"reasons"`
	Error   string               `json:"error,omitempty"`
}

// AttributeResult is an attribution: its report and every run.
type AttributeResult struct {
	Report *AttributeReport
	Runs   []Run
}

// candidates are the record's own system then each of others, one per
// system id (a repeated id is merged, its name kept in Also).
func candidates(rec *record.Record, others []System) ([]System, [][]string) {
	list := []System{Recorded(rec, "the record's system")}
	also := [][]string{nil}
	for _, o := range others {
		i := slices.IndexFunc(list, func(s System) bool { return s.Target.System.ID == o.Target.System.ID })
		if i >= 0 {
			also[i] = append(also[i], o.Name)
			continue
		}
		list, also = append(list, o), append(also, nil)
	}
	return list, also
}

// Attribute asks which system decided rec: the record's own system and
// each of others (one per system id) replay the record's input, each on a
// session lent by pool, and the stored output is tested against each
// one's distribution as replay tests it (replay.Run and replay.Decide,
// sequential as opts says), at level opts.Rules.Alpha/m for m candidates
// (Bonferroni). A candidate whose verdict is DIVERGED is rejected; the
// confidence set is the others. The system that decided, when it is a
// candidate, is rejected with probability at most Alpha/m, and the
// probability that any candidate with the decider's output distribution
// is rejected is at most Alpha (family-wise). The set is ordered by
// likelihood: first the candidates whose pinned seed gave the stored
// output exactly, then by the share of runs that gave the stored label
// (or, without one, the exact stored text), then in candidate order. Integrity is verified once
// first. On an error the result holds the report (Error set) and the
// runs so far. Errors wrap ErrProtocol, replay's and the runners'.
func Attribute(ctx context.Context, st replay.Blobs, rec *record.Record, others []System, pool *launch.Pool, opts replay.Options) (*AttributeResult, error) {
	defaults(&opts)
	list, also := candidates(rec, others)
	m := len(list)
	rep := &AttributeReport{Schema: AttributeSchema, Record: summary(rec), Candidates: []CandidateResult{}, Set: []string{}, Alpha: opts.Rules.Alpha,
		Level: opts.Rules.Alpha / float64(m), Reasons: []string{}, Notes: []string{},
		Params:  paramsOf(rec, opts),
		Timings: Timings{Started: opts.Now()}, Order: order(rec.Output.Output)}
	res := &AttributeResult{Report: rep}
	fail := func(err error) (*AttributeResult, error) {
		rep.Error = err.Error()
		rep.Timings.finish(opts.Now())
		return res, err
	}
	targets := make([]launch.Target, m)
	for i, c := range list {
		t, err := c.target(rec)
		if err != nil {
			return fail(err)
		}
		targets[i] = t
	}
	p, err := replay.Prepare(ctx, st, rec, opts)
	if err != nil {
		return fail(err)
	}
	ro := opts
	ro.Rules.Alpha = rep.Level
	ro.System = nil
	for i, c := range list {
		role := "candidate"
		if i == 0 {
			role = "recorded"
		}
		cr, runs, err := attributeOne(ctx, pool, p, targets[i], newSection(role, c), ro)
		cr.Also = also[i]
		rep.Candidates = append(rep.Candidates, cr)
		res.Runs = append(res.Runs, runs...)
		if err != nil {
			return fail(err)
		}
	}
	rep.rank()
	rep.Timings.finish(opts.Now())
	return res, nil
}

// attributeOne replays the prepared record on target and decides its
// stored output at ro's rules.
func attributeOne(ctx context.Context, pool *launch.Pool, p *replay.Prepared, target launch.Target, sec SystemSection, ro replay.Options) (CandidateResult, []Run, error) {
	cr := CandidateResult{SystemSection: sec, Verdict: verdict.Failed, Tests: []verdict.TestResult{}, Reasons: []string{}}
	sess, err := pool.Acquire(ctx, target, p.Launch)
	if err != nil {
		err = fmt.Errorf("%s: %w", sec.Source, replay.SessionError(err))
		cr.Error = err.Error()
		return cr, nil, err
	}
	res, err := replay.Run(ctx, sess, p, ro)
	var outs []output.Output
	if err == nil {
		outs = res.Outputs()
		err = replay.Decide(res, ro)
	}
	pool.Release(ctx, sess, err != nil)
	var runs []Run
	if res != nil {
		for _, row := range res.Runs {
			runs = append(runs, Run{System: target.System.ID.String(), Role: sec.Role, RunRow: row})
		}
		rp := res.Report
		cr.Runner, cr.Exact, cr.ErrorAnswers, cr.Notes = rp.Runner, rp.Exact, rp.ErrorAnswers, append(cr.Notes, rp.Notes...)
		cr.Verdict, cr.Basis, cr.Tests, cr.Reasons = rp.Verdict, rp.Basis, rp.Tests, rp.Reasons
		if rp.Replay.Stopped != "" {
			cr.Notes = append(cr.Notes, rp.Replay.Stopped)
		}
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", sec.Source, err)
		cr.Error, cr.Verdict = err.Error(), verdict.Failed
		return cr, runs, err
	}
	cr.Runs, cr.LabelCounts = len(outs), labelCounts(outs)
	cr.Stored = storedShare(p.Record.Output.Output, outs, ro.Rules.Conf)
	return cr, runs, nil
}

// order says how the set is ordered for a stored output.
func order(stored output.Output) string {
	switch {
	case stored.Label != nil:
		return "by the share of runs that gave the stored label, highest first (a candidate whose pinned seed gave the stored output exactly first)"
	case stored.Text != nil:
		return "by the share of runs that gave the stored text exactly, highest first (a candidate whose pinned seed gave the stored output exactly first)"
	}
	return "in candidate order (a score alone has no likelihood to order by)"
}

// rank fills the set, the candidates' ranks and the reasons.
func (rep *AttributeReport) rank() {
	var in []int
	for i := range rep.Candidates {
		c := &rep.Candidates[i]
		c.InSet = c.Verdict != verdict.Diverged
		if c.InSet {
			in = append(in, i)
		}
	}
	// An exact reproduction by the pinned seed outranks any share: it
	// may have settled before any fresh seed ran.
	share := func(i int) float64 {
		c := rep.Candidates[i]
		if c.Exact != nil && c.Exact.ExactMatch {
			return 2
		}
		if c.Stored != nil {
			return c.Stored.Share
		}
		return 0
	}
	slices.SortStableFunc(in, func(x, y int) int {
		switch {
		case share(x) > share(y):
			return -1
		case share(x) < share(y):
			return 1
		}
		return 0
	})
	var names []string
	for r, i := range in {
		c := &rep.Candidates[i]
		c.Rank = r + 1
		rep.Set = append(rep.Set, c.SystemID)
		names = append(names, c.Version)
	}
	rep.Recorded = rep.Candidates[0].Verdict
	rep.Reasons = append(rep.Reasons, fmt.Sprintf("confidence set at family-wise level %g (%d candidates, each tested at %.4g, Bonferroni): {%s}", rep.Alpha, len(rep.Candidates), rep.Level, strings.Join(names, ", ")))
	for _, c := range rep.Candidates {
		what := "not rejected"
		switch c.Verdict {
		case verdict.Diverged:
			what = "rejected: the stored output is not a plausible output of it"
		case verdict.Reproduced:
			what = "not rejected, and the stored output reproduces on it (" + c.Basis + ")"
		case verdict.Inconclusive:
			what = "not rejected, but the evidence does not settle it"
		}
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("%s %s (%s): %s", c.Role, c.Version, c.Source, what))
	}
}
