package verdict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
)

func TestNormalizedEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		// Levenshtein values as computed by R's adist(a, b).
		{"kitten", "sitting", 3.0 / 7},
		{"", "", 0},
		{"abc", "", 1},
		{"flaw", "lawn", 2.0 / 4},
		{"héllo", "hello", 1.0 / 5},
		{"same", "same", 0},
	} {
		if got := NormalizedEditDistance([]rune(tc.a), []rune(tc.b)); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("d(%q, %q) = %g, want %g", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFirstDivergence(t *testing.T) {
	d := FirstDivergence("the bank approved the loan", "the bank declined the loan")
	if d.Char != 9 || d.Token != 2 || !strings.Contains(d.Stored, "approved") || !strings.Contains(d.Replayed, "declined") {
		t.Errorf("divergence %+v", d)
	}
	if d := FirstDivergence("same", "same"); d.Char != -1 || d.Token != -1 {
		t.Errorf("equal texts: %+v", d)
	}
	if d := FirstDivergence("abc", "abcd"); d.Char != 3 || d.Token != 0 {
		t.Errorf("prefix: %+v", d)
	}
}

// chain is an in-process fake text generator: a seeded Markov chain over a
// small vocabulary whose transition weights come from its own seed (a
// "model version").
type chain struct {
	words []string
	w     [][]float64
}

func newChain(version uint64) chain {
	words := strings.Fields("the bank loan officer income debt approved declined file steady high low and was .")
	if version >= 100 { // another corpus: half the words differ
		words = strings.Fields("the risk model analyst income debt flagged declined note thin grey rain and was .")
	}
	rng := rand.New(rand.NewPCG(version, 1))
	w := make([][]float64, len(words))
	for i := range w {
		w[i] = make([]float64, len(words))
		for j := range w[i] {
			w[i][j] = math.Pow(rng.Float64(), 3) // peaked rows
		}
	}
	return chain{words, w}
}

func (c chain) text(seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 2))
	cur, out := 0, []string{}
	for len(out) < 12 {
		var tot float64
		for _, x := range c.w[cur] {
			tot += x
		}
		u := rng.Float64() * tot
		next := len(c.w[cur]) - 1
		for j, x := range c.w[cur] {
			if u -= x; u < 0 {
				next = j
				break
			}
		}
		cur = next
		out = append(out, c.words[cur])
		if c.words[cur] == "." {
			break
		}
	}
	return strings.Join(out, " ")
}

func texts(c chain, seeds []uint64) []output.Output {
	outs := make([]output.Output, len(seeds))
	for i, s := range seeds {
		t := c.text(s)
		outs[i] = output.Output{Text: &t}
	}
	return outs
}

// binomUpper is the smallest c with P(X > c) < tail for X ~ Binomial(n, p)
// (the tail summed from the log pmf; compare R: qbinom(1 - tail, n, p)).
func binomUpper(n int, p, tail float64) int {
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	pmf := func(k int) float64 {
		return math.Exp(lg(float64(n+1)) - lg(float64(k+1)) - lg(float64(n-k+1)) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
	}
	above := 0.0
	for c := n; c >= 0; c-- {
		if above+pmf(c) >= tail {
			return c
		}
		above += pmf(c)
	}
	return 0
}

// TestTextConformalCalibration: honest replays (the stored text and the
// replays drawn from one model with distinct seeds) are rejected at most
// alpha of the time, up to a margin that an honest test exceeds with
// probability below 1e-6; a text from another model version is rejected
// most of the time.
func TestTextConformalCalibration(t *testing.T) {
	const trials, n = 400, 149 // n+1 > 1/alpha: the check can reject at the default level
	rules := DefaultRules()
	model := newChain(1)
	seeds := rand.New(rand.NewPCG(2026, 11))
	rejected := 0
	for range trials {
		stored := model.text(seeds.Uint64())
		rs := draws(seeds, n)
		f, err := TextConformal{}.Run(output.Output{Text: &stored}, texts(model, rs), rules)
		if err != nil {
			t.Fatal(err)
		}
		if f.Outcome == Rejects {
			rejected++
		}
	}
	limit := binomUpper(trials, rules.Alpha, 1e-6)
	t.Logf("honest replays rejected in %d of %d trials (alpha %g, limit %d)", rejected, trials, rules.Alpha, limit)
	if rejected > limit {
		t.Errorf("honest replays rejected in %d of %d trials, above the limit %d", rejected, trials, limit)
	}
	for _, alt := range []struct {
		name     string
		version  uint64
		minPower int
	}{
		// Same words, other transition weights: one short text says little.
		{"reweighted", 2, 0},
		// Half the vocabulary differs (as the fixture's two model versions).
		{"other corpus", 100, 35},
	} {
		other := newChain(alt.version)
		power := 0
		for range 100 {
			stored := other.text(seeds.Uint64())
			rs := draws(seeds, n)
			f, _ := TextConformal{}.Run(output.Output{Text: &stored}, texts(model, rs), rules)
			if f.Outcome == Rejects {
				power++
			}
		}
		t.Logf("%s: another model version's text rejected in %d of 100 trials", alt.name, power)
		if power < alt.minPower {
			t.Errorf("%s: another model version's text rejected in only %d of 100 trials, want >= %d", alt.name, power, alt.minPower)
		}
	}
}

func TestTextVerdicts(t *testing.T) {
	model := newChain(1)
	seeds := seq(149, 1000)
	stored := model.text(7)
	ev, err := Evaluate(output.Output{Text: &stored}, texts(model, seeds), ptr(false), Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Verdict == Diverged {
		t.Errorf("honest text: %s %v", ev.Verdict, ev.Reasons)
	}
	odd := "zebra quantum lighthouse marmalade"
	ev, _ = Evaluate(output.Output{Text: &odd}, texts(model, seeds), ptr(false), Rules{})
	if ev.Verdict != Diverged {
		t.Errorf("foreign text: %s %v", ev.Verdict, ev.Reasons)
	}
	c := ConformalText([]string{"a", "a", "a"})
	if c.P != 1 || c.AtLeast != 3 || c.Typical != 0 {
		t.Errorf("ties: %+v", c)
	}
}

// rareMix is a system that answers model's texts, and other's 0.2% of the
// time: a different system B (other) whose text is second most atypical
// among 100 replays of it whenever one of them is of the rare kind.
type rareMix struct{ model, other chain }

func (m rareMix) draw(rng *rand.Rand) string {
	if rng.Float64() < 0.002 {
		return m.other.text(rng.Uint64())
	}
	return m.model.text(rng.Uint64())
}

// foreignText is a text of b with at least one word the fixture's model
// version 1 never says (b's other corpus).
func foreignText(b chain, rng *rand.Rand) string {
	for {
		t := b.text(rng.Uint64())
		for _, w := range strings.Fields(t) {
			if !slices.Contains(newChain(1).words, w) {
				return t
			}
		}
	}
}

// sequentialText runs the sequential text check as a sequential replay
// does, at its looks (its outcome changes only there): the replays are n
// draws of sys.
func sequentialText(t *testing.T, stored string, draw func() string, rules Rules) Finding {
	t.Helper()
	sizes := TextLookSizes(rules.Alpha)
	outs := make([]output.Output, 0, sizes[len(sizes)-1])
	var f Finding
	for _, n := range sizes {
		for len(outs) < n {
			s := draw()
			outs = append(outs, output.Output{Text: &s})
		}
		var err error
		if f, err = (TextConformal{}).RunSequential(output.Output{Text: &stored}, outs, rules); err != nil {
			t.Fatal(err)
		}
		if f.Outcome != Unpowered {
			return f
		}
	}
	return f
}

// TestTextSequentialCalibration: honest stored texts (drawn from the same
// system as the replays) are called DIVERGED by the sequential rule at
// most alpha of the time, up to a margin an honest test exceeds with
// probability below 1e-6 (binomUpper); at alpha 0.1 (looks at 49 and 99
// texts, each at 0.05: cheap, so many trials) and at the default 0.01.
// Every seed is pinned.
func TestTextSequentialCalibration(t *testing.T) {
	model := newChain(1)
	for _, tc := range []struct {
		alpha  float64
		trials int
		sys    func(rng *rand.Rand) string
	}{
		{0.1, 2000, func(rng *rand.Rand) string { return model.text(rng.Uint64()) }},
		{0.01, 200, rareMix{model, newChain(100)}.draw},
	} {
		rules := DefaultRules()
		rules.Alpha = tc.alpha
		rng := rand.New(rand.NewPCG(2026, uint64(tc.trials)))
		draw := func() string { return tc.sys(rng) }
		rejected, supported := 0, 0
		for range tc.trials {
			switch sequentialText(t, draw(), draw, rules).Outcome {
			case Rejects:
				rejected++
			case Supports:
				supported++
			}
		}
		limit := binomUpper(tc.trials, tc.alpha, 1e-6)
		t.Logf("alpha %g: honest texts DIVERGED in %d of %d trials, supported in %d (limit %d)", tc.alpha, rejected, tc.trials, supported, limit)
		if rejected > limit {
			t.Errorf("alpha %g: honest texts DIVERGED in %d of %d trials, above the limit %d", tc.alpha, rejected, tc.trials, limit)
		}
		if supported+rejected != tc.trials {
			t.Errorf("alpha %g: %d of %d trials not settled at the last look", tc.alpha, tc.trials-supported-rejected, tc.trials)
		}
	}
}

// TestTextSequentialPower: the stored text of a different system B (with a
// word A never says), whose kind the replayed system A answers 0.2% of the
// time (so among 100 replays it
// is second most atypical whenever one replay is of B's kind: the issue's
// false REPRODUCED), is DIVERGED by the sequential rule, not REPRODUCED.
// The old rule (the p-value taken once among the first 100 texts, where
// only the most atypical text of the bag is rejected) settled it as
// plausible in 37 of 100 trials; the rule of looks, in 19.
func TestTextSequentialPower(t *testing.T) {
	rules := DefaultRules()
	a, b := newChain(1), newChain(100)
	sys := rareMix{a, b}
	rng := rand.New(rand.NewPCG(2027, 19))
	draw := func() string { return sys.draw(rng) }
	const trials = 100
	diverged, oldPlausible := 0, 0
	for range trials {
		stored := foreignText(b, rng)
		f := sequentialText(t, stored, draw, rules)
		if f.Outcome == Rejects {
			diverged++
		}
		// the old rule on a fresh stream: the first 100 texts
		first := []string{stored}
		for range 100 {
			first = append(first, draw())
		}
		if ConformalText(first).AtLeast > 1 {
			oldPlausible++
		}
	}
	t.Logf("B's text DIVERGED in %d of %d trials (old rule: plausible in %d)", diverged, trials, oldPlausible)
	// Seeds pinned: 98 of 100 DIVERGED (the old rule left 15 plausible;
	// with the 3-nearest-neighbour score of before issue 26, 81 and 37).
	// Where B's text is of the rare kind A answers (p ≈ 0.002 per run),
	// P(Bin(999, 0.002) ≤ 4) = 0.947 (R: pbinom(4, 999, 0.002)) is the
	// last look's power alone; B texts that resemble A's are not seen.
	if diverged < 75 || trials-diverged >= oldPlausible {
		t.Errorf("B's text DIVERGED in only %d of %d trials (old rule plausible in %d), want >= 75 and fewer plausible than the old rule", diverged, trials, oldPlausible)
	}
}

// TestTextSecondMostAtypicalIsDiverged is the case through the
// sequential stopping rule (Decide, batches of 10, cap 1000): B's text is
// second most atypical among the first 100 replays (the old rule's one
// look: p = 2/101, REPRODUCED), and DIVERGED now. Seeds pinned (the
// trial was found by search: the first seed from 4242 with B's text
// second among 101 under the check's score).
func TestTextSecondMostAtypicalIsDiverged(t *testing.T) {
	rules := DefaultRules()
	a, b := newChain(1), newChain(100)
	sys := rareMix{a, b}
	rng := rand.New(rand.NewPCG(4266, 23))
	stored := foreignText(b, rng)
	outs := make([]output.Output, 0, DefaultMaxRuns)
	for len(outs) < DefaultMaxRuns {
		s := sys.draw(rng)
		outs = append(outs, output.Output{Text: &s})
	}
	if c := ConformalText(append([]string{stored}, replayTexts(outs[:100])...)); c.AtLeast != 2 {
		t.Fatalf("the fixture is not the issue's case: B's text is at rank %d among 101", c.AtLeast)
	}
	for n := DefaultBatch; n <= DefaultMaxRuns; n += DefaultBatch {
		stop, err := Decide(output.Output{Text: &stored}, outs[:n], ptr(false), rules, n, DefaultMaxRuns)
		if err != nil {
			t.Fatal(err)
		}
		if stop.Settled {
			if stop.Evaluation.Verdict != Diverged {
				t.Fatalf("after %d runs: %s, %v", n, stop.Evaluation.Verdict, stop.Evaluation.Reasons)
			}
			t.Logf("DIVERGED after %d runs: %s", n, strings.Join(stop.Evaluation.Reasons, "; "))
			return
		}
	}
	t.Fatal("never settled")
}

// TestTextRunsNeeded: the fixed text check says how many texts would let
// it decide, and that many do (item 14: the message said one more).
func TestTextRunsNeeded(t *testing.T) {
	rules := DefaultRules()
	need := TextsForResolution(rules.Alpha)
	stored := "the loan is approved"
	o := make([]output.Output, need)
	for i := range o {
		o[i] = output.Output{Text: &stored}
	}
	f, err := TextConformal{}.Run(output.Output{Text: &stored}, o[:need-1], rules)
	if err != nil || f.Outcome != Unpowered || f.RunsNeeded != need || !strings.Contains(f.Underpowered, fmt.Sprintf("; %d can", need)) {
		t.Fatalf("%d texts: %v, runs needed %d, %q, %v", need-1, f.Outcome, f.RunsNeeded, f.Underpowered, err)
	}
	if f, err = (TextConformal{}).Run(output.Output{Text: &stored}, o, rules); err != nil || f.Outcome != Supports {
		t.Fatalf("%d texts (the runs needed): %v, %v", need, f.Outcome, err)
	}
}
