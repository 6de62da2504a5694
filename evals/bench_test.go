package evals

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/store"
)

// BenchmarkRescore100k re-scores 10^5 stored item results (10^4 items × 10
// epochs) end to end: read the stored Parquet from the store, re-score with
// a changed reference, write the new Parquet back. Quality bar: under 2 s.
func BenchmarkRescore100k(b *testing.B) {
	ctx := context.Background()
	const items, epochs = 10000, 10
	var sb1, sb2 strings.Builder
	for i := range items {
		fmt.Fprintf(&sb1, `{"id":"i%d","input":{"x":%d},"reference":"approved"}`+"\n", i, i)
		ref := "approved"
		if i%10 == 0 {
			ref = "denied"
		}
		fmt.Fprintf(&sb2, `{"id":"i%d","input":{"x":%d},"reference":%q}`+"\n", i, i, ref)
	}
	mk := func(spec, its string) *Suite {
		dir := b.TempDir()
		os.WriteFile(filepath.Join(dir, SpecFile), []byte(spec), 0o644)
		os.WriteFile(filepath.Join(dir, ItemsFile), []byte(its), 0o644)
		s, err := LoadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	s1 := mk(labelSpec, sb1.String())
	s2 := mk(strings.Replace(labelSpec, `"1"`, `"2"`, 1), sb2.String())
	rows := make([]Row, 0, items*epochs)
	for _, it := range s1.Items {
		for e := range epochs {
			l := "approved"
			if e%3 == 0 {
				l = "referred"
			}
			o := output.Output{Label: &l, Score: new(0.8)}
			rows = append(rows, Row{Suite: s1.Digest.String(), Item: it.ID, InputDigest: it.InputDigest().String(), Epoch: e,
				Seed: SeedFor(1, it.ID, e), Output: string(o.Canonical()), OutputDigest: digest.FromBytes(o.Canonical()).String(), Score: 1})
		}
	}
	st := store.NewMem()
	data, err := EncodeRows(rows)
	if err != nil {
		b.Fatal(err)
	}
	d, err := st.PutBytes(ctx, data, store.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		raw, err := st.ReadAll(ctx, d)
		if err != nil {
			b.Fatal(err)
		}
		old, err := DecodeRows(raw)
		if err != nil {
			b.Fatal(err)
		}
		rs := RescoreRows(s2, old)
		if len(rs.Rows) != items*epochs || len(rs.Missing) != 0 {
			b.Fatalf("%d rows, %d missing", len(rs.Rows), len(rs.Missing))
		}
		if _, err := EncodeRows(rs.Rows); err != nil {
			b.Fatal(err)
		}
	}
}
