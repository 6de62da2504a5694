package hwclass

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// GPU is one NVIDIA GPU as nvidia-smi reports it.
type GPU struct {
	Index int    `json:"index"`
	UUID  string `json:"uuid,omitempty"`
	// Name is the product name as reported ("NVIDIA A100-SXM4-80GB").
	Name string `json:"name"`
	// MemoryMiB is memory.total, in MiB (0 when not reported).
	MemoryMiB int64 `json:"memory_mib"`
	// Driver is the driver version ("535.104.05"); CUDA the highest CUDA
	// version it supports ("12.2", "" when nvidia-smi does not say).
	Driver string `json:"driver"`
	CUDA   string `json:"cuda,omitempty"`
}

// ErrNVIDIASMI: nvidia-smi is on PATH but failed or printed what it
// should not (a GPU host whose driver is not loaded, for instance).
var ErrNVIDIASMI = errors.New("nvidia-smi failed")

// smiTimeout bounds one nvidia-smi call.
const smiTimeout = 10 * time.Second

// GPUs lists this host's NVIDIA GPUs by asking nvidia-smi (looked up on
// PATH) for index, uuid, name, memory.total and driver_version, and its
// summary for the CUDA version. No nvidia-smi on PATH is no GPU (nil,
// nil); a failing one is an error wrapping ErrNVIDIASMI with its output.
func GPUs(ctx context.Context) ([]GPU, error) {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, nil
	}
	out, err := smi(ctx, path, "--query-gpu=index,uuid,name,memory.total,driver_version", "--format=csv,noheader,nounits")
	if err != nil {
		return nil, err
	}
	gpus, err := ParseQuery(out)
	if err != nil || len(gpus) == 0 {
		return gpus, err
	}
	summary, err := smi(ctx, path)
	if err != nil {
		return nil, err
	}
	cuda := ParseCUDA(summary)
	for i := range gpus {
		gpus[i].CUDA = cuda
	}
	return gpus, nil
}

func smi(ctx context.Context, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, smiTimeout)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String() + " " + string(out))
		return "", fmt.Errorf("%w: %s %s: %v: %s", ErrNVIDIASMI, path, strings.Join(args, " "), err, clip(msg, 300))
	}
	return string(out), nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ParseQuery reads nvidia-smi's --query-gpu=index,uuid,name,memory.total,
// driver_version --format=csv,noheader,nounits: one GPU a line
// ("0, GPU-5f3c…, NVIDIA A100-SXM4-80GB, 81920, 535.104.05"). A memory of
// "[N/A]" is 0; a line with fewer fields or a bad index is an error
// wrapping ErrNVIDIASMI.
func ParseQuery(out string) ([]GPU, error) {
	var gpus []GPU
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if len(f) < 5 {
			return nil, fmt.Errorf("%w: GPU line %q: want index, uuid, name, memory.total, driver_version", ErrNVIDIASMI, line)
		}
		idx, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("%w: GPU line %q: index %q", ErrNVIDIASMI, line, f[0])
		}
		n := len(f)
		g := GPU{Index: idx, UUID: f[1], Name: strings.Join(f[2:n-2], ","), Driver: f[n-1]}
		g.MemoryMiB, _ = strconv.ParseInt(f[n-2], 10, 64)
		if g.Name == "" || checkVersion(g.Driver, 1) != nil {
			return nil, fmt.Errorf("%w: GPU line %q: no name or no driver version", ErrNVIDIASMI, line)
		}
		gpus = append(gpus, g)
	}
	return gpus, nil
}

var cudaRe = regexp.MustCompile(`CUDA Version\s*:\s*([0-9]+\.[0-9]+)`)

// ParseCUDA finds "CUDA Version: 12.2" in nvidia-smi's summary (or
// "CUDA Version : 12.2" in -q); "" when absent.
func ParseCUDA(out string) string {
	if m := cudaRe.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// GiB rounds MiB to the nearest whole GiB: one product's memory.total
// varies by a few hundred MiB with the driver and ECC (an 80 GB A100 or
// H100 reports 81920 or 81559 MiB), and its GiB does not.
func GiB(mib int64) int {
	return int(math.Round(float64(mib) / 1024))
}

// GPUClass is the class of a host's GPUs: the first GPU's product and
// memory, the number of GPUs of that product and memory, and the first
// GPU's driver and CUDA version. No GPU: the zero Class.
func GPUClass(gpus []GPU) Class {
	if len(gpus) == 0 {
		return Class{}
	}
	first := gpus[0]
	model := cmp.Or(Slug(first.Name), "unknown")
	c := Class{Kind: "gpu", Vendor: "nvidia", Model: model, MemoryGiB: GiB(first.MemoryMiB), Driver: first.Driver, CUDA: first.CUDA}
	for _, g := range gpus {
		if cmp.Or(Slug(g.Name), "unknown") == c.Model && GiB(g.MemoryMiB) == c.MemoryGiB {
			c.Count++
		}
	}
	return c
}

// GPULines are the text lines `reprise env` prints about the GPUs: one a
// GPU ("gpu 0:          NVIDIA A100-SXM4-80GB, 81920 MiB, driver
// 535.104.05, CUDA 12.2, GPU-…"), or why nvidia-smi failed; none on a
// host without nvidia-smi.
func (s Snapshot) GPULines() []string {
	var lines []string
	for _, g := range s.GPUs {
		lines = append(lines, fmt.Sprintf("%-16s%s, %d MiB, driver %s, CUDA %s, %s", fmt.Sprintf("gpu %d:", g.Index), g.Name, g.MemoryMiB, g.Driver, cmp.Or(g.CUDA, "unknown"), g.UUID))
	}
	if s.GPUError != "" {
		lines = append(lines, "gpu:            none detected ("+s.GPUError+")")
	}
	return lines
}
