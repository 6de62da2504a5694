// Package digest defines Digest, the content address used everywhere in
// reprise: "sha256:" followed by 64 lowercase hex characters.
//
// It is the one project type shared by every layer (replay, runners, evals);
// it imports only the standard library.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// Algorithm is the only digest algorithm reprise accepts.
const Algorithm = "sha256"

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("not a sha256 digest")

// Digest is a validated sha256 content digest. The zero value is the empty
// digest and is reported invalid by Validate.
type Digest struct {
	hex string // 64 lowercase hex characters
}

// Parse validates s, which must be "sha256:" and 64 lowercase hex characters.
func Parse(s string) (Digest, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok {
		return Digest{}, fmt.Errorf("%q: %w (want sha256:<64 hex>)", s, ErrInvalid)
	}
	if alg != Algorithm {
		return Digest{}, fmt.Errorf("%q: %w (algorithm %q, want sha256)", s, ErrInvalid, alg)
	}
	if err := validHex(h); err != nil {
		return Digest{}, fmt.Errorf("%q: %w (%v)", s, ErrInvalid, err)
	}
	return Digest{hex: h}, nil
}

// MustParse is Parse for constants in tests and examples; it panics on error.
func MustParse(s string) Digest {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// FromHex builds a digest from 64 lowercase hex characters.
func FromHex(h string) (Digest, error) {
	if err := validHex(h); err != nil {
		return Digest{}, fmt.Errorf("%q: %w (%v)", h, ErrInvalid, err)
	}
	return Digest{hex: h}, nil
}

func validHex(h string) error {
	if len(h) != 64 {
		return fmt.Errorf("%d hex characters, want 64", len(h))
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("character %q at %d is not lowercase hex", c, i)
		}
	}
	return nil
}

// FromBytes returns the digest of b.
func FromBytes(b []byte) Digest {
	sum := sha256.Sum256(b)
	return Digest{hex: hex.EncodeToString(sum[:])}
}

// FromReader returns the digest of everything read from r and the byte count.
func FromReader(r io.Reader) (Digest, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return Digest{}, n, err
	}
	return FromHash(h), n, nil
}

// FromFile returns the digest of the file at path. Its errors are
// os.Open's (a *fs.PathError) and the read's.
func FromFile(path string) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, err
	}
	defer f.Close()
	d, _, err := FromReader(f)
	return d, err
}

// FromHash returns the digest held by a sha256 hash.Hash.
func FromHash(h hash.Hash) Digest {
	return Digest{hex: hex.EncodeToString(h.Sum(nil))}
}

// IsZero reports whether d is the zero (unset) digest.
func (d Digest) IsZero() bool { return d.hex == "" }

// Hex returns the 64 hex characters without the algorithm prefix.
func (d Digest) Hex() string { return d.hex }

// String returns "sha256:<hex>", or "" for the zero digest.
func (d Digest) String() string {
	if d.hex == "" {
		return ""
	}
	return Algorithm + ":" + d.hex
}

// Short returns the first 12 hex characters, for display.
func (d Digest) Short() string {
	if len(d.hex) < 12 {
		return d.hex
	}
	return d.hex[:12]
}

// Validate reports an error for the zero digest.
func (d Digest) Validate() error {
	if d.hex == "" {
		return fmt.Errorf("empty: %w", ErrInvalid)
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it validates.
func (d *Digest) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

var _ json.Marshaler = Digest{}

// MarshalJSON writes the digest as a JSON string ("" for the zero digest).
func (d Digest) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string and validates it.
func (d *Digest) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: want a JSON string", ErrInvalid)
	}
	return d.UnmarshalText([]byte(s))
}
