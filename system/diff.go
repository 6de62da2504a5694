package system

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/digest"
)

// Parts a Change names.
const (
	PartImage     = "image"
	PartModel     = "model"
	PartConfig    = "config"
	PartComponent = "component"
)

// Change is one part that two composite versions pin differently.
type Change struct {
	// Part is PartImage, PartModel, PartConfig or PartComponent.
	Part string `json:"part"`
	// Name is the component's name (PartComponent), "" otherwise.
	Name string `json:"name,omitempty"`
	// A and B are the part's digests in each system; nil when that system
	// has no such component.
	A *digest.Digest `json:"a"`
	B *digest.Digest `json:"b"`
	// AInfo and BInfo say what else each system records of the part: the
	// image reference, the model's or config's name and version.
	AInfo string `json:"a_info,omitempty"`
	BInfo string `json:"b_info,omitempty"`
}

// Label is the part as the text output names it: "image", "model",
// "config" or "component NAME".
func (c Change) Label() string {
	if c.Part == PartComponent {
		return PartComponent + " " + c.Name
	}
	return c.Part
}

// Difference compares two composite versions part by part: the image, the
// model, the config and each component by name, by digest (what the id
// covers; names and versions are not part of the id).
type Difference struct {
	A digest.Digest `json:"a"` // system id of A
	B digest.Digest `json:"b"` // system id of B
	// Same: no part differs (then A == B).
	Same bool `json:"same"`
	// Parts is the number of parts compared: image, model, config and the
	// components of either system.
	Parts int `json:"parts"`
	// Changes are the parts that differ: image, model, config, then the
	// components by name (bytewise).
	Changes []Change `json:"changes"`
	// Notes say what differs outside the id (a model or config with the
	// same digest under another name or version).
	Notes []string `json:"notes"`
}

// Diff compares a and b (their ids as recorded; callers check them first
// with Check).
func Diff(a, b *System) Difference {
	d := Difference{A: a.ID, B: b.ID, Changes: []Change{}, Notes: []string{}}
	add := func(c Change) {
		if c.A == nil || c.B == nil || *c.A != *c.B {
			d.Changes = append(d.Changes, c)
		}
	}
	add(Change{Part: PartImage, A: &a.Image.Digest, B: &b.Image.Digest, AInfo: a.Image.String(), BInfo: b.Image.String()})
	for _, p := range []struct {
		part string
		a, b Artifact
	}{{PartModel, a.Model, b.Model}, {PartConfig, a.Config, b.Config}} {
		an, bn := nameVersion(p.a), nameVersion(p.b)
		add(Change{Part: p.part, A: &p.a.Digest, B: &p.b.Digest, AInfo: an, BInfo: bn})
		if p.a.Digest == p.b.Digest && an != bn {
			d.Notes = append(d.Notes, fmt.Sprintf("the %s %s is named %q in A and %q in B (names are not part of the id)", p.part, p.a.Digest, an, bn))
		}
	}
	names := slices.Sorted(maps.Keys(a.Components))
	for n := range b.Components {
		if _, ok := a.Components[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		c := Change{Part: PartComponent, Name: n}
		if x, ok := a.Components[n]; ok {
			c.A = &x
		}
		if x, ok := b.Components[n]; ok {
			c.B = &x
		}
		add(c)
	}
	d.Parts = 3 + len(names)
	d.Same = len(d.Changes) == 0
	return d
}

func nameVersion(a Artifact) string { return strings.TrimSpace(a.Name + " " + a.Version) }

// WriteText prints d for people, naming A and B as the arguments a and b
// were given:
//
//	A  sha256:<id>  a
//	B  sha256:<id>  b
//	component index
//	  A  sha256:…
//	  B  sha256:…
//	1 of 6 parts differs: component index
func (d Difference) WriteText(w io.Writer, a, b string) error {
	var s strings.Builder
	fmt.Fprintf(&s, "A  %s  %s\nB  %s  %s\n", d.A, a, d.B, b)
	labels := make([]string, len(d.Changes))
	for i, c := range d.Changes {
		labels[i] = c.Label()
		fmt.Fprintf(&s, "%s\n  A  %s\n  B  %s\n", c.Label(), side(c.A, c.AInfo, c.Part), side(c.B, c.BInfo, c.Part))
	}
	for _, n := range d.Notes {
		fmt.Fprintf(&s, "note: %s\n", n)
	}
	switch len(d.Changes) {
	case 0:
		fmt.Fprintf(&s, "the same composite version: none of %d parts differs\n", d.Parts)
	case 1:
		fmt.Fprintf(&s, "1 of %d parts differs: %s\n", d.Parts, labels[0])
	default:
		fmt.Fprintf(&s, "%d of %d parts differ: %s\n", len(d.Changes), d.Parts, strings.Join(labels, ", "))
	}
	_, err := io.WriteString(w, s.String())
	return err
}

// side is one system's value of a part: its digest and, for the model and
// config, the name and version (the image reference when it has a name).
func side(d *digest.Digest, info, part string) string {
	switch {
	case d == nil:
		return "(absent)"
	case part == PartImage && info != d.String():
		return d.String() + "  (" + info + ")"
	case info != "" && part != PartImage:
		return d.String() + "  (" + info + ")"
	}
	return d.String()
}
