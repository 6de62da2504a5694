package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
)

// TestResolve: a whole digest, a unique prefix of at least 12 hex digits,
// and the prefixes that name nothing or too much.
func TestResolve(t *testing.T) {
	ctx := context.Background()
	st := NewMem()
	var ds []string
	for _, b := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		d, _, err := st.Put(ctx, strings.NewReader(b), Meta{})
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d.String())
	}
	for _, d := range ds {
		for _, arg := range []string{d, d[:7+MinPrefixHex], d[:7+40]} {
			got, err := Resolve(ctx, st, arg)
			if err != nil || got.String() != d {
				t.Errorf("%s: %v %v, want %s", arg, got, err, d)
			}
		}
	}
	if _, err := Resolve(ctx, st, "sha256:000000000000"); !errors.Is(err, ErrPrefix) || !strings.Contains(err.Error(), "no blob") {
		t.Errorf("no match: %v", err)
	}
	if _, err := Resolve(ctx, st, ds[0][:7+11]); err == nil || errors.Is(err, ErrPrefix) {
		t.Errorf("11 hex digits: %v, want digest.Parse's error", err)
	}
	// Two blobs sharing a 12-digit prefix are not in this store; an
	// ambiguous prefix is built from a listing that has two.
	two := fakeList{ds[0], ds[0][:len(ds[0])-1] + "0"}
	if ds[0][len(ds[0])-1] == '0' {
		two[1] = ds[0][:len(ds[0])-1] + "1"
	}
	if _, err := Resolve(ctx, two, ds[0][:7+MinPrefixHex]); !errors.Is(err, ErrPrefix) || !strings.Contains(err.Error(), "2 blobs start with it") {
		t.Errorf("ambiguous: %v", err)
	}
}

type fakeList []string

func (f fakeList) List(context.Context) ([]Entry, error) {
	var es []Entry
	for _, s := range f {
		d, err := digest.Parse(s)
		if err != nil {
			return nil, err
		}
		es = append(es, Entry{Digest: d})
	}
	return es, nil
}
