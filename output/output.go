// Package output defines Output, the normalized output of one inference:
// a categorical Label, a numeric Score and generated Text, any of them, and
// its canonical bytes.
//
// It is a leaf of reprise's vocabulary (record, runners, verdict and replay
// share it) and imports only the standard library.
package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Output is one normalized output. A nil field is absent; JSON writes it as
// null so a record always shows all three.
type Output struct {
	Label *string  `json:"label"`
	Score *float64 `json:"score"`
	Text  *string  `json:"text"`
}

// ErrInvalid is wrapped by Validate's errors.
var ErrInvalid = errors.New("invalid output")

// IsZero reports whether no field is set.
func (o Output) IsZero() bool { return o.Label == nil && o.Score == nil && o.Text == nil }

// Validate reports the first problem of o: nothing set, an empty label, a
// score that is not finite, or a label or text that is not valid UTF-8.
// The error names the field ("label", "score", "text").
func (o Output) Validate() error {
	switch {
	case o.IsZero():
		return fmt.Errorf("%w: at least one of label, score, text is required", ErrInvalid)
	case o.Label != nil && *o.Label == "":
		return fmt.Errorf("%w: label must not be empty (use null)", ErrInvalid)
	case o.Label != nil && !utf8.ValidString(*o.Label):
		return fmt.Errorf("%w: label is not valid UTF-8", ErrInvalid)
	case o.Score != nil && (math.IsNaN(*o.Score) || math.IsInf(*o.Score, 0)):
		return fmt.Errorf("%w: score must be finite", ErrInvalid)
	case o.Text != nil && !utf8.ValidString(*o.Text):
		return fmt.Errorf("%w: text is not valid UTF-8", ErrInvalid)
	}
	return nil
}

// Canonical is the JSON encoding whose digest stands for an output recorded
// without its raw response bytes: {"label":…,"score":…,"text":…} in that
// order, unset fields omitted, as Go's encoding/json writes it.
func (o Output) Canonical() []byte {
	b, _ := json.Marshal(struct {
		Label *string  `json:"label,omitempty"`
		Score *float64 `json:"score,omitempty"`
		Text  *string  `json:"text,omitempty"`
	}{o.Label, o.Score, o.Text}) // cannot fail for finite scores
	return b
}

// Equal reports whether a and b hold the same fields with the same values.
func (o Output) Equal(b Output) bool {
	return eq(o.Label, b.Label) && eq(o.Score, b.Score) && eq(o.Text, b.Text)
}

func eq[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// String is a short human form: `label "approved", score 0.87`.
func (o Output) String() string {
	s := ""
	add := func(part string) {
		if s != "" {
			s += ", "
		}
		s += part
	}
	if o.Label != nil {
		add(fmt.Sprintf("label %q", *o.Label))
	}
	if o.Score != nil {
		add(fmt.Sprintf("score %g", *o.Score))
	}
	if o.Text != nil {
		t := *o.Text
		if len(t) > 60 {
			t = t[:60] + "…"
		}
		add(fmt.Sprintf("text %q", t))
	}
	if s == "" {
		return "no output"
	}
	return s
}
