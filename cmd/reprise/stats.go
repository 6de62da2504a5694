package main

import (
	"bufio"
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/stats"
)

// newStatsCmd is `reprise stats TEST [flags]`: one statistical test from the
// command line. Every TEST is one row of statsVerbs, built by newStatsVerbCmd
// with the flags of statsOptions it declares.
func newStatsCmd(g *globalOptions, s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats TEST",
		Short: "Run one statistical test on samples read from files",
		Long: `Run one statistical test of reprise's stats package on samples read from files
(one value per line: numbers, or labels for categorical tests) and print the
result on stdout: one JSON object (--output json, the default) or aligned
"key: value" lines (--output text). Two-sided is the default everywhere.

Every test names its flags alike: --a FILE and --b FILE are the samples,
--p-values FILE a list of p-values, --draws N the number of random draws
(Monte-Carlo tables, permutations or bootstrap resamples, as the test's help
says) and --seed S the seed of the one random stream they come from.`,
	}
	for _, v := range statsVerbs() {
		cmd.AddCommand(newStatsVerbCmd(s, v))
	}
	return cmd
}

// statsVerb is one `reprise stats` subcommand.
type statsVerb struct {
	name  string
	use   string // the flags' synopsis after the name
	short string
	long  string // "" for short + "."
	// flags registers the flags of statsOptions the verb reads.
	flags func(o *statsOptions, c *cobra.Command)
	// run computes the result: a struct with json tags.
	run func(o *statsOptions) (any, error)
}

// statsVerbs is the table of every stats subcommand.
func statsVerbs() []statsVerb {
	return slices.Concat(propVerbs(), sampleVerbs())
}

// newStatsVerbCmd builds the subcommand of v: its flags, --output, and a
// RunE that prints v.run's result.
func newStatsVerbCmd(s *streams, v statsVerb) *cobra.Command {
	o := &statsOptions{}
	long := v.long
	if long == "" {
		long = v.short + "."
	}
	cmd := &cobra.Command{
		Use:   v.name + " " + v.use,
		Short: v.short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.changed = c.Flags().Changed
			r, err := v.run(o)
			if err != nil {
				return err
			}
			return writeResult(s.Out, o.Output, r, nil)
		},
	}
	v.flags(o, cmd)
	addOutputFlag(cmd, &o.Output, outputJSON)
	return cmd
}

// statsOptions holds the flags of every stats verb; each verb registers the
// ones it reads, with the add methods below where verbs share a flag.
type statsOptions struct {
	A, B    string   // --a, --b: sample files
	Samples []string // --samples: k sample files (ad)
	PValues string   // --p-values: file of p-values
	Table   string   // --table: file of an r×c table of counts

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

	Draws int
	Seed  uint64

	Output outputFormat

	changed func(name string) bool // whether a flag was given
}

// addAB adds --a and --b; line says what one line of the files holds.
func (o *statsOptions) addAB(c *cobra.Command, line string) {
	c.Flags().StringVar(&o.A, "a", "", "sample a: a `FILE` with "+line+" per line (required)")
	c.Flags().StringVar(&o.B, "b", "", "sample b: a `FILE` with "+line+" per line (required)")
}

// addABOrTable adds --a and --b (label samples) and --table FILE, the
// alternative to them.
func (o *statsOptions) addABOrTable(c *cobra.Command) {
	c.Flags().StringVar(&o.A, "a", "", "sample a: a `FILE` with one label per line (with --b, or give --table)")
	c.Flags().StringVar(&o.B, "b", "", "sample b: a `FILE` with one label per line (with --a, or give --table)")
	o.addTable(c)
}

// addTable adds --table FILE, the alternative to --a and --b.
func (o *statsOptions) addTable(c *cobra.Command) {
	c.Flags().StringVar(&o.Table, "table", "", "an r×c table of counts: a `FILE` with one row per line, counts separated by spaces (instead of --a and --b)")
}

// readTable reads the table of --table, or the 2×k table of the label
// samples --a and --b with its categories.
func (o *statsOptions) readTable() ([][]float64, []string, error) {
	if o.Table != "" {
		if o.A != "" || o.B != "" {
			return nil, nil, usageErrorf("give either --table or --a and --b, not both")
		}
		t, err := readCountTable(o.Table)
		return t, nil, err
	}
	if o.A == "" || o.B == "" {
		return nil, nil, usageErrorf("--a and --b, or --table, are required")
	}
	a, b, err := readPair(o, readLabels)
	if err != nil {
		return nil, nil, err
	}
	return stats.LabelTable(a, b)
}

// readCountTable reads a table of counts: one row per line, whitespace-
// separated (blank lines and lines starting with # are skipped). A bad count
// or a row of another length is a usage error naming the file and line.
func readCountTable(path string) ([][]float64, error) {
	width := 0
	return readValues(path, func(l line) ([]float64, error) {
		fields := strings.Fields(l.text)
		row := make([]float64, len(fields))
		for k, f := range fields {
			v, err := parseFinite(path, l.no, []byte(f))
			if err != nil {
				return nil, err
			}
			if v < 0 || v != math.Trunc(v) {
				return nil, usageErrorf("%s:%d: %q is not a count", path, l.no, f)
			}
			row[k] = v
		}
		if width == 0 {
			width = len(row)
		} else if len(row) != width {
			return nil, usageErrorf("%s:%d: row of %d counts, earlier rows have %d", path, l.no, len(row), width)
		}
		return row, nil
	})
}

// addCounts adds --successes K and --trials N.
func (o *statsOptions) addCounts(c *cobra.Command) {
	c.Flags().IntVar(&o.Successes, "successes", 0, "number of successes `K` (required)")
	c.Flags().IntVar(&o.Trials, "trials", 0, "number of trials `N` (required)")
}

func (o *statsOptions) addConf(c *cobra.Command) {
	c.Flags().Float64Var(&o.Conf, "conf", 0.95, "confidence level in (0,1)")
}

func (o *statsOptions) addAlternative(c *cobra.Command) {
	c.Flags().StringVar(&o.Alternative, "alternative", "two-sided", "alternative: two-sided, less or greater")
}

// addDraws adds --draws N (default def; meaning says what a draw is for the
// verb) and --seed S.
func (o *statsOptions) addDraws(c *cobra.Command, def int, meaning string) {
	c.Flags().IntVar(&o.Draws, "draws", def, "number `N` of random draws: "+meaning)
	c.Flags().Uint64Var(&o.Seed, "seed", 1, "seed `S` of the random draws (a result is repeatable for a seed)")
}

// counts checks that --successes and --trials were given (their range is
// checked by the stats package).
func (o *statsOptions) counts() (k, n int, err error) {
	if !o.changed("successes") || !o.changed("trials") {
		return 0, 0, usageErrorf("--successes K and --trials N are required (0 <= K <= N)")
	}
	return o.Successes, o.Trials, nil
}

func (o *statsOptions) alternative() (stats.Alternative, error) {
	alt, err := stats.ParseAlternative(o.Alternative)
	if err != nil { // one line, naming the flag
		return alt, usageErrorf("--alternative must be two-sided, less or greater, got %q", o.Alternative)
	}
	return alt, nil
}

// checkDraws checks --draws >= least.
func (o *statsOptions) checkDraws(least int) error {
	if o.Draws < least {
		return usageErrorf("--draws must be >= %d, got %d", least, o.Draws)
	}
	return nil
}

// rand is the random stream of --seed, the same construction for every verb.
func (o *statsOptions) rand() *rand.Rand { return seededRand(o.Seed) }

// drawn reports n draws and, when there were any, the seed they came from.
func (o *statsOptions) drawn(n int) drawInfo {
	if n == 0 {
		return drawInfo{}
	}
	seed := o.Seed
	return drawInfo{Draws: n, Seed: &seed}
}

// statsStream is the PCG stream of seededRand; changing it changes every
// seeded result.
const statsStream = 0x9e3779b97f4a7c15

// seededRand returns the random stream for seed: one construction for every
// verb, so that a seed means the same stream everywhere.
func seededRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, statsStream)) }

// statsHead begins every stats result: the verb and the method that answered.
type statsHead struct {
	Test   string `json:"test"`
	Method string `json:"method"`
}

// drawInfo is the number of random draws behind a result and their seed
// (both left out when there were none).
type drawInfo struct {
	Draws int     `json:"draws,omitempty"`
	Seed  *uint64 `json:"seed,omitempty"`
}

// warnings returns w, or an empty list for nil (so JSON shows [], not null).
func warnings(w []string) []string {
	if w == nil {
		return []string{}
	}
	return w
}

// readPair reads --a and --b with read.
func readPair[T any](o *statsOptions, read func(path string) (T, error)) (a, b T, err error) {
	if o.A == "" || o.B == "" {
		return a, b, usageErrorf("--a and --b are required")
	}
	if a, err = read(o.A); err != nil {
		return a, b, err
	}
	b, err = read(o.B)
	return a, b, err
}

// readPaired reads --a and --b as paired numbers: line i of a pairs with
// line i of b.
func (o *statsOptions) readPaired() (a, b []float64, err error) {
	a, b, err = readPair(o, readNumbers)
	if err == nil && len(a) != len(b) {
		err = usageErrorf("paired samples need the same number of values: %s has %d, %s has %d", o.A, len(a), o.B, len(b))
	}
	return a, b, err
}

// readFlagFile reads the file named by flag with read, which must be given.
func readFlagFile[T any](flag, path string, read func(path string) (T, error)) (T, error) {
	if path == "" {
		var zero T
		return zero, usageErrorf("--%s FILE is required", flag)
	}
	return read(path)
}

// readNumbers reads a file of one number per line (blank lines and lines
// starting with # are skipped). A bad file or value is a usage error naming
// the file and line. It parses while scanning: no line is kept as a string.
func readNumbers(path string) ([]float64, error) {
	var c chunked[float64]
	err := scanValueLines(path, func(no int, text []byte) error {
		v, err := parseFinite(path, no, text)
		c.add(v)
		return err
	})
	return c.slice(), err
}

// chunked collects values in fixed-size chunks and joins them once, into a
// slice of exactly their number: a large sample costs twice its size at the
// peak, not the sum of every grown copy.
type chunked[T any] struct {
	full [][]T
	cur  []T
}

const chunkLen = 1 << 15

func (c *chunked[T]) add(v T) {
	if len(c.cur) == cap(c.cur) {
		if c.cur != nil {
			c.full = append(c.full, c.cur)
		}
		c.cur = make([]T, 0, chunkLen)
	}
	c.cur = append(c.cur, v)
}

func (c *chunked[T]) slice() []T {
	out := make([]T, 0, len(c.full)*chunkLen+len(c.cur))
	for _, f := range c.full {
		out = append(out, f...)
	}
	return append(out, c.cur...)
}

// readLabels reads a file of one label per line (blank lines and lines
// starting with # are skipped; surrounding space is trimmed).
func readLabels(path string) ([]string, error) {
	var out []string
	err := scanValueLines(path, func(_ int, text []byte) error {
		out = append(out, string(text))
		return nil
	})
	return out, err
}

// readVectors reads a file of numbers, one per line, or of comma-separated
// vectors (one per line, all of one dimension).
func readVectors(path string) ([][]float64, error) {
	dim := 0
	var out [][]float64
	err := scanValueLines(path, func(no int, text []byte) error {
		v := make([]float64, 0, dim)
		for f := range bytes.SplitSeq(text, []byte(",")) {
			x, err := parseFinite(path, no, bytes.TrimSpace(f))
			if err != nil {
				return err
			}
			v = append(v, x)
		}
		if dim == 0 {
			dim = len(v)
		} else if len(v) != dim {
			return usageErrorf("%s:%d: vector of dimension %d, earlier lines have %d", path, no, len(v), dim)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// readValues parses each value line of path with parse.
func readValues[T any](path string, parse func(line) (T, error)) ([]T, error) {
	var out []T
	err := scanValueLines(path, func(no int, text []byte) error {
		v, err := parse(line{no, string(text)})
		out = append(out, v)
		return err
	})
	return out, err
}

// parseFinite parses s, from line no of path, as a finite number.
func parseFinite(path string, no int, s []byte) (float64, error) {
	v, err := strconv.ParseFloat(string(s), 64) // no copy: the string does not escape
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, usageErrorf("%s:%d: %q is not a finite number", path, no, s)
	}
	return v, nil
}

type line struct {
	no   int
	text string
}

// scanValueLines calls value with the number and the trimmed text of each
// non-blank, non-comment line of path, as it scans (text is valid only
// during the call); a file without any is a usage error, and so is the
// first error of value.
func scanValueLines(path string, value func(no int, text []byte) error) error {
	if path == "" {
		return usageErrorf("a sample file is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for n := 1; sc.Scan(); n++ {
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		seen = true
		if err := value(n, t); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return usageErrorf("%s: %v", path, err)
	}
	if !seen {
		return usageErrorf("%s: no values", path)
	}
	return nil
}
