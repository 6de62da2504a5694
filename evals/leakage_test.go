package evals

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/store"
)

func TestJSONText(t *testing.T) {
	got, err := jsonText(nil, []byte(`{"a": "Hello", "b": [1, 2.50, {"c": true, "d": null}], "e": {}, "f": "x"}`))
	if err != nil || string(got) != "Hello 1 2.50 true x " {
		t.Fatalf("%q %v", got, err)
	}
	if got, _ := jsonText(nil, []byte(`"approved"`)); string(got) != "approved " {
		t.Fatalf("%q", got)
	}
}

// normTokens, the reference of tokenHashes, appends to dst the tokens of s after the decontamination
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

func TestNormTokens(t *testing.T) {
	var out []string
	for _, b := range normTokens(nil, []byte("The Cat's  hat, (0.15)!\tÉté")) {
		out = append(out, string(b))
	}
	if strings.Join(out, "|") != "the|cats|hat|015|Été" {
		t.Fatalf("%q", out)
	}
}

func packTrain(t testing.TB, st *store.Mem, name, format string, data []byte) *Dataset {
	d, err := st.PutBytes(context.Background(), data, store.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return &Dataset{Schema: DatasetSchema, Files: []DatasetFile{{Name: name, Digest: d, Size: int64(len(data)), Format: format}}}
}

// TestLeakageFixture finds exactly the two items of suite v1 that the
// fixture training set leaks (app-03 and app-07, input and label).
func TestLeakageFixture(t *testing.T) {
	ctx := context.Background()
	s, err := LoadDir(filepath.Join("..", "fixtures", "suites", "loan-v1"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "fixtures", "train", "loan-train.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMem()
	ds := packTrain(t, st, "loan-train.jsonl", FormatJSONL, data)
	rep, err := Leakage(ctx, s, 0, ScanDataset(ctx, st, ds))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Flagged, ",") != "app-03,app-07" || rep.Documents != 42 {
		t.Fatalf("flagged %v of %d documents", rep.Flagged, rep.Documents)
	}
	for _, it := range rep.Items {
		if (it.Item == "app-03") != it.Duplicate && it.Item != "app-07" {
			t.Errorf("%+v", it)
		}
	}
}

// TestLeakageShare checks the 13-gram share of a long item against a text
// file that holds part of it.
func TestLeakageShare(t *testing.T) {
	ctx := context.Background()
	words := strings.Fields("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty")
	spec := `{"name":"t","version":"1","scorer":{"type":"exact"}}`
	items := `{"id":"long","input":{"prompt":"` + strings.Join(words, " ") + `"},"reference":"x"}` + "\n" +
		`{"id":"clean","input":{"prompt":"nothing of this is in the training text at all, not one word of it"},"reference":"y"}` + "\n"
	s, err := LoadDir(writeSuite(t, spec, items))
	if err != nil {
		t.Fatal(err)
	}
	// The item's text has 21 tokens (20 words and "x"): 9 distinct 13-grams.
	// The training line holds words 1..14 (upper case, punctuated): the
	// 13-grams starting at words 1 and 2 are found, 2 of 9.
	train := "noise\nONE, two; three four five six seven eight nine ten eleven twelve thirteen fourteen.\nmore noise\n"
	st := store.NewMem()
	ds := packTrain(t, st, "t.txt", FormatText, []byte(train))
	rep, err := Leakage(ctx, s, 0.25, ScanDataset(ctx, st, ds))
	if err != nil {
		t.Fatal(err)
	}
	long := rep.Items[0]
	if long.NGrams != 9 || long.Found != 2 || long.Flagged || rep.Items[1].Found != 0 || len(rep.Flagged) != 0 {
		t.Fatalf("%+v", rep.Items)
	}
	rep, _ = Leakage(ctx, s, 0.2, ScanDataset(ctx, st, ds))
	if len(rep.Flagged) != 1 || rep.Flagged[0] != "long" {
		t.Fatalf("threshold 0.2: %v", rep.Flagged)
	}
}

// BenchmarkLeakageText streams 256 MiB of text through the 13-gram test
// (b.SetBytes: go test reports MB/s). Quality bar: ≥ 50 MB/s.
func BenchmarkLeakageText(b *testing.B) {
	ctx := context.Background()
	s, err := LoadDir(filepath.Join("..", "fixtures", "suites", "loan-v1"))
	if err != nil {
		b.Fatal(err)
	}
	var line bytes.Buffer
	for line.Len() < 4096 {
		line.WriteString("The quick brown fox, 42 jumps over the lazy dog; approved referred denied. ")
	}
	line.WriteByte('\n')
	const size = 256 << 20
	data := bytes.Repeat(line.Bytes(), size/line.Len())
	st := store.NewMem()
	ds := packTrain(b, st, "big.txt", FormatText, data)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Leakage(ctx, s, 0, ScanDataset(ctx, st, ds)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTokenHashesMatchNormTokens: the streaming hash sees the same tokens
// as the documented normalization.
func TestTokenHashesMatchNormTokens(t *testing.T) {
	for _, s := range []string{"The Cat's  hat, (0.15)!\tÉté", "", "  ...  ", "a-b c"} {
		var want []uint64
		for _, tok := range normTokens(nil, []byte(s)) {
			want = append(want, tokenHashes(nil, tok)[0])
		}
		got := tokenHashes(nil, []byte(s))
		if len(got) != len(want) {
			t.Fatalf("%q: %d tokens, want %d", s, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: token %d differs", s, i)
			}
		}
	}
}

// TestScanChunks: lines that straddle chunk boundaries, a last line without
// a newline, CRLF endings and a line longer than a chunk come out whole.
func TestScanChunks(t *testing.T) {
	long := strings.Repeat("x", chunkSize+123)
	var lines []string
	for i := range 300000 {
		lines = append(lines, strings.Repeat("ab ", i%50))
	}
	lines = append(lines, long, "crlf line\r", "last")
	data := strings.Join(lines, "\n")
	st := store.NewMem()
	ds := packTrain(t, st, "t.txt", FormatText, []byte(data))
	i := 0
	err := ScanDataset(context.Background(), st, ds)(func(doc []byte) error {
		want := strings.TrimSuffix(lines[i], "\r")
		if string(doc) != want {
			t.Fatalf("line %d: %d bytes, want %d", i+1, len(doc), len(want))
		}
		i++
		return nil
	})
	if err != nil || i != len(lines) {
		t.Fatalf("%d lines of %d: %v", i, len(lines), err)
	}
	stop := errors.New("stop")
	if err := ScanDataset(context.Background(), st, ds)(func([]byte) error { return stop }); err != stop {
		t.Fatalf("early stop: %v", err)
	}
}
