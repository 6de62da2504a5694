package replay

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/verdict"
)

// longText is a 10 KiB text of words drawn from vocab with a PCG seeded by
// seed.
func longText(vocab []string, seed int64) string {
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	var b strings.Builder
	for b.Len() < 10<<10 {
		b.WriteString(vocab[rng.IntN(len(vocab))])
		b.WriteByte(' ')
	}
	return b.String()[:10<<10]
}

var (
	vocabA = strings.Fields("the loan was approved after the review of income and debt by the committee")
	vocabB = strings.Fields("zyx qwv jjk pfff mmrq xxz vvq kkw zzq wqx")
)

// textSystem answers 10 KiB texts of vocabA, one per seed.
type textSystem struct{}

func (textSystem) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	return &textSession{}, nil
}

type textSession struct{}

func (*textSession) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	t := longText(vocabA, *req.Params.Seed)
	raw, _ := json.Marshal(map[string]any{"text": t})
	return runners.Response{Output: output.Output{Text: &t}, Raw: raw, Latency: time.Millisecond}, nil
}
func (*textSession) Info() runners.Info              { return runners.Info{Runner: "fake", Pinned: true} }
func (*textSession) Close(ctx context.Context) error { return nil }

// TestLongTextsReachTheTextCheck: replayed texts of 10 KiB (over
// MaxRunText, so runs keep only their digest) reach the text check in
// full. A stored text drawn from the replayed system (seed 123456, not a
// replay seed, no pinned seed) is not DIVERGED; one of another vocabulary
// is. With stand-ins for the long texts instead, both would look alike to
// the check. Every random source is seeded (the replay seed derives from
// the request id), so the outcome is fixed.
func TestLongTextsReachTheTextCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stored   string
		diverged bool
	}{
		{"honest", longText(vocabA, 123456), false},
		{"foreign", longText(vocabB, 123456), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, rec := newRecord(t, &fakeSystem{}, 1, "a", 0.5)
			rec.Params.Seed = nil
			rec.Output.Output = output.Output{Text: &tc.stored}
			rec.Output.Digest = digest.FromBytes([]byte(tc.stored))
			rec.System.Seal()
			res := replayOn(t, st, rec, textSystem{}, Options{N: 200})
			rep := res.Report
			if (rep.Verdict == verdict.Diverged) != tc.diverged {
				t.Fatalf("verdict %s, want diverged=%v", rep.Verdict, tc.diverged)
			}
			if rep.TypicalText == nil || len(*rep.TypicalText) != 10<<10 || strings.Contains(*rep.TypicalText, "sha256:") {
				t.Fatalf("typical text is not a replayed text: %.80q", deref(rep.TypicalText))
			}
			for _, r := range res.Runs {
				if r.Text != nil || r.TextDigest == "" {
					t.Fatalf("run %d keeps its 10 KiB text: %+v", r.Index, r)
				}
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestCheckText: a text of at most MaxConformalBytes bytes reaches the
// check whole; a longer one is cut to a copy of at most that many bytes,
// at a rune boundary, whatever its runes' width (4-byte runes too: the
// cut was once by runes, which let a text of 4-byte runes hold 256 KiB).
func TestCheckText(t *testing.T) {
	short := strings.Repeat("é", verdict.MaxConformalBytes/2)
	if got, ok := checkText(short); !ok || got != short {
		t.Fatalf("a text of %d bytes was cut", len(short))
	}
	for _, long := range []string{short + "abc", strings.Repeat("😀", verdict.MaxConformalBytes)} {
		got, ok := checkText(long)
		if ok || len(got) > verdict.MaxConformalBytes || len(got) < verdict.MaxConformalBytes-3 || !utf8.ValidString(got) || !strings.HasPrefix(long, got) {
			t.Fatalf("cut to %d bytes (ok %v, valid %v)", len(got), ok, utf8.ValidString(got))
		}
		if unsafe.StringData(got) == unsafe.StringData(long) {
			t.Fatal("the cut shares the full text's memory")
		}
	}
}
