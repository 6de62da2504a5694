package evals

import (
	"context"
	"slices"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/store"
)

// Rescored is the result of RescoreRows.
type Rescored struct {
	// Rows are the re-scored rows of the items whose input is unchanged, in
	// the new suite's item order.
	Rows []Row
	// Items is the number of items re-scored.
	Items int
	// Missing are the items of the new suite without a stored output for
	// their input (new items or changed inputs): they must be run.
	Missing map[string]bool
}

// RescoreRows brings the stored rows old onto suite s without running
// anything: an item of s whose id and input digest match stored rows gets
// those rows' outputs (same epochs, seeds, latencies and errors) re-scored
// with s's scorer and reference. Rows of items s no longer has are dropped.
func RescoreRows(s *Suite, old []Row) Rescored {
	byItem := make(map[string][]int, len(s.Items))
	for i := range old {
		byItem[old[i].Item] = append(byItem[old[i].Item], i)
	}
	res := Rescored{Missing: map[string]bool{}, Rows: make([]Row, 0, len(old))}
	suite := s.Digest.String()
	for _, it := range s.Items {
		idx := byItem[it.ID]
		in := it.InputDigest().String()
		if len(idx) == 0 || old[idx[0]].InputDigest != in {
			res.Missing[it.ID] = true
			continue
		}
		ok := true
		for _, i := range idx {
			if old[i].InputDigest != in {
				ok = false
			}
		}
		if !ok {
			res.Missing[it.ID] = true
			continue
		}
		res.Items++
		for _, i := range idx {
			r := old[i]
			r.Suite = suite
			r.Rescored = true
			o, err := decodeOutput(r.Output)
			r.Score = s.Scorer.Score(o, r.Error != "" || err != nil, it.Reference)
			res.Rows = append(res.Rows, r)
		}
	}
	return res
}

// Merge orders rows by the suite's item order, then epoch.
func Merge(s *Suite, parts ...[]Row) []Row {
	byItem := map[string][]Row{}
	n := 0
	for _, p := range parts {
		for _, r := range p {
			byItem[r.Item] = append(byItem[r.Item], r)
			n++
		}
	}
	out := make([]Row, 0, n)
	for _, it := range s.Items {
		rs := byItem[it.ID]
		slices.SortStableFunc(rs, func(a, b Row) int { return a.Epoch - b.Epoch })
		out = append(out, rs...)
	}
	return out
}

// Rebase is a stored run being brought onto a new suite (evals rescore):
// the new run's manifest (the old run's system, parameters, seed and
// epochs; Ran and Rescored counted, From naming the old run) and the rows
// re-scored. The items in Missing must be run (Manifest.Target,
// Manifest.Options with Only = Missing) before Finish.
type Rebase struct {
	Suite    *Suite
	Manifest *RunManifest
	Rescored
}

// RebaseRun plans bringing the stored run old onto suite s (RescoreRows).
func RebaseRun(s *Suite, old *StoredRun) *Rebase {
	rs := RescoreRows(s, old.Rows)
	m := NewRun(s, old.Target(), old.Params, old.RunSeed, old.Epochs)
	m.Ran, m.Rescored, m.From = len(rs.Missing), rs.Items, []digest.Digest{old.Run}
	return &Rebase{Suite: s, Manifest: m, Rescored: rs}
}

// Finish merges ran, the rows of the Missing items, with the re-scored
// rows in the suite's order and stores the new run (RunManifest.Finish).
func (r *Rebase) Finish(ctx context.Context, w store.Writer, ran []Row, conf float64, now time.Time) (digest.Digest, error) {
	all := r.Rows
	if len(r.Missing) > 0 {
		all = Merge(r.Suite, r.Rows, ran)
	}
	return r.Manifest.Finish(ctx, w, r.Suite, all, conf, now)
}
