package evals

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/store"
)

// trainRow is a training row of the Parquet tests: the text columns are
// text, tags (repeated) and label (optional), in that order; id and weight
// are not text.
type trainRow struct {
	ID     int64    `parquet:"id"`
	Text   string   `parquet:"text"`
	Tags   []string `parquet:"tags"`
	Label  *string  `parquet:"label,optional"`
	Weight float64  `parquet:"weight"`
}

// leakyParquet is 60 rows in row groups of 7: filler prose, and two rows
// that leak suite v1's app-03 (input values in text, label in label) and
// app-07 (input values split over two tags, label in label).
func leakyParquet(t testing.TB) []byte {
	t.Helper()
	var rows []trainRow
	for i := range 60 {
		r := trainRow{ID: int64(i), Text: fmt.Sprintf("row %d of the training prose with no numbers from the suite", i), Weight: 1}
		if i%3 == 0 {
			l := "approved"
			r.Label = &l
		}
		switch i {
		case 17:
			l := "referred"
			r.Text, r.Label = "560 0.55 58 19 3", &l
		case 44:
			l := "approved"
			r.Text, r.Tags, r.Label = "", []string{"680 0.15", "64 31 7"}, &l
		}
		rows = append(rows, r)
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[trainRow](&buf, parquet.MaxRowsPerRowGroup(7), parquet.PageBufferSize(256))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLeakageParquet finds exactly the two leaked items of suite v1 in a
// Parquet training file read row group by row group, and none when the
// only text column is one without them.
func TestLeakageParquet(t *testing.T) {
	ctx := context.Background()
	s, err := LoadDir(filepath.Join("..", "fixtures", "suites", "loan-v1"))
	if err != nil {
		t.Fatal(err)
	}
	data := leakyParquet(t)
	path := filepath.Join(t.TempDir(), "train.parquet")
	os.WriteFile(path, data, 0o644)
	cols, err := ParquetTextColumns(path, nil)
	if err != nil || !slices.Equal(cols, []string{"text", "tags", "label"}) {
		t.Fatalf("text columns %v %v", cols, err)
	}
	if f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data))); err != nil || len(f.RowGroups()) != 9 {
		t.Fatalf("want 9 row groups: %v", err)
	}
	st := store.NewMem()
	for _, c := range []struct {
		columns []string
		flagged []string
	}{
		{nil, []string{"app-03", "app-07"}},
		{[]string{"text", "tags", "label"}, []string{"app-03", "app-07"}},
		{[]string{"label"}, nil},
	} {
		ds := packTrain(t, st, "train.parquet", FormatParquet, data)
		ds.Files[0].Columns = c.columns
		rep, err := Leakage(ctx, s, 0, ScanDataset(ctx, st, ds))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rep.Flagged, c.flagged) {
			t.Errorf("columns %v: flagged %v, want %v", c.columns, rep.Flagged, c.flagged)
		}
	}
	// Bad inputs name what is wrong.
	for _, c := range []struct {
		columns []string
		want    string
	}{
		{[]string{"id"}, `column "id" is INT64, not a text (BYTE_ARRAY) column`},
		{[]string{"nope"}, `no column "nope" (columns: id, text, tags, label, weight)`},
	} {
		if _, err := ParquetTextColumns(path, c.columns); !errors.Is(err, ErrDataset) || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("columns %v: %v", c.columns, err)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.parquet")
	os.WriteFile(bad, []byte("PAR1 not really"), 0o644)
	if _, err := ParquetTextColumns(bad, nil); !errors.Is(err, ErrDataset) {
		t.Errorf("not parquet: %v", err)
	}
}

// BenchmarkLeakageParquet scans a Parquet training file of 64 MiB of text
// (one string column, rows of ~1 KiB, row groups of 8192 rows): the copy
// out of the store, the row-group reading and the n-gram test. Bytes/s is
// the text bytes per second.
func BenchmarkLeakageParquet(b *testing.B) {
	ctx := context.Background()
	s, err := LoadDir(filepath.Join("..", "fixtures", "suites", "loan-v1"))
	if err != nil {
		b.Fatal(err)
	}
	type textRow struct {
		Text string `parquet:"text"`
	}
	var line bytes.Buffer
	for line.Len() < 1024 {
		line.WriteString("The quick brown fox, 42 jumps over the lazy dog; approved referred denied. ")
	}
	const size = 64 << 20
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[textRow](&buf, parquet.MaxRowsPerRowGroup(8192), parquet.Compression(&parquet.Zstd))
	batch := make([]textRow, 1024)
	for i := range batch {
		batch[i].Text = fmt.Sprintf("%d %s", i, line.String())
	}
	n := 0
	for n < size {
		if _, err := w.Write(batch); err != nil {
			b.Fatal(err)
		}
		n += len(batch) * len(batch[0].Text)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	st := store.NewMem()
	ds := packTrain(b, st, "big.parquet", FormatParquet, buf.Bytes())
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Leakage(ctx, s, 0, ScanDataset(ctx, st, ds)); err != nil {
			b.Fatal(err)
		}
	}
}
