package evals

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// normTokens appends to dst the tokens of s after the decontamination
// normalization: lower-case ASCII, ASCII punctuation and symbols removed,
// split on whitespace. Bytes ≥ 0x80 are kept as they are.
func normTokens(dst [][]byte, s []byte) [][]byte {
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			dst = append(dst, cur)
			cur = nil
		}
	}
	for _, c := range s {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			flush()
		case c >= 'A' && c <= 'Z':
			cur = append(cur, c+'a'-'A')
		case c < 0x80 && isPunct[c]:
		default:
			cur = append(cur, c)
		}
	}
	flush()
	return dst
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
	Item      string  `json:"item"`
	NGrams    int     `json:"ngrams"`
	Found     int     `json:"found"`
	Share     float64 `json:"share"`
	Duplicate bool    `json:"exact_duplicate"`
	Flagged   bool    `json:"flagged"`
}

// LeakReport is the result of Leakage.
type LeakReport struct {
	Suite     digest.Digest `json:"suite"`
	Dataset   digest.Digest `json:"dataset"`
	N         int           `json:"n"`
	Threshold float64       `json:"threshold"`
	Bytes     int64         `json:"bytes_scanned"`
	Documents int64         `json:"documents"`
	Flagged   []string      `json:"flagged"`
	Items     []LeakItem    `json:"items"`

	suiteName, suiteVersion string
}

// tokenHashes appends to dst the hashes of s's tokens after the
// decontamination normalization (see normTokens): FNV-1a 64 of each
// normalized token, computed while scanning, without allocating.
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
	whole   map[uint64][]int32 // hash of an item's whole normalized text → items
	found   []map[uint64]bool
	dup     []bool
	total   []int
}

func gramKey(h uint64, n int) uint64 { return mix(h ^ uint64(n)*0x9e3779b97f4a7c15) }

func wholeHash(hs []uint64) uint64 {
	h := uint64(len(hs))
	for _, t := range hs {
		h = h*gramMul + t
	}
	return mix(h)
}

// Leakage tests suite s against the training documents that scan yields
// (it calls fn once per document). An item's n-grams are those of its
// normalized text (ItemText, normalized as normTokens says) with n = NGram;
// an item shorter than NGram tokens is one n-gram of its own length. Share
// is the fraction of an item's distinct n-grams found in any document; an
// item is flagged when its share exceeds threshold or its whole normalized
// text equals a document's (exact duplicate). Memory holds the suite's
// n-grams and one document at a time. Token and n-gram hashes are 64-bit:
// a false match needs a hash collision (about 2⁻⁶⁴ per pair).
func Leakage(ctx context.Context, s *Suite, threshold float64, scan func(fn func(doc []byte) error) error) (*LeakReport, error) {
	x := &leakIndex{grams: map[uint64][]int32{}, whole: map[uint64][]int32{}, filter: make([]uint64, filterBits/64)}
	lens := map[int]bool{}
	var hs []uint64
	for i, it := range s.Items {
		hs = tokenHashes(hs[:0], ItemText(it))
		x.found = append(x.found, map[uint64]bool{})
		x.dup = append(x.dup, false)
		x.total = append(x.total, 0)
		if len(hs) == 0 {
			continue
		}
		w := wholeHash(hs)
		x.whole[w] = append(x.whole[w], int32(i))
		n := min(NGram, len(hs))
		lens[n] = true
		seen := map[uint64]bool{}
		for j := 0; j+n <= len(hs); j++ {
			var h uint64
			for _, th := range hs[j : j+n] {
				h = h*gramMul + th
			}
			k := gramKey(h, n)
			if !seen[k] {
				seen[k] = true
				x.grams[k] = append(x.grams[k], int32(i))
				x.filter[(k%filterBits)/64] |= 1 << (k % 64)
				x.total[i]++
			}
		}
	}
	for n := range lens {
		x.lengths = append(x.lengths, n)
	}
	slices.Sort(x.lengths)
	pow := make([]uint64, len(x.lengths))
	for i, n := range x.lengths {
		pow[i] = 1
		for range n - 1 {
			pow[i] *= gramMul
		}
	}
	rep := &LeakReport{Suite: s.Digest, N: NGram, Threshold: threshold, Flagged: []string{}, suiteName: s.Spec.Name, suiteVersion: s.Spec.Version}
	docs := 0
	err := scan(func(doc []byte) error {
		if docs++; docs%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rep.Documents++
		rep.Bytes += int64(len(doc))
		hs = tokenHashes(hs[:0], doc)
		if len(hs) == 0 {
			return nil
		}
		if items, ok := x.whole[wholeHash(hs)]; ok {
			for _, i := range items {
				x.dup[i] = true
			}
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
				h = (h-hs[j-n]*pow[li])*gramMul + hs[j]
				x.hit(gramKey(h, n))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, it := range s.Items {
		li := LeakItem{Item: it.ID, NGrams: x.total[i], Found: len(x.found[i]), Duplicate: x.dup[i]}
		if li.NGrams > 0 {
			li.Share = float64(li.Found) / float64(li.NGrams)
		}
		li.Flagged = li.Duplicate || li.Share > threshold
		if li.Flagged {
			rep.Flagged = append(rep.Flagged, it.ID)
		}
		rep.Items = append(rep.Items, li)
	}
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

// scanFile reads f in chunks that end at a line end (a reader goroutine)
// and calls fn on each line.
func scanFile(ctx context.Context, r store.Reader, f DatasetFile, fn func([]byte) error) error {
	rc, _, err := r.Open(ctx, f.Digest)
	if err != nil {
		return fmt.Errorf("dataset file %s: %w", f.Name, err)
	}
	defer rc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan chunk, 2)
	free := make(chan []byte, 3)
	for range 3 {
		free <- make([]byte, 0, chunkSize)
	}
	send := func(c chunk) bool {
		select {
		case full <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(full)
		var carry []byte
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			// Read a chunk's worth past the carried partial line.
			want := len(carry) + chunkSize
			buf = slices.Grow(buf[:0], want)
			buf = append(buf, carry...)
			carry = carry[:0]
			for len(buf) < want {
				n, err := rc.Read(buf[len(buf):cap(buf)])
				buf = buf[:len(buf)+n]
				if err == io.EOF {
					send(chunk{b: buf})
					return
				}
				if err != nil {
					send(chunk{err: err})
					return
				}
			}
			// Keep the partial last line for the next chunk.
			cut := bytes.LastIndexByte(buf, '\n') + 1
			if cut == 0 {
				if len(buf) >= maxLine {
					send(chunk{err: fmt.Errorf("a line longer than %d bytes", maxLine)})
					return
				}
				carry = append(carry, buf...) // no line end yet: read on
				free <- buf[:0]
				continue
			}
			carry = append(carry, buf[cut:]...)
			if !send(chunk{b: buf[:cut]}) {
				return
			}
		}
	}()
	line := 0
	var text []byte
	for c := range full {
		if c.err != nil {
			return fmt.Errorf("dataset file %s:%d: %w", f.Name, line+1, c.err)
		}
		b := c.b
		for len(b) > 0 {
			var l []byte
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				l, b = b[:i], b[i+1:]
			} else {
				l, b = b, nil
			}
			line++
			l = bytes.TrimSuffix(l, []byte("\r"))
			if f.Format == FormatJSONL {
				if len(bytes.TrimSpace(l)) == 0 {
					continue
				}
				if text, err = jsonText(text[:0], l); err != nil {
					return fmt.Errorf("%w: %s:%d: %v", ErrDataset, f.Name, line, err)
				}
				l = text
			}
			if err := fn(l); err != nil {
				return err
			}
		}
		free <- c.b[:0]
	}
	return ctx.Err()
}
