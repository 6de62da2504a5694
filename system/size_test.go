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

// TestSizeSpellings: the unit may be written k, kb, kib, K, KB, KiB (and so
// on for m, g, t), all binary as Docker reads them; b is bytes.
func TestSizeSpellings(t *testing.T) {
	for in, want := range map[string]int64{
		"2g": 2 << 30, "2GB": 2 << 30, "2GiB": 2 << 30, "2gib": 2 << 30, "64MiB": 64 << 20, "64mb": 64 << 20,
		"3KiB": 3 << 10, "1TB": 1 << 40, "512b": 512, "512B": 512, "7": 7,
	} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "b", "ib", "2ib", "2xb", "-1m", "0g", "1.5g"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted", in)
		}
	}
}
