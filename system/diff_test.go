package system

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
)

func dg(s string) digest.Digest { return digest.FromBytes([]byte(s)) }

// ragSystem is a RAG system: index, embeddings and prompt components.
func ragSystem(index string) *System {
	s := &System{
		Image:  ImageRef{Digest: dg("image")},
		Model:  Artifact{Name: "rag-reader", Version: "1.0", Digest: dg("model")},
		Config: Artifact{Name: "rag-params", Version: "1", Digest: dg("config")},
		Components: map[string]digest.Digest{
			"index": dg(index), "embeddings": dg("emb"), "prompt": dg("prompt"),
		},
	}
	return s.Seal()
}

func TestDiff(t *testing.T) {
	base := ragSystem("index-1")
	for _, c := range []struct {
		name   string
		change func(s *System)
		want   []string // labels of the changes
	}{
		{"same", func(s *System) {}, nil},
		{"index", func(s *System) { s.Components["index"] = dg("index-2") }, []string{"component index"}},
		{"image", func(s *System) { s.Image = ImageRef{Name: "registry.example.com/rag", Digest: dg("image-2")} }, []string{"image"}},
		{"model and config", func(s *System) { s.Model.Digest, s.Config.Digest = dg("m2"), dg("c2") }, []string{"model", "config"}},
		{"added", func(s *System) { s.Components["router"] = dg("router") }, []string{"component router"}},
		{"removed", func(s *System) { delete(s.Components, "embeddings") }, []string{"component embeddings"}},
		{"renamed model", func(s *System) { s.Model.Version = "1.0-renamed" }, nil},
		{"two components", func(s *System) { s.Components["prompt"], s.Components["index"] = dg("p2"), dg("i2") }, []string{"component index", "component prompt"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := ragSystem("index-1")
			c.change(b)
			b.Seal()
			d := Diff(base, b)
			var got []string
			for _, ch := range d.Changes {
				got = append(got, ch.Label())
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("changes %q, want %q", got, c.want)
			}
			if d.Same != (len(c.want) == 0) || d.Same != (d.A == d.B) {
				t.Errorf("same %v, ids %s %s", d.Same, d.A, d.B)
			}
			if d.A != base.ID || d.B != b.ID {
				t.Errorf("ids %s %s, want %s %s", d.A, d.B, base.ID, b.ID)
			}
			if want := 3 + len(base.Components) + boolInt(c.name == "added"); d.Parts != want {
				t.Errorf("parts %d, want %d", d.Parts, want)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDiffDigests: each change carries both digests, nil for a component a
// system does not have; a renamed model with the same digest is a note.
func TestDiffDigests(t *testing.T) {
	a, b := ragSystem("index-1"), ragSystem("index-2")
	delete(b.Components, "prompt")
	b.Model.Name = "reader"
	b.Seal()
	d := Diff(a, b)
	if len(d.Changes) != 2 {
		t.Fatalf("changes %+v", d.Changes)
	}
	ix, pr := d.Changes[0], d.Changes[1]
	if ix.Name != "index" || *ix.A != dg("index-1") || *ix.B != dg("index-2") {
		t.Errorf("index change %+v", ix)
	}
	if pr.Name != "prompt" || pr.A == nil || *pr.A != dg("prompt") || pr.B != nil {
		t.Errorf("prompt change %+v", pr)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], `"rag-reader 1.0" in A and "reader 1.0" in B`) {
		t.Errorf("notes %q", d.Notes)
	}
	js, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"part":"component","name":"prompt","a":"` + dg("prompt").String() + `","b":null`, `"same":false`, `"parts":6`} {
		if !strings.Contains(string(js), s) {
			t.Errorf("JSON lacks %s: %s", s, js)
		}
	}
}

func TestDiffText(t *testing.T) {
	a, b := ragSystem("index-1"), ragSystem("index-2")
	var s strings.Builder
	if err := Diff(a, b).WriteText(&s, "before.json", "after.json"); err != nil {
		t.Fatal(err)
	}
	want := "A  " + a.ID.String() + "  before.json\nB  " + b.ID.String() + "  after.json\n" +
		"component index\n  A  " + dg("index-1").String() + "\n  B  " + dg("index-2").String() + "\n" +
		"1 of 6 parts differs: component index\n"
	if s.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", s.String(), want)
	}
	s.Reset()
	c := ragSystem("index-1")
	c.Model.Digest, c.Image = dg("m2"), ImageRef{Name: "registry.example.com/rag", Digest: dg("i2")}
	c.Seal()
	Diff(a, c).WriteText(&s, "a", "c")
	for _, line := range []string{
		"image\n  A  " + dg("image").String() + "\n  B  " + dg("i2").String() + "  (registry.example.com/rag@" + dg("i2").String() + ")\n",
		"model\n  A  " + dg("model").String() + "  (rag-reader 1.0)\n",
		"2 of 6 parts differ: image, model\n",
	} {
		if !strings.Contains(s.String(), line) {
			t.Errorf("text lacks %q:\n%s", line, s.String())
		}
	}
	s.Reset()
	Diff(a, a).WriteText(&s, "a", "a")
	if !strings.HasSuffix(s.String(), "the same composite version: none of 6 parts differs\n") {
		t.Errorf("same:\n%s", s.String())
	}
}
