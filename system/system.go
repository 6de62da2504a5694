// Package system defines the composite version of an AI system: the pinned
// image (ImageRef, parsed once), the model and config artifacts and any
// further behavior-affecting components, and its id.
//
// The id is the sha256 of this canonical text, each line ending in "\n",
// digests written as "sha256:<hex>":
//
//	reprise/system/v1
//	image <image digest>
//	model <model digest>
//	config <config digest>
//	component <name> <digest>      (one line per component, sorted by name, bytewise)
//
// The image digest is the digest the reference pins: the manifest digest of
// "name@sha256:…" or the image id of "sha256:…". A model, config or
// component is a file, whose digest is the sha256 of its bytes, or a
// directory stored as a tree, whose digest is the sha256 of its canonical
// OCI manifest (package store documents the bytes and how to recompute
// them). In a shell:
//
//	printf 'reprise/system/v1\nimage %s\nmodel %s\nconfig %s\n' "$IMG" "$MODEL" "$CFG" | sha256sum
//
// It imports only the standard library, digest and the reference grammar.
package system

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"github.com/reprise-dev/reprise/digest"
)

// ErrNotPinned is wrapped by ParseImageRef for a reference with a tag (or
// nothing) instead of a digest: a tag is not a version.
var ErrNotPinned = errors.New("image is pinned by tag, not by digest")

// ImageRef is a parsed, pinned image reference. Its text form (MarshalText)
// is "name@sha256:…" or a local image id "sha256:…".
type ImageRef struct {
	// Name is the repository ("registry.example.com/inference/loan"); empty
	// for a local image id.
	Name string
	// Digest is the manifest digest (for name@sha256:…) or the image id.
	Digest digest.Digest
}

// IsID reports whether the reference is a local image id ("sha256:…").
func (r ImageRef) IsID() bool { return r.Name == "" }

// IsZero reports whether r is the zero reference.
func (r ImageRef) IsZero() bool { return r.Name == "" && r.Digest.IsZero() }

// String returns the reference in its pinned form.
func (r ImageRef) String() string {
	if r.IsID() {
		return r.Digest.String()
	}
	return r.Name + "@" + r.Digest.String()
}

// MarshalText writes the pinned form.
func (r ImageRef) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses with ParseImageRef.
func (r *ImageRef) UnmarshalText(b []byte) error {
	p, err := ParseImageRef(string(b))
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// ParseImageRef parses "name[:tag]@sha256:<hex>" or a local image id
// "sha256:<hex>". A reference without a digest wraps ErrNotPinned; any other
// bad reference is a syntax error.
func ParseImageRef(s string) (ImageRef, error) {
	if s == "" {
		return ImageRef{}, errors.New("must not be empty")
	}
	if strings.HasPrefix(s, "sha256:") {
		d, err := digest.Parse(s)
		if err != nil {
			return ImageRef{}, fmt.Errorf("not a valid image id: %w", err)
		}
		return ImageRef{Digest: d}, nil
	}
	ref, err := reference.Parse(s)
	if err != nil {
		return ImageRef{}, fmt.Errorf("not a valid image reference %q: %v", s, err)
	}
	canon, ok := ref.(reference.Canonical)
	if !ok {
		return ImageRef{}, fmt.Errorf("%q: %w (use name@sha256:… or an image id sha256:…)", s, ErrNotPinned)
	}
	d, err := digest.Parse(canon.Digest().String())
	if err != nil {
		return ImageRef{}, fmt.Errorf("image %q: %w", s, err)
	}
	return ImageRef{Name: canon.Name(), Digest: d}, nil
}

// Artifact is a named, versioned model or config: a blob, or a tree (a
// directory) whose digest is its manifest's.
type Artifact struct {
	Name    string        `json:"name"`
	Version string        `json:"version"`
	Digest  digest.Digest `json:"digest"`
}

// String is "name version (sha256:…)".
func (a Artifact) String() string { return fmt.Sprintf("%s %s (%s)", a.Name, a.Version, a.Digest) }

// System is the composite version of the system that decided.
type System struct {
	ID         digest.Digest            `json:"id"`
	Image      ImageRef                 `json:"image"`
	Model      Artifact                 `json:"model"`
	Config     Artifact                 `json:"config"`
	Components map[string]digest.Digest `json:"components,omitempty"`
}

// Canonical returns the canonical text hashed into the id (see the package
// documentation).
func (s *System) Canonical() []byte {
	var b strings.Builder
	b.WriteString("reprise/system/v1\n")
	fmt.Fprintf(&b, "image %s\nmodel %s\nconfig %s\n", s.Image.Digest, s.Model.Digest, s.Config.Digest)
	for _, n := range slices.Sorted(maps.Keys(s.Components)) {
		fmt.Fprintf(&b, "component %s %s\n", n, s.Components[n])
	}
	return []byte(b.String())
}

// ComputeID returns the composite id of s's components (not s.ID).
func (s *System) ComputeID() digest.Digest { return digest.FromBytes(s.Canonical()) }

// Seal sets s.ID to the computed id and returns s.
func (s *System) Seal() *System {
	s.ID = s.ComputeID()
	return s
}

// ErrIDMismatch is wrapped by Check when the recorded id does not recompute.
var ErrIDMismatch = errors.New("system id does not match the system's components")

// Check reports whether s.ID is the id of s's components.
func (s *System) Check() error {
	if id := s.ComputeID(); id != s.ID {
		return fmt.Errorf("%w: recorded %s, computed %s", ErrIDMismatch, s.ID, id)
	}
	return nil
}

// Params are the per-request inference parameters a system is called with:
// recorded at decision time, sent with every run. Nil fields are absent
// (omitted on the wire).
type Params struct {
	Seed        *int64   `json:"seed,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	MaxTokens   *int     `json:"max_tokens,omitempty"`
}

// WithSeed returns a copy of p with Seed set to seed.
func (p Params) WithSeed(seed int64) Params {
	p.Seed = &seed
	return p
}
