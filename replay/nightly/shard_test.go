package nightly

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestREADMEShardFormula holds the README's shard formula to Shard.Has: the
// prefix it quotes, hashed with the system key as it says, gives every
// key's shard.
func TestREADMEShardFormula(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`sha256\\((\"[^\"]*\") \\+ system key\\)`, read as a big-endian unsigned integer").FindSubmatch(b)
	if m == nil {
		t.Fatal("README: no shard formula `sha256(\"…\" + system key)` read as a big-endian unsigned integer")
	}
	prefix, err := strconv.Unquote(string(m[1]))
	if err != nil {
		t.Fatalf("README: shard prefix %s: %v", m[1], err)
	}
	for k := range 200 {
		key := fmt.Sprintf("sha256:%064x cpu/amd64/x86-64-v%d", k*7919, k%4)
		h := sha256.Sum256([]byte(prefix + key))
		for _, n := range []int{2, 3, 7} {
			want := int(binary.BigEndian.Uint64(h[:8]) % uint64(n))
			for i := range n {
				if got := (Shard{I: i, N: n}).Has(key); got != (i == want) {
					t.Fatalf("key %q: Shard{%d, %d}.Has = %v, the README's formula gives shard %d", key, i, n, got, want)
				}
			}
		}
	}
}
