package system

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FormatBytes writes a size in bytes with the largest suffix of ParseBytes
// that divides it (2<<30 is "2g"), so a size reads as it would be typed.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"t", 40}, {"g", 30}, {"m", 20}, {"k", 10}} {
		if n > 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseBytes parses a size: a positive integer with an optional suffix k,
// m, g or t (binary: KiB, MiB, GiB, TiB), also written kb, kib, KiB, MB…
// in any case (binary too, as Docker reads them), or b for bytes. A size
// that does not fit an int64 is an error, never a wrapped-around number.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if u, ok := strings.CutSuffix(t, "ib"); ok && u != "" && strings.ContainsAny(u[len(u)-1:], "kmgt") {
		t = u
	} else if u, ok := strings.CutSuffix(t, "b"); ok {
		t = u
	}
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return 0, fmt.Errorf("not a size: %q (want e.g. 512m, 2g)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
