package stats

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// MaxFisherWork bounds the work of FisherExact on an r×c table: the number
// of (partial table, column) steps the network algorithm takes. Past it,
// FisherExact returns ErrMethod and FisherTable turns to Monte-Carlo.
const MaxFisherWork = 5_000_000

// fisherNetwork is the two-sided p-value of Fisher's exact test on an r×c
// table by the network algorithm of Mehta & Patel (1983), as R's FEXACT:
// the tables with the observed margins are paths through a network whose
// stage k holds the row sums left after the first k columns (sorted, as rows
// with equal sums left are interchangeable), and whose arcs are the possible
// columns, weighted by −Σ ln x!. Every node carries the distinct values of
// the paths that reach it, with their multiplicities. A path whose value
// plus the longest completion is still no more probable than the observed
// table counts with all its completions at once (their total is closed
// form); one whose value plus the shortest completion is already more
// probable is dropped; the others go on to the next stage. The bounds on the
// completions are relaxations (each column, or each row, on its own), so
// they are safe, not tight.
//
// It returns the p-value, the steps taken, and ErrMethod past maxWork steps.
func fisherNetwork(t [][]float64, rows, cols []float64, total float64, maxWork int) (float64, int, error) {
	nr, nc := len(rows), len(cols)
	x := make([][]int, nr)
	for i := range x {
		x[i] = make([]int, nc)
		for j := range x[i] {
			x[i][j] = int(t[i][j])
		}
	}
	if nr > nc { // the stages walk the longer side
		xt := make([][]int, nc)
		for j := range xt {
			xt[j] = make([]int, nr)
			for i := range xt[j] {
				xt[j][i] = x[i][j]
			}
		}
		x, nr, nc = xt, nc, nr
		rows, cols = cols, rows
	}
	lf := newLogFactorials(int(total))
	rs, cs := make([]int, nr), make([]int, nc)
	for i := range rs {
		rs[i] = int(rows[i])
	}
	for j := range cs {
		cs[j] = int(cols[j])
	}
	// Columns in decreasing order of their sums; the table's probability
	// does not depend on the order.
	order := make([]int, nc)
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int { return cs[b] - cs[a] })
	c := make([]int, nc)
	for k, j := range order {
		c[k] = cs[j]
	}
	// log P(table) = K − Σ ln x_ij!
	K := -lf.At(int(total))
	for _, r := range rs {
		K += lf.At(r)
	}
	for _, v := range c {
		K += lf.At(v)
	}
	obs := K
	for i := range x {
		for _, v := range x[i] {
			obs -= lf.At(v)
		}
	}
	thr := obs + math.Log1p(1e-7) // R's relative tolerance 1 + 1e-7
	// sufC[k] = Σ_{j ≥ k} ln c_j!
	sufC := make([]float64, nc+1)
	for k := nc - 1; k >= 0; k-- {
		sufC[k] = sufC[k+1] + lf.At(c[k])
	}

	type node struct {
		rem      []int
		lo, hi   float64 // bounds on Σ −ln x! over the completions
		logTotal float64 // ln Σ over the completions of Π 1/x!
		past     map[int64]*pathGroup
		// groups are the past's groups by increasing value, and prefix[i]
		// = Σ_{g < i} m_g e^{v_g − vmax}: the groups that all count, or
		// all drop, at an arc are a prefix, or a suffix.
		groups []pathGroup
		prefix []float64
		vmax   float64
	}
	seal := func(n *node) {
		n.groups = n.groups[:0]
		for _, g := range n.past {
			n.groups = append(n.groups, *g)
		}
		n.past = nil
		slices.SortFunc(n.groups, func(a, b pathGroup) int { return cmp.Or(cmp.Compare(a.v, b.v), cmp.Compare(a.m, b.m)) })
		n.vmax = n.groups[len(n.groups)-1].v
		n.prefix = make([]float64, len(n.groups)+1)
		for i, g := range n.groups {
			n.prefix[i+1] = n.prefix[i] + g.m*math.Exp(g.v-n.vmax)
		}
	}
	// bounds computes a node's bounds at stage k (columns k.. left).
	bounds := func(k int, rem []int, n *node) {
		m := 0
		sumRem := 0.0
		for _, r := range rem {
			m += r
			sumRem += lf.At(r)
		}
		n.logTotal = lf.At(m) - sumRem - sufC[k]
		if k == nc-1 { // the last column is rem itself
			n.lo, n.hi = -sumRem, -sumRem
			return
		}
		n.lo = -math.Min(sumRem, sufC[k])
		byCol := 0.0
		for _, v := range c[k:] {
			byCol += waterFill(lf, v, rem)
		}
		byRow := 0.0
		for _, r := range rem {
			byRow += waterFill(lf, r, c[k:])
		}
		n.hi = math.Min(math.Min(byCol, byRow), lagrangeHi(lf, rem, c[k:], m))
	}
	var kb []byte

	start := &node{rem: slices.Sorted(slices.Values(rs)), past: map[int64]*pathGroup{0: {v: K, m: 1}}}
	m0 := int(total) // bounds cost about (columns left)·(rows)·(observations left)
	consumed := 0    // observations in the columns before stage k+1
	seal(start)
	level := map[string]*node{"": start}
	var p float64
	work := 0
	xs := make([]int, nr)
	child := make([]int, nr)
	for k := 0; k < nc-1; k++ {
		next := map[string]*node{}
		consumed += c[k]
		for _, lk := range slices.Sorted(maps.Keys(level)) { // a fixed order: a repeatable sum
			n := level[lk]
			rem := n.rem
			// suffix capacity: cap[i] = Σ_{i' ≥ i} rem[i']
			capa := make([]int, nr+1)
			for i := nr - 1; i >= 0; i-- {
				capa[i] = capa[i+1] + rem[i]
			}
			var arcs func(i, left int, w float64) error
			arcs = func(i, left int, w float64) error {
				if i == nr-1 {
					if i > 0 && rem[i] == rem[i-1] && left > xs[i-1] {
						return nil // not in canonical (non-increasing) order within its run
					}
					xs[i] = left
					w -= lf.At(left)
					mult := arcMultiplicity(rem, xs, lf)
					work++
					if work > maxWork {
						return errFisherWork
					}
					for r := range rem {
						child[r] = rem[r] - xs[r]
					}
					slices.Sort(child)
					kb = appendKey(kb[:0], child)
					cn := next[string(kb)]
					if cn == nil {
						cn = &node{rem: slices.Clone(child), past: map[int64]*pathGroup{}}
						bounds(k+1, cn.rem, cn)
						work += 1 + nr*(nc-k)*(m0-consumed)/64 // the bounds' cost, in arcs
						next[string(kb)] = cn
					}
					gs := n.groups
					// groups [0, i1) count with every completion, [i2, len) drop
					i1 := sort.Search(len(gs), func(i int) bool { return gs[i].v+w+cn.hi > thr })
					i2 := i1 + sort.Search(len(gs)-i1, func(i int) bool { return gs[i1+i].v+w+cn.lo > thr })
					if i1 > 0 {
						p += mult * n.prefix[i1] * math.Exp(n.vmax+w+cn.logTotal)
					}
					work += i2 - i1
					for _, g := range gs[i1:i2] {
						v := g.v + w
						pk := int64(math.Round(v * 1e9))
						if h := cn.past[pk]; h != nil {
							h.m += g.m * mult
						} else {
							cn.past[pk] = &pathGroup{v: v, m: g.m * mult}
						}
					}
					return nil
				}
				hi := min(rem[i], left)
				if i > 0 && rem[i] == rem[i-1] {
					hi = min(hi, xs[i-1]) // rows with equal sums left: one order of their cells
				}
				for v := max(0, left-capa[i+1]); v <= hi; v++ {
					xs[i] = v
					if err := arcs(i+1, left-v, w-lf.At(v)); err != nil {
						return err
					}
				}
				return nil
			}
			if err := arcs(0, c[k], 0); err != nil {
				return 0, work, err
			}
		}
		for ck, cn := range next {
			if len(cn.past) == 0 {
				delete(next, ck)
			} else {
				seal(cn)
			}
		}
		level = next
	}
	// Stage nc−1: the last column is determined, and its bounds are exact.
	for _, lk := range slices.Sorted(maps.Keys(level)) {
		n := level[lk]
		for _, g := range n.groups {
			if v := g.v + n.lo; v <= thr {
				p += g.m * math.Exp(v)
			}
		}
	}
	return math.Min(1, p), work, nil
}

// appendKey appends the node key of rem (row sums left, sorted).
func appendKey(b []byte, rem []int) []byte {
	for _, r := range rem {
		b = binary.LittleEndian.AppendUint32(b, uint32(r))
	}
	return b
}

// arcMultiplicity is the number of distinct columns that are permutations of
// xs among rows with equal sums left (rem sorted, xs non-increasing within
// each run of equal rem): Π over runs of len! / Π (count of each value)!.
func arcMultiplicity(rem, xs []int, lf logFactorials) float64 {
	m := 1.0
	for i := 0; i < len(rem); {
		j := i + 1
		for j < len(rem) && rem[j] == rem[i] {
			j++
		}
		if j-i > 1 {
			lm := lf.At(j - i)
			for a := i; a < j; {
				b := a + 1
				for b < j && xs[b] == xs[a] {
					b++
				}
				lm -= lf.At(b - a)
				a = b
			}
			m *= math.Round(math.Exp(lm))
		}
		i = j
	}
	return m
}

// pathGroup is the paths into a node that share the value v: m of them.
type pathGroup struct{ v, m float64 }

var errFisherWork = errors.New("fisher: work limit")

// waterFill is the largest Σ −ln x_i! over x_i ≤ caps[i] with Σ x_i = n
// (n ≤ Σ caps): spread n as evenly as the caps allow, −ln x! being concave.
func waterFill(lf logFactorials, n int, caps []int) float64 {
	cs := slices.Sorted(slices.Values(caps))
	s := 0.0
	left, k := n, len(cs)
	for _, c := range cs { // smallest caps fill first
		share := left / k
		if c <= share {
			s -= lf.At(c)
			left -= c
			k--
			continue
		}
		// the k cells left all take share or share+1
		extra := left - share*k
		s -= float64(extra)*lf.At(share+1) + float64(k-extra)*lf.At(share)
		return s
	}
	return s
}

// lagrangeHi bounds from above the largest Σ −ln x_ij! over the tables with
// row sums rem and column sums cols (m in all), by relaxing the row sums with
// multipliers ln rem_i (near optimal: the most probable table is close to
// rem_i c_j / m): Σ_i −ln(rem_i)·rem_i + Σ_j max over the column x (Σ x =
// c_j, x_i ≤ rem_i) of Σ_i (ln(rem_i)·x_i − ln x_i!), each column's maximum
// found greedily (the terms are concave in x_i).
func lagrangeHi(lf logFactorials, rem, cols []int, m int) float64 {
	lam := make([]float64, len(rem))
	s := 0.0
	for i, r := range rem {
		if r > 0 {
			lam[i] = math.Log(float64(r))
			s -= lam[i] * float64(r)
		}
	}
	x := make([]int, len(rem))
	for _, c := range cols {
		clear(x)
		for range c {
			best, gain := -1, math.Inf(-1)
			for i, r := range rem {
				if x[i] < r {
					if g := lam[i] - (lf.At(x[i]+1) - lf.At(x[i])); g > gain { // ln(x+1)
						best, gain = i, g
					}
				}
			}
			x[best]++
			s += gain
		}
	}
	return s
}

// FisherMonteCarlo is Fisher's exact test with a Monte-Carlo p-value, as R's
// fisher.test(simulate.p.value = TRUE, B = b): (1 + #{tables no more
// probable than the observed one})/(b + 1) over b random tables with the
// observed margins, drawn as ChiSquareTable's. StdErr is the p-value's
// standard error, √(p(1−p)/b). The same rng state gives the same p-value
// whatever GOMAXPROCS.
//
// Errors: as ChiSquareTable, and ErrDomain when b < 1 or rng is nil.
func FisherMonteCarlo(t [][]float64, b int, rng *rand.Rand) (FisherResult, error) {
	rows, cols, total, err := tableMargins(t)
	if err != nil {
		return FisherResult{}, err
	}
	if b < 1 || rng == nil {
		return FisherResult{}, fmt.Errorf("%w: a Monte-Carlo p-value needs b >= 1 draws and a random source", ErrDomain)
	}
	if total > tableMaxMonteCarloN {
		return FisherResult{}, fmt.Errorf("%w: Monte-Carlo p-value for %g observations (at most %g)", ErrMethod, total, float64(tableMaxMonteCarloN))
	}
	ge := tableMonteCarlo(t, rows, cols, total, b, rng, fisherKernel)
	p := float64(1+ge) / float64(b+1)
	return FisherResult{
		PValue: p, StdErr: math.Sqrt(p * (1 - p) / float64(b)), MonteCarlo: b,
		Method: fmt.Sprintf("Fisher's exact test (%d×%d) with Monte-Carlo p-value (%d random tables with the observed margins)", len(rows), len(cols), b),
	}, nil
}

// FisherTable is FisherExact when the exact test takes at most MaxFisherWork
// steps, and otherwise, with b > 0, FisherMonteCarlo with b draws from rng
// and a warning saying so.
//
// Errors: as FisherExact (ErrMethod when too large and b <= 0), and as
// FisherMonteCarlo.
func FisherTable(t [][]float64, b int, rng *rand.Rand) (FisherResult, error) {
	r, err := FisherExact(t)
	if err == nil || !errors.Is(err, ErrMethod) || b <= 0 {
		return r, err
	}
	mc, err := FisherMonteCarlo(t, b, rng)
	if err != nil {
		return mc, err
	}
	mc.Warnings = append(mc.Warnings, fmt.Sprintf("the exact test would take more than %d steps: the p-value is Monte-Carlo (standard error %.2g)", MaxFisherWork, mc.StdErr))
	return mc, nil
}
