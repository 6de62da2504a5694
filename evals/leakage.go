package evals

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/store"
)

// Dataset formats and media types.
const (
	MediaTypeDataset = "application/vnd.reprise.dataset.v1+json"
	DatasetSchema    = "reprise/dataset/v1"
	FormatJSONL      = "jsonl"
	FormatText       = "text"
	// NGram is the n-gram length of the overlap test (GPT-3's and
	// lm-evaluation-harness's decontamination use 13).
	NGram = 13
)

// ErrDataset: a dataset manifest or file is malformed.
var ErrDataset = errors.New("invalid dataset")

// DatasetFile is one file of a dataset.
type DatasetFile struct {
	Name   string        `json:"name"`
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	Format string        `json:"format"` // jsonl, text or parquet
	// Columns are the text columns of a Parquet file (dotted paths); empty
	// means every BYTE_ARRAY column.
	Columns []string `json:"columns,omitempty"`
}

// Dataset is a content-addressed training set: the digest of this manifest
// names it.
type Dataset struct {
	Schema string        `json:"schema"`
	Files  []DatasetFile `json:"files"`
}

// LoadDataset reads the dataset manifest d.
func LoadDataset(ctx context.Context, r store.Reader, d digest.Digest) (*Dataset, error) {
	b, err := r.ReadAll(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d, err)
	}
	var ds Dataset
	if err := strictDecode(b, &ds); err != nil || ds.Schema != DatasetSchema {
		return nil, fmt.Errorf("%w: %s is not a dataset manifest", ErrDataset, d)
	}
	return &ds, nil
}

// PackDataset stores the manifest of files (already stored) and returns its digest.
func PackDataset(ctx context.Context, w store.Writer, files []DatasetFile) (digest.Digest, error) {
	for _, f := range files {
		if f.Format != FormatJSONL && f.Format != FormatText && f.Format != FormatParquet {
			return digest.Digest{}, fmt.Errorf("%w: %s: format %q (want jsonl, text or parquet)", ErrDataset, f.Name, f.Format)
		}
		if len(f.Columns) > 0 && f.Format != FormatParquet {
			return digest.Digest{}, fmt.Errorf("%w: %s: columns are only for parquet files", ErrDataset, f.Name)
		}
	}
	b, err := json.Marshal(Dataset{Schema: DatasetSchema, Files: files})
	if err != nil {
		return digest.Digest{}, err
	}
	return w.PutBytes(ctx, b, store.Meta{MediaType: MediaTypeDataset, Name: "dataset"})
}

var isPunct = func() (t [128]bool) {
	for _, c := range "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" {
		t[c] = true
	}
	return t
}()

// jsonText appends the scalar values of a JSON document (strings, numbers
// as written, booleans) in document order, each followed by a space; keys
// and null are left out.
func jsonText(dst []byte, b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct{ obj, key bool }
	var stack []frame
	done := func() { // a value ended: in an object, a key comes next
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].key = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, frame{obj: true, key: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].key {
			stack[n-1].key = false // tok is a key
			continue
		}
		switch v := tok.(type) {
		case string:
			dst = append(append(dst, v...), ' ')
		case json.Number:
			dst = append(append(dst, v...), ' ')
		case bool:
			dst = append(strconv.AppendBool(dst, v), ' ')
		}
		done()
	}
}

// ItemText is the text of an item that the leakage test looks for: the
// scalar values of its input and of its reference (see jsonText).
func ItemText(it Item) []byte {
	b, _ := jsonText(nil, it.Input)
	b, _ = jsonText(b, it.Reference)
	return b
}

// LeakItem is one item's result.
type LeakItem struct {
	Item string `json:"item"`
	// NGrams is the number of the item's distinct n-grams, Found of those
	// found in the dataset, Share the fraction found.
	NGrams int     `json:"ngrams"`
	Found  int     `json:"found"`
	Share  float64 `json:"share"`
	// Duplicate: the item's whole normalized text is a document.
	Duplicate bool `json:"exact_duplicate"`
	// Flagged: Share exceeds the threshold, or Duplicate.
	Flagged bool `json:"flagged"`
}

// LeakReport is the result of Leakage.
type LeakReport struct {
	Suite   digest.Digest `json:"suite"`
	Dataset digest.Digest `json:"dataset"`
	// N is the n-gram length (NGram); Threshold the share above which an
	// item is flagged.
	N         int     `json:"n"`
	Threshold float64 `json:"threshold"`
	// Bytes and Documents count what was scanned of the dataset.
	Bytes     int64      `json:"bytes_scanned"`
	Documents int64      `json:"documents"`
	Flagged   []string   `json:"flagged"`
	Items     []LeakItem `json:"items"`

	suiteName, suiteVersion string
}

// tokenHashes appends to dst the hashes of s's tokens after the
// decontamination normalization (lower-case ASCII, ASCII punctuation and
// symbols removed, split on whitespace; bytes ≥ 0x80 kept as they are):
// FNV-1a 64 of each normalized token, computed while scanning, without
// allocating.
func tokenHashes(dst []uint64, s []byte) []uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h, in := uint64(offset), false
	for _, c := range s {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			if in {
				dst = append(dst, mix(h))
				h, in = offset, false
			}
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c < 0x80 && isPunct[c]:
			continue
		}
		h = (h ^ uint64(c)) * prime
		in = true
	}
	if in {
		dst = append(dst, mix(h))
	}
	return dst
}

// mix is splitmix64's finalizer: it spreads FNV's bits for the gram hash.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

const (
	gramMul    = 0x100000001b3
	filterBits = 1 << 23
)

// leakIndex holds the suite's n-grams: small, whatever the training data's size.
type leakIndex struct {
	grams   map[uint64][]int32 // gram key (hash of n tokens, and n) → items holding it
	filter  []uint64           // bitset prefilter of the gram keys
	lengths []int              // n-gram lengths in use (NGram and shorter items' lengths)
	pow     []uint64           // gramMul^(n−1) for each of lengths, to roll a gram's hash
	whole   map[uint64][]int32 // hash of an item's whole normalized text → items
	found   []map[uint64]bool
	dup     []bool
	total   []int
	hs      []uint64 // the token hashes of the text at hand
}

func gramKey(h uint64, n int) uint64 { return mix(h ^ uint64(n)*0x9e3779b97f4a7c15) }

func wholeHash(hs []uint64) uint64 {
	h := uint64(len(hs))
	for _, t := range hs {
		h = h*gramMul + t
	}
	return mix(h)
}

// newLeakIndex indexes the n-grams and whole texts of the items of s.
func newLeakIndex(s *Suite) *leakIndex {
	x := &leakIndex{grams: map[uint64][]int32{}, whole: map[uint64][]int32{}, filter: make([]uint64, filterBits/64)}
	lens := map[int]bool{}
	for i, it := range s.Items {
		if n := x.addItem(int32(i), ItemText(it)); n > 0 {
			lens[n] = true
		}
	}
	x.lengths = slices.Sorted(maps.Keys(lens))
	x.pow = make([]uint64, len(x.lengths))
	for i, n := range x.lengths {
		x.pow[i] = 1
		for range n - 1 {
			x.pow[i] *= gramMul
		}
	}
	return x
}

// addItem indexes item i, whose text is text, and returns its n-gram
// length (0 for an item with no tokens).
func (x *leakIndex) addItem(i int32, text []byte) int {
	x.hs = tokenHashes(x.hs[:0], text)
	x.found = append(x.found, map[uint64]bool{})
	x.dup = append(x.dup, false)
	x.total = append(x.total, 0)
	hs := x.hs
	if len(hs) == 0 {
		return 0
	}
	w := wholeHash(hs)
	x.whole[w] = append(x.whole[w], i)
	n := min(NGram, len(hs))
	seen := map[uint64]bool{}
	for j := 0; j+n <= len(hs); j++ {
		var h uint64
		for _, th := range hs[j : j+n] {
			h = h*gramMul + th
		}
		if k := gramKey(h, n); !seen[k] {
			seen[k] = true
			x.grams[k] = append(x.grams[k], i)
			x.filter[(k%filterBits)/64] |= 1 << (k % 64)
			x.total[i]++
		}
	}
	return n
}

// scan marks the items whose whole text doc is, and the n-grams of items
// that doc holds (a rolling hash over its tokens for each length).
func (x *leakIndex) scan(doc []byte) {
	x.hs = tokenHashes(x.hs[:0], doc)
	hs := x.hs
	if len(hs) == 0 {
		return
	}
	for _, i := range x.whole[wholeHash(hs)] {
		x.dup[i] = true
	}
	for li, n := range x.lengths {
		if len(hs) < n {
			continue
		}
		var h uint64
		for _, th := range hs[:n] {
			h = h*gramMul + th
		}
		x.hit(gramKey(h, n))
		for j := n; j < len(hs); j++ {
			h = (h-hs[j-n]*x.pow[li])*gramMul + hs[j]
			x.hit(gramKey(h, n))
		}
	}
}

// report adds each item's result to rep, flagging those whose share
// exceeds rep.Threshold and the exact duplicates.
func (x *leakIndex) report(s *Suite, rep *LeakReport) {
	for i, it := range s.Items {
		li := LeakItem{Item: it.ID, NGrams: x.total[i], Found: len(x.found[i]), Duplicate: x.dup[i]}
		if li.NGrams > 0 {
			li.Share = float64(li.Found) / float64(li.NGrams)
		}
		li.Flagged = li.Duplicate || li.Share > rep.Threshold
		if li.Flagged {
			rep.Flagged = append(rep.Flagged, it.ID)
		}
		rep.Items = append(rep.Items, li)
	}
}

// Leakage tests suite s against the training documents that scan yields
// (it calls fn once per document). An item's n-grams are those of its
// normalized text (ItemText, normalized as tokenHashes says) with n = NGram;
// an item shorter than NGram tokens is one n-gram of its own length. Share
// is the fraction of an item's distinct n-grams found in any document; an
// item is flagged when its share exceeds threshold or its whole normalized
// text equals a document's (exact duplicate). Memory holds the suite's
// n-grams and one document at a time. Token and n-gram hashes are 64-bit:
// a false match needs a hash collision (about 2⁻⁶⁴ per pair).
func Leakage(ctx context.Context, s *Suite, threshold float64, scan func(fn func(doc []byte) error) error) (*LeakReport, error) {
	x := newLeakIndex(s)
	rep := &LeakReport{Suite: s.Digest, N: NGram, Threshold: threshold, Flagged: []string{}, suiteName: s.Spec.Name, suiteVersion: s.Spec.Version}
	err := scan(func(doc []byte) error {
		if rep.Documents++; rep.Documents%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rep.Bytes += int64(len(doc))
		x.scan(doc)
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	x.report(s, rep)
	return rep, nil
}

func (x *leakIndex) hit(k uint64) {
	if x.filter[(k%filterBits)/64]&(1<<(k%64)) == 0 {
		return
	}
	if items, ok := x.grams[k]; ok {
		for _, i := range items {
			x.found[i][k] = true
		}
	}
}

// ScanDataset streams the documents of ds from r: a text file's lines, a
// JSONL file's lines (each reduced to its scalar values, see ItemText), a
// Parquet file's rows (the values of its text columns, see scanParquet).
// Reading (and verifying the digest) runs in its own goroutine, ahead of
// the caller's work on the lines, so two cores share the work. Memory holds
// a few chunks of chunkSize bytes and the longest line (at most maxLine).
func ScanDataset(ctx context.Context, r store.Reader, ds *Dataset) func(fn func(doc []byte) error) error {
	return func(fn func(doc []byte) error) error {
		for _, f := range ds.Files {
			scan := scanFile
			if f.Format == FormatParquet {
				scan = scanParquet
			}
			if err := scan(ctx, r, f, fn); err != nil {
				return err
			}
		}
		return nil
	}
}

const (
	chunkSize = 4 << 20
	maxLine   = 64 << 20
)

type chunk struct {
	b   []byte
	err error
}

// scanFile reads f in chunks that end at a line end (a chunker in its own
// goroutine) and calls fn on each line (a lineSplitter).
func scanFile(ctx context.Context, r store.Reader, f DatasetFile, fn func([]byte) error) error {
	rc, _, err := r.Open(ctx, f.Digest)
	if err != nil {
		return fmt.Errorf("dataset file %s: %w", f.Name, err)
	}
	defer rc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &chunker{ctx: ctx, r: rc, full: make(chan chunk, 2), free: make(chan []byte, 3)}
	for range cap(c.free) {
		c.free <- make([]byte, 0, chunkSize)
	}
	go c.run()
	ls := &lineSplitter{f: f, fn: fn}
	for ch := range c.full {
		if ch.err != nil {
			return fmt.Errorf("dataset file %s:%d: %w", f.Name, ls.line+1, ch.err)
		}
		if err := ls.split(ch.b); err != nil {
			return err
		}
		c.free <- ch.b[:0]
	}
	return ctx.Err()
}

// chunker reads r in chunks of about chunkSize bytes that end at a line
// end, into the buffers of free, and sends them on full; it stops when ctx
// is done. A line longer than maxLine is an error.
type chunker struct {
	ctx   context.Context
	r     io.Reader
	full  chan chunk
	free  chan []byte
	carry []byte // the partial last line of the chunk sent last
}

// run sends the chunks of r, then closes full.
func (c *chunker) run() {
	defer close(c.full)
	for {
		var buf []byte
		select {
		case buf = <-c.free:
		case <-c.ctx.Done():
			return
		}
		buf, eof, err := c.fill(buf)
		switch {
		case err != nil:
			c.send(chunk{err: err})
			return
		case eof:
			c.send(chunk{b: buf})
			return
		case !c.ship(buf):
			return
		}
	}
}

// fill reads a chunk's worth past the carried partial line into buf; eof
// when r is at its end.
func (c *chunker) fill(buf []byte) (_ []byte, eof bool, err error) {
	want := len(c.carry) + chunkSize
	buf = slices.Grow(buf[:0], want)
	buf = append(buf, c.carry...)
	c.carry = c.carry[:0]
	for len(buf) < want {
		n, err := c.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	return buf, false, nil
}

// ship sends buf up to its last line end and carries the rest to the next
// chunk (all of it when it holds no line end yet); false when the scan is
// over.
func (c *chunker) ship(buf []byte) bool {
	cut := bytes.LastIndexByte(buf, '\n') + 1
	if cut == 0 {
		if len(buf) >= maxLine {
			c.send(chunk{err: fmt.Errorf("a line longer than %d bytes", maxLine)})
			return false
		}
		c.carry = append(c.carry, buf...)
		c.free <- buf[:0]
		return true
	}
	c.carry = append(c.carry, buf[cut:]...)
	return c.send(chunk{b: buf[:cut]})
}

// send sends ch on full; false when ctx is done first.
func (c *chunker) send(ch chunk) bool {
	select {
	case c.full <- ch:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// lineSplitter calls fn on each line of the chunks of dataset file f,
// without its line end (LF or CRLF); a JSONL line is reduced to its
// scalar values (jsonText) and a blank one skipped.
type lineSplitter struct {
	f    DatasetFile
	fn   func([]byte) error
	line int    // the number of the line at hand
	text []byte // the scalar values of a JSONL line
}

// split calls emit on each line of b.
func (s *lineSplitter) split(b []byte) error {
	for len(b) > 0 {
		var l []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			l, b = b, nil
		}
		s.line++
		if err := s.emit(bytes.TrimSuffix(l, []byte("\r"))); err != nil {
			return err
		}
	}
	return nil
}

// emit calls fn on line l (on its scalar values in a JSONL file).
func (s *lineSplitter) emit(l []byte) error {
	if s.f.Format == FormatJSONL {
		if len(bytes.TrimSpace(l)) == 0 {
			return nil
		}
		var err error
		if s.text, err = jsonText(s.text[:0], l); err != nil {
			return fmt.Errorf("%w: %s:%d: %v", ErrDataset, s.f.Name, s.line, err)
		}
		l = s.text
	}
	return s.fn(l)
}
