package verdict

import (
	"sync"
	"unicode/utf8"
)

// TextBuckets is the number of buckets the text check hashes 3-grams
// into (see TextConformal): 2^20. Its working memory is fixed by it
// (textScratch: 4 MiB of frequencies, 4 bytes a bucket the bag uses, at
// most 4 MiB, and a table of at most 16 bytes a byte of a text, 2 MiB for
// a text of MaxConformalBytes, however many texts); two distinct 3-grams share a
// bucket with probability 2^-20, which can only make a text look more
// typical (it never affects validity).
const TextBuckets = 1 << textBucketBits

const textBucketBits = 20

// Conformal is the result of ConformalText.
type Conformal struct {
	// Score is the stored text's nonconformity α_0; MedianReplay the
	// replays' median score.
	Score, MedianReplay float64
	// AtLeast counts the members of the bag (the stored text included)
	// whose score is at least Score; P = AtLeast/(n+1).
	AtLeast int
	P       float64
	// Typical is the index in texts[1:] of the replay with the smallest
	// score (the most typical replay), -1 when there is none.
	Typical int
}

// ConformalText computes the conformal p-value of texts[0] among
// texts[1:] (see TextConformal); each text is compared as CutText cuts
// it. With no replays P is 1. Time is linear in the texts' total length
// (two passes over each text); memory is the scores (8 bytes a text) and
// a fixed scratch (textScratch), never a kernel matrix or a vector a text.
func ConformalText(texts []string) Conformal {
	m := len(texts)
	if m < 2 {
		return Conformal{P: 1, AtLeast: 1, Typical: -1}
	}
	score := conformalScores(texts)
	c := Conformal{Score: score[0], Typical: -1}
	const eps = 1e-12 // a guard: equal texts have equal scores exactly
	for i, a := range score {
		if a >= c.Score-eps {
			c.AtLeast++
		}
		if i > 0 && (c.Typical < 0 || a < score[c.Typical+1]) {
			c.Typical = i - 1
		}
	}
	c.P = float64(c.AtLeast) / float64(m)
	c.MedianReplay = median(score[1:])
	return c
}

// conformalScores is the nonconformity α_i of each text (see
// TextConformal), in two passes: the bag's document frequencies, then
// each text's mean inverse document frequency.
func conformalScores(texts []string) []float64 {
	sc := scratchPool.Get().(*textScratch)
	defer sc.release()
	for _, t := range texts {
		sc.features(t)
		sc.addToBag()
	}
	score := make([]float64, len(texts))
	for i, t := range texts {
		sc.features(t)
		score[i] = sc.novelty()
	}
	return score
}

// textScratch is the fixed working memory of ConformalText: the bag's
// document frequency of each bucket (df: how many texts have a 3-gram in
// it; bag lists the buckets it holds, so that it is cleared in time
// proportional to them), and one text's buckets and their occurrence
// counts (touched and q, in the order of first use; total its number of
// 3-grams), gathered in a small open-addressing table (slots, a bucket
// plus one, and the index of its count in q) sized to the text, so that
// a text's occurrences stay in cache and only its distinct buckets reach
// df.
type textScratch struct {
	df      []int32
	bag     []uint32
	slots   []textSlot
	touched []uint32
	q       []int32
	total   int
}

type textSlot struct{ key, at uint32 }

var scratchPool = sync.Pool{New: func() any {
	return &textScratch{df: make([]int32, TextBuckets)}
}}

// release clears the bag's frequencies and returns the scratch to the pool.
func (sc *textScratch) release() {
	for _, d := range sc.bag {
		sc.df[d] = 0
	}
	sc.bag = sc.bag[:0]
	scratchPool.Put(sc)
}

// features sets touched, q and total to the 3-gram buckets of CutText(t)
// and their counts: a function of t alone, in an order fixed by t.
func (sc *textScratch) features(t string) {
	t, _ = CutText(t)
	size := 16
	for size < 2*len(t) {
		size *= 2
	}
	if cap(sc.slots) < size {
		sc.slots = make([]textSlot, size)
	}
	sc.slots = sc.slots[:size]
	clear(sc.slots)
	sc.touched, sc.q, sc.total = sc.touched[:0], sc.q[:0], 0
	if utf8.RuneCountInString(t) < SpectrumN {
		sc.count(fnvAdd(fnvAdd(fnvOffset, "\x00"), t))
		return
	}
	// starts holds the byte offsets of the last SpectrumN runes.
	var starts [SpectrumN + 1]int
	n := 0
	for i := range t {
		copy(starts[:], starts[1:])
		starts[SpectrumN] = i
		if n++; n > SpectrumN {
			sc.count(fnvAdd(fnvOffset, t[starts[0]:i]))
		}
	}
	copy(starts[:], starts[1:])
	sc.count(fnvAdd(fnvOffset, t[starts[0]:]))
}

// count adds an occurrence of the 3-gram of FNV-64a hash h to its bucket.
// The table has at least twice as many slots as the text has 3-grams, so
// a free slot is always found.
func (sc *textScratch) count(h uint64) {
	d := uint32(mix64(h) >> (64 - textBucketBits))
	mask := uint32(len(sc.slots) - 1)
	for i := (d * 0x9e3779b1) & mask; ; i = (i + 1) & mask {
		switch sc.slots[i].key {
		case d + 1:
			sc.q[sc.slots[i].at]++
		case 0:
			sc.slots[i] = textSlot{d + 1, uint32(len(sc.q))}
			sc.touched = append(sc.touched, d)
			sc.q = append(sc.q, 1)
		default:
			continue
		}
		sc.total++
		return
	}
}

// addToBag counts the text in the document frequency of its buckets
// (integers: exact in any order of the texts).
func (sc *textScratch) addToBag() {
	for _, d := range sc.touched {
		if sc.df[d] == 0 {
			sc.bag = append(sc.bag, d)
		}
		sc.df[d]++
	}
}

// novelty is the text's mean inverse document frequency over its 3-gram
// occurrences, (1/L) Σ_g c(g)/df(g), summed in the text's own order.
func (sc *textScratch) novelty() float64 {
	var s float64
	for k, d := range sc.touched {
		s += float64(sc.q[k]) / float64(sc.df[d])
	}
	return s / float64(sc.total)
}

const fnvOffset = uint64(14695981039346656037)

// fnvAdd continues the 64-bit FNV-1a hash h over the bytes of s.
func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is the SplitMix64 finalizer: FNV's high bits, which pick the
// bucket, then depend on every byte of the 3-gram.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
