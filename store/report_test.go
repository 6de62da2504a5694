package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCopyOutListingVerification(t *testing.T) {
	s, ctx := newLayout(t), t.Context()
	d, err := s.PutBytes(ctx, []byte("hello"), Meta{MediaType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := s.CopyOut(ctx, d, "", &out); err != nil || out.String() != "hello" {
		t.Errorf("CopyOut to w = %q, %v", out.String(), err)
	}
	dst := filepath.Join(t.TempDir(), "blob")
	if err := s.CopyOut(ctx, d, dst, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "hello" {
		t.Errorf("CopyOut to a file wrote %q", b)
	}
	entries, _ := s.List(ctx)
	var table bytes.Buffer
	if err := Listing(entries).WriteText(&table); err != nil || !strings.Contains(table.String(), d.String()+"  5     text/plain") {
		t.Errorf("Listing.WriteText =\n%s%v", table.String(), err)
	}
	v, err := s.VerifyEvery(ctx)
	var text bytes.Buffer
	if err != nil || !v.OK || v.Bad == nil || v.WriteText(&text) != nil || !strings.HasSuffix(text.String(), " blobs intact\n") {
		t.Errorf("VerifyEvery = %+v, %v; text %q", v, err, text.String())
	}
	if err := os.WriteFile(filepath.Join(s.Root(), "blobs", "sha256", d.Hex()), []byte("HELLO"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := s.VerifyEvery(ctx); err != nil || v.OK || len(v.Bad) != 1 {
		t.Errorf("after corruption: VerifyEvery = %+v, %v", v, err)
	}
}
