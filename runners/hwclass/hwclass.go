// Package hwclass detects the hardware class of this host, the string a
// decision record pins in runtime.hardware_class, parses classes (Class,
// Parse), decides whether a record's class may replay on this host
// (Match), and reads and checks the CLI's --gpus (ParseSelection,
// CheckSelection). Classes:
//
//   - cpu/amd64/x86-64-v1 … x86-64-v4: the x86-64 micro-architecture level
//     (psABI levels) from the CPU feature flags;
//   - cpu/arm64/armv8.0, armv8.1 (LSE atomics), armv8.2 (plus fp16 and
//     dot product), with "+sve" when SVE is present;
//   - gpu/nvidia/<product>+<N>gib+<N>x+driver<version>+cuda<major.minor>:
//     when nvidia-smi reports a GPU, the first GPU's product name
//     lower-cased with spaces as dashes (e.g. a100-sxm4-80gb), its memory
//     in GiB, how many GPUs of that product the host has, the driver
//     version and the highest CUDA version the driver supports. Older
//     records pin gpu/nvidia/<product> alone, which still parses and
//     matches on the product.
//
// CPU classes are compared as strings: two hosts of one class are expected
// to produce the same floating-point results for the same binary. GPU
// classes are compared part by part (Match); a mismatch names each part.
package hwclass

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strings"
)

// Detect returns this host's hardware class. It never fails: an unknown CPU
// yields "cpu/<GOARCH>/unknown".
// A GPU host (nvidia-smi on PATH lists a GPU) yields its GPU class; a
// failing nvidia-smi yields the CPU class (Host says why in GPUError).
func Detect(ctx context.Context) string {
	gpus, _ := GPUs(ctx)
	return detect(gpus)
}

func detect(gpus []GPU) string {
	if len(gpus) > 0 {
		return GPUClass(gpus).String()
	}
	return CPU(runtime.GOARCH, cpuFlags())
}

// CPU returns the CPU class for an architecture and its feature flags (as
// named in /proc/cpuinfo).
func CPU(goarch string, flags map[string]bool) string {
	switch goarch {
	case "amd64":
		return "cpu/amd64/" + X86Level(flags)
	case "arm64":
		return "cpu/arm64/" + ARMLevel(flags)
	}
	return "cpu/" + goarch + "/unknown"
}

var x86Levels = []struct {
	name  string
	flags []string
}{
	// x86-64 psABI micro-architecture levels; flag names as in /proc/cpuinfo
	// ("pni" is SSE3, "abm" includes LZCNT).
	{"x86-64-v2", []string{"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"}},
	{"x86-64-v3", []string{"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}},
	{"x86-64-v4", []string{"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}},
}

// X86Level returns the highest x86-64 level whose flags are all present.
func X86Level(flags map[string]bool) string {
	level := "x86-64-v1"
	for _, l := range x86Levels {
		for _, f := range l.flags {
			if !flags[f] {
				return level
			}
		}
		level = l.name
	}
	return level
}

// ARMLevel returns the arm64 level from /proc/cpuinfo "Features".
func ARMLevel(flags map[string]bool) string {
	level := "armv8.0"
	if flags["atomics"] {
		level = "armv8.1"
		if flags["fphp"] && flags["asimdhp"] && flags["asimddp"] {
			level = "armv8.2"
		}
	}
	if flags["sve"] {
		level += "+sve"
	}
	return level
}

func cpuFlags() map[string]bool {
	flags := map[string]bool{}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return flags
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key = strings.TrimSpace(key)
		if key == "flags" || key == "Features" {
			for _, fl := range strings.Fields(val) {
				flags[fl] = true
			}
			break // the first processor is representative
		}
	}
	return flags
}

// Slug lower-cases a product name and replaces runs of other characters than
// a-z, 0-9, '.' and '-' by one dash ("NVIDIA A100-SXM4-80GB" → "nvidia-a100-sxm4-80gb";
// a leading "nvidia-" is dropped).
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	return strings.TrimPrefix(out, "nvidia-")
}

// Snapshot is the environment of this host, for `reprise env` and reports.
type Snapshot struct {
	HardwareClass string `json:"hardware_class"`
	OS            string `json:"os"`
	Kernel        string `json:"kernel"`
	Arch          string `json:"arch"`
	CPUModel      string `json:"cpu_model,omitempty"`
	CPUs          int    `json:"cpus"`
	GoVersion     string `json:"go_version"`
	// GPUs are the NVIDIA GPUs nvidia-smi lists; GPUError says why
	// nvidia-smi, present, failed.
	GPUs     []GPU  `json:"gpus,omitempty"`
	GPUError string `json:"gpu_error,omitempty"`
}

// Host returns the snapshot of this host.
func Host(ctx context.Context) Snapshot {
	gpus, err := GPUs(ctx)
	s := Snapshot{
		HardwareClass: detect(gpus), GPUs: gpus,
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
	}
	if err != nil {
		s.GPUError = err.Error()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		s.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				s.OS = runtime.GOOS + " (" + strings.Trim(v, `"`) + ")"
			}
		}
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				s.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return s
}
