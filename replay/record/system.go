package record

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/distribution/reference"

	"github.com/reprise-dev/reprise/replay/digest"
)

// ErrNotPinned is returned by ParseImageRef for a reference with a tag (or
// nothing) instead of a digest: a tag is not a version.
var ErrNotPinned = errors.New("image is pinned by tag, not by digest")

// ImageRef is a parsed, pinned image reference.
type ImageRef struct {
	// Name is the repository ("registry.example.com/inference/loan"); empty
	// for a local image id.
	Name string
	// Digest is the manifest digest (for name@sha256:…) or the image id.
	Digest digest.Digest
}

// IsID reports whether the reference is a local image id ("sha256:…").
func (r ImageRef) IsID() bool { return r.Name == "" }

// String returns the reference in its pinned form.
func (r ImageRef) String() string {
	if r.IsID() {
		return r.Digest.String()
	}
	return r.Name + "@" + r.Digest.String()
}

// ParseImageRef parses "name[:tag]@sha256:<hex>" or a local image id
// "sha256:<hex>". A reference without a digest wraps ErrNotPinned.
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

// SystemInputs are the behavior-affecting components of a composite version.
type SystemInputs struct {
	Image      digest.Digest
	Model      digest.Digest
	Config     digest.Digest
	Components map[string]digest.Digest
}

// CanonicalSystem returns the canonical encoding hashed into the system id
// (see the package documentation).
func CanonicalSystem(in SystemInputs) []byte {
	var b strings.Builder
	b.WriteString("reprise/system/v1\n")
	fmt.Fprintf(&b, "image %s\nmodel %s\nconfig %s\n", in.Image, in.Model, in.Config)
	names := make([]string, 0, len(in.Components))
	for n := range in.Components {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "component %s %s\n", n, in.Components[n])
	}
	return []byte(b.String())
}

// SystemID computes the composite system id.
func SystemID(in SystemInputs) digest.Digest {
	return digest.FromBytes(CanonicalSystem(in))
}

// ComputeSystemID computes the composite id of r's system. It fails when the
// image is not pinned by digest.
func (r *Record) ComputeSystemID() (digest.Digest, error) {
	img, err := ParseImageRef(r.System.Image)
	if err != nil {
		return digest.Digest{}, err
	}
	return SystemID(SystemInputs{
		Image:      img.Digest,
		Model:      r.System.Model.Digest,
		Config:     r.System.Config.Digest,
		Components: r.System.Components,
	}), nil
}

// Check reports the integrity problems that need no artifact store: an image
// not pinned by digest, and a system id that does not recompute.
func (r *Record) Check() []Problem {
	var probs []Problem
	id, err := r.ComputeSystemID()
	if err != nil {
		kind := Malformed
		if errors.Is(err, ErrNotPinned) {
			kind = Integrity
		}
		return append(probs, Problem{Field: "system.image", Message: err.Error(), Kind: kind})
	}
	if id != r.System.ID {
		probs = append(probs, Problem{Field: "system.id", Kind: Integrity,
			Message: fmt.Sprintf("does not match the system's components: recorded %s, computed %s", r.System.ID, id)})
	}
	return probs
}
