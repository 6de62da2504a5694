package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
)

// Blobs is what the writer needs of the artifact store: puts whose
// durability may wait for Commit, which the writer calls once per segment,
// before the segment's records are written (store.Batch: one sync of the
// file system per segment, not two fsyncs per blob).
type Blobs interface {
	PutBytes(ctx context.Context, b []byte, meta store.Meta) (digest.Digest, error)
	Commit(ctx context.Context) error
}

// OnFull says what a full queue does to a record.
type OnFull int

const (
	// Drop drops the record and counts it; the request does not wait.
	Drop OnFull = iota
	// Block makes the request wait for room on the queue.
	Block
)

// Entry is one record on its way to the log, with the bytes to store:
// Input (nil when the tier keeps only the input's digest) and Response
// (the response's canonical bytes, nil when only their digest is kept).
type Entry struct {
	Record   *record.Record
	Input    []byte
	Response []byte
}

// WriterOptions configure a Writer; zero fields take the defaults.
type WriterOptions struct {
	// QueueSize is the number of records the queue holds (default 4096).
	QueueSize int
	// SegmentRows is the most records of one segment (default 10000).
	SegmentRows int
	// SegmentAge is how long a segment stays open at most (default 1m):
	// the records of a quiet proxy reach the disk within it.
	SegmentAge time.Duration
	OnFull     OnFull
	Logger     *slog.Logger
	Metrics    *Metrics
}

func (o *WriterOptions) defaults() {
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	if o.SegmentRows <= 0 {
		o.SegmentRows = 10000
	}
	if o.SegmentAge <= 0 {
		o.SegmentAge = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
}

// LossBound is the most records a kill -9 can lose: those on the queue
// and those of the open segment.
func (o WriterOptions) LossBound() int {
	o.defaults()
	return o.QueueSize + o.SegmentRows
}

// Writer writes entries to segments in a log directory.
type Writer struct {
	dir    string
	st     Blobs
	opts   WriterOptions
	queue  chan Entry
	done   chan struct{}
	err    error
	closed sync.Once
	mu     sync.RWMutex // held for reading by Add, for writing by Close
	stop   bool
	seq    int
	// taken counts the entries of the open segment; puts holds the blob
	// puts in flight (at most putWorkers), which append to buf under bufMu.
	taken int
	puts  sync.WaitGroup
	sem   chan struct{}
	bufMu sync.Mutex
	buf   []*record.Record
	errMu sync.Mutex
}

// putWorkers is the number of blob puts in flight: each writes a file,
// and those overlap.
const putWorkers = 16

// SegmentPrefix and SegmentExt name segments: seg-<time>-<seq>.parquet.
const (
	SegmentPrefix = "seg-"
	SegmentExt    = ".parquet"
	tmpExt        = ".tmp"
)

// NewWriter opens the log directory dir (created when missing): leftover
// temporary files of a killed writer are removed (their records were
// never complete) and numbering continues after the last segment.
func NewWriter(dir string, st Blobs, opts WriterOptions) (*Writer, error) {
	opts.defaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	w := &Writer{dir: dir, st: st, opts: opts, queue: make(chan Entry, opts.QueueSize), done: make(chan struct{}), sem: make(chan struct{}, putWorkers)}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, "."+SegmentPrefix) && strings.HasSuffix(name, tmpExt) {
			opts.Logger.Warn("removing an incomplete segment of a killed writer", "file", name)
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("log directory: %w", err)
			}
			continue
		}
		if n, ok := segmentSeq(name); ok && n >= w.seq {
			w.seq = n + 1
		}
	}
	go w.loop()
	return w, nil
}

// segmentSeq is the sequence number of a segment's file name.
func segmentSeq(name string) (int, bool) {
	if !strings.HasPrefix(name, SegmentPrefix) || !strings.HasSuffix(name, SegmentExt) {
		return 0, false
	}
	s := strings.TrimSuffix(name, SegmentExt)
	i := strings.LastIndexByte(s, '-')
	n, err := strconv.Atoi(s[i+1:])
	return n, err == nil && i > len(SegmentPrefix)
}

// ErrClosed: the writer is closed.
var ErrClosed = errors.New("the log writer is closed")

// Add puts e on the queue. With Drop, a full queue drops it (counted,
// false); with Block, Add waits for room or ctx. After Close it drops.
func (w *Writer) Add(ctx context.Context, e Entry) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.stop {
		w.opts.Metrics.Dropped.Add(1)
		return false
	}
	select {
	case w.queue <- e:
		w.opts.Metrics.QueueDepth.Add(1)
		return true
	default:
	}
	if w.opts.OnFull == Block {
		select {
		case w.queue <- e:
			w.opts.Metrics.QueueDepth.Add(1)
			return true
		case <-ctx.Done():
		}
	}
	w.opts.Metrics.Dropped.Add(1)
	return false
}

// Close stops taking entries, writes every queued one and the open
// segment, and returns the first write error.
func (w *Writer) Close() error {
	w.closed.Do(func() {
		w.mu.Lock()
		w.stop = true
		close(w.queue)
		w.mu.Unlock()
	})
	<-w.done
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

func (w *Writer) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.opts.SegmentAge / 4)
	defer tick.Stop()
	var opened time.Time
	for {
		select {
		case e, ok := <-w.queue:
			if !ok {
				w.fail(w.flush())
				return
			}
			w.opts.Metrics.QueueDepth.Add(-1)
			if w.taken == 0 {
				opened = time.Now()
			}
			w.taken++
			w.sem <- struct{}{}
			w.puts.Add(1)
			go func() {
				defer func() { <-w.sem; w.puts.Done() }()
				w.take(e)
			}()
			if w.taken >= w.opts.SegmentRows {
				w.fail(w.flush())
			}
		case <-tick.C:
			if w.taken > 0 && time.Since(opened) >= w.opts.SegmentAge {
				w.fail(w.flush())
			}
		}
	}
}

func (w *Writer) fail(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if err != nil {
		w.opts.Logger.Error("writing the decision log", "err", err)
		if w.err == nil {
			w.err = err
		}
	}
}

// take stores e's blobs and keeps its record for the open segment; a
// record whose blob cannot be stored is dropped (counted). Blobs go in
// without a name in the store's index.json (whose rewrite per blob would
// make each put cost the size of the index).
func (w *Writer) take(e Entry) {
	ctx := context.Background()
	rec := e.Record
	if e.Input != nil {
		if _, err := w.st.PutBytes(ctx, e.Input, store.Meta{}); err != nil {
			w.opts.Metrics.notRecorded("store_error")
			w.fail(err)
			return
		}
	}
	if e.Response != nil {
		if _, err := w.st.PutBytes(ctx, e.Response, store.Meta{}); err != nil {
			w.opts.Metrics.notRecorded("store_error")
			w.fail(err)
			return
		}
	}
	w.bufMu.Lock()
	w.buf = append(w.buf, rec)
	w.bufMu.Unlock()
}

// flush writes the open segment: its blobs committed (durable), then its
// records sorted by time to a temporary file, fsynced, renamed, the
// directory fsynced.
func (w *Writer) flush() error {
	w.puts.Wait()
	w.taken = 0
	recs := w.buf
	w.buf = nil
	if err := w.st.Commit(context.Background()); err != nil {
		w.opts.Metrics.Lost.Add(int64(len(recs)))
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	slices.SortStableFunc(recs, func(a, b *record.Record) int { return a.Timestamp.Compare(b.Timestamp) })
	name := fmt.Sprintf("%s%s-%06d%s", SegmentPrefix, recs[0].Timestamp.UTC().Format("20060102T150405.000000Z"), w.seq, SegmentExt)
	w.seq++
	tmp := filepath.Join(w.dir, "."+name+tmpExt)
	if err := writeSegment(tmp, recs); err != nil {
		os.Remove(tmp)
		w.opts.Metrics.Lost.Add(int64(len(recs)))
		return err
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, name)); err != nil {
		os.Remove(tmp)
		w.opts.Metrics.Lost.Add(int64(len(recs)))
		return err
	}
	if err := journal.SyncDir(w.dir); err != nil {
		return err
	}
	w.opts.Metrics.Recorded.Add(int64(len(recs)))
	w.opts.Metrics.Segments.Add(1)
	return nil
}

func writeSegment(path string, recs []*record.Record) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return writeLog(f, func(pw *record.ParquetWriter) error {
		for _, r := range recs {
			if err := pw.Write(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeLog writes a decision log to the new file f, its rows from fill,
// then fsyncs and closes f (on an error too).
func writeLog(f *os.File, fill func(*record.ParquetWriter) error) error {
	pw := record.NewParquetWriter(f)
	err := fill(pw)
	if err == nil {
		err = pw.Close()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
