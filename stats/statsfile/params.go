package statsfile

import (
	"math/rand/v2"

	"github.com/reprise-dev/reprise/stats"
)

// FlagSet is where a Test registers its parameters: each method binds the
// field p to the flag name with its default value and usage text, as
// *pflag.FlagSet does.
type FlagSet interface {
	StringVar(p *string, name, value, usage string)
	StringSliceVar(p *[]string, name string, value []string, usage string)
	IntVar(p *int, name string, value int, usage string)
	Uint64Var(p *uint64, name string, value uint64, usage string)
	Float64Var(p *float64, name string, value float64, usage string)
	BoolVar(p *bool, name string, value bool, usage string)
}

// Params holds the parameters of every test; each Test registers the ones
// it reads (Test.AddFlags), with the add methods below where tests share
// one. Probabilities, levels and margins are plain numbers, checked by the
// stats package.
type Params struct {
	A, B    string   // a, b: sample files
	Samples []string // samples: k sample files (ad)
	PValues string   // p-values: file of p-values
	Table   string   // table: file of an r×c table of counts

	Successes, Trials int
	P, P0, P1, P2     float64 // probabilities
	P10, P01          float64 // discordant-pair probabilities (power mcnemar)
	N, Power          float64 // sample size and power (power)
	Conf, Alpha, Beta float64
	Margin, Epsilon   float64
	PriorA, PriorB    float64
	Paired            bool

	Alternative string
	Method      string
	Kernel      string
	NGram       int
	Test        string // power: which calculation

	Draws   int
	Seed    uint64
	MaxWork int // fisher: the work limit of the exact test

	// Given reports whether the parameter name was given (rather than left
	// at its default); nil means none was.
	Given func(name string) bool
}

// given reports whether the parameter name was given.
func (p *Params) given(name string) bool { return p.Given != nil && p.Given(name) }

// addAB adds a and b; line says what one line of the files holds.
func (p *Params) addAB(fs FlagSet, line string) {
	fs.StringVar(&p.A, "a", "", "sample a: a `FILE` with "+line+" per line (required)")
	fs.StringVar(&p.B, "b", "", "sample b: a `FILE` with "+line+" per line (required)")
}

// addABOrTable adds a and b (label samples) and table, the alternative to
// them.
func (p *Params) addABOrTable(fs FlagSet) {
	fs.StringVar(&p.A, "a", "", "sample a: a `FILE` with one label per line (with --b, or give --table)")
	fs.StringVar(&p.B, "b", "", "sample b: a `FILE` with one label per line (with --a, or give --table)")
	fs.StringVar(&p.Table, "table", "", "an r×c table of counts: a `FILE` with one row per line, counts separated by spaces (instead of --a and --b)")
}

// addCounts adds successes and trials.
func (p *Params) addCounts(fs FlagSet) {
	fs.IntVar(&p.Successes, "successes", 0, "number of successes `K` (required)")
	fs.IntVar(&p.Trials, "trials", 0, "number of trials `N` (required)")
}

// addConf adds conf, the confidence level.
func (p *Params) addConf(fs FlagSet) {
	fs.Float64Var(&p.Conf, "conf", 0.95, "confidence level in (0,1)")
}

// addAlternative adds alternative.
func (p *Params) addAlternative(fs FlagSet) {
	fs.StringVar(&p.Alternative, "alternative", "two-sided", "alternative: two-sided, less or greater")
}

// addMargin adds margin, the equivalence margin.
func (p *Params) addMargin(fs FlagSet) {
	fs.Float64Var(&p.Margin, "margin", 0, "equivalence margin M > 0 (required)")
}

// addDraws adds draws (default def; meaning says what a draw is for the
// test) and seed.
func (p *Params) addDraws(fs FlagSet, def int, meaning string) {
	fs.IntVar(&p.Draws, "draws", def, "number `N` of random draws: "+meaning)
	fs.Uint64Var(&p.Seed, "seed", 1, "seed `S` of the random draws (a result is repeatable for a seed)")
}

// counts checks that successes and trials were given (their range is
// checked by the stats package).
func (p *Params) counts() (k, n int, err error) {
	if !p.given("successes") || !p.given("trials") {
		return 0, 0, inputErrorf("--successes K and --trials N are required (0 <= K <= N)")
	}
	return p.Successes, p.Trials, nil
}

// proportion reads successes, trials and alternative.
func (p *Params) proportion() (k, n int, alt stats.Alternative, err error) {
	if k, n, err = p.counts(); err != nil {
		return k, n, alt, err
	}
	alt, err = p.alternative()
	return k, n, alt, err
}

// alternative parses the alternative.
func (p *Params) alternative() (stats.Alternative, error) {
	alt, err := stats.ParseAlternative(p.Alternative)
	if err != nil { // one line, naming the parameter
		return alt, inputErrorf("--alternative must be two-sided, less or greater, got %q", p.Alternative)
	}
	return alt, nil
}

// checkDraws checks draws >= least.
func (p *Params) checkDraws(least int) error {
	if p.Draws < least {
		return inputErrorf("--draws must be >= %d, got %d", least, p.Draws)
	}
	return nil
}

// rand is the random stream of seed.
func (p *Params) rand() *rand.Rand { return Rand(p.Seed) }

// drawn reports n draws and, when there were any, the seed they came from.
func (p *Params) drawn(n int) DrawInfo {
	if n == 0 {
		return DrawInfo{}
	}
	seed := p.Seed
	return DrawInfo{Draws: n, Seed: &seed}
}

// stream is the PCG stream of Rand; changing it changes every seeded
// result.
const stream = 0x9e3779b97f4a7c15

// Rand returns the random stream for seed: one construction for every
// test, so that a seed means the same stream everywhere.
func Rand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// readPair reads a and b with read.
func readPair[T any](p *Params, read func(path string) (T, error)) (a, b T, err error) {
	if p.A == "" || p.B == "" {
		return a, b, inputErrorf("--a and --b are required")
	}
	if a, err = read(p.A); err != nil {
		return a, b, err
	}
	b, err = read(p.B)
	return a, b, err
}

// readPaired reads a and b as paired numbers: line i of a pairs with line i
// of b.
func (p *Params) readPaired() (a, b []float64, err error) {
	a, b, err = readPair(p, ReadNumbers)
	if err == nil && len(a) != len(b) {
		err = inputErrorf("paired samples need the same number of values: %s has %d, %s has %d", p.A, len(a), p.B, len(b))
	}
	return a, b, err
}

// readFile reads the file path of the parameter name with read; it must be
// given.
func readFile[T any](name, path string, read func(path string) (T, error)) (T, error) {
	if path == "" {
		var zero T
		return zero, inputErrorf("--%s FILE is required", name)
	}
	return read(path)
}

// readTable reads the table of table, or the 2×k table of the label samples
// a and b with its categories.
func (p *Params) readTable() ([][]float64, []string, error) {
	if p.Table != "" {
		if p.A != "" || p.B != "" {
			return nil, nil, inputErrorf("give either --table or --a and --b, not both")
		}
		t, err := ReadCountTable(p.Table)
		return t, nil, err
	}
	if p.A == "" || p.B == "" {
		return nil, nil, inputErrorf("--a and --b, or --table, are required")
	}
	a, b, err := readPair(p, ReadLabels)
	if err != nil {
		return nil, nil, err
	}
	return stats.LabelTable(a, b)
}
