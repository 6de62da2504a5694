package compare

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/stats"
)

// Count is how many of a system's fresh-seed runs of a record gave a
// decision.
type Count struct {
	Decision string `json:"decision"`
	N        int    `json:"n"`
}

// counts are a map of decision counts as sorted Counts.
func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{k, n})
	}
	slices.SortFunc(out, func(a, b Count) int { return strings.Compare(a.Decision, b.Decision) })
	return out
}

func total(cs []Count) int {
	n := 0
	for _, c := range cs {
		n += c.N
	}
	return n
}

func freq(cs []Count, d string) int {
	for _, c := range cs {
		if c.Decision == d {
			return c.N
		}
	}
	return 0
}

// table is a record's 2 × k table: the rows A and B, a column per decision
// seen (sorted).
func table(a, b []Count) (rows [2][]int, labels []string) {
	for _, c := range slices.Concat(a, b) {
		labels = append(labels, c.Decision)
	}
	slices.Sort(labels)
	labels = slices.Compact(labels)
	for i, cs := range [][]Count{a, b} {
		rows[i] = make([]int, len(labels))
		for _, c := range cs {
			j, _ := slices.BinarySearch(labels, c.Decision)
			rows[i][j] += c.N
		}
	}
	return rows, labels
}

// tvRows is the total variation distance between the two rows' frequencies.
func tvRows(a, b []int, na, nb int) float64 {
	if na == 0 || nb == 0 {
		return 0
	}
	s := 0.0
	for j := range a {
		d := float64(a[j])/float64(na) - float64(b[j])/float64(nb)
		if d < 0 {
			d = -d
		}
		s += d
	}
	return s / 2
}

// TV is the total variation distance between A's and B's decision
// frequencies on a record (0: the same frequencies; 1: no decision in
// common); 0 when either has no run.
func TV(a, b []Count) float64 {
	rows, _ := table(a, b)
	return tvRows(rows[0], rows[1], total(a), total(b))
}

// FisherDraws is the number of random tables of a record's Fisher test
// when the exact one would take too long (stats.FisherTable).
const FisherDraws = 9999

// FlipPValue is the p-value of the test of A = B on one record: Fisher's
// exact test (two-sided, stats.FisherTable: exact, or Monte Carlo over
// FisherDraws tables of rng for a large table) on the 2 × k table of the
// systems' decision counts. A and B run independent fresh seeds, so under A
// = B the table's rows are two samples of one distribution. It is 1 when
// the table has one decision only, or a row is empty.
func FlipPValue(a, b []Count, rng *rand.Rand) float64 {
	rows, labels := table(a, b)
	if len(labels) < 2 || total(a) == 0 || total(b) == 0 {
		return 1
	}
	t := make([][]float64, 2)
	for i := range rows {
		for _, n := range rows[i] {
			t[i] = append(t[i], float64(n))
		}
	}
	r, err := stats.FisherTable(t, FisherDraws, rng)
	if err != nil {
		return 1
	}
	return r.PValue
}

// block is one record of the permutation test: its 2 × k table flattened
// into the record's pooled decisions (by column index) and row sizes.
type block struct {
	pool   []int
	na, nb int
	k      int
	col    []int // the decisions' totals over both systems
}

func newBlock(a, b []Count) block {
	rows, labels := table(a, b)
	bl := block{na: total(a), nb: total(b), k: len(labels), col: make([]int, len(labels))}
	for _, r := range rows {
		for j, n := range r {
			bl.col[j] += n
			for range n {
				bl.pool = append(bl.pool, j)
			}
		}
	}
	return bl
}

// tv is the block's statistic with its first na pooled decisions taken as
// A's; ca and cb are scratch of length k.
func (bl *block) tv(ca, cb []int) float64 {
	clear(ca)
	for _, j := range bl.pool[:bl.na] {
		ca[j]++
	}
	for j := range cb {
		cb[j] = bl.col[j] - ca[j]
	}
	return tvRows(ca, cb, bl.na, bl.nb)
}

// shuffle draws a random split of the block's pooled decisions: the first
// na places get a uniform random subset (a partial Fisher–Yates shuffle).
func (bl *block) shuffle(rng *rand.Rand) {
	n := len(bl.pool)
	for i := range min(bl.na, n-1) {
		j := i + rng.IntN(n-i)
		bl.pool[i], bl.pool[j] = bl.pool[j], bl.pool[i]
	}
}

// PermutationDraws is the number of random relabellings of the permutation
// test across records.
const PermutationDraws = 1999

// eps absorbs rounding when a statistic is compared with the observed one.
const eps = 1e-9

// Record is one record's decision counts under A and B, for
// PermutationTest.
type Record struct{ A, B []Count }

// PermutationTest is the stratified permutation test of A = B over every
// record at once: the statistic is the sum over the records of TV, and its
// null distribution is that of the sum when, within every record, the
// system labels of the record's runs are shuffled (A and B run independent
// seeds, so under A = B a record's runs are exchangeable between them; the
// records stay apart). It returns the statistic and the Monte Carlo
// p-value (1 + #{T* ≥ T})/(1 + draws), which is valid for any number of
// draws (Phipson and Smyth 2010); rng makes it repeatable. Records with
// one decision only add nothing and are left out.
func PermutationTest(recs []Record, draws int, rng *rand.Rand) (stat, p float64) {
	var bs []block
	k := 0
	for _, r := range recs {
		if bl := newBlock(r.A, r.B); bl.k > 1 && bl.na > 0 && bl.nb > 0 {
			bs = append(bs, bl)
			k = max(k, bl.k)
		}
	}
	if len(bs) == 0 {
		return 0, 1
	}
	ca, cb := make([]int, k), make([]int, k)
	for i := range bs {
		stat += bs[i].tv(ca[:bs[i].k], cb[:bs[i].k])
	}
	hit := 0
	for range draws {
		s := 0.0
		for i := range bs {
			bs[i].shuffle(rng)
			s += bs[i].tv(ca[:bs[i].k], cb[:bs[i].k])
		}
		if s >= stat-eps*float64(len(bs)) {
			hit++
		}
	}
	return stat, float64(1+hit) / float64(1+draws)
}

// sortIdx sorts idx stably by less.
func sortIdx(idx []int, less func(a, b int) bool) {
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
}
