package proxy

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseKeyed splits a flag value "[KEY=]VALUE": KEY is a path (starting
// with /) or a model name; "" when the value has none.
func ParseKeyed(s string) (key, value string) {
	if k, v, ok := strings.Cut(s, "="); ok {
		return k, v
	}
	return "", s
}

// ParseSampleRates reads --sample-rate values "[KEY=]R" (R in [0, 1]):
// the default rate (1 when none is given) and the rates per path or
// model.
func ParseSampleRates(vals []string) (float64, map[string]float64, error) {
	def, per := 1.0, map[string]float64{}
	for _, s := range vals {
		k, v := ParseKeyed(s)
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return 0, nil, fmt.Errorf("--sample-rate %q: want [PATH=|MODEL=]R with R between 0 and 1", s)
		}
		if k == "" {
			def = r
		} else {
			per[k] = r
		}
	}
	if def == 0 {
		def = -1 // 0 means "default" in Config; a negative rate records nothing
	}
	return def, per, nil
}

// ParseTiers reads --tier values "[PATH=]full|output|hash".
func ParseTiers(vals []string) (Tier, map[string]Tier, error) {
	def, per := TierFull, map[string]Tier{}
	for _, s := range vals {
		k, v := ParseKeyed(s)
		t, err := ParseTier(v)
		if err != nil {
			return 0, nil, fmt.Errorf("--tier %q: %v", s, err)
		}
		if k == "" {
			def = t
		} else if !strings.HasPrefix(k, "/") {
			return 0, nil, fmt.Errorf("--tier %q: the key is a path (/v1/chat/completions)", s)
		} else {
			per[k] = t
		}
	}
	return def, per, nil
}
