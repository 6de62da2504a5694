package nightly

import (
	"cmp"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/verdict"
)

// RateConf is the confidence level of the per-system rate intervals.
const RateConf = 0.95

// Night is a finished night: every record's result after false-discovery
// control, the rate per system, and what the night concludes.
type Night struct {
	Config  *Config      `json:"config"`
	Counts  Counts       `json:"counts"`
	Systems []SystemRate `json:"systems"`
	Records []Result     `json:"records"`
	// Outcome is "diverged", "rate", "error", "inconclusive" or "ok" (see
	// Outcome constants); ErrorClass is the class of the first error when
	// Outcome is "error".
	Outcome    string `json:"outcome"`
	ErrorClass string `json:"error_class,omitempty"`
	// Reason says why a night that replayed no record ended as it did
	// (INCONCLUSIVE: it selected nothing; ok: a shard whose share of the
	// sample is empty), and what the journal held that the night did not
	// take; "" otherwise.
	Reason  string `json:"reason,omitempty"`
	Summary string `json:"summary"`
	// Journal counts the journal lines the night did not take.
	Journal JournalCheck `json:"journal"`
}

// JournalCheck counts the lines of a night's journal (or its shards') that
// the night did not take as they are: a request id journaled again with
// another verdict (the later line is taken), and request ids outside the
// night's sample (ignored). Each is also logged as a warning.
type JournalCheck struct {
	Conflicts int `json:"conflicts"`
	Foreign   int `json:"foreign"`
}

// Outcomes of a night, most severe first.
const (
	OutcomeDiverged     = "diverged"     // a record DIVERGED after FDR control
	OutcomeRate         = "rate"         // a system's rate interval lies wholly below --min-rate
	OutcomeError        = "error"        // a record could not be replayed
	OutcomeInconclusive = "inconclusive" // nothing failed, something is inconclusive, or nothing was replayed
	OutcomeOK           = "ok"
)

// Counts are the night's verdicts (after FDR control).
type Counts struct {
	Records      int `json:"records"`
	Reproduced   int `json:"reproduced"`
	Diverged     int `json:"diverged"`
	Inconclusive int `json:"inconclusive"`
	Errors       int `json:"errors"`
	// Demoted counts records the replay called DIVERGED that the FDR
	// control did not confirm (now INCONCLUSIVE).
	Demoted int `json:"demoted"`
	// Promoted counts records the replay alone left INCONCLUSIVE that the
	// FDR control across the night found significant (now DIVERGED).
	Promoted int `json:"promoted"`
}

// SystemRate is one system's reproducibility over the night: REPRODUCED
// among the records that were replayed (errors left out), with a
// Clopper–Pearson interval at RateConf.
type SystemRate struct {
	System     string  `json:"system"`
	Name       string  `json:"name"`
	Records    int     `json:"records"`
	Reproduced int     `json:"reproduced"`
	Diverged   int     `json:"diverged"`
	Errors     int     `json:"errors"`
	Rate       float64 `json:"rate"`
	Lower      float64 `json:"lower"`
	Upper      float64 `json:"upper"`
	// BelowMin is true when Upper < the night's MinRate, or when the
	// fleet test's lower bound of the share of decisions the pinned system
	// does not explain exceeds 1 − MinRate.
	BelowMin bool `json:"below_min_rate"`
	// Fleet is the system's fleet-level substitution test (nil: no record
	// has a fleet p-value).
	Fleet *Fleet `json:"fleet,omitempty"`
}

// Finalize applies Benjamini–Hochberg at cfg.FDR across the records that
// were tested (a p-value, no error, and not reproduced exactly by the
// pinned seed: an exact reproduction is conclusive and no hypothesis of the
// night; a record DIVERGED exactly by the seed probe is one, with the
// probe's p-value, verdict.ProbeBound), sets each record's night verdict, and computes the rates
// and the outcome. A record is DIVERGED when its q <= cfg.FDR and the replay
// did not call it REPRODUCED: a replay DIVERGED that BH does not confirm is
// INCONCLUSIVE (demoted), a replay INCONCLUSIVE that BH confirms is
// DIVERGED (promoted). Records are sorted by system, then request id.
//
// A night with no record is not evidence: it is INCONCLUSIVE, its Reason
// cfg.Empty, unless it is a shard whose share of a non-empty sample is
// empty (ok: the other shards hold the sample).
func Finalize(cfg *Config, results []Result) *Night {
	recs := slices.Clone(results)
	slices.SortFunc(recs, func(a, b Result) int {
		return cmp.Or(strings.Compare(a.System, b.System), strings.Compare(a.RequestID, b.RequestID))
	})
	setQValues(recs)
	n := &Night{Config: cfg, Records: recs}
	t := &tally{n: n, bySystem: map[string]*SystemRate{}}
	for i := range recs {
		n.decide(&recs[i])
		t.count(&recs[i])
	}
	belowMin := t.rates()
	flagged, fleetMin := n.fleetTests()
	n.conclude(belowMin || fleetMin, t.firstErr)
	n.flagFleet(flagged)
	return n
}

// setQValues sets the Benjamini–Hochberg q-value of each record tested
// (a p-value, no error, not reproduced exactly), and clears
// the others'.
func setQValues(recs []Result) {
	var ps []float64
	var idx []int
	for i, r := range recs {
		recs[i].QValue = nil
		if r.PValue != nil && r.ReplayVerdict != verdict.Failed && !(r.Basis == "exact" && r.ReplayVerdict == verdict.Reproduced) {
			ps = append(ps, *r.PValue)
			idx = append(idx, i)
		}
	}
	if len(ps) == 0 {
		return
	}
	if q, err := stats.BenjaminiHochberg(ps); err == nil {
		for j, i := range idx {
			v := q[j]
			recs[i].QValue = &v
		}
	}
}

// decide sets a record's night verdict from its replay verdict and its
// q-value (see Finalize) and its Why, and counts the demoted and promoted.
func (n *Night) decide(r *Result) {
	fdr := n.Config.FDR
	r.Verdict = r.ReplayVerdict
	confirmed := r.QValue != nil && *r.QValue <= fdr
	switch r.ReplayVerdict {
	case verdict.Diverged:
		if !confirmed {
			r.Verdict = verdict.Inconclusive
			n.Counts.Demoted++
			q := "none"
			if r.QValue != nil {
				q = fmt.Sprintf("%.4g", *r.QValue)
			}
			r.Why = fmt.Sprintf("the replay diverged, but not significantly across the night: Benjamini–Hochberg q = %s > FDR %g; %s", q, fdr, r.Why)
		} else {
			r.Why = fmt.Sprintf("diverged (q = %.4g <= FDR %g): %s", *r.QValue, fdr, r.Why)
		}
	case verdict.Inconclusive:
		if confirmed {
			r.Verdict = verdict.Diverged
			n.Counts.Promoted++
			r.Why = fmt.Sprintf("diverged across the night (q = %.4g <= FDR %g), though the replay alone was inconclusive at its own level: %s", *r.QValue, fdr, r.Why)
		}
	case verdict.Failed:
		r.Why = r.Error
	}
}

// tally counts a night's decided records: its Counts, a SystemRate per
// system in the order the systems first come, and the error class of the
// first error.
type tally struct {
	n        *Night
	bySystem map[string]*SystemRate
	order    []string
	firstErr string
}

// count counts one decided record.
func (t *tally) count(r *Result) {
	c := &t.n.Counts
	c.Records++
	switch r.Verdict {
	case verdict.Reproduced:
		c.Reproduced++
	case verdict.Diverged:
		c.Diverged++
	case verdict.Inconclusive:
		c.Inconclusive++
	default:
		c.Errors++
	}
	if r.ReplayVerdict == verdict.Failed && t.firstErr == "" {
		t.firstErr = r.ErrorClass
	}
	s := t.bySystem[r.System]
	if s == nil {
		s = &SystemRate{System: r.System, Name: r.SystemName}
		t.bySystem[r.System] = s
		t.order = append(t.order, r.System)
	}
	switch r.Verdict {
	case verdict.Failed:
		s.Errors++
	default:
		s.Records++
		if r.Verdict == verdict.Reproduced {
			s.Reproduced++
		}
		if r.Verdict == verdict.Diverged {
			s.Diverged++
		}
	}
}

// rates computes each system's rate and its interval, sets the night's
// Systems, and reports whether a system's interval lies wholly below
// MinRate.
func (t *tally) rates() (belowMin bool) {
	minRate := t.n.Config.MinRate
	for _, k := range t.order {
		s := t.bySystem[k]
		if s.Records > 0 {
			s.Rate = float64(s.Reproduced) / float64(s.Records)
			s.Lower, s.Upper, _ = stats.ClopperPearson(s.Reproduced, s.Records, RateConf, stats.TwoSided)
			s.BelowMin = minRate > 0 && s.Upper < minRate
			belowMin = belowMin || s.BelowMin
		}
		t.n.Systems = append(t.n.Systems, *s)
	}
	return belowMin
}

// conclude sets the night's Outcome (the most severe that holds) and
// Summary; firstErr is the class of its first error.
func (n *Night) conclude(belowMin bool, firstErr string) {
	switch {
	case n.Counts.Diverged > 0:
		n.Outcome = OutcomeDiverged
	case belowMin:
		n.Outcome = OutcomeRate
	case n.Counts.Errors > 0:
		n.Outcome, n.ErrorClass = OutcomeError, firstErr
	case n.Counts.Inconclusive > 0:
		n.Outcome = OutcomeInconclusive
	case n.Counts.Records == 0:
		n.Outcome, n.Reason = n.empty()
	default:
		n.Outcome = OutcomeOK
	}
	cfg := n.Config
	n.Summary = fmt.Sprintf("%s over %s: %d reproduced, %d diverged (FDR %g), %d inconclusive, %s",
		plural(n.Counts.Records, "record"), plural(len(n.Systems), "system"), n.Counts.Reproduced, n.Counts.Diverged, cfg.FDR, n.Counts.Inconclusive, plural(n.Counts.Errors, "error"))
	if belowMin {
		n.Summary += fmt.Sprintf("; a system's rate lies below %g", cfg.MinRate)
	}
}

// empty is the outcome and the reason of a night with no record.
func (n *Night) empty() (string, string) {
	cfg := n.Config
	if cfg.Shard != "" && cfg.Drawn > 0 {
		return OutcomeOK, fmt.Sprintf("shard %s holds none of the %d records of the night's sample (the other shards do)", cfg.Shard, cfg.Drawn)
	}
	why := cfg.Empty
	if why == "" {
		why = "the sample is empty"
	}
	return OutcomeInconclusive, "nothing was replayed, which is no evidence of reproducibility: " + why
}

// checkJournal sets the night's journal counts and, when a line was not
// taken as it is, says so in its Reason.
func (n *Night) checkJournal(c JournalCheck) {
	n.Journal = c
	if c == (JournalCheck{}) {
		return
	}
	note := fmt.Sprintf("the journal held %d lines of a request id already journaled with another verdict (the later taken) and %d lines of request ids outside the sample (ignored)", c.Conflicts, c.Foreign)
	if n.Reason != "" {
		note = n.Reason + "; " + note
	}
	n.Reason = note
}

// Merge combines the shards in dirs (each a finished night with the same
// log, sample, seed and rules, and shards i/n covering 0..n-1 once) into
// one night, with the FDR control taken over all of them. Shards that do
// not make one night are ErrShards. Journal lines not taken as they are
// (see takeResults) are logged on log (nil: none) and counted in the
// night's Journal.
func Merge(dirs []string, log *slog.Logger) (*Night, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%w: no shard folders", ErrShards)
	}
	m := &merger{folders: map[string]string{}, log: log}
	for _, d := range dirs {
		if err := m.add(d); err != nil {
			return nil, err
		}
	}
	if len(m.folders) != m.total && !(m.total == 1 && len(m.folders) == 1) {
		return nil, fmt.Errorf("%w: %d of %d shards given", ErrShards, len(m.folders), m.total)
	}
	slices.Sort(m.base.Records)
	m.base.Listed, m.base.RowErrors = nil, 0
	n := Finalize(m.base, m.all)
	n.checkJournal(m.check)
	return n, nil
}

// merger gathers the shards of one night: the night's config (without a
// shard, with every shard's records), every shard's results, the folder of
// each shard, and the number of shards of the night.
type merger struct {
	base    *Config
	all     []Result
	folders map[string]string
	total   int
	log     *slog.Logger
	check   JournalCheck
}

// add adds the shard in folder d.
func (m *merger) add(d string) error {
	c, err := ReadConfig(d)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrShards, d, err)
	}
	sh, err := ParseShard(c.Shard)
	if c.Shard == "" {
		sh, err = Shard{I: 0, N: 1}, nil
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrShards, d, err)
	}
	if first, dup := m.folders[c.Shard]; dup {
		return fmt.Errorf("%w: %s and %s are both shard %s", ErrShards, first, d, c.Shard)
	}
	m.folders[c.Shard] = d
	m.total = sh.N
	probe := *c
	probe.Shard = ""
	if m.base == nil {
		m.base = &probe
	} else if m.base.LogDigest != c.LogDigest {
		return fmt.Errorf("%w: %s is a shard of a night of another log: log digest %s, the first shard's %s", ErrShards, d, c.LogDigest, m.base.LogDigest)
	} else if !m.base.same(&probe) || !m.base.Since.Equal(c.Since) || !m.base.Until.Equal(c.Until) {
		return fmt.Errorf("%w: %s is a shard of another night", ErrShards, d)
	}
	rs, err := readJournal(d)
	if err != nil {
		return err
	}
	j, check := takeResults(rs, c.Records, m.log, filepath.Join(d, JournalName))
	m.check.Conflicts += check.Conflicts
	m.check.Foreign += check.Foreign
	for _, id := range c.Records {
		r, ok := j[id]
		if !ok {
			return fmt.Errorf("%w: shard %s (%s) has not finished: %s was not replayed; rerun it", ErrShards, c.Shard, d, id)
		}
		m.all = append(m.all, r)
	}
	m.base.Records = append(m.base.Records, c.Records...)
	return nil
}
