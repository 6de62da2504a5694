package output

import (
	"errors"
	"math"
	"testing"
)

func TestCanonical(t *testing.T) {
	l, s, x := "approved", 0.87, "hi \"there\""
	cases := []struct {
		o    Output
		want string
	}{
		{Output{Label: &l, Score: &s}, `{"label":"approved","score":0.87}`},
		{Output{Text: &x}, `{"text":"hi \"there\""}`},
		{Output{Label: &l, Score: &s, Text: &x}, `{"label":"approved","score":0.87,"text":"hi \"there\""}`},
	}
	for _, c := range cases {
		if got := string(c.o.Canonical()); got != c.want {
			t.Errorf("Canonical = %s, want %s", got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	empty, bad, nan := "", "\xff", math.NaN()
	inf := math.Inf(1)
	cases := []struct {
		name string
		o    Output
		msg  string
	}{
		{"nothing", Output{}, "at least one"},
		{"empty label", Output{Label: &empty}, "label must not be empty"},
		{"bad utf-8 label", Output{Label: &bad}, "label is not valid UTF-8"},
		{"NaN score", Output{Score: &nan}, "score must be finite"},
		{"Inf score", Output{Score: &inf}, "score must be finite"},
		{"bad utf-8 text", Output{Text: &bad}, "text is not valid UTF-8"},
	}
	for _, c := range cases {
		err := c.o.Validate()
		if !errors.Is(err, ErrInvalid) || !contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %q", c.name, err, c.msg)
		}
	}
	l := "ok"
	if err := (Output{Label: &l}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestEqual(t *testing.T) {
	a, b := "a", "b"
	s1, s2 := 1.0, 1.0
	if !(Output{Label: &a, Score: &s1}).Equal(Output{Label: &a, Score: &s2}) {
		t.Error("same values are not equal")
	}
	if (Output{Label: &a}).Equal(Output{Label: &b}) || (Output{Label: &a}).Equal(Output{Label: &a, Score: &s1}) {
		t.Error("different outputs are equal")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
