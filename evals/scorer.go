package evals

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/reprise-dev/reprise/output"
)

// ScorerSpec is the scorer of suite.json and its settings.
//
// Every scorer gives a score in [0, 1] per item and epoch; an error answer
// (or a failed run) scores 0. The "answer" is the output's text, else its
// label, else its score written in Go's shortest 'g' form. A reference may be
// one JSON string or a list of them (the best score over the list counts),
// except for numeric (a number), json_pointer (any JSON value) and regex (one
// pattern string). The rules:
//
//   - exact: 1 when the answer equals the reference byte for byte.
//   - normalized_exact: 1 when the answer equals the reference after SQuAD's
//     normalization: lower-case, drop ASCII punctuation, drop the articles
//     a/an/the as words, collapse whitespace.
//   - token_f1: SQuAD's token F1 over whitespace tokens of the normalized
//     strings: 2·P·R/(P+R) with P = common/|answer|, R = common/|reference|
//     (common counted as a multiset); 1 when both are empty, 0 when one is.
//   - regex: 1 when the RE2 pattern (the reference) matches anywhere in the
//     answer (anchor it with ^…$ for a full match).
//   - numeric: 1 when |x − r| ≤ tolerance + rel_tolerance·|r|, where x is the
//     output's score, else the answer parsed as a number (unparsable: 0).
//   - json_pointer: the answer (text) parsed as JSON, else the output object
//     {"label","score","text"}; 1 when the value at pointer (RFC 6901)
//     equals the reference as decoded JSON (numbers as float64).
//   - label: 1 when the output's label equals the reference exactly.
//   - contains: 1 when the answer contains the reference (case-insensitive
//     with case_insensitive).
type ScorerSpec struct {
	Type            string  `json:"type"`
	Tolerance       float64 `json:"tolerance,omitempty"`
	RelTolerance    float64 `json:"rel_tolerance,omitempty"`
	Pointer         string  `json:"pointer,omitempty"`
	CaseInsensitive bool    `json:"case_insensitive,omitempty"`
}

// ScorerTypes are the known scorer types.
var ScorerTypes = []string{"exact", "normalized_exact", "token_f1", "regex", "numeric", "json_pointer", "label", "contains"}

// Scorer scores one output against one reference.
type Scorer struct {
	spec ScorerSpec
	mu   sync.Mutex
	res  map[string]*regexp.Regexp
}

// NewScorer validates spec.
func NewScorer(spec ScorerSpec) (*Scorer, error) {
	ok := false
	for _, t := range ScorerTypes {
		ok = ok || t == spec.Type
	}
	if !ok {
		return nil, fmt.Errorf("unknown scorer %q (want one of %s)", spec.Type, strings.Join(ScorerTypes, ", "))
	}
	if spec.Tolerance < 0 || spec.RelTolerance < 0 || math.IsNaN(spec.Tolerance+spec.RelTolerance) || math.IsInf(spec.Tolerance+spec.RelTolerance, 0) {
		return nil, errors.New("tolerances must be finite and not negative")
	}
	if spec.Type == "json_pointer" {
		if _, err := splitPointer(spec.Pointer); err != nil {
			return nil, err
		}
	}
	return &Scorer{spec: spec, res: map[string]*regexp.Regexp{}}, nil
}

// CheckReference reports whether ref is a valid reference for this scorer.
func (s *Scorer) CheckReference(ref json.RawMessage) error {
	switch s.spec.Type {
	case "numeric":
		var f float64
		if err := json.Unmarshal(ref, &f); err != nil {
			return errors.New("want a number")
		}
	case "json_pointer":
		var v any
		return json.Unmarshal(ref, &v)
	case "regex":
		var p string
		if err := json.Unmarshal(ref, &p); err != nil {
			return errors.New("want a pattern string")
		}
		_, err := s.regex(p)
		return err
	default:
		_, err := refStrings(ref)
		return err
	}
	return nil
}

func refStrings(ref json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(ref, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(ref, &many); err != nil || len(many) == 0 {
		return nil, errors.New("want a string or a non-empty list of strings")
	}
	return many, nil
}

func (s *Scorer) regex(p string) (*regexp.Regexp, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if re, ok := s.res[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	s.res[p] = re
	return re, nil
}

// Answer is the string the text scorers see: text, else label, else score.
func Answer(o output.Output) string {
	switch {
	case o.Text != nil:
		return *o.Text
	case o.Label != nil:
		return *o.Label
	case o.Score != nil:
		return strconv.FormatFloat(*o.Score, 'g', -1, 64)
	}
	return ""
}

// Score returns o's score in [0, 1] against ref. failed is true for an
// error answer or a failed run, which scores 0.
func (s *Scorer) Score(o output.Output, failed bool, ref json.RawMessage) float64 {
	if failed {
		return 0
	}
	switch s.spec.Type {
	case "numeric":
		var r float64
		if json.Unmarshal(ref, &r) != nil {
			return 0
		}
		var x float64
		if o.Score != nil {
			x = *o.Score
		} else {
			v, err := strconv.ParseFloat(strings.TrimSpace(Answer(o)), 64)
			if err != nil {
				return 0
			}
			x = v
		}
		return b2f(math.Abs(x-r) <= s.spec.Tolerance+s.spec.RelTolerance*math.Abs(r))
	case "json_pointer":
		var want any
		if json.Unmarshal(ref, &want) != nil {
			return 0
		}
		var doc any
		if o.Text == nil || json.Unmarshal([]byte(*o.Text), &doc) != nil {
			if json.Unmarshal(o.Canonical(), &doc) != nil {
				return 0
			}
		}
		got, ok := resolvePointer(doc, s.spec.Pointer)
		return b2f(ok && reflect.DeepEqual(got, want))
	case "regex":
		var p string
		if json.Unmarshal(ref, &p) != nil {
			return 0
		}
		re, err := s.regex(p)
		if err != nil {
			return 0
		}
		return b2f(re.MatchString(Answer(o)))
	}
	refs, err := refStrings(ref)
	if err != nil {
		return 0
	}
	best := 0.0
	for _, r := range refs {
		best = max(best, s.scoreString(o, r))
	}
	return best
}

func (s *Scorer) scoreString(o output.Output, ref string) float64 {
	a := Answer(o)
	switch s.spec.Type {
	case "exact":
		return b2f(a == ref)
	case "normalized_exact":
		return b2f(NormalizeAnswer(a) == NormalizeAnswer(ref))
	case "token_f1":
		return TokenF1(a, ref)
	case "label":
		return b2f(o.Label != nil && *o.Label == ref)
	case "contains":
		if s.spec.CaseInsensitive {
			return b2f(strings.Contains(strings.ToLower(a), strings.ToLower(ref)))
		}
		return b2f(strings.Contains(a, ref))
	}
	return 0
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var articles = regexp.MustCompile(`\b(a|an|the)\b`)

// NormalizeAnswer is SQuAD's normalize_answer: lower-case, remove ASCII
// punctuation, remove the articles a, an, the, collapse whitespace.
func NormalizeAnswer(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if r < 128 && unicode.IsPunct(r) || r < 128 && unicode.IsSymbol(r) {
			return -1
		}
		return r
	}, s)
	s = articles.ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(s), " ")
}

// TokenF1 is SQuAD's token F1 of answer against reference (see ScorerSpec).
func TokenF1(answer, reference string) float64 {
	a := strings.Fields(NormalizeAnswer(answer))
	r := strings.Fields(NormalizeAnswer(reference))
	if len(a) == 0 || len(r) == 0 {
		return b2f(len(a) == len(r))
	}
	counts := map[string]int{}
	for _, t := range r {
		counts[t]++
	}
	common := 0
	for _, t := range a {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p := float64(common) / float64(len(a))
	rc := float64(common) / float64(len(r))
	return 2 * p * rc / (p + rc)
}

func splitPointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("pointer %q: a JSON pointer starts with /", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func resolvePointer(doc any, p string) (any, bool) {
	parts, err := splitPointer(p)
	if err != nil {
		return nil, false
	}
	for _, k := range parts {
		switch v := doc.(type) {
		case map[string]any:
			x, ok := v[k]
			if !ok {
				return nil, false
			}
			doc = x
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(v) || (len(k) > 1 && k[0] == '0') {
				return nil, false
			}
			doc = v[i]
		default:
			return nil, false
		}
	}
	return doc, true
}
