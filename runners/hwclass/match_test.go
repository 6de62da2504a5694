package hwclass

import (
	"errors"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	const a100 = "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.2"
	cases := []struct {
		name, record, host string
		parts              []string // names of the mismatching parts, in order; nil: a match
		says               string   // in the error
	}{
		{"same string", a100, a100, nil, ""},
		{"same cpu", "cpu/amd64/x86-64-v3", "cpu/amd64/x86-64-v3", nil, ""},
		{"cpu level", "cpu/amd64/x86-64-v4", "cpu/amd64/x86-64-v3", []string{"hardware class"}, "needs cpu/amd64/x86-64-v4, this host has cpu/amd64/x86-64-v3"},
		{"older record: product only", "gpu/nvidia/a100-sxm4-80gb", a100, nil, ""},
		{"driver in the same branch", a100, "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.86.10+cuda12.2", nil, ""},
		{"more GPUs than recorded", a100, "gpu/nvidia/a100-sxm4-80gb+80gib+8x+driver535.104.05+cuda12.2", nil, ""},
		{"newer CUDA minor", a100, "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.4", nil, ""},
		{"memory rounding is the host's", a100, "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.129.03+cuda12.2", nil, ""},
		{"gpu record on a cpu host", a100, "cpu/amd64/x86-64-v3", []string{"GPU"}, "needs nvidia a100-sxm4-80gb, this host has no GPU"},
		{"other model", a100, "gpu/nvidia/tesla-t4+15gib+2x+driver535.104.05+cuda12.2", []string{"GPU model", "GPU memory"}, "GPU model: the record needs a100-sxm4-80gb, this host has tesla-t4; GPU memory: the record needs 80 GiB, this host has 15 GiB"},
		{"other memory", "gpu/nvidia/a100+80gib", "gpu/nvidia/a100+40gib", []string{"GPU memory"}, "needs 80 GiB, this host has 40 GiB"},
		{"fewer GPUs", a100, "gpu/nvidia/a100-sxm4-80gb+80gib+1x+driver535.104.05+cuda12.2", []string{"GPU count"}, "needs 2 a100-sxm4-80gb, this host has 1"},
		{"other driver branch", a100, "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver550.54.15+cuda12.2", []string{"driver"}, "needs the 535 branch (recorded 535.104.05), this host has 550.54.15"},
		{"older CUDA minor", a100, "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.1", []string{"CUDA"}, "needs 12.x at least 12.2, this host has 12.1"},
		{"other CUDA major", a100, "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda13.0", []string{"CUDA"}, "this host has 13.0"},
		{"host without attributes", a100, "gpu/nvidia/a100-sxm4-80gb", []string{"GPU memory", "GPU count", "driver", "CUDA"}, "this host has none recorded"},
		{"other vendor", a100, "gpu/amd/mi300x+192gib+1x", []string{"GPU vendor"}, "needs nvidia, this host has amd"},
		{"cpu record on a gpu host", "cpu/amd64/x86-64-v3", a100, []string{"hardware class"}, "needs cpu/amd64/x86-64-v3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Match(c.record, c.host)
			if c.parts == nil {
				if err != nil {
					t.Fatalf("Match = %v, want a match", err)
				}
				return
			}
			var m *MismatchError
			if !errors.As(err, &m) {
				t.Fatalf("Match = %v, want a *MismatchError", err)
			}
			var names []string
			for _, p := range m.Parts {
				names = append(names, p.Name)
			}
			if strings.Join(names, ",") != strings.Join(c.parts, ",") || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("Match = %q (parts %v), want parts %v saying %q", err, names, c.parts, c.says)
			}
			if m.Record != c.record || m.Host != c.host {
				t.Fatalf("MismatchError classes %q, %q", m.Record, m.Host)
			}
		})
	}
}

// A record class that does not parse is invalid input (ErrClass), named.
func TestMatchInvalidRecordClass(t *testing.T) {
	err := Match("gpu/nvidia/a100+80gb", "gpu/nvidia/a100+80gib+1x")
	var m *MismatchError
	if !errors.As(err, &m) || !errors.Is(err, ErrClass) || len(m.Parts) != 0 ||
		!strings.Contains(err.Error(), `the record's hardware class: invalid hardware class "gpu/nvidia/a100+80gb": attribute "80gb"`) {
		t.Fatalf("Match = %v, want a MismatchError wrapping ErrClass naming the attribute", err)
	}
}
