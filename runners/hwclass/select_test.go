package hwclass

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseSelection(t *testing.T) {
	cases := []struct {
		in   string
		want Selection
	}{
		{"", Selection{}},
		{"all", Selection{All: true}},
		{"count=all", Selection{All: true}},
		{"2", Selection{Count: 2}},
		{"count=4", Selection{Count: 4}},
		{"device=0,2", Selection{Devices: []string{"0", "2"}}},
		{"device=GPU-5f3c0b1e-aaaa-bbbb-cccc-000000000000", Selection{Devices: []string{"GPU-5f3c0b1e-aaaa-bbbb-cccc-000000000000"}}},
	}
	for _, c := range cases {
		got, err := ParseSelection(c.in)
		if err != nil || got.All != c.want.All || got.Count != c.want.Count || !slices.Equal(got.Devices, c.want.Devices) {
			t.Errorf("ParseSelection(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"0", "-1", "two", "count=", "device=", "device=0,0", "device=0,,1", "device=$(x)"} {
		if _, err := ParseSelection(bad); !errors.Is(err, ErrGPUs) || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseSelection(%q) = %v, want ErrGPUs naming it", bad, err)
		}
	}
}

func TestCheckSelection(t *testing.T) {
	const a100x2 = "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.2"
	cases := []struct{ class, gpus, says string }{
		{a100x2, "", ""},
		{"cpu/amd64/x86-64-v3", "", ""},
		{a100x2, "2", ""},
		{a100x2, "device=1,3", ""},
		{a100x2, "all", ""},
		{"gpu/nvidia/a100-sxm4-80gb", "1", ""}, // the class records no count
		{a100x2, "1", "gives the system 1 GPU(s), and the record's class " + a100x2 + " ran on 2"},
		{a100x2, "device=0,1,2", "gives the system 3 GPU(s)"},
		{"cpu/amd64/x86-64-v3", "all", "--gpus all is for gpu/nvidia hardware classes, and the record's is cpu/amd64/x86-64-v3"},
		{a100x2, "lots", `"lots": want all`},
	}
	for _, c := range cases {
		err := CheckSelection(c.class, c.gpus)
		if c.says == "" && err != nil || c.says != "" && (!errors.Is(err, ErrGPUs) || !strings.Contains(err.Error(), c.says)) {
			t.Errorf("CheckSelection(%s, %q) = %v, want %q", c.class, c.gpus, err, c.says)
		}
	}
}
