package nightly

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

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

// Reservoir is a seeded one-pass sample: K records uniformly (Algorithm R),
// or, when stratified, K records of each system. The sample depends only on
// the seed and the order of the records offered.
type Reservoir struct {
	K        int
	Stratify bool
	Seed     uint64
	strata   map[string]*stratum
	order    []string
}

type stratum struct {
	seen int64
	keep []*record.Record
	rng  *rand.Rand
}

// NewReservoir returns a sampler of k records (k <= 0: every record).
func NewReservoir(k int, stratify bool, seed uint64) *Reservoir {
	return &Reservoir{K: k, Stratify: stratify, Seed: seed, strata: map[string]*stratum{}}
}

// Offer considers one record.
func (s *Reservoir) Offer(r *record.Record) {
	key := ""
	if s.Stratify {
		key = SystemKey(r)
	}
	st := s.strata[key]
	if st == nil {
		h := sha256.Sum256([]byte("reprise/nightly-sample/v1\n" + key))
		st = &stratum{rng: rand.New(rand.NewPCG(s.Seed, binary.BigEndian.Uint64(h[:8])))}
		s.strata[key] = st
		s.order = append(s.order, key)
	}
	st.seen++
	if s.K <= 0 || len(st.keep) < s.K {
		st.keep = append(st.keep, r)
		return
	}
	if j := st.rng.Int64N(st.seen); j < int64(s.K) {
		st.keep[j] = r
	}
}

// Seen is the number of records offered.
func (s *Reservoir) Seen() int64 {
	var n int64
	for _, st := range s.strata {
		n += st.seen
	}
	return n
}

// Sample returns the sample sorted by system key, then request id.
func (s *Reservoir) Sample() []*record.Record {
	var out []*record.Record
	for _, k := range s.order {
		out = append(out, s.strata[k].keep...)
	}
	slices.SortStableFunc(out, func(a, b *record.Record) int {
		if c := strings.Compare(SystemKey(a), SystemKey(b)); c != 0 {
			return c
		}
		return strings.Compare(a.RequestID, b.RequestID)
	})
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
