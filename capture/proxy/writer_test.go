package proxy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
)

// gateStore is a store whose puts wait until the gate opens.
type gateStore struct {
	gate chan struct{}
	mu   sync.Mutex
	n    int
}

func (g *gateStore) PutBytes(ctx context.Context, b []byte, _ store.Meta) (digest.Digest, error) {
	<-g.gate
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
	return digest.FromBytes(b), nil
}

func (g *gateStore) Commit(context.Context) error { return nil }

func testRecord(t testing.TB, i int) *record.Record {
	t.Helper()
	st, _ := store.Init(filepath.Join(t.TempDir(), "s"))
	tgt := textTarget(t, st)
	text := fmt.Sprint("answer ", i)
	return &record.Record{Schema: record.Schema, RequestID: fmt.Sprintf("req_%06d", i), Timestamp: time.Unix(1_800_000_000, int64(i)*1000).UTC(),
		Input: record.Input{Digest: digest.FromBytes([]byte(text)), MediaType: "application/json"}, System: tgt.System,
		Runtime: record.Runtime{Protocol: "openai", HardwareClass: tgt.HardwareClass},
		Output:  record.Output{Output: output.Output{Text: &text}, Digest: digest.FromBytes([]byte(text))}}
}

// TestWriterFullQueue: with Drop a full queue drops and counts, never
// waits; with Block, Add waits for room (here: until its context ends).
func TestWriterFullQueue(t *testing.T) {
	base := testRecord(t, 0)
	for _, mode := range []OnFull{Drop, Block} {
		g := &gateStore{gate: make(chan struct{})}
		m := NewMetrics()
		w, err := NewWriter(t.TempDir(), g, WriterOptions{QueueSize: 2, OnFull: mode, Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		for i := range putWorkers + 13 {
			r := *base
			r.RequestID = fmt.Sprint("req_", i)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			if w.Add(ctx, Entry{Record: &r, Input: []byte("x")}) {
				ok++
			}
			cancel()
			for i <= putWorkers && m.QueueDepth.Load() != 0 { // the writer holds putWorkers puts at the gate and one more
				time.Sleep(time.Millisecond)
			}
		}
		// putWorkers+1 entries are held by the writer, two fill the queue.
		if ok != putWorkers+3 || m.Dropped.Load() != 10 {
			t.Errorf("mode %d: %d added, %d dropped; want %d and 10", mode, ok, m.Dropped.Load(), putWorkers+3)
		}
		close(g.gate)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if m.Recorded.Load() != putWorkers+3 || m.QueueDepth.Load() != 0 {
			t.Errorf("mode %d: recorded %d depth %d", mode, m.Recorded.Load(), m.QueueDepth.Load())
		}
	}
}

// TestWriterRestart: a writer killed mid-segment leaves a temporary file
// that the next writer removes; numbering continues; segments are sorted
// by time and the directory's segments read back without duplicates.
func TestWriterRestart(t *testing.T) {
	dir := t.TempDir()
	st, _ := store.Init(filepath.Join(t.TempDir(), "s"))
	write := func(from, to int) {
		w, err := NewWriter(dir, st.NewBatch(), WriterOptions{SegmentRows: 4})
		if err != nil {
			t.Fatal(err)
		}
		for i := to - 1; i >= from; i-- { // out of order: the segment sorts
			w.Add(context.Background(), Entry{Record: testRecord(t, i)})
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 6)
	leftover := filepath.Join(dir, ".seg-20260101T000000.000000Z-000099.parquet.tmp")
	os.WriteFile(leftover, []byte("PAR1 half a segment"), 0o644)
	write(6, 10)
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("the leftover temporary file is still there: %v", err)
	}
	segs := mustSegments(t, dir)
	if len(segs) != 3 {
		t.Fatalf("segments %v", segs)
	}
	if n, _ := segmentSeq(filepath.Base(segs[2])); n != 2 {
		t.Errorf("last segment %s, want number 2", segs[2])
	}
	recs := readLog(t, dir)
	seen := map[string]bool{}
	for i, r := range recs {
		if seen[r.RequestID] || (i > 0 && r.Timestamp.Before(recs[i-1].Timestamp)) {
			t.Errorf("row %d: %s duplicated or out of time order", i, r.RequestID)
		}
		seen[r.RequestID] = true
	}
	if len(seen) != 10 {
		t.Errorf("%d records, want 10", len(seen))
	}
	out := filepath.Join(t.TempDir(), "all.parquet")
	if err := Concat(segs, out, record.ParquetLimits{}); err != nil {
		t.Fatal(err)
	}
	if got := readLogFile(t, out); len(got) != 10 {
		t.Errorf("concatenated log: %d records", len(got))
	}
}

// TestWriterAge: a quiet proxy's records reach the disk within SegmentAge.
func TestWriterAge(t *testing.T) {
	dir := t.TempDir()
	st, _ := store.Init(filepath.Join(t.TempDir(), "s"))
	w, err := NewWriter(dir, st.NewBatch(), WriterOptions{SegmentAge: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Add(context.Background(), Entry{Record: testRecord(t, 1)})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if p, _ := Segments(dir); len(p) == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("no segment written after the segment age")
}
