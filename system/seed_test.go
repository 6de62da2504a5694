package system

import (
	"encoding/json"
	"testing"
)

// TestSeed64JSON: a seed above 2^53 is written as a string and read back
// exactly; a bare number (files written before) reads too; anything else
// is an error naming it.
func TestSeed64JSON(t *testing.T) {
	const big = Seed64(9849917168238654823)
	b, err := json.Marshal(struct {
		S Seed64 `json:"seed"`
	}{big})
	if err != nil || string(b) != `{"seed":"9849917168238654823"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	for _, in := range []string{`"9849917168238654823"`, `9849917168238654823`, ` "9849917168238654823" `} {
		var s Seed64
		if err := json.Unmarshal([]byte(in), &s); err != nil || s != big {
			t.Errorf("%s: %d, %v", in, s, err)
		}
	}
	for _, in := range []string{`"-1"`, `1.5`, `"x"`, `18446744073709551616`, `true`} {
		var s Seed64
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("%s: read as %d, want an error", in, s)
		}
	}
}
