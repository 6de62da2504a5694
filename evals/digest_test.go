package evals

import (
	"bytes"
	"context"
	"testing"

	"github.com/reprise-dev/reprise/digest"
)

// TestRunOutputDigestIsCanonical: with RunOptions.Canonical (the
// protocol's canonical form, as cmd passes sess.Codec.Canonical) a row's
// output_digest hashes the canonical bytes, as the record and replay's
// runs.parquet do; without it, the raw answer.
func TestRunOutputDigestIsCanonical(t *testing.T) {
	s, err := LoadDir(writeSuite(t, labelSpec, labelItems))
	if err != nil {
		t.Fatal(err)
	}
	sys := digest.FromBytes([]byte("sys"))
	canon := func(raw []byte) []byte { return append([]byte("canonical:"), bytes.TrimSpace(raw)...) }
	raw, err := Run(context.Background(), &fakeSession{}, s, sys, RunOptions{Epochs: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	can, err := Run(context.Background(), &fakeSession{}, s, sys, RunOptions{Epochs: 1, Seed: 1, Canonical: canon})
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		answer := []byte(raw[i].Output)
		if want := digest.FromBytes(answer).String(); raw[i].OutputDigest != want {
			t.Errorf("row %d without Canonical: %s, want the raw answer's %s", i, raw[i].OutputDigest, want)
		}
		if want := digest.FromBytes(canon(answer)).String(); can[i].OutputDigest != want {
			t.Errorf("row %d with Canonical: %s, want %s", i, can[i].OutputDigest, want)
		}
	}
}
