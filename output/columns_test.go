package output

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestColumns(t *testing.T) {
	l, s := "approved", 0.87
	o := Output{Label: &l, Score: &s}
	c := ColumnsOf(o)
	if !c.Output().Equal(o) {
		t.Errorf("Columns.Output = %v, want %v", c.Output(), o)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"stored_label":"approved","stored_score":0.87,"stored_text":null}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func TestFields(t *testing.T) {
	l, s := "approved", 0.5
	o := Output{Label: &l, Score: &s}
	all := []Field{{"label", "approved", true}, {"score", "0.5", true}, {"text", "", false}}
	if got := o.Fields(); !reflect.DeepEqual(got, all) {
		t.Errorf("Fields() = %v, want %v", got, all)
	}
	if got, want := o.Fields("score", "label", "nope"), []Field{all[1], all[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("Fields(score, label, nope) = %v, want %v", got, want)
	}
}
