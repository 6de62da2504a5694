package render

import (
	"strings"
	"testing"
)

// TestFields: keys are the json names, aligned; omitempty zero fields are
// left out; nested structs prefix their keys; empty lists read "none" and
// empty strings "-".
func TestFields(t *testing.T) {
	type inner struct {
		P float64 `json:"p"`
	}
	v := struct {
		Name  string   `json:"name"`
		Empty string   `json:"empty"`
		Skip  int      `json:"skip,omitempty"`
		Runs  []int    `json:"runs"`
		Tags  []string `json:"tags"`
		Test  inner    `json:"test"`
	}{Name: "x", Tags: []string{"a", "b"}, Test: inner{P: 0.25}}
	var b strings.Builder
	if err := Fields(&b, &v); err != nil {
		t.Fatal(err)
	}
	want := "name:   x\nempty:  -\nruns:   none\ntags:   a; b\ntest.p: 0.25\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
