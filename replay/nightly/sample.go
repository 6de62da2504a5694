package nightly

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/record"
)

// SystemKey names the system a record ran on for sessions, strata, shards
// and rates: its composite id and its hardware class.
func SystemKey(r *record.Record) string {
	return r.System.ID.String() + " " + r.Runtime.HardwareClass
}

// SystemName is a short human name of a system key's record:
// "loan-approver 2.4.1 (sha256:1234abcd…, cpu/amd64/x86-64-v3)".
func SystemName(r *record.Record) string {
	return fmt.Sprintf("%s %s (%s, %s)", r.System.Model.Name, r.System.Model.Version, r.System.ID.Short(), r.Runtime.HardwareClass)
}

// The sample is a bottom-k sample: every selected row gets a key derived
// from the seed and its row number alone (SampleKey), and the sample is the
// K rows with the smallest keys (per system when stratified). Keys are
// independent uniform draws, so every K-subset of the selected rows is
// equally likely (a uniform sample without replacement), and the sample
// does not depend on the order or the parallelism of the scan: the same
// seed over the same log draws the same rows.

// SampleKey is a row's sampling key: SplitMix64 (Steele, Lea and Flood
// 2014) at position row of the stream seeded with seed.
func SampleKey(seed uint64, row int64) uint64 {
	z := seed + uint64(row)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// candidate is a selected row and its key; ties in key go to the lower row.
type candidate struct {
	key uint64
	row int64
}

func (a candidate) less(b candidate) bool {
	return a.key < b.key || a.key == b.key && a.row < b.row
}

// stratumKey names a stratum by the raw system_id and hardware_class
// columns (both "" when not stratified).
type stratumKey struct{ id, hw string }

// Reservoir keeps the rows with the smallest keys: Cap of each stratum
// (Cap <= 0: every row offered).
type Reservoir struct {
	Cap    int
	Seed   uint64
	strata map[stratumKey]*bottomK
}

// bottomK is a max-heap (by key) of at most cap candidates, and the number
// of rows offered.
type bottomK struct {
	h    []candidate
	seen int64
}

// NewReservoir returns an empty reservoir.
func NewReservoir(capacity int, seed uint64) *Reservoir {
	return &Reservoir{Cap: capacity, Seed: seed, strata: map[stratumKey]*bottomK{}}
}

// Offer considers one row of a stratum.
func (s *Reservoir) Offer(st stratumKey, row int64) {
	b := s.strata[st]
	if b == nil {
		b = &bottomK{}
		s.strata[st] = b
	}
	b.offer(s.Cap, candidate{SampleKey(s.Seed, row), row})
}

func (b *bottomK) offer(capacity int, c candidate) {
	b.seen++
	h := b.h
	if capacity <= 0 || len(h) < capacity {
		h = append(h, c)
		for i := len(h) - 1; i > 0; { // sift up
			p := (i - 1) / 2
			if !h[p].less(h[i]) {
				break
			}
			h[p], h[i] = h[i], h[p]
			i = p
		}
		b.h = h
		return
	}
	if !c.less(h[0]) {
		return
	}
	h[0] = c
	for i := 0; ; { // sift down
		l, m := 2*i+1, i
		if l < len(h) && h[m].less(h[l]) {
			m = l
		}
		if r := l + 1; r < len(h) && h[m].less(h[r]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// Merge adds o's rows (of a disjoint set of rows) to s.
func (s *Reservoir) Merge(o *Reservoir) {
	for st, ob := range o.strata {
		b := s.strata[st]
		if b == nil {
			b = &bottomK{}
			s.strata[st] = b
		}
		for _, c := range ob.h {
			b.offer(s.Cap, c)
		}
		b.seen += ob.seen - int64(len(ob.h))
	}
}

// sorted returns each stratum's rows by ascending key, and whether rows
// were left out (more offered than kept), in the order of the strata keys.
func (s *Reservoir) sorted() (keys []stratumKey, rows [][]candidate, truncated []bool) {
	keys = slices.SortedFunc(maps.Keys(s.strata), func(a, b stratumKey) int {
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		return strings.Compare(a.hw, b.hw)
	})
	for _, k := range keys {
		b := s.strata[k]
		c := slices.Clone(b.h)
		slices.SortFunc(c, func(x, y candidate) int {
			if x.less(y) {
				return -1
			}
			if y.less(x) {
				return 1
			}
			return 0
		})
		rows = append(rows, c)
		truncated = append(truncated, b.seen > int64(len(c)))
	}
	return keys, rows, truncated
}

// drawn is the outcome of drawing a night's sample from a log.
type drawn struct {
	// Records are the sample sorted by system key, then request id.
	Records []*record.Record
	// Scanned counts the rows of the row groups read (groups whose
	// timestamp statistics lie outside the time range are not read);
	// Selected the rows the filter kept.
	Scanned, Selected int64
	// RowErrors counts the rows the filter could not judge (a NULL in a
	// column it reads, a where evaluation error) and the drawn rows that
	// are not valid records (each replaced by the next row in key order);
	// Listed are the first MaxRowErrors of them by row number.
	RowErrors int64
	Listed    []record.RowError
}

// sampleWorkers is the number of goroutines reading the log: one per core.
func sampleWorkers() int { return max(1, min(runtime.GOMAXPROCS(0), 8)) }

// drawSample filters the log and draws the sample in two passes: the first
// reads only the columns the filter (and the strata) need, row group by row
// group on every core, and keeps the candidates with the smallest keys; the
// second decodes only the drawn rows. A drawn row that is not a valid record
// is a row error and the next candidate of its stratum takes its place, so
// the sample is the k smallest keys among the valid selected rows.
func drawSample(l *record.ParquetLog, f ingest.Filter, k int, stratify bool, seed uint64, workers int) (*drawn, error) {
	d := newDrawer(l, f, k, stratify, seed, workers)
	for {
		p, err := d.scan()
		if err != nil {
			return nil, err
		}
		recs, ok, err := d.decode(p.res)
		if err != nil {
			return nil, err
		}
		if ok {
			return d.result(p, recs), nil
		}
		// The rows found invalid are excluded from the next pass (and stay
		// listed: they lie before the k-th valid row in key order).
		d.margin = 2*d.margin + len(d.bad)
	}
}

// drawer is one draw of a sample (drawSample): the log, what to draw, and
// what the passes so far found out.
type drawer struct {
	l        *record.ParquetLog
	f        ingest.Filter
	k        int
	stratify bool
	seed     uint64
	workers  int
	// cols are the columns the first pass reads; sys and hw the indexes
	// of system_id and hardware_class among them (-1: not stratified).
	cols    []string
	sys, hw int
	// margin is how many extra candidates a stratum keeps to replace drawn
	// rows that turn out invalid; a night with more invalid drawn rows
	// than that scans again with a larger margin.
	margin int
	// bad are the drawn rows found invalid, decodeErrs their errors.
	bad        map[int64]bool
	decodeErrs []record.RowError
}

func newDrawer(l *record.ParquetLog, f ingest.Filter, k int, stratify bool, seed uint64, workers int) *drawer {
	d := &drawer{l: l, f: f, k: k, stratify: stratify, seed: seed, workers: max(1, workers),
		cols: f.Columns(), sys: -1, hw: -1, margin: k/8 + 8, bad: map[int64]bool{}}
	if stratify {
		for _, c := range []string{"system_id", "hardware_class"} {
			if !slices.Contains(d.cols, c) {
				d.cols = append(d.cols, c)
			}
		}
		d.sys, d.hw = slices.Index(d.cols, "system_id"), slices.Index(d.cols, "hardware_class")
	}
	return d
}

// pass is what the first pass found, per worker and then over the log: the
// reservoir of candidates, the rows read and selected, and the row errors
// (nerr, the first MaxRowErrors listed in errs).
type pass struct {
	m                 *ingest.RowMatcher
	res               *Reservoir
	scanned, selected int64
	nerr              int64
	errs              []record.RowError
	// overCost are the rows (the first maxOverCost) on which the where
	// expression went over its cost limit.
	overCost []int64
}

// maxOverCost is how many rows over the where cost limit the error lists;
// a worker that found as many stops the scan (errOverCost).
const maxOverCost = 10

var errOverCost = errors.New("where cost limit exceeded")

// scan is the first pass: it reads the filter's columns on every worker
// and merges what they found.
func (d *drawer) scan() (*pass, error) {
	capacity := 0
	if d.k > 0 {
		capacity = d.k + d.margin
	}
	states := make([]*pass, d.workers)
	for w := range states {
		m, err := d.f.NewRowMatcher(d.cols)
		if err != nil {
			return nil, err
		}
		states[w] = &pass{m: m, res: NewReservoir(capacity, d.seed)}
	}
	err := d.l.ScanColumns(d.cols, record.ScanOptions{Time: d.f.Time}, d.workers, func(w int, b *record.ColumnBatch) error {
		d.offer(states[w], b)
		if len(states[w].overCost) >= maxOverCost {
			return errOverCost // enough rows to list: the night stops
		}
		return nil
	})
	if err != nil && !errors.Is(err, errOverCost) {
		return nil, err
	}
	all := &pass{res: NewReservoir(capacity, d.seed)}
	for _, s := range states {
		all.scanned += s.scanned
		all.selected += s.selected
		all.nerr += s.nerr
		all.errs = append(all.errs, s.errs...)
		all.overCost = append(all.overCost, s.overCost...)
		all.res.Merge(s.res)
	}
	if len(all.overCost) > 0 {
		return nil, overCostError(d.f.Where, all.overCost)
	}
	return all, nil
}

// overCostError is the error of a scan whose where expression went over
// its cost limit on rows (the first of them, in any order): the night does
// not go on with a selection it could not judge. It wraps ingest.ErrWhere.
func overCostError(w *ingest.Where, rows []int64) error {
	slices.Sort(rows)
	rows = rows[:min(len(rows), maxOverCost)]
	list := make([]string, len(rows))
	for i, r := range rows {
		list[i] = strconv.FormatInt(r, 10)
	}
	more := ""
	if len(rows) >= maxOverCost {
		more = " (the first listed)"
	}
	return fmt.Errorf("%w: --where %s went over its cost limit of %d on rows %s%s; raise the limit with %s or simplify the expression",
		ingest.ErrWhere, w, w.Limit(), strings.Join(list, ", "), more, ingest.CostFlag)
}

// offer passes a batch's selected rows (but those found invalid) to s's
// reservoir, and counts the rows, the selected and the row errors.
func (d *drawer) offer(s *pass, b *record.ColumnBatch) {
	s.scanned += int64(b.Len)
	for i := range b.Len {
		row := b.First + int64(i)
		keep, probs := d.match(s.m, b, i)
		if len(probs) > 0 && probs[0].Field == ingest.CostProblem && len(s.overCost) < maxOverCost {
			s.overCost = append(s.overCost, row)
		}
		if len(probs) > 0 {
			s.nerr++
			if len(s.errs) < MaxRowErrors {
				s.errs = append(s.errs, record.RowError{Row: row, Problems: probs})
			}
			continue
		}
		if !keep {
			continue
		}
		s.selected++
		if d.bad[row] {
			continue
		}
		var st stratumKey
		if d.stratify {
			st = stratumKey{b.Str(d.sys, i), b.Str(d.hw, i)}
		}
		s.res.Offer(st, row)
	}
}

// match judges row i of b: whether the filter keeps it, and its problems
// (a stratified night also needs its system_id and hardware_class).
func (d *drawer) match(m *ingest.RowMatcher, b *record.ColumnBatch, i int) (bool, []record.Problem) {
	keep, probs := m.Match(b, i)
	if keep && d.stratify {
		for _, c := range []int{d.sys, d.hw} {
			if b.Null(c, i) {
				probs = append(probs, record.Problem{Field: d.cols[c], Message: "NULL in a required column"})
			}
		}
	}
	return keep, probs
}

// decode is the second pass: it decodes each stratum's first k candidates
// and replaces each that is not a valid record (marked bad) with the next,
// until k are valid or the candidates run out. It returns false when a
// stratum ran out of candidates while the reservoir had left rows out: the
// first pass must run again with a larger margin.
func (d *drawer) decode(res *Reservoir) ([]*record.Record, bool, error) {
	_, lists, truncated := res.sorted()
	p := &picking{lists: lists, truncated: truncated, taken: make([]int, len(lists)), valid: make([][]*record.Record, len(lists))}
	for {
		want, from, short := p.next(d.k)
		if short {
			return nil, false, nil
		}
		if len(want) == 0 {
			return slices.Concat(p.valid...), true, nil
		}
		rows, err := d.l.DecodeRows(want, d.workers)
		if err != nil {
			return nil, false, err
		}
		got := map[int64]*record.Record{}
		for _, r := range rows {
			if r.Err != nil {
				d.bad[r.Row] = true
				d.decodeErrs = append(d.decodeErrs, *r.Err)
				continue
			}
			got[r.Row] = r.Rec
		}
		for _, row := range want { // each stratum's records stay in key order
			if rec := got[row]; rec != nil {
				p.valid[from[row]] = append(p.valid[from[row]], rec)
			}
		}
	}
}

// picking is the second pass's state: each stratum's candidates by key
// (lists) and whether the reservoir left rows of it out (truncated), how
// many candidates were taken, and the valid records among them.
type picking struct {
	lists     [][]candidate
	truncated []bool
	taken     []int
	valid     [][]*record.Record
}

// next takes the rows to decode next: as many candidates of each stratum
// as it lacks valid records (all of them when k <= 0), and from, the
// stratum of each. short is true when a stratum lacks more than it has
// candidates left while rows of it were left out.
func (p *picking) next(k int) (want []int64, from map[int64]int, short bool) {
	from = map[int64]int{}
	for si, c := range p.lists {
		need := len(c)
		if k > 0 {
			need = k - len(p.valid[si])
		}
		for ; need > 0 && p.taken[si] < len(c); need-- {
			want = append(want, c[p.taken[si]].row)
			from[c[p.taken[si]].row] = si
			p.taken[si]++
		}
		if need > 0 && p.truncated[si] {
			short = true
		}
	}
	return want, from, short
}

// result is the sample drawn: recs sorted by system key, then request id,
// with the counts of the last first pass and every row error.
func (d *drawer) result(p *pass, recs []*record.Record) *drawn {
	slices.SortStableFunc(recs, func(a, b *record.Record) int {
		if c := strings.Compare(SystemKey(a), SystemKey(b)); c != 0 {
			return c
		}
		return strings.Compare(a.RequestID, b.RequestID)
	})
	listed := append(p.errs, d.decodeErrs...)
	slices.SortFunc(listed, func(a, b record.RowError) int { return cmp.Compare(a.Row, b.Row) })
	return &drawn{Records: recs, Scanned: p.scanned, Selected: p.selected,
		RowErrors: p.nerr + int64(len(d.decodeErrs)), Listed: listed[:min(len(listed), MaxRowErrors)]}
}

// draw scans opts.Log once, selecting and sampling, and keeps the sample's
// records of opts.Shard; cfg gets the counts and the sample's request ids.
// Its errors wrap ErrLog.
func draw(opts Options, cfg *Config) ([]*record.Record, error) {
	d, err := drawAll(opts, cfg)
	if err != nil {
		return nil, err
	}
	return shardOf(d.Records, opts.Shard, cfg), nil
}

// drawAll draws the whole night's sample (of every shard) from opts.Log;
// cfg gets the counts (and why the night is empty). Its errors wrap ErrLog.
func drawAll(opts Options, cfg *Config) (*drawn, error) {
	f, _, err := fsread.Open(opts.Log)
	if err != nil {
		return nil, fmt.Errorf("%w: log: %w", ErrLog, err)
	}
	defer f.Close()
	l, err := record.OpenParquetLogContext(context.Background(), f, cfg.LogSize, opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLog, opts.Log, err)
	}
	d, err := drawSample(l, opts.Filter, opts.Sample, opts.Stratify, opts.Seed, sampleWorkers())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLog, opts.Log, err)
	}
	cfg.Scanned, cfg.Selected, cfg.RowErrors, cfg.Listed = d.Scanned, d.Selected, d.RowErrors, d.Listed
	cfg.Drawn = len(d.Records)
	if cfg.Drawn == 0 {
		sp, err := logSpan(l)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrLog, opts.Log, err)
		}
		cfg.Empty = emptyReason(opts.Filter, d, sp)
	}
	return d, nil
}

// shardOf keeps the records of shard (a request id drawn twice once, as a
// row error of cfg) and lists their request ids in cfg.
func shardOf(recs []*record.Record, shard Shard, cfg *Config) []*record.Record {
	var out []*record.Record
	seen := map[string]bool{}
	for _, r := range recs {
		if !shard.Has(SystemKey(r)) {
			continue
		}
		if seen[r.RequestID] {
			cfg.rowError(record.RowError{Problems: []record.Problem{{Field: "request_id", Message: "request id " + r.RequestID + " drawn twice; replayed once"}}})
			continue
		}
		seen[r.RequestID] = true
		out = append(out, r)
		cfg.Records = append(cfg.Records, r.RequestID)
	}
	return out
}

// Shard is a deterministic share of a night: shard I of N (0 <= I < N),
// by system, so a system's records are never split across shards. The zero
// Shard is the whole night.
type Shard struct {
	I, N int
}

// ParseShard parses "i/n".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n", s)
	}
	return Shard{I: i, N: n}, nil
}

func (s Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Has reports whether the system key belongs to the shard: the first 8
// bytes of sha256("reprise/nightly-shard/v1\n" + key) modulo N equal I.
func (s Shard) Has(systemKey string) bool {
	if s.N <= 1 {
		return true
	}
	h := sha256.Sum256([]byte("reprise/nightly-shard/v1\n" + systemKey))
	return binary.BigEndian.Uint64(h[:8])%uint64(s.N) == uint64(s.I)
}

// span is what a night that selected nothing tells about its log: its
// rows, and the first and last of their timestamps (NULLs aside).
type span struct {
	rows        int64
	first, last time.Time
}

// logSpan reads the timestamp column of every row of l (only for a night
// that selected nothing, to say why).
func logSpan(l *record.ParquetLog) (span, error) {
	var mu sync.Mutex
	var sp span
	err := l.ScanColumns([]string{"timestamp"}, record.ScanOptions{}, sampleWorkers(), func(_ int, b *record.ColumnBatch) error {
		var lo, hi time.Time
		for i := range b.Len {
			if b.Null(0, i) {
				continue
			}
			t := b.Time(0, i)
			if lo.IsZero() || t.Before(lo) {
				lo = t
			}
			if hi.IsZero() || t.After(hi) {
				hi = t
			}
		}
		mu.Lock()
		defer mu.Unlock()
		sp.rows += int64(b.Len)
		if !lo.IsZero() && (sp.first.IsZero() || lo.Before(sp.first)) {
			sp.first = lo
		}
		if !hi.IsZero() && (sp.last.IsZero() || hi.After(sp.last)) {
			sp.last = hi
		}
		return nil
	})
	return sp, err
}

// emptyReason says why a night drew no record: the log has no rows, the
// filter selected none of them (with the filter, the log's time span, and
// the rows it could not judge), or none selected is a valid record.
func emptyReason(f ingest.Filter, d *drawn, sp span) string {
	if sp.rows == 0 {
		return "the log has no rows"
	}
	errs := ""
	if d.RowErrors > 0 {
		errs = fmt.Sprintf("; %d rows could not be judged or are not valid records (night.json lists the first)", d.RowErrors)
	}
	if d.Selected > 0 {
		return fmt.Sprintf("the filter selected %d of the log's %d rows, but none is a valid record%s", d.Selected, sp.rows, errs)
	}
	var by []string
	if !f.Time.Since.IsZero() {
		by = append(by, "--since "+f.Time.Since.UTC().Format(time.RFC3339))
	}
	if !f.Time.Until.IsZero() {
		by = append(by, "--until "+f.Time.Until.UTC().Format(time.RFC3339))
	}
	if f.Where != nil {
		by = append(by, "--where "+f.Where.String())
	}
	what := "no row"
	if len(by) > 0 {
		what = "no row matches " + strings.Join(by, ", ")
	}
	when := ""
	if !sp.first.IsZero() {
		when = fmt.Sprintf("; the log's timestamps run from %s to %s", sp.first.UTC().Format(time.RFC3339Nano), sp.last.UTC().Format(time.RFC3339Nano))
		if sp.last.Year() < 1980 {
			when += " (about 1970: were they written in another unit than their column declares, e.g. seconds as milliseconds?)"
		}
	}
	return fmt.Sprintf("%s among the log's %d rows%s%s", what, sp.rows, when, errs)
}
