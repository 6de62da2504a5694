package stats

import (
	"cmp"
	"errors"
	"math"
	"math/bits"
	"slices"
	"sort"
)

// fisherNetwork is the two-sided p-value of Fisher's exact test on an r×c
// table by the network algorithm of Mehta & Patel (1983), as R's FEXACT:
// the tables with the observed margins are paths through a network whose
// stage k holds the row sums left after the first k columns (sorted, as rows
// with equal sums left are interchangeable: equivalent sub-tables share one
// node, keyed by the margins left), and whose arcs are the possible columns,
// weighted by −Σ ln x!. Every node carries the distinct values of the paths
// that reach it (its past), with their multiplicities.
//
// At each arc, a past whose value plus the longest completion (the most
// probable one) is still no more probable than the observed table counts
// with all its completions at once (their total is closed form); one whose
// value plus the shortest completion (the least probable) is already more
// probable is dropped; the others go on to the next stage.
//
// A node whose completions are few (at most fisherMaxCompletions distinct
// values; always the nodes one column before the end, most two columns
// before) holds them all, sorted by value, built from its children's: its
// bounds are exact, and the pasts that reach it are settled there against
// its completions, in one merge of two sorted lists, instead of going on.
// Other nodes bound their completions by relaxations (fisherNet.longest,
// fisherNet.shortest).
//
// It returns the p-value, the work done (steps: arcs, pasts carried,
// completions built and merge steps, and the bounds' cost) and
// errFisherWork past maxWork steps.
func fisherNetwork(t [][]float64, rows, cols []float64, total float64, maxWork int) (float64, int, error) {
	f := newFisherNet(t, rows, cols, total, maxWork)
	err := f.run()
	return math.Min(1, f.p), f.work, err
}

var errFisherWork = errors.New("fisher: work limit")

// errOpen stops building the completions of a node that has too many.
var errOpen = errors.New("fisher: too many completions")

const (
	// fisherMaxCompletions bounds the distinct completions a node holds:
	// more cost more to build than they save (tuned on 5×5 tables, N = 82).
	fisherMaxCompletions = 256
	// fisherCompletionBudget bounds the completions all nodes hold at once
	// (24 bytes each).
	fisherCompletionBudget = 1 << 22
)

// fisherNet is the state of one run of the network algorithm.
type fisherNet struct {
	lf      logFactorials
	nr, nc  int
	rs      []int     // row sums (the side the nodes are keyed by)
	c       []int     // column sums in stage order (decreasing)
	sufC    []float64 // sufC[k] = Σ_{j ≥ k} ln c_j!
	K       float64   // log P(table) = K − Σ ln x_ij!
	thr     float64   // the observed log-probability, with R's tolerance
	m0      int       // the total
	stages  []stage   // the nodes made so far, by stage
	scratch [][]int   // scratch[k]: a child's sums left, at stage k
	budget  int       // completions nodes may still hold
	maxWork int
	work    int
	p       float64
	counts  fisherCounts
}

// fisherCounts is what the work of a run went to.
type fisherCounts struct {
	arcs, carried, settled, completions, nodes int
}

// netNode is a node of the network: the row sums left (sorted) at a stage.
type netNode struct {
	rem      []int
	lo, hi   float64  // bounds on Σ −ln x! over the completions
	bounded  bool     // lo and hi are set
	logTotal float64  // ln Σ over the completions of Π 1/x!
	chain    *netNode // the next node of the stage with the same hash of rem

	// The past: groups of paths by value. While the stage is built, the
	// paths carried in are appended, and merged (sorted, equal values
	// summed) each time they double past the merged count; sealed, groups
	// are sorted by value with weight[i] = m_i e^{v_i − vmax} and prefix[i] =
	// Σ_{g < i} weight[g] (the pasts that all count, or all drop, at an arc
	// are a prefix, or a suffix).
	groups []pathGroup
	merged int // groups[:merged] are sorted and distinct
	weight []float64
	prefix []float64
	vmax   float64

	// fut, when not nil, are all the completions of the node by value
	// (m: how many), and futPrefix[i] = Σ_{b < i} m_b e^{w_b − fmax}.
	fut       []pathGroup
	futPrefix []float64
	fmax      float64
	open      bool // the node has too many completions to hold
}

// pathGroup is the paths (or completions) that share the value v: m of them.
type pathGroup struct{ v, m float64 }

func newFisherNet(t [][]float64, rows, cols []float64, total float64, maxWork int) *fisherNet {
	nr, nc := len(rows), len(cols)
	x := make([][]int, nr)
	for i := range x {
		x[i] = make([]int, nc)
		for j := range x[i] {
			x[i][j] = int(t[i][j])
		}
	}
	if nr > nc || nr == nc && sidesOrder(rows, cols) < 0 { // the stages walk the longer side
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
	f := &fisherNet{lf: newLogFactorials(int(total)), nr: nr, nc: nc, m0: int(total), maxWork: maxWork,
		rs: make([]int, nr), c: make([]int, nc), stages: make([]stage, nc), scratch: make([][]int, nc),
		budget: fisherCompletionBudget}
	for i := range f.rs {
		f.rs[i] = int(rows[i])
	}
	for j := range f.c {
		f.c[j] = int(cols[j])
		f.stages[j] = stage{}
		f.scratch[j] = make([]int, nr)
	}
	// Columns in decreasing order of their sums; the table's probability
	// does not depend on the order.
	slices.SortFunc(f.c, func(a, b int) int { return b - a })
	f.K = -f.lf.At(f.m0)
	for _, r := range f.rs {
		f.K += f.lf.At(r)
	}
	for _, v := range f.c {
		f.K += f.lf.At(v)
	}
	obs := f.K
	for i := range x {
		for _, v := range x[i] {
			obs -= f.lf.At(v)
		}
	}
	f.thr = obs + math.Log1p(1e-7) // R's relative tolerance 1 + 1e-7
	f.sufC = make([]float64, nc+1)
	for k := nc - 1; k >= 0; k-- {
		f.sufC[k] = f.sufC[k+1] + f.lf.At(f.c[k])
	}
	return f
}

// sidesOrder compares the sums of two sides of a square table: by their
// largest, then the next... (sorted in decreasing order). The stages walk
// the side that compares larger (fewer nodes, on tables seen), which does
// not depend on which side is the rows: a table and its transpose take the
// same steps.
func sidesOrder(rows, cols []float64) int {
	a := slices.Sorted(slices.Values(rows))
	b := slices.Sorted(slices.Values(cols))
	slices.Reverse(a)
	slices.Reverse(b)
	return slices.Compare(b, a)
}

// run walks the stages, adding to f.p.
func (f *fisherNet) run() error {
	start, err := f.node(0, slices.Sorted(slices.Values(f.rs)))
	if err != nil {
		return err
	}
	start.groups = []pathGroup{{v: f.K, m: 1}}
	start.seal()
	if start.fut != nil { // a small table: the start holds every table
		f.settle(start, 0, 1, 0, 1, start)
		return nil
	}
	level := []*netNode{start}
	for k := 0; len(level) > 0; k++ {
		for _, n := range level {
			if err := f.expand(n, k); err != nil {
				return err
			}
		}
		level = f.stages[k+1].reached()
		f.release(k + 1)
	}
	return nil
}

// release frees the nodes of stage k once the arcs into it are all
// followed: no node made from now on has children there.
func (f *fisherNet) release(k int) {
	for _, n := range f.stages[k] {
		for ; n != nil; n = n.chain {
			f.budget += len(n.fut)
		}
	}
	f.stages[k] = nil
}

// stage is the nodes of a stage by a hash of their sums left (nodes with
// the same hash are chained).
type stage map[uint64]*netNode

// hashRem is the hash of rem in a stage (FNV-1a over the sums).
func hashRem(rem []int) uint64 {
	h := uint64(14695981039346656037)
	for _, r := range rem {
		h = (h ^ uint64(r)) * 1099511628211
	}
	return h
}

// find returns the node of rem (its hash h), or nil.
func (s stage) find(h uint64, rem []int) *netNode {
	for n := s[h]; n != nil; n = n.chain {
		if slices.Equal(n.rem, rem) {
			return n
		}
	}
	return nil
}

// add adds n, of hash h.
func (s stage) add(h uint64, n *netNode) {
	n.chain = s[h]
	s[h] = n
}

// reached returns the nodes of s that some paths reach, sealed, in the
// order of their sums left (a fixed order: a repeatable sum).
func (s stage) reached() []*netNode {
	var out []*netNode
	for _, n := range s {
		for ; n != nil; n = n.chain {
			if len(n.groups) > 0 {
				n.seal()
				out = append(out, n)
			}
		}
	}
	slices.SortFunc(out, func(a, b *netNode) int { return slices.Compare(a.rem, b.rem) })
	return out
}

// node returns the node of the sums left rem (sorted) at stage k, made
// with its completions if it has few enough (see complete). rem is copied.
func (f *fisherNet) node(k int, rem []int) (*netNode, error) {
	h := hashRem(rem)
	if n := f.stages[k].find(h, rem); n != nil {
		return n, nil
	}
	n := &netNode{rem: slices.Clone(rem)}
	f.counts.nodes++
	m := 0
	sumRem := 0.0
	for _, r := range rem {
		m += r
		sumRem += f.lf.At(r)
	}
	n.logTotal = f.lf.At(m) - sumRem - f.sufC[k]
	f.stages[k].add(h, n)
	return n, f.complete(n, k)
}

// bound sets the bounds of n (at stage k) when it holds no completions.
func (f *fisherNet) bound(n *netNode, k int) {
	if n.bounded {
		return
	}
	m := 0
	for _, r := range n.rem {
		m += r
	}
	f.work += 1 + f.nr*(f.nc-k)*m/64 // the bounds' cost, in arcs
	n.lo, n.hi, n.bounded = f.shortest(k, n.rem), f.longest(k, n.rem, m), true
}

// child is the node at stage k+1 below the sums left rem by the column
// xs: rem − xs, sorted (built in f.scratch[k+1]).
func (f *fisherNet) child(k int, rem, xs []int) (*netNode, error) {
	c := f.scratch[k+1]
	for i, r := range rem {
		c[i] = r - xs[i]
	}
	sortSmall(c)
	return f.node(k+1, c)
}

// complete makes n.fut, the completions of n (at stage k), from those of
// its children, or marks n open when it or one of its children has more
// than fisherMaxCompletions, or when the nodes hold fisherCompletionBudget.
func (f *fisherNet) complete(n *netNode, k int) error {
	if k == f.nc-1 { // one column left: rem itself
		v := 0.0
		for _, r := range n.rem {
			v -= f.lf.At(r)
		}
		f.hold(n, []pathGroup{{v: v, m: 1}})
		return nil
	}
	var raw []pathGroup
	limit := min(4*fisherMaxCompletions, f.budget)
	if columnsAtLeast(n.rem, f.c[k], f.lf) > float64(limit) {
		n.open = true // too many arcs: do not explore the nodes below
		return nil
	}
	err := f.columns(n.rem, f.c[k], func(xs []int, w, mult float64) error {
		cn, err := f.child(k, n.rem, xs)
		if err != nil {
			return err
		}
		if cn.open || len(raw)+len(cn.fut) > limit {
			return errOpen
		}
		for _, g := range cn.fut {
			raw = append(raw, pathGroup{v: w + g.v, m: mult * g.m})
		}
		f.work += 1 + len(cn.fut)/4 // an arc, and completions a quarter each
		f.counts.completions += len(cn.fut)
		if f.work > f.maxWork {
			return errFisherWork
		}
		return nil
	})
	if err == errOpen {
		n.open = true
		return nil
	}
	if err != nil {
		return err
	}
	sortGroups(raw)
	if fut := mergeGroups(raw); len(fut) <= min(fisherMaxCompletions, f.budget) {
		f.hold(n, slices.Clip(fut))
	} else {
		n.open = true
	}
	return nil
}

// hold makes fut (sorted, distinct) the completions of n.
func (f *fisherNet) hold(n *netNode, fut []pathGroup) {
	n.fut = fut
	n.lo, n.hi, n.bounded = fut[0].v, fut[len(fut)-1].v, true
	n.fmax = n.hi
	n.futPrefix = make([]float64, len(fut)+1)
	for i, g := range fut {
		n.futPrefix[i+1] = n.futPrefix[i] + g.m*math.Exp(g.v-n.fmax)
	}
	f.budget -= len(fut)
}

// merge sorts the past of n by value and sums the multiplicities of equal
// values.
func (n *netNode) merge() {
	sortGroups(n.groups[n.merged:])
	n.groups = mergeGroups(mergeSorted(n.groups[:n.merged], n.groups[n.merged:]))
	n.merged = len(n.groups)
}

// seal merges the past of n and sums its weights.
func (n *netNode) seal() {
	n.merge()
	n.vmax = n.groups[len(n.groups)-1].v
	n.weight = make([]float64, len(n.groups))
	n.prefix = make([]float64, len(n.groups)+1)
	for i, g := range n.groups {
		n.weight[i] = g.m * math.Exp(g.v-n.vmax)
		n.prefix[i+1] = n.prefix[i] + n.weight[i]
	}
}

// sortGroups sorts groups by value (then multiplicity: a fixed order).
func sortGroups(gs []pathGroup) {
	slices.SortFunc(gs, func(a, b pathGroup) int {
		if a.v != b.v {
			if a.v < b.v {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.m, b.m)
	})
}

// mergeSorted merges two sorted lists of groups into a new one.
func mergeSorted(a, b []pathGroup) []pathGroup {
	if len(a) == 0 {
		return b
	}
	out := make([]pathGroup, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0].v < a[0].v {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// mergeGroups merges sorted groups whose values are within 1e-9 of the
// first of their run (the same sub-table multiset, up to rounding), in place.
func mergeGroups(gs []pathGroup) []pathGroup {
	if len(gs) == 0 {
		return gs
	}
	out := gs[:1]
	for _, g := range gs[1:] {
		if last := &out[len(out)-1]; g.v-last.v < 1e-9 {
			last.m += g.m
		} else {
			out = append(out, g)
		}
	}
	return out
}

// expand follows every arc out of n (at stage k): the pasts of n that the
// child does not settle go on to it.
func (f *fisherNet) expand(n *netNode, k int) error {
	return f.columns(n.rem, f.c[k], func(xs []int, w, mult float64) error {
		f.work++
		f.counts.arcs++
		if f.work > f.maxWork {
			return errFisherWork
		}
		cn, err := f.child(k, n.rem, xs)
		if err != nil {
			return err
		}
		f.bound(cn, k+1)
		gs := n.groups
		// groups [0, i1) count with every completion, [i2, len) drop
		i1 := sort.Search(len(gs), func(i int) bool { return gs[i].v+w+cn.hi > f.thr })
		i2 := i1 + sort.Search(len(gs)-i1, func(i int) bool { return gs[i1+i].v+w+cn.lo > f.thr })
		if i1 > 0 {
			f.p += mult * n.prefix[i1] * math.Exp(n.vmax+w+cn.logTotal)
		}
		switch {
		case i1 == i2:
		case cn.fut != nil:
			f.settle(n, i1, i2, w, mult, cn)
		default:
			f.carry(n, i1, i2, w, mult, cn)
		}
		return nil
	})
}

// carry adds the pasts [i1, i2) of n, through an arc of value w and
// multiplicity mult, to the past of cn.
func (f *fisherNet) carry(n *netNode, i1, i2 int, w, mult float64, cn *netNode) {
	f.work += i2 - i1
	f.counts.carried += i2 - i1
	for _, g := range n.groups[i1:i2] {
		cn.groups = append(cn.groups, pathGroup{v: g.v + w, m: g.m * mult})
	}
	if len(cn.groups) > 2*max(cn.merged, 512) {
		cn.merge()
	}
}

// settle adds to f.p the tables no more probable than the observed one among
// the pasts [i1, i2) of n, through an arc of value w and multiplicity mult,
// each with every completion of cn: as the pasts' values grow, the
// completions they count with shrink, so either one merge of the two sorted
// lists, or a binary search per past when the completions are many more.
func (f *fisherNet) settle(n *netNode, i1, i2 int, w, mult float64, cn *netNode) {
	t0 := f.thr - w // a past v counts with the completions u <= t0 − v
	fut, gs := cn.fut, n.groups
	upTo := func(lo, hi int, t float64) int { // completions [0, j) are <= t, j in [lo, hi]
		return lo + sort.Search(hi-lo, func(b int) bool { return fut[lo+b].v > t })
	}
	j := upTo(0, len(fut), t0-gs[i1].v)
	jEnd := upTo(0, j, t0-gs[i2-1].v)
	s, steps := 0.0, 0
	if lg := bits.Len(uint(j - jEnd)); j-jEnd <= (i2-i1)*lg {
		for g := i1; g < i2; g++ {
			t := t0 - gs[g].v
			for j > 0 && fut[j-1].v > t {
				j--
			}
			s += n.weight[g] * cn.futPrefix[j]
		}
		steps = i2 - i1 + j - jEnd
	} else {
		for g := i1; g < i2; g++ {
			j = upTo(jEnd, j, t0-gs[g].v)
			s += n.weight[g] * cn.futPrefix[j]
		}
		steps = (i2 - i1) * lg
	}
	f.work += steps / 4 // merge steps cost about a quarter of an arc
	f.counts.settled += steps
	f.p += mult * s * math.Exp(n.vmax+w+cn.fmax)
}

// columns calls visit with every column x (Σ x = sum, 0 ≤ x_i ≤ rem_i) up to
// the order of its cells among rows with equal sums left (rem sorted: x
// non-increasing within each run of equal rem), with its value −Σ ln x_i!
// and mult, the number of columns it stands for.
func (f *fisherNet) columns(rem []int, sum int, visit func(xs []int, w, mult float64) error) error {
	nr := len(rem)
	capa := make([]int, nr+1) // capa[i] = Σ_{i' ≥ i} rem[i']
	for i := nr - 1; i >= 0; i-- {
		capa[i] = capa[i+1] + rem[i]
	}
	runs := false
	for i := 1; i < nr; i++ {
		runs = runs || rem[i] == rem[i-1]
	}
	xs := make([]int, nr)
	var rec func(i, left int, w float64) error
	rec = func(i, left int, w float64) error {
		if i == nr-1 {
			if i > 0 && rem[i] == rem[i-1] && left > xs[i-1] {
				return nil // not in canonical (non-increasing) order within its run
			}
			xs[i] = left
			mult := 1.0
			if runs {
				mult = arcMultiplicity(rem, xs, f.lf)
			}
			return visit(xs, w-f.lf.At(left), mult)
		}
		hi := min(rem[i], left)
		if i > 0 && rem[i] == rem[i-1] {
			hi = min(hi, xs[i-1]) // rows with equal sums left: one order of their cells
		}
		for v := max(0, left-capa[i+1]); v <= hi; v++ {
			xs[i] = v
			if err := rec(i+1, left-v, w-f.lf.At(v)); err != nil {
				return err
			}
		}
		return nil
	}
	return rec(0, sum, 0)
}

// columnsAtLeast bounds from below the number of columns columns visits
// (Σ x = sum, 0 ≤ x_i ≤ rem_i, one order within each run of equal rem): all
// of them over Π (run length)!.
func columnsAtLeast(rem []int, sum int, lf logFactorials) float64 {
	ways := make([]float64, sum+1) // ways[s]: columns of the rows so far with Σ = s
	ways[0] = 1
	next := make([]float64, sum+1)
	perms := 0.0
	run := 1
	for i, r := range rem {
		if i > 0 && r == rem[i-1] {
			run++
		} else {
			perms += lf.At(run)
			run = 1
		}
		acc := 0.0 // next[s] = Σ_{x=0..r} ways[s−x]
		for s := range next {
			acc += ways[s]
			if s-r-1 >= 0 {
				acc -= ways[s-r-1]
			}
			next[s] = acc
		}
		ways, next = next, ways
	}
	perms += lf.At(run)
	return ways[sum] / math.Exp(perms)
}

// sortSmall sorts a few ints (insertion sort).
func sortSmall(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
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
			if j-i < len(smallFactorials) { // exact, without exp
				r := smallFactorials[j-i]
				for a := i; a < j; {
					b := a + 1
					for b < j && xs[b] == xs[a] {
						b++
					}
					r /= smallFactorials[b-a]
					a = b
				}
				m *= r
			} else {
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
		}
		i = j
	}
	return m
}

// smallFactorials are n! for n < 19, exact in a float64 (and their ratios
// in arcMultiplicity, integers below 2^53).
var smallFactorials = func() (f [19]float64) {
	f[0] = 1
	for n := 1; n < len(f); n++ {
		f[n] = f[n-1] * float64(n)
	}
	return f
}()
