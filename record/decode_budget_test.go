package record

import (
	"bytes"
	"testing"
)

// TestDecodersWithinBudget: DecodeRows runs as many decoders as the
// budget holds of the largest column chunk (compressed and uncompressed)
// of the row groups read, and at least one.
func TestDecodersWithinBudget(t *testing.T) {
	data, _ := smallGroupLog(t, 1050)
	l, err := OpenParquetLog(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	md := l.f.Metadata()
	var worst int64
	for _, c := range l.usedColumns() {
		m := &md.RowGroups[1].Columns[c].MetaData
		worst = max(worst, m.TotalCompressedSize+m.TotalUncompressedSize)
	}
	if worst == 0 {
		t.Fatal("no column chunk sizes in the footer")
	}
	for _, c := range []struct {
		budget int64
		want   int
	}{{1, 1}, {worst - 1, 1}, {worst, 1}, {3 * worst, 3}, {3*worst + worst/2, 3}} {
		if got := l.decodersWithin(c.budget, []int{1}); got != c.want {
			t.Errorf("budget %d (largest chunk %d bytes): %d decoders, want %d", c.budget, worst, got, c.want)
		}
	}
}
