package record

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"
)

var digestRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// FuzzParse checks that the decoder never panics, and that whatever it
// accepts (fully, or with integrity problems only) holds only valid digests
// and round-trips through Marshal.
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 60s ./replay/record
func FuzzParse(f *testing.F) {
	valid, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"schema":"reprise/decision/v1","input":{"digest":"sha256:00"}}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := Parse(data)
		if rec == nil {
			if err == nil {
				t.Fatal("nil record without error")
			}
			return
		}
		ds := []string{rec.Input.Digest.String(), rec.System.ID.String(), rec.System.Model.Digest.String(),
			rec.System.Config.Digest.String(), rec.Output.Digest.String()}
		for _, d := range rec.System.Components {
			ds = append(ds, d.String())
		}
		if !rec.EvalSuite.IsZero() {
			ds = append(ds, rec.EvalSuite.String())
		}
		for _, d := range ds {
			if !digestRe.MatchString(d) {
				t.Fatalf("accepted invalid digest %q", d)
			}
		}
		b, merr := Marshal(rec)
		if merr != nil {
			t.Fatalf("Marshal: %v", merr)
		}
		if !json.Valid(b) {
			t.Fatal("Marshal wrote invalid JSON")
		}
		if err == nil {
			if _, err := Parse(b); err != nil {
				t.Fatalf("accepted record does not re-parse: %v\n%s", err, b)
			}
		}
	})
}
