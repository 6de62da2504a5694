package record

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestZstdContentSize: the stated size of frames klauspost writes (one
// frame, several concatenated, a skippable frame between, checksums on)
// is read from the headers alone and equals what they decode to; a frame
// that states no size, a truncated one or trailing bytes are not trusted
// (the page is then decoded); and a frame that states less than it holds
// does not decode past its statement with the decoder parquet-go uses, so
// trusting a stated size admits no page that decompresses to more.
func TestZstdContentSize(t *testing.T) {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
	a := bytes.Repeat([]byte("reprise decision log "), 40000) // 840 kB: several blocks
	b := bytes.Repeat([]byte("second frame "), 5000)
	one := enc.EncodeAll(a, nil)
	two := enc.EncodeAll(b, append([]byte(nil), one...))
	skip := append(append([]byte(nil), one...), 0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 'x', 'y', 'z')
	skip = enc.EncodeAll(b, skip)
	for name, c := range map[string]struct {
		src  []byte
		want int64
	}{"one frame": {one, int64(len(a))}, "two frames": {two, int64(len(a) + len(b))}, "skippable between": {skip, int64(len(a) + len(b))}} {
		n, ok := zstdContentSize(io.NewSectionReader(bytes.NewReader(c.src), 0, int64(len(c.src))))
		dec, _ := zstd.NewReader(nil)
		out, err := dec.DecodeAll(c.src, nil)
		if !ok || n != c.want || err != nil || int64(len(out)) != n {
			t.Errorf("%s: stated %d (%v), want %d; decodes to %d, %v", name, n, ok, c.want, len(out), err)
		}
	}
	// No stated size: a streaming writer's frame.
	var sb bytes.Buffer
	w, _ := zstd.NewWriter(&sb)
	w.Write(a)
	w.Close()
	tiny := enc.EncodeAll([]byte("short"), append([]byte(nil), one...)) // klauspost states no size for a tiny frame
	for name, src := range map[string][]byte{"streamed (no size)": sb.Bytes(), "truncated": one[:len(one)-10], "trailing bytes": append(append([]byte(nil), one...), 0, 0),
		"a frame without a size": tiny} {
		if n, ok := zstdContentSize(io.NewSectionReader(bytes.NewReader(src), 0, int64(len(src)))); ok {
			t.Errorf("%s: trusted, stated %d", name, n)
		}
	}
	// A frame that understates its size: rewrite one's 4-byte FCS (single
	// segment, FCS flag 2) to 1000 bytes; DecodeAll refuses it within one
	// block (the window is the stated size, and a frame is stopped once
	// it exceeds it: ErrFrameSizeExceeded).
	lie := append([]byte(nil), one...)
	if fhd := lie[4]; fhd>>6 != 2 || fhd&0x20 == 0 {
		t.Fatalf("frame header %#x: not the single-segment 4-byte FCS this test rewrites", fhd)
	}
	lie[5], lie[6], lie[7], lie[8] = 0xe8, 0x03, 0, 0
	if n, ok := zstdContentSize(io.NewSectionReader(bytes.NewReader(lie), 0, int64(len(lie)))); !ok || n != 1000 {
		t.Fatalf("stated %d, %v", n, ok)
	}
	dec, _ := zstd.NewReader(nil)
	out, err := dec.DecodeAll(lie, nil)
	if err == nil || len(out) > 1000+128<<10 {
		t.Fatalf("an understated frame decoded to %d bytes, %v: want an error within one block of the statement", len(out), err)
	}
}
