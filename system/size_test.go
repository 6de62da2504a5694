package system

import "testing"

// TestSizes: ParseBytes reads binary suffixes and refuses what does not fit
// an int64; FormatBytes writes what ParseBytes reads back.
func TestSizes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{{"512m", 512 << 20, true}, {"2G", 2 << 30, true}, {"4096", 4096, true}, {"1t", 1 << 40, true},
		{"0", 0, false}, {"-1k", 0, false}, {"x", 0, false}, {"9999999999t", 0, false}, {"99999999999999999999", 0, false}} {
		got, err := ParseBytes(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseBytes(%q) = %d, %v", c.in, got, err)
		}
		if c.ok {
			if back, err := ParseBytes(FormatBytes(got)); err != nil || back != got {
				t.Errorf("FormatBytes(%d) = %q reads back as %d, %v", got, FormatBytes(got), back, err)
			}
		}
	}
}
