package verdict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
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

// gramCounts is the rune 3-gram counts of t, from the strings (a text
// under 3 runes is the one feature "\x00"+t).
func gramCounts(t string) map[string]int {
	r := []rune(t)
	if len(r) < SpectrumN {
		return map[string]int{"\x00" + t: 1}
	}
	c := map[string]int{}
	for i := 0; i+SpectrumN <= len(r); i++ {
		c[string(r[i:i+SpectrumN])]++
	}
	return c
}

// definitionScores is α_i = (1/L_i) Σ_g c_i(g)/df(g) from the 3-gram
// strings, with each 3-gram keyed by key (the string itself, or its
// bucket).
func definitionScores(ts []string, key func(string) string) []float64 {
	counts := make([]map[string]int, len(ts))
	df := map[string]int{}
	for i, s := range ts {
		cut, _ := CutText(s)
		counts[i] = map[string]int{}
		for g, c := range gramCounts(cut) {
			counts[i][key(g)] += c
		}
		for g := range counts[i] {
			df[g]++
		}
	}
	out := make([]float64, len(ts))
	for i := range ts {
		L := 0
		for g, c := range counts[i] {
			out[i] += float64(c) / float64(df[g])
			L += c
		}
		out[i] /= float64(L)
	}
	return out
}

// bucketKey is the bucket ConformalText hashes the 3-gram g into.
func bucketKey(g string) string {
	return fmt.Sprint(mix64(fnvAdd(fnvOffset, g)) >> (64 - textBucketBits))
}

// TestConformalScoresAreTheDefinition: the two-pass hashed scores equal
// the definition α_i = (1/L_i) Σ_g c_i(g)/df(g), to 1e-12: from the
// 3-gram strings on a bag of 78 texts with repeats, empty and short
// texts, texts of 2- and 4-byte runes; and with a 70,000-byte text that
// holds every 3-gram of its alphabet (cut by CutText) added, from the
// buckets, while its 19,683 3-grams make a few collisions with the
// others' (within 0.03 of the strings' definition).
func TestConformalScoresAreTheDefinition(t *testing.T) {
	model := newChain(1)
	ts := []string{"", "", "ab", "ab", "zebra quantum", "é😀x", "😀😀😀😀", "日本語の文章です日本"}
	for i := range 70 {
		ts = append(ts, model.text(uint64(i%50)))
	}
	same := func(g string) string { return g }
	compare := func(name string, got, want []float64, tol float64) {
		for i := range got {
			if math.Abs(got[i]-want[i]) > tol {
				t.Errorf("%s: α_%d = %.15f, definition %.15f", name, i, got[i], want[i])
			}
		}
	}
	got := conformalScores(ts)
	compare("strings", got, definitionScores(ts, same), 1e-12)
	if got[0] != got[1] || got[2] != got[3] || got[4] != 1 {
		t.Errorf("equal texts score %v and %v, %v and %v; a text of its own 3-grams %v (want 1)", got[0], got[1], got[2], got[3], got[4])
	}
	ts = append(ts, randomText([]rune("abcdefghijklmnopqrstuvwxyz "), 70_000, 3))
	got = conformalScores(ts)
	compare("buckets", got, definitionScores(ts, bucketKey), 1e-12)
	compare("strings, with collisions", got, definitionScores(ts, same), 0.03)
}

// TestConformalScoresExchangeable: permuting the bag permutes the scores
// and changes none of them, bit for bit (df is exact in integers),
// so the score is a function of a text and the bag as a multiset — what
// the p-value's validity needs. 50 permutations of a bag of 300 texts.
func TestConformalScoresExchangeable(t *testing.T) {
	model := newChain(1)
	ts := make([]string, 300)
	for i := range ts {
		ts[i] = model.text(uint64(i))
	}
	ts[7] = randomText([]rune("abcdefghijklmnopqrstuvwxyz "), 70_000, 3) // cut by CutText
	base := conformalScores(ts)
	rng := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		perm := rng.Perm(len(ts))
		shuffled := make([]string, len(ts))
		for i, p := range perm {
			shuffled[i] = ts[p]
		}
		for i, s := range conformalScores(shuffled) {
			if s != base[perm[i]] {
				t.Fatalf("text %d scores %.17g in one order, %.17g in another", perm[i], base[perm[i]], s)
			}
		}
	}
}

// TestTextCheckMemory: the text check holds no vector a text: beyond the
// texts it is given, ConformalText allocates the scores and their sorted
// copy (16 bytes a text) and nothing else once its fixed scratch is
// pooled, however long the texts
// (4 MiB answers of 4-byte runes, a million distinct 3-grams each, cut to
// 64 KiB) or however many (20,000 short ones). Measured as the bytes
// allocated by a call after a first one has warmed the scratch.
func TestTextCheckMemory(t *testing.T) {
	var alphabet []rune
	for r := rune(0x1F300); r < 0x1F300+200; r++ { // 4-byte runes
		alphabet = append(alphabet, r)
	}
	full := randomText(alphabet, 4<<20, 9)
	long := make([]string, 24)
	for i := range long {
		long[i] = full[(i*4096)%len(full):] + full[:(i*4096)%len(full)]
	}
	model := newChain(1)
	short := make([]string, 20_000)
	for i := range short {
		short[i] = model.text(uint64(i))
	}
	for _, c := range []struct {
		name  string
		texts []string
	}{{"24 texts of 4 MiB", long}, {"20,000 short texts", short}} {
		// No GC between the warming call and the measured one, and one P:
		// a GC empties the sync.Pool that holds the scratch, and a pool's
		// private slot is per P, so either would make the measured call
		// allocate it again (a load-dependent failure).
		gc, procs := debug.SetGCPercent(-1), runtime.GOMAXPROCS(1)
		ConformalText(c.texts) // warms the pooled scratch
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ConformalText(c.texts)
		runtime.ReadMemStats(&after)
		debug.SetGCPercent(gc)
		runtime.GOMAXPROCS(procs)
		alloc := after.TotalAlloc - before.TotalAlloc
		bound := uint64(16*len(c.texts) + 256<<10)
		t.Logf("%s: %d KiB allocated (bound %d KiB)", c.name, alloc>>10, bound>>10)
		if alloc > bound {
			t.Errorf("%s: ConformalText allocated %d bytes, over %d (16 bytes a text and 256 KiB)", c.name, alloc, bound)
		}
	}
}

// BenchmarkConformalText is the text check's cost at n replays of short
// answers (about 80 bytes), of 1 KiB ones and of long ones (64 KiB).
func BenchmarkConformalText(b *testing.B) {
	for _, c := range []struct {
		n, size int
	}{{1000, 80}, {10_000, 80}, {20_000, 80}, {1000, 1 << 10}, {10_000, 1 << 10}, {20_000, 1 << 10}, {200, 64 << 10}} {
		b.Run(fmt.Sprintf("n=%d/bytes=%d", c.n, c.size), func(b *testing.B) {
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

// BenchmarkTextVerdict is the whole check a text replay ends with
// (Evaluate: the exact-match rate and the conformal text check, and with
// 500 reference texts the reference check too) at N = 1k/10k/20k
// replayed texts of about 80 bytes.
func BenchmarkTextVerdict(b *testing.B) {
	model := newChain(1)
	for _, refs := range []int{0, 500} {
		for _, n := range []int{1000, 10_000, 20_000} {
			b.Run(fmt.Sprintf("n=%d/refs=%d", n, refs), func(b *testing.B) {
				stored := model.text(1 << 40)
				outs := texts(model, seq(n, 0))
				var extra []Check
				if refs > 0 {
					extra = append(extra, ReferenceTexts{Ref: texts(model, seq(refs, 1<<30))})
				}
				for b.Loop() {
					if _, err := Evaluate(output.Output{Text: &stored}, outs, nil, DefaultRules(), extra...); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// seq is n seeds from base.
func seq(n int, base uint64) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = base + uint64(i)
	}
	return s
}

// draws is the next n seeds of r.
func draws(r *rand.Rand, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = r.Uint64()
	}
	return s
}
