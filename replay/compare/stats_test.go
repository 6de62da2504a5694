package compare

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/reprise-dev/reprise/stats"
)

// TestFlipPValueMatchesSciPy: a record's test is Fisher's exact test on
// its 2 × k table.
func TestFlipPValueMatchesSciPy(t *testing.T) {
	for _, c := range []struct {
		a, b []Count
		want float64
	}{
		// scipy.stats.fisher_exact([[18,2],[5,15]]).pvalue (SciPy 1.10.1)
		{[]Count{{"approved", 18}, {"denied", 2}}, []Count{{"approved", 5}, {"denied", 15}}, 6.860629774979052e-05},
		// scipy.stats.fisher_exact([[13,7],[4,16]]).pvalue
		{[]Count{{"approved", 13}, {"denied", 7}}, []Count{{"approved", 4}, {"denied", 16}}, 0.009530108528996183},
		// one decision only: nothing to test
		{[]Count{{"approved", 20}}, []Count{{"approved", 20}}, 1},
	} {
		got := FlipPValue(c.a, c.b, rand.New(rand.NewPCG(1, 2)))
		if math.Abs(got-c.want) > 1e-9*math.Max(1, c.want) {
			t.Errorf("FlipPValue(%v, %v) = %.12g, want %.12g", c.a, c.b, got, c.want)
		}
	}
	if got := TV([]Count{{"a", 18}, {"d", 2}}, []Count{{"a", 5}, {"d", 15}}); math.Abs(got-0.65) > 1e-12 {
		t.Errorf("TV = %g, want 0.65", got)
	}
	if got := TV([]Count{{"a", 10}}, []Count{{"d", 5}}); got != 1 {
		t.Errorf("TV with no decision in common = %g, want 1", got)
	}
}

// simRecord draws a record under A and B: n runs each of a label with
// P(approved) = pa for A and pb for B (a third label "referred" with
// probability 0.05 under both), and the stored decision, one draw of A's.
func simRecord(rng *rand.Rand, n int, pa, pb float64) (Record, string) {
	draw := func(p float64) string {
		u := rng.Float64()
		switch {
		case u < 0.05:
			return "referred"
		case u < 0.05+0.95*p:
			return "approved"
		}
		return "denied"
	}
	var r Record
	for i, p := range []float64{pa, pb} {
		m := map[string]int{}
		for range n {
			m[draw(p)]++
		}
		if i == 0 {
			r.A = counts(m)
		} else {
			r.B = counts(m)
		}
	}
	return r, draw(pa)
}

// simulate runs sims comparisons of recs records, n runs each, a share
// planted of them with B's P(approved) = 1 − A's, and returns how often
// the permutation test and McNemar's test reject at alpha.
func simulate(sims, recs, n, draws int, planted, alpha float64, seed uint64) (perm, mcn int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	for range sims {
		var rs []Record
		var a, b []float64
		for i := range recs {
			pa := 0.5 + 0.5*rng.Float64() // from a coin to a sure decision
			pb := pa
			if float64(i) < planted*float64(recs) { // a planted flip: B mostly denies what A mostly approves
				pa = 0.8 + 0.2*rng.Float64()
				pb = 1 - pa
			}
			r, stored := simRecord(rng, n, pa, pb)
			rs = append(rs, r)
			a, b = append(a, one(mode(r.A, &stored) == stored)), append(b, one(mode(r.B, &stored) == stored))
		}
		if _, p := PermutationTest(rs, draws, rng); p <= alpha {
			perm++
		}
		if m, err := stats.McNemar(a, b, stats.McNemarExact); err == nil && m.PValue <= alpha {
			mcn++
		}
	}
	return perm, mcn
}

// TestPairedTestsCalibration: on A = B, over 1000 seeded simulated
// comparisons of 50 records (10 runs a system, decisions from coin flips
// to sure ones), the permutation test and McNemar's test each reject at
// alpha 0.05 at most 86 times: with a true rate of 0.05 more than 86
// happen with probability < 1e-6 (scipy.stats.binom.isf(1e-6, 1000,
// 0.05) = 86), so the test fails by chance less often than that.
func TestPairedTestsCalibration(t *testing.T) {
	perm, mcn := simulate(1000, 50, 10, 99, 0, 0.05, 1)
	t.Logf("A = B: permutation test rejected %d of 1000, McNemar %d of 1000 (alpha 0.05)", perm, mcn)
	if perm > 86 || mcn > 86 {
		t.Errorf("false alarms: permutation %d, McNemar %d of 1000; want at most 86 each", perm, mcn)
	}
}

// TestRecordTestCalibration: a record's own test (Fisher) on A = B rejects
// at 0.05 at most 149 times in 2000 (scipy.stats.binom.isf(1e-6, 2000,
// 0.05) = 149).
func TestRecordTestCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rej := 0
	for range 2000 {
		pa := 0.5 + 0.5*rng.Float64()
		r, _ := simRecord(rng, 20, pa, pa)
		if FlipPValue(r.A, r.B, rng) <= 0.05 {
			rej++
		}
	}
	t.Logf("A = B: a record's test rejected %d of 2000 at 0.05", rej)
	if rej > 149 {
		t.Errorf("%d of 2000 records rejected at 0.05, want at most 149", rej)
	}
}

// TestPairedTestsPower: with 5% of 400 records planted (A approves with
// probability 0.8 to 1, B with 1 − that) and 20 runs a system, the
// permutation test (the verdict's) rejects at 0.05 in at least 95 of 100
// seeded simulations. McNemar's test on the modal decisions is much weaker
// (48 of 100 with these seeds): the records decided by a near coin flip
// give discordant modal decisions on both sides that drown the planted
// ones; it is held to at least 30 so a loss of power shows.
func TestPairedTestsPower(t *testing.T) {
	perm, mcn := simulate(100, 400, 20, 99, 0.05, 0.05, 2)
	t.Logf("5%% of 400 planted: permutation test rejected %d of 100, McNemar %d of 100", perm, mcn)
	if perm < 95 || mcn < 30 {
		t.Errorf("power: permutation %d, McNemar %d of 100; want at least 95 and 30", perm, mcn)
	}
}
