package system

import (
	"errors"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
)

// The expected ids were computed with coreutils, independent of this code:
//
//	printf 'reprise/system/v1\nimage %s\nmodel %s\nconfig %s\n' $I $M $C | sha256sum
//	printf 'reprise/system/v1\nimage %s\nmodel %s\nconfig %s\ncomponent prompt_template %s\ncomponent router %s\n' $I $M $C $P $R | sha256sum
//
// with I=sha256:0…01, M=sha256:a…a, C=sha256:b…b, P=sha256:c…c, R=sha256:d…d.
func TestSystemIDReference(t *testing.T) {
	in := System{
		Image:  ImageRef{Digest: digest.MustParse("sha256:" + strings.Repeat("0", 63) + "1")},
		Model:  Artifact{Digest: digest.MustParse("sha256:" + strings.Repeat("a", 64))},
		Config: Artifact{Digest: digest.MustParse("sha256:" + strings.Repeat("b", 64))},
	}
	if got, want := in.ComputeID().Hex(), "8e161897638a743f1ec1ea41598223a4332df83364edbe389aef273a61a4e6e6"; got != want {
		t.Errorf("SystemID without components = %s, want %s", got, want)
	}
	in.Components = map[string]digest.Digest{ // map order must not matter
		"router":          digest.MustParse("sha256:" + strings.Repeat("d", 64)),
		"prompt_template": digest.MustParse("sha256:" + strings.Repeat("c", 64)),
	}
	if got, want := in.ComputeID().Hex(), "af41dcbb9a0061aced3321dbeb7e473d7e75febbb82fa97f670305825f7db265"; got != want {
		t.Errorf("SystemID with components = %s, want %s", got, want)
	}
	// Changing any one component changes the id.
	base := in.ComputeID()
	for name, f := range map[string]func(*System){
		"image":     func(s *System) { s.Image.Digest = digest.FromBytes([]byte("i")) },
		"model":     func(s *System) { s.Model.Digest = digest.FromBytes([]byte("m")) },
		"config":    func(s *System) { s.Config.Digest = digest.FromBytes([]byte("c")) },
		"component": func(s *System) { s.Components = map[string]digest.Digest{"router": in.Components["router"]} },
	} {
		c := in
		f(&c)
		if c.ComputeID() == base {
			t.Errorf("changing %s did not change the system id", name)
		}
	}
}

func TestParseImageRef(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	cases := []struct {
		in, name string
		err      error
	}{
		{"sha256:" + hex, "", nil},
		{"registry.example.com/inference/loan@sha256:" + hex, "registry.example.com/inference/loan", nil},
		{"127.0.0.1:5000/reprise/loan@sha256:" + hex, "127.0.0.1:5000/reprise/loan", nil},
		{"loan:2.4.1@sha256:" + hex, "loan", nil},
		{"loan:2.4.1", "", ErrNotPinned},
		{"loan", "", ErrNotPinned},
	}
	for _, c := range cases {
		r, err := ParseImageRef(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("ParseImageRef(%q) err = %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil || r.Name != c.name || r.Digest.Hex() != hex {
			t.Errorf("ParseImageRef(%q) = %+v, %v", c.in, r, err)
		}
	}
	for _, bad := range []string{"", "sha256:xyz", "upper/Case@sha256:" + hex, "loan@sha256:123"} {
		if _, err := ParseImageRef(bad); err == nil || errors.Is(err, ErrNotPinned) {
			t.Errorf("ParseImageRef(%q) err = %v, want a syntax error", bad, err)
		}
	}
}
