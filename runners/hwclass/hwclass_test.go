package hwclass

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(s) {
		m[f] = true
	}
	return m
}

const (
	v2flags = "cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3"
	v3flags = v2flags + " avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
	v4flags = v3flags + " avx512f avx512bw avx512cd avx512dq avx512vl"
)

func TestX86Level(t *testing.T) {
	cases := []struct {
		flags, want string
	}{
		{"", "x86-64-v1"},
		{"sse sse2 fpu", "x86-64-v1"},
		{v2flags, "x86-64-v2"},
		{strings.Replace(v2flags, "popcnt", "", 1), "x86-64-v1"},
		{v3flags, "x86-64-v3"},
		{strings.Replace(v3flags, "movbe", "", 1), "x86-64-v2"},
		{v4flags, "x86-64-v4"},
		{strings.Replace(v4flags, "avx512vl", "", 1), "x86-64-v3"},
		{v2flags + " avx512f avx512bw avx512cd avx512dq avx512vl", "x86-64-v2"}, // v4 needs v3
	}
	for _, c := range cases {
		if got := X86Level(set(c.flags)); got != c.want {
			t.Errorf("X86Level(%q) = %s, want %s", c.flags, got, c.want)
		}
	}
}

func TestARMLevel(t *testing.T) {
	cases := []struct{ flags, want string }{
		{"fp asimd", "armv8.0"},
		{"fp asimd atomics", "armv8.1"},
		{"fp asimd atomics fphp asimdhp asimddp", "armv8.2"},
		{"fp asimd atomics fphp asimdhp asimddp sve", "armv8.2+sve"},
	}
	for _, c := range cases {
		if got := ARMLevel(set(c.flags)); got != c.want {
			t.Errorf("ARMLevel(%q) = %s, want %s", c.flags, got, c.want)
		}
	}
	if got := CPU("riscv64", nil); got != "cpu/riscv64/unknown" {
		t.Errorf("CPU(riscv64) = %s", got)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"NVIDIA A100-SXM4-80GB":   "a100-sxm4-80gb",
		"Tesla T4":                "tesla-t4",
		"NVIDIA GeForce RTX 4090": "geforce-rtx-4090",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDetectMatchesRecordSyntax(t *testing.T) {
	got := Detect(context.Background())
	if !regexp.MustCompile(`^(cpu|gpu)/[a-z0-9_.-]+/[A-Za-z0-9_.+-]+$`).MatchString(got) {
		t.Fatalf("Detect() = %q, not a valid hardware class", got)
	}
	if h := Host(context.Background()); h.HardwareClass != got || h.CPUs < 1 {
		t.Fatalf("Host() = %+v", h)
	}
}
