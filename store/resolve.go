package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/reprise-dev/reprise/digest"
)

// MinPrefixHex is the fewest hex digits after "sha256:" a digest prefix
// needs to name a blob (the 12 that reports show).
const MinPrefixHex = 12

// ErrPrefix: a digest prefix names no blob, or more than one.
var ErrPrefix = errors.New("digest prefix")

// Lister is a store that lists its blobs.
type Lister interface {
	List(ctx context.Context) ([]Entry, error)
}

// IsPrefix reports whether arg is a digest prefix Resolve takes:
// "sha256:" and MinPrefixHex to 63 lower-case hex digits.
func IsPrefix(arg string) bool {
	h, ok := strings.CutPrefix(arg, "sha256:")
	if !ok || len(h) < MinPrefixHex || len(h) >= 64 {
		return false
	}
	return strings.Trim(h, "0123456789abcdef") == ""
}

// Resolve is the digest arg names: a whole digest as it is, or the one
// blob of st whose digest starts with arg (IsPrefix; at least
// MinPrefixHex hex digits). A prefix that matches no blob, or several,
// wraps ErrPrefix and says which; any other arg is digest.Parse's error.
func Resolve(ctx context.Context, st Lister, arg string) (digest.Digest, error) {
	d, err := digest.Parse(arg)
	if err == nil || !IsPrefix(arg) {
		return d, err
	}
	es, err := st.List(ctx)
	if err != nil {
		return digest.Digest{}, err
	}
	var hits []string
	for _, e := range es {
		if s := e.Digest.String(); !e.Digest.IsZero() && strings.HasPrefix(s, arg) {
			hits = append(hits, s)
		}
	}
	switch len(hits) {
	case 1:
		return digest.Parse(hits[0])
	case 0:
		return digest.Digest{}, fmt.Errorf("%w %s: no blob in the store starts with it", ErrPrefix, arg)
	}
	return digest.Digest{}, fmt.Errorf("%w %s: %d blobs start with it (%s, …): give more digits", ErrPrefix, arg, len(hits), hits[0])
}
