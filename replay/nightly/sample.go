package nightly

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"

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
	cols := f.Columns()
	sys, hw := -1, -1
	if stratify {
		for _, c := range []string{"system_id", "hardware_class"} {
			if !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		}
		sys, hw = slices.Index(cols, "system_id"), slices.Index(cols, "hardware_class")
	}
	workers = max(1, workers)
	// margin is how many extra candidates a stratum keeps to replace drawn
	// rows that turn out invalid; a night with more invalid drawn rows than
	// that scans again with a larger margin.
	margin := k/8 + 8
	bad := map[int64]bool{} // drawn rows found invalid
	var decodeErrs []record.RowError
	for {
		capacity := 0
		if k > 0 {
			capacity = k + margin
		}
		type state struct {
			m                 *ingest.RowMatcher
			res               *Reservoir
			scanned, selected int64
			nerr              int64
			errs              []record.RowError
		}
		states := make([]*state, workers)
		for w := range states {
			m, err := f.NewRowMatcher(cols)
			if err != nil {
				return nil, err
			}
			states[w] = &state{m: m, res: NewReservoir(capacity, seed)}
		}
		err := l.ScanColumns(cols, record.ScanOptions{Time: f.Time}, workers, func(w int, b *record.ColumnBatch) error {
			s := states[w]
			s.scanned += int64(b.Len)
			for i := range b.Len {
				row := b.First + int64(i)
				keep, probs := s.m.Match(b, i)
				if keep && stratify {
					for _, c := range []int{sys, hw} {
						if b.Null(c, i) {
							probs = append(probs, record.Problem{Field: cols[c], Message: "NULL in a required column"})
						}
					}
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
				if bad[row] {
					continue
				}
				var st stratumKey
				if stratify {
					st = stratumKey{b.Str(sys, i), b.Str(hw, i)}
				}
				s.res.Offer(st, row)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		d := &drawn{}
		res := NewReservoir(capacity, seed)
		var listed []record.RowError
		for _, s := range states {
			d.Scanned += s.scanned
			d.Selected += s.selected
			d.RowErrors += s.nerr
			listed = append(listed, s.errs...)
			res.Merge(s.res)
		}
		keys, lists, truncated := res.sorted()
		// Decode each stratum's first k candidates; replace invalid ones
		// with the next, until k are valid or the candidates run out.
		taken := make([]int, len(keys))
		valid := make([][]*record.Record, len(keys))
		rescan := false
		for {
			var want []int64
			from := map[int64]int{}
			for si, c := range lists {
				need := len(c)
				if k > 0 {
					need = k - len(valid[si])
				}
				for ; need > 0 && taken[si] < len(c); need-- {
					want = append(want, c[taken[si]].row)
					from[c[taken[si]].row] = si
					taken[si]++
				}
				if need > 0 && truncated[si] {
					rescan = true
				}
			}
			if len(want) == 0 || rescan {
				break
			}
			rows, err := l.DecodeRows(want, workers)
			if err != nil {
				return nil, err
			}
			// Keep each stratum's records in key order.
			got := map[int64]*record.Record{}
			for _, r := range rows {
				if r.Err != nil {
					bad[r.Row] = true
					decodeErrs = append(decodeErrs, *r.Err)
					continue
				}
				got[r.Row] = r.Rec
			}
			for _, row := range want {
				if rec := got[row]; rec != nil {
					si := from[row]
					valid[si] = append(valid[si], rec)
				}
			}
		}
		if rescan {
			// The rows found invalid are excluded from the next pass (and
			// stay listed: they lie before the k-th valid row in key order).
			margin = 2*margin + len(bad)
			continue
		}
		for _, v := range valid {
			d.Records = append(d.Records, v...)
		}
		slices.SortStableFunc(d.Records, func(a, b *record.Record) int {
			if c := strings.Compare(SystemKey(a), SystemKey(b)); c != 0 {
				return c
			}
			return strings.Compare(a.RequestID, b.RequestID)
		})
		d.RowErrors += int64(len(decodeErrs))
		listed = append(listed, decodeErrs...)
		slices.SortFunc(listed, func(a, b record.RowError) int { return cmp.Compare(a.Row, b.Row) })
		d.Listed = listed[:min(len(listed), MaxRowErrors)]
		return d, nil
	}
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
