package verdict

import (
	"math"
	"math/rand/v2"
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
		rs := make([]uint64, n)
		for i := range rs {
			rs[i] = seeds.Uint64()
		}
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
			rs := make([]uint64, n)
			for i := range rs {
				rs[i] = seeds.Uint64()
			}
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
	seeds := make([]uint64, 149)
	for i := range seeds {
		seeds[i] = uint64(1000 + i)
	}
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
