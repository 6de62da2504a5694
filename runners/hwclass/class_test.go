package hwclass

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// recordSyntax is record.Validate's pattern for runtime.hardware_class:
// every class String writes must pass it, so records stay valid.
var recordSyntax = regexp.MustCompile(`^(cpu|gpu)/[a-z0-9_.-]+/[A-Za-z0-9_.+-]+$`)

func TestParseRoundTrip(t *testing.T) {
	cases := []struct {
		in   string
		want Class
	}{
		{"cpu/amd64/x86-64-v3", Class{Kind: "cpu", Vendor: "amd64", Model: "x86-64-v3"}},
		{"cpu/arm64/armv8.2+sve", Class{Kind: "cpu", Vendor: "arm64", Model: "armv8.2+sve"}},
		{"gpu/nvidia/a100-sxm4-80gb", Class{Kind: "gpu", Vendor: "nvidia", Model: "a100-sxm4-80gb"}},
		{"gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.2",
			Class{Kind: "gpu", Vendor: "nvidia", Model: "a100-sxm4-80gb", MemoryGiB: 80, Count: 2, Driver: "535.104.05", CUDA: "12.2"}},
		{"gpu/nvidia/tesla-t4+15gib", Class{Kind: "gpu", Vendor: "nvidia", Model: "tesla-t4", MemoryGiB: 15}},
		{"gpu/nvidia/tesla-t4+driver550", Class{Kind: "gpu", Vendor: "nvidia", Model: "tesla-t4", Driver: "550"}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := Parse(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("Parse = %+v, want %+v", got, c.want)
			}
			if s := got.String(); s != c.in || !recordSyntax.MatchString(s) {
				t.Fatalf("String() = %q, want %q (and the record syntax)", s, c.in)
			}
		})
	}
	// Attributes in another order parse to the same class, written canonically.
	c, err := Parse("gpu/nvidia/h100+cuda12.4+driver550.54.15+8x+80gib")
	if err != nil || c.String() != "gpu/nvidia/h100+80gib+8x+driver550.54.15+cuda12.4" {
		t.Fatalf("Parse reordered = %v, %v", c, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, says string }{
		{"cpu/amd64", "want cpu/<arch>/<level>"},
		{"tpu/google/v5e", `the kind "tpu"`},
		{"gpu/nvidia/+80gib", "no GPU product"},
		{"gpu/nvidia/a100+80gb", `attribute "80gb": want <N>gib`},
		{"gpu/nvidia/a100+0x", `"0" is not a positive whole number`},
		{"gpu/nvidia/a100+80gib+40gib", "the memory is given twice"},
		{"gpu/nvidia/a100+driver5a5", `version "5a5"`},
		{"gpu/nvidia/a100+cuda12", "at least 2 numbers"},
		{"gpu/nvidia/a100+driver", `version ""`},
		{"gpu/nvidia/a100+", "attribute \"\""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			_, err := Parse(c.in)
			if !errors.Is(err, ErrClass) || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), c.in) {
				t.Fatalf("Parse(%q) = %v, want ErrClass naming the class and saying %q", c.in, err, c.says)
			}
		})
	}
}

func TestGiB(t *testing.T) {
	// memory.total as drivers report it for one product, with ECC on and off.
	for mib, want := range map[int64]int{81920: 80, 81559: 80, 40960: 40, 40536: 40, 15360: 15, 15109: 15, 24564: 24, 0: 0} {
		if got := GiB(mib); got != want {
			t.Errorf("GiB(%d) = %d, want %d", mib, got, want)
		}
	}
}
