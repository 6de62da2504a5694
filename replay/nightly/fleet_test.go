package nightly

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// simSystem draws outputs of a simulated system on one input.
type simSystem func(r *rand.Rand) output.Output

// labelSystem answers "approved", "referred" or "denied" with the given
// probabilities of the last two, and no score.
func labelSystem(referred, denied float64) simSystem {
	return func(r *rand.Rand) output.Output {
		l := "approved"
		switch u := r.Float64(); {
		case u < denied:
			l = "denied"
		case u < denied+referred:
			l = "referred"
		}
		return output.Output{Label: &l}
	}
}

// scoreSystem answers a label (denied with probability denied) and a score
// rounded to 0.01 (ties), normal around 0.8 or 0.2 by label.
func scoreSystem(denied float64) simSystem {
	return func(r *rand.Rand) output.Output {
		l, mu := "approved", 0.8
		if r.Float64() < denied {
			l, mu = "denied", 0.2
		}
		s := math.Round((mu+0.1*r.NormFloat64())*100) / 100
		return output.Output{Label: &l, Score: &s}
	}
}

// scoreOnly answers a score only, from 5 values (heavy ties).
func scoreOnly(r *rand.Rand) output.Output {
	s := float64(r.IntN(5))
	return output.Output{Score: &s}
}

func draws(sys simSystem, r *rand.Rand, k int) []output.Output {
	outs := make([]output.Output, k)
	for i := range outs {
		outs[i] = sys(r)
	}
	return outs
}

// bound1e6 is the largest count b of T trials at rate a such that a count
// above b has probability below 1e-6 (exact binomial, stats.BinomTest):
// asserting count <= b fails by chance less than once in 10⁶ when the true
// rate is a.
func bound1e6(t testing.TB, T int, a float64) int {
	for b := 0; b < T; b++ {
		r, err := stats.BinomTest(b+1, T, a, stats.Greater, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if r.PValue < 1e-6 {
			return b
		}
	}
	return T
}

// TestConformalPUniform: under an honest system the fleet p-value is
// uniform on (0, 1), ties and discrete outputs included: 20000 seeded
// records per output shape, each with 20 replays, pass the one-sided KS
// test of uniformity in both directions at level 1e-6 (a correct p-value
// fails it by chance less than once in 10⁶ per direction). A
// non-randomized p-value (u = 1, the conservative one) fails it, so the
// test can tell.
func TestConformalPUniform(t *testing.T) {
	cases := []struct {
		name string
		sys  simSystem
	}{
		{"labels 90/8/2", labelSystem(0.08, 0.02)},
		{"label and tied scores", scoreSystem(0.1)},
		{"score only, 5 values", scoreOnly},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 21))
			ps, cons := make([]float64, 20000), make([]float64, 20000)
			for j := range ps {
				stored := c.sys(r)
				outs := draws(c.sys, r, 20)
				var ok bool
				if ps[j], ok = ConformalP(stored, outs, r.Float64()); !ok {
					t.Fatal("no p-value")
				}
				cons[j], _ = ConformalP(stored, outs, 1)
			}
			for dir, v := range [][]float64{ps, flip(ps)} {
				if k, _ := stats.KSUniform(v); k.PValue < 1e-6 {
					t.Errorf("direction %d: KS D+ %.4f, p %.3g: not uniform", dir, k.Statistic, k.PValue)
				}
			}
			if k, _ := stats.KSUniform(flip(cons)); k.PValue >= 1e-6 {
				t.Errorf("the non-randomized p-value passes (p %.3g): the check cannot tell", k.PValue)
			}
		})
	}
}

func flip(ps []float64) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = 1 - p
	}
	return out
}

func TestConformalPCases(t *testing.T) {
	l := func(s string) *string { return &s }
	f := func(v float64) *float64 { return &v }
	a, d := output.Output{Label: l("a")}, output.Output{Label: l("d")}
	outs := []output.Output{a, a, a, d}
	// bag a,a,a,d,d: d is the rarest (count 2), none rarer: p = u·2/5.
	if p, _ := ConformalP(d, outs, 0.5); math.Abs(p-0.2) > 1e-15 {
		t.Errorf("rare label: p = %g, want 0.2", p)
	}
	// bag a,a,a,a,d: the one d is more nonconforming than a: p = (1 + u·4)/5.
	if p, _ := ConformalP(a, outs, 0.5); math.Abs(p-0.6) > 1e-15 {
		t.Errorf("common label: p = %g, want 0.6", p)
	}
	// scores 1,2,3,4 and stored 10: mid-ranks 1..5 around 3, so 10 ties
	// with 1 as the farthest: p = u·2/5.
	so := []output.Output{{Score: f(1)}, {Score: f(2)}, {Score: f(3)}, {Score: f(4)}}
	if p, _ := ConformalP(output.Output{Score: f(10)}, so, 0.5); math.Abs(p-0.2) > 1e-15 {
		t.Errorf("outlying score: p = %g, want 0.2", p)
	}
	// stored 2.5 among them: mid-rank 3, the middle: every other is farther.
	if p, _ := ConformalP(output.Output{Score: f(2.5)}, so, 0.5); math.Abs(p-0.9) > 1e-15 {
		t.Errorf("central score: p = %g, want 0.9", p)
	}
	if _, ok := ConformalP(output.Output{Text: l("x")}, outs, 0.5); ok {
		t.Error("a text-only output has a fleet p-value")
	}
}

// night simulates one night of n decisions of one system, sub of them
// decided by other, each with k replays of pinned, and returns the fleet
// test and how many records are DIVERGED after the night's
// Benjamini–Hochberg at 0.05 on their own replay p-values (RecordPValue
// of verdict.Evaluate, default rules).
func simNight(t testing.TB, r *rand.Rand, pinned, other simSystem, n, sub, k int, withRecords bool) (*Fleet, int) {
	ps := make([]float64, n)
	var recP []float64
	for i := range ps {
		decider := pinned
		if i < sub {
			decider = other
		}
		stored, outs := decider(r), draws(pinned, r, k)
		ps[i], _ = ConformalP(stored, outs, r.Float64())
		if withRecords {
			ev, err := verdict.Evaluate(stored, outs, nil, verdict.Rules{})
			if err != nil {
				t.Fatal(err)
			}
			if p, _ := RecordPValue(*ev, verdict.Rules{}); p != nil {
				recP = append(recP, *p)
			}
		}
	}
	found := 0
	if len(recP) > 0 {
		q, _ := stats.BenjaminiHochberg(recP)
		for _, v := range q {
			if v <= 0.05 {
				found++
			}
		}
	}
	return FleetTest(ps, DefaultFleetAlpha), found
}

// TestFleetCalibration: on honest nights (every decision from the pinned
// system) the fleet test flags at most its alpha of them: 1000 seeded
// nights of 100 decisions, 20 replays each, per output shape; the bound
// fails by chance < 1e-6 at a false-alarm rate of exactly alpha.
func TestFleetCalibration(t *testing.T) {
	const nights = 1000
	for i, sys := range []simSystem{labelSystem(0.08, 0.02), scoreSystem(0.1), scoreOnly} {
		r := rand.New(rand.NewPCG(uint64(100+i), 21))
		flagged := 0
		for range nights {
			if f, _ := simNight(t, r, sys, nil, 100, 0, 20, false); f.Flagged {
				flagged++
			}
		}
		if b := bound1e6(t, nights, DefaultFleetAlpha); flagged > b {
			t.Errorf("shape %d: %d of %d honest nights flagged, more than %d (alpha %g)", i, flagged, nights, b, DefaultFleetAlpha)
		}
		t.Logf("shape %d: %d of %d honest nights flagged (alpha %g)", i, flagged, nights, DefaultFleetAlpha)
	}
}

// The power scenario of issue 21: a night of 1000 sampled decisions, 5%
// of them decided by the other model version, 100 replays each (nightly's
// -n default). The pinned version (2.4.1 here) refers 8% and denies 2% of
// these applications; the other version denies 90%. A denial is then no
// record's evidence alone: the pinned system denies too, above the 1%
// minimum frequency, and no record is DIVERGED after the night's FDR
// control; only the excess of denials across the night shows.
var (
	powerPinned = labelSystem(0.08, 0.02)
	powerOther  = labelSystem(0.05, 0.90)
)

const (
	powerNights    = 200
	powerDecisions = 1000
	powerSub       = 50
	powerRuns      = 100
)

// TestFleetPower: the fleet test flags at least 80% of the power
// scenario's nights (its Clopper–Pearson lower bound at confidence
// 1 − 1e-6 over 200 seeded nights is at least 0.8), while no record of any
// of them is DIVERGED alone.
func TestFleetPower(t *testing.T) {
	if testing.Short() {
		t.Skip("200 nights of 1000 decisions; skipped with -short")
	}
	flagged, found, share := fleetPower(t, powerNights)
	lo, _, err := stats.ClopperPearson(flagged, powerNights, 1-1e-6, stats.Greater)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("power: %d of %d nights flagged (%.3f, lower bound %.3f at 1-1e-6); %d records DIVERGED alone; mean share not explained %.4f (true %.2f)",
		flagged, powerNights, float64(flagged)/powerNights, lo, found, share, float64(powerSub)/powerDecisions)
	if lo < 0.8 {
		t.Errorf("power lower bound %.3f < 0.8", lo)
	}
	if found > 0 {
		t.Errorf("%d records DIVERGED on their own: the scenario is not 'no record significant alone'", found)
	}
}

// fleetPower runs the power scenario's nights (seeded 0..nights-1): the
// nights flagged, the records DIVERGED alone, the mean estimated share.
func fleetPower(t testing.TB, nights int) (flagged, found int, share float64) {
	for s := range nights {
		r := rand.New(rand.NewPCG(uint64(s), 2121))
		f, d := simNight(t, r, powerPinned, powerOther, powerDecisions, powerSub, powerRuns, true)
		if f.Flagged {
			flagged++
		}
		found += d
		share += f.Share / float64(nights)
	}
	return flagged, found, share
}

// BenchmarkFleetPower reports the power scenario's figures (power, share)
// and the time of one simulated night.
func BenchmarkFleetPower(b *testing.B) {
	var flagged, nights int
	var share float64
	for i := 0; b.Loop(); i++ {
		r := rand.New(rand.NewPCG(uint64(i), 2121))
		f, _ := simNight(b, r, powerPinned, powerOther, powerDecisions, powerSub, powerRuns, false)
		if f.Flagged {
			flagged++
		}
		share += f.Share
		nights++
	}
	b.ReportMetric(float64(flagged)/float64(nights), "power")
	b.ReportMetric(share/float64(nights), "share")
}

// BenchmarkConformalP: one record's fleet p-value among 100 replays
// (label and score).
func BenchmarkConformalP(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	outs := draws(scoreSystem(0.1), r, 100)
	stored := scoreSystem(0.1)(r)
	for b.Loop() {
		ConformalP(stored, outs, 0.5)
	}
}

// BenchmarkFleetTest: the fleet test of 1000 p-values.
func BenchmarkFleetTest(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ps := make([]float64, 1000)
	for i := range ps {
		ps[i] = r.Float64()
	}
	for b.Loop() {
		FleetTest(ps, DefaultFleetAlpha)
	}
}

// TestFleetRunsSequential: in a sequential night every record's fleet
// p-value rests on the first FleetRuns fresh seeds: a record the pinned
// seed reproduced exactly (no fresh seed run) gets a fleet replay of them,
// one not reproduced exactly takes its first confirming replay's; and
// --fleet-runs 0 (NoFleet) leaves every record without one.
func TestFleetRunsSequential(t *testing.T) {
	st := store.NewMem()
	path := filepath.Join(t.TempDir(), "log.parquet")
	seed := int64(1)
	writeLogAt(t, st, path, 1, 20, func(r *record.Record) { r.Params.Seed = &seed })
	for _, off := range []bool{false, true} {
		o := options(path, t.TempDir(), &fakeRunner{})
		o.Replay.Sequential, o.Replay.MaxRuns, o.ConfirmN, o.NoFleet = true, 200, 150, off
		n, err := Run(context.Background(), st, o)
		if err != nil {
			t.Fatal(err)
		}
		exact := 0
		for _, r := range n.Records {
			if r.Basis == "exact" && r.ReplayVerdict == verdict.Reproduced {
				exact++
			}
			switch {
			case off && r.FleetP != nil:
				t.Errorf("NoFleet: %s has a fleet p-value", r.RequestID)
			case !off && (r.FleetP == nil || r.FleetRuns != DefaultFleetRuns):
				t.Errorf("%s (%s %s): fleet p %v over %d runs, want %d runs", r.RequestID, r.ReplayVerdict, r.Basis, r.FleetP, r.FleetRuns, DefaultFleetRuns)
			}
		}
		if exact == 0 || exact == len(n.Records) {
			t.Errorf("%d of %d records reproduced exactly: the test needs both kinds", exact, len(n.Records))
		}
		if got := n.Systems[0].Fleet != nil; got == off {
			t.Errorf("NoFleet %v: system fleet test %v", off, n.Systems[0].Fleet)
		}
	}
}

// TestFinalizeSubstitution: a night whose records all reproduced, but
// whose fleet p-values crowd near 0 for 40 of 100, is a substitution night
// (flagged, a JUnit failure, an annotation, the summary); with --min-rate
// 0.9 the system is also below its minimum rate (the share's lower bound
// exceeds 0.1); an honest night is neither.
func TestFinalizeSubstitution(t *testing.T) {
	mk := func(sub int) []Result {
		var rs []Result
		for i := range 100 {
			p := (float64(i-sub) + 0.5) / float64(100-sub) // the honest ones spread over (0, 1)
			if i < sub {
				p = (float64(i) + 0.5) / 10000
			}
			rs = append(rs, Result{RequestID: fmt.Sprintf("r%03d", i), System: "s", SystemName: "loan", ReplayVerdict: verdict.Reproduced, Basis: "exact", FleetP: &p, FleetRuns: 100})
		}
		return rs
	}
	n := Finalize(&Config{FDR: 0.05, MinRate: 0.9, FleetAlpha: 0.05}, mk(40))
	f := n.Systems[0].Fleet
	if n.Outcome != OutcomeSubstitution || f == nil || !f.Flagged || !n.Systems[0].BelowMin || f.Lower <= 0.1 {
		t.Fatalf("outcome %s, fleet %+v, below min %v", n.Outcome, f, n.Systems[0].BelowMin)
	}
	ju, _ := n.JUnit()
	if !strings.Contains(string(ju), `message="SUBSTITUTION"`) || !strings.Contains(n.Annotations(), "title=fleet substitution") ||
		!strings.Contains(n.Summary, "fleet test flags loan") {
		t.Errorf("junit, annotations or summary do not say so:\n%s\n%s\n%s", ju, n.Annotations(), n.Summary)
	}
	if h := Finalize(&Config{FDR: 0.05, MinRate: 0.9, FleetAlpha: 0.05}, mk(0)); h.Outcome != OutcomeOK || h.Systems[0].Fleet.Flagged || h.Systems[0].BelowMin {
		t.Errorf("honest night: outcome %s, fleet %+v", h.Outcome, h.Systems[0].Fleet)
	}
}
