package system

import (
	"bytes"
	"fmt"
	"strconv"
)

// Seed64 is a 64-bit seed of reprise's own (a replay seed, a night's
// sampling seed) as its reports write it: a decimal string in JSON, since
// a bare number above 2^53 loses digits in jq and JavaScript
// (9849917168238654823 reads back as 9849917168238655000, another
// replay). It reads a string or a bare number, so files written before
// stay readable.
type Seed64 uint64

// MarshalJSON writes s as a quoted decimal.
func (s Seed64) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatUint(uint64(s), 10)), nil
}

// UnmarshalJSON reads a quoted decimal or a bare integer.
func (s *Seed64) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		t = t[1 : len(t)-1]
	}
	v, err := strconv.ParseUint(string(t), 10, 64)
	if err != nil {
		return fmt.Errorf("seed %s: want an unsigned 64-bit integer (a decimal string or number)", b)
	}
	*s = Seed64(v)
	return nil
}
