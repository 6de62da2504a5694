package verdict

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/reprise-dev/reprise/stats"
)

// randomText is a text of about size bytes of runes drawn from alphabet
// with a PCG seeded by seed.
func randomText(alphabet []rune, size int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	for b.Len() < size {
		b.WriteRune(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

// TestHashedFeaturesAreTheSpectrumKernel: for texts with at most
// MaxTextFeatures distinct 3-grams (short, and texts of 2-, 3- and 4-byte
// runes, and texts under 3 runes) the hashed vectors' kernel is the
// spectrum kernel stats.SpectrumKernel computes from the strings.
func TestHashedFeaturesAreTheSpectrumKernel(t *testing.T) {
	ts := []string{"", "a", "ab", "abc", "abcabc", "the loan was approved", "the loan was declined",
		"é😀x", "😀😀😀😀", "日本語の文章です日本", randomText([]rune("abcdefgh"), 3000, 1), randomText([]rune("abcdefgh"), 3000, 2)}
	m, err := stats.SpectrumKernel(ts[:1], ts[1:], SpectrumN)
	if err != nil {
		t.Fatal(err)
	}
	phi := embed(ts)
	for i := range ts {
		if phi[i].upTo != math.MaxUint64 {
			t.Fatalf("text %d (%d distinct 3-grams) was sampled", i, len(phi[i].ids))
		}
		for j := range ts {
			if got, want := phi[i].dot(phi[j]), m.At(i, j); math.Abs(got-want) > 1e-12 {
				t.Errorf("k(%q, %q) = %.15f, want %.15f", ts[i], ts[j], got, want)
			}
		}
	}
}

// TestTextFeatureSample: a text with more than MaxTextFeatures distinct
// 3-grams keeps exactly MaxTextFeatures, the smallest hashes, and its
// kernel values are estimated well: within 0.02 of the exact spectrum
// kernel for texts of one alphabet, of another, and for a text and its
// own longer self. The hash is fixed, so the figures are too.
func TestTextFeatureSample(t *testing.T) {
	wide := []rune("αβγδεζηθικλμνξοπρστυφχψω") // 2-byte runes: 13,824 3-grams
	a := randomText(wide, 60_000, 1)
	b := randomText(wide, 60_000, 2)
	c := randomText([]rune("абвгдежзийклмнопрстуфхцчшщъыьэюя"), 60_000, 3)
	ts := []string{a, b, c, a[:40_000]}
	m, err := stats.SpectrumKernel(ts[:1], ts[1:], SpectrumN)
	if err != nil {
		t.Fatal(err)
	}
	phi := embed(ts)
	for i, v := range phi {
		if len(v.ids) != MaxTextFeatures || v.upTo != v.ids[len(v.ids)-1] {
			t.Fatalf("text %d keeps %d features, up to %x", i, len(v.ids), v.upTo)
		}
	}
	for i := range ts {
		for j := i; j < len(ts); j++ {
			got, want := phi[i].dot(phi[j]), m.At(i, j)
			t.Logf("k(%d, %d) ≈ %.4f, exact %.4f", i, j, got, want)
			if math.Abs(got-want) > 0.02 || got != phi[j].dot(phi[i]) {
				t.Errorf("k(%d, %d) ≈ %.4f, exact %.4f (or not symmetric)", i, j, got, want)
			}
		}
	}
}

// TestTextCheckMemory: what the text check holds of texts far over its
// bounds (4 MiB answers of 4-byte runes, a million distinct 3-grams each)
// is at most MaxConformalBytes of text and MaxTextFeatures × 16 bytes of
// features per text, so N replays hold at most N × 128 KiB, whatever
// their length or runes. The live heap is measured after a GC with the
// cut texts and their vectors held.
func TestTextCheckMemory(t *testing.T) {
	const n = 24
	var alphabet []rune
	for r := rune(0x1F300); r < 0x1F300+200; r++ { // 4-byte runes
		alphabet = append(alphabet, r)
	}
	full := randomText(alphabet, 4<<20, 9)
	if utf8.RuneLen([]rune(full)[0]) != 4 {
		t.Fatal("not 4-byte runes")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cuts := make([]string, n)
	for i := range cuts {
		// Each text distinct (another rotation), each a copy, as replay
		// keeps them (replay.checkText clones the cut).
		rot := full[(i*4096)%len(full):] + full[:(i*4096)%len(full)]
		cut, whole := CutText(rot)
		if whole || len(cut) > MaxConformalBytes {
			t.Fatalf("cut %d: %d bytes (whole %v)", i, len(cut), whole)
		}
		cuts[i] = strings.Clone(cut)
	}
	phi := embed(cuts)
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	bound := int64(n * (MaxConformalBytes + MaxTextFeatures*16 + 1024))
	t.Logf("%d texts: %d KiB held, bound %d KiB (%.1f KiB a text)", n, held>>10, bound>>10, float64(held)/n/1024)
	if held > bound {
		t.Fatalf("the text check holds %d bytes for %d texts, over the bound %d (N × (64 KiB + 64 KiB))", held, n, bound)
	}
	runtime.KeepAlive(cuts)
	runtime.KeepAlive(phi)
	runtime.KeepAlive(full)
}

// BenchmarkConformalText is the text check's cost at n replays of short
// answers (about 80 bytes) and of long ones (64 KiB: sampled vectors).
func BenchmarkConformalText(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int
		size int
	}{{"short/n=1000", 1000, 80}, {"long/n=200", 200, 64 << 10}} {
		b.Run(c.name, func(b *testing.B) {
			ts := make([]string, c.n+1)
			for i := range ts {
				ts[i] = randomText([]rune("abcdefghijklmnopqrstuvwxyz "), c.size, uint64(i))
			}
			for b.Loop() {
				ConformalText(ts)
			}
		})
	}
}
