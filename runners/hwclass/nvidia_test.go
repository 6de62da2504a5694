package hwclass

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSMI puts an executable nvidia-smi first on PATH (alone on it): it
// answers the query reprise makes with query, its summary with summary,
// and anything else with exit 9, so a change of the query fails the test.
// code is its exit status for the query.
func fakeSMI(t *testing.T, query, summary string, code int) {
	t.Helper()
	dir := t.TempDir()
	script := `#!/bin/sh
case "$*" in
"--query-gpu=index,uuid,name,memory.total,driver_version --format=csv,noheader,nounits")
	printf '%s' '` + query + `'; exit ` + string(rune('0'+code)) + ` ;;
"")
	printf '%s' '` + summary + `'; exit 0 ;;
esac
echo "fake nvidia-smi: unexpected arguments: $*" >&2
exit 9
`
	if err := os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
}

// A summary as nvidia-smi 535 prints it (its first lines).
const summary535 = `+---------------------------------------------------------------------------------------+
| NVIDIA-SMI 535.104.05             Driver Version: 535.104.05   CUDA Version: 12.2     |
|-----------------------------------------+----------------------+----------------------+
`

func TestGPUsFromNVIDIASMI(t *testing.T) {
	fakeSMI(t, `0, GPU-5f3c0b1e-aaaa-bbbb-cccc-000000000000, NVIDIA A100-SXM4-80GB, 81920, 535.104.05
1, GPU-6e2d0b1e-aaaa-bbbb-cccc-000000000001, NVIDIA A100-SXM4-80GB, 81920, 535.104.05
2, GPU-7a1b0b1e-aaaa-bbbb-cccc-000000000002, Tesla T4, 15109, 535.104.05
`, summary535, 0)
	gpus, err := GPUs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := GPU{Index: 1, UUID: "GPU-6e2d0b1e-aaaa-bbbb-cccc-000000000001", Name: "NVIDIA A100-SXM4-80GB", MemoryMiB: 81920, Driver: "535.104.05", CUDA: "12.2"}
	if len(gpus) != 3 || gpus[1] != want || gpus[2].Name != "Tesla T4" || gpus[2].MemoryMiB != 15109 {
		t.Fatalf("GPUs = %+v", gpus)
	}
	// Two A100s of three GPUs: the class counts the first GPU's product.
	const class = "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.2"
	if got := Detect(context.Background()); got != class || !recordSyntax.MatchString(got) {
		t.Fatalf("Detect = %q, want %q", got, class)
	}
	h := Host(context.Background())
	if h.HardwareClass != class || len(h.GPUs) != 3 || h.GPUError != "" {
		t.Fatalf("Host = %+v", h)
	}
	if err := Match("gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.86.10+cuda12.2", h.HardwareClass); err != nil {
		t.Fatalf("a record of the same GPUs in the same driver branch: %v", err)
	}
}

func TestGPUsNoNVIDIASMI(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	gpus, err := GPUs(context.Background())
	if gpus != nil || err != nil {
		t.Fatalf("GPUs = %v, %v; want none, no error", gpus, err)
	}
	if got := Detect(context.Background()); !strings.HasPrefix(got, "cpu/") {
		t.Fatalf("Detect = %q, want a CPU class", got)
	}
}

// A GPU host whose driver is not loaded: nvidia-smi fails; the host is
// detected as CPU and the snapshot says why.
func TestGPUsNVIDIASMIFails(t *testing.T) {
	fakeSMI(t, "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.", "", 9)
	_, err := GPUs(context.Background())
	if !errors.Is(err, ErrNVIDIASMI) || !strings.Contains(err.Error(), "could not communicate with the NVIDIA driver") {
		t.Fatalf("GPUs error = %v, want ErrNVIDIASMI with its output", err)
	}
	h := Host(context.Background())
	if !strings.HasPrefix(h.HardwareClass, "cpu/") || !strings.Contains(h.GPUError, "NVIDIA driver") {
		t.Fatalf("Host = %+v", h)
	}
	if l := h.GPULines(); len(l) != 1 || !strings.HasPrefix(l[0], "gpu:            none detected (nvidia-smi failed: ") {
		t.Fatalf("GPULines = %q", l)
	}
	// The replay of a GPU record on that host is refused, naming the GPU.
	err = Match("gpu/nvidia/a100-sxm4-80gb+80gib+1x+driver535.104.05+cuda12.2", h.HardwareClass)
	if err == nil || !strings.Contains(err.Error(), "GPU: the record needs nvidia a100-sxm4-80gb, this host has no GPU") {
		t.Fatalf("Match = %v", err)
	}
}

func TestParseQuery(t *testing.T) {
	gpus, err := ParseQuery("0, GPU-1, NVIDIA H100 80GB HBM3, [N/A], 550.54.15\n\n")
	if err != nil || len(gpus) != 1 || gpus[0].MemoryMiB != 0 || gpus[0].Name != "NVIDIA H100 80GB HBM3" {
		t.Fatalf("ParseQuery = %+v, %v", gpus, err)
	}
	// A name with a comma keeps it.
	gpus, err = ParseQuery("3, GPU-1, Odd, Name, 16384, 550.54.15")
	if err != nil || gpus[0].Name != "Odd,Name" || gpus[0].Index != 3 || gpus[0].MemoryMiB != 16384 {
		t.Fatalf("ParseQuery = %+v, %v", gpus, err)
	}
	for _, bad := range []string{"0, GPU-1, A100", "x, GPU-1, A100, 81920, 535.104.05", "0, GPU-1, A100, 81920, [N/A]"} {
		if _, err := ParseQuery(bad); !errors.Is(err, ErrNVIDIASMI) {
			t.Errorf("ParseQuery(%q) = %v, want ErrNVIDIASMI", bad, err)
		}
	}
	if got := ParseCUDA("Driver Version                            : 535.104.05\nCUDA Version                              : 12.2\n"); got != "12.2" {
		t.Errorf("ParseCUDA(-q) = %q", got)
	}
	if got := ParseCUDA("no version here"); got != "" {
		t.Errorf("ParseCUDA = %q", got)
	}
}
