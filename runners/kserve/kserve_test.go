package kserve

import (
	"encoding/json"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
)

func TestCodec(t *testing.T) {
	c, err := New(runners.HTTPConfig{ModelName: "loan", LabelOutput: "decision", ScoreOutput: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Path(runners.Request{}); got != "/v2/models/loan/infer" {
		t.Errorf("path %s", got)
	}
	b, err := c.Encode(runners.Request{Input: json.RawMessage(`{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}`), Params: system.Params{}.WithSeed(7)})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Parameters map[string]any `json:"parameters"`
	}
	json.Unmarshal(b, &body)
	if body.Parameters["seed"] != 7.0 {
		t.Errorf("parameters = %v", body.Parameters)
	}
	a := `{"id":"1","model_name":"loan","outputs":[{"name":"p","datatype":"FP64","shape":[1],"data":[0.87]},{"name":"decision","datatype":"BYTES","shape":[1],"data":["approved"]}]}`
	b2 := `{"id":"2","model_name":"loan","outputs":[{"name":"decision","datatype":"BYTES","shape":[1],"data":[ "approved" ]},{"name":"p","datatype":"FP64","shape":[1],"data":[0.87]}]}`
	r, err := c.Decode([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	if *r.Output.Label != "approved" || *r.Output.Score != 0.87 {
		t.Errorf("output %+v", r.Output)
	}
	if string(c.Canonical([]byte(a))) != string(c.Canonical([]byte(b2))) {
		t.Errorf("canonical differs:\n%s\n%s", c.Canonical([]byte(a)), c.Canonical([]byte(b2)))
	}
	for _, bad := range []string{"x", `{"outputs":[]}`, `{"outputs":[{"name":"p","data":["s"]}]}`} {
		if _, err := c.Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
	if _, err := New(runners.HTTPConfig{ModelName: "a/b"}); err == nil {
		t.Error("model name with / accepted")
	}
}
