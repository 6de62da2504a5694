package openai

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/reprise-dev/reprise/runners"
)

// labelFunc derives a label from generated text; ok is false when the text
// yields none.
type labelFunc func(text string) (label string, ok bool)

// labeler returns the label extractor of cfg (nil when cfg names none): a
// JSON pointer (RFC 6901) into the text parsed as JSON, or a regular
// expression whose first group (else its whole match) is the label.
func labeler(cfg runners.HTTPConfig) (labelFunc, error) {
	switch {
	case cfg.LabelJSONPointer != "" && cfg.LabelRegex != "":
		return nil, fmt.Errorf("label_from: give json_pointer or regex, not both")
	case cfg.LabelJSONPointer != "":
		ptr := cfg.LabelJSONPointer
		if ptr[0] != '/' {
			return nil, fmt.Errorf("label_from.json_pointer %q must start with /", ptr)
		}
		return func(text string) (string, bool) { return pointer(text, ptr) }, nil
	case cfg.LabelRegex != "":
		re, err := regexp.Compile(cfg.LabelRegex)
		if err != nil {
			return nil, fmt.Errorf("label_from.regex: %w", err)
		}
		return func(text string) (string, bool) {
			m := re.FindStringSubmatch(text)
			switch {
			case m == nil:
				return "", false
			case len(m) > 1:
				return m[1], true
			}
			return m[0], true
		}, nil
	}
	return nil, nil
}

func pointer(text, ptr string) (string, bool) {
	var v any
	if json.Unmarshal([]byte(text), &v) != nil {
		return "", false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return "", false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return "", false
			}
			v = x[i]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case nil, map[string]any, []any:
		return "", false
	}
	b, _ := json.Marshal(v)
	return string(b), true
}
