package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/reprise-dev/reprise/render"
)

// outputFormat is the value of --format: how a verb prints its result on
// stdout. It is parsed once, when the flag is set.
type outputFormat string

const (
	// outputText is a short human form: aligned "key: value" lines.
	outputText outputFormat = "text"
	// outputJSON is the result as one indented JSON object.
	outputJSON outputFormat = "json"
)

// String implements pflag.Value.
func (f *outputFormat) String() string { return string(*f) }

// Set implements pflag.Value: it accepts text or json. A bad value is a flag
// error, hence a usage error (exit 2).
func (f *outputFormat) Set(s string) error {
	switch v := outputFormat(s); v {
	case outputText, outputJSON:
		*f = v
		return nil
	}
	return fmt.Errorf("must be text or json")
}

// Type implements pflag.Value; help shows it as the flag's argument.
func (f *outputFormat) Type() string { return "text|json" }

// writeResult prints the result v in format f. json writes v as one indented
// JSON object (v should be a struct with json tags, not a hand-built map).
// text calls text(w) when text is not nil, else writes v's fields as aligned
// "key: value" lines named by their json tags (see writeFields).
func writeResult(w io.Writer, f outputFormat, v any, text func(io.Writer) error) error {
	switch f {
	case outputJSON:
		return writeJSON(w, v)
	case outputText:
		if text != nil {
			return text(w)
		}
		return writeFields(w, v)
	}
	return fmt.Errorf("output format %q: must be text or json", f)
}

// writeJSON prints v as one indented JSON object (what --format json prints).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeFields writes the struct v as aligned "key: value" lines
// (render.Fields).
func writeFields(w io.Writer, v any) error { return render.Fields(w, v) }
