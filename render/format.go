package render

import (
	"encoding/json"
	"fmt"
	"io"
)

// Format is how a verb prints its result on stdout (--format): Text or
// JSON. It is a flag value (String, Set and Type make it a pflag.Value),
// parsed once, when the flag is set.
type Format string

const (
	// Text is a short human form: aligned "key: value" lines.
	Text Format = "text"
	// JSON is the result as one indented JSON object.
	JSON Format = "json"
)

// String implements pflag.Value.
func (f *Format) String() string { return string(*f) }

// Set implements pflag.Value: it accepts text or json.
func (f *Format) Set(s string) error {
	switch v := Format(s); v {
	case Text, JSON:
		*f = v
		return nil
	}
	return fmt.Errorf("must be text or json")
}

// Type implements pflag.Value; help shows it as the flag's argument.
func (f *Format) Type() string { return "text|json" }

// Write prints the result v in format f. JSON writes v as one indented
// JSON object (v should be a struct with json tags, not a hand-built map).
// Text calls text(w) when text is not nil, else writes v's fields as
// aligned "key: value" lines named by their json tags (Fields).
func Write(w io.Writer, f Format, v any, text func(io.Writer) error) error {
	switch f {
	case JSON:
		return WriteJSON(w, v)
	case Text:
		if text != nil {
			return text(w)
		}
		return Fields(w, v)
	}
	return fmt.Errorf("output format %q: must be text or json", f)
}

// WriteJSON prints v as one indented JSON object (what --format json
// prints).
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
