package launch

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/runners/hwclass"
)

// TestStartGPUClass: a GPU record starts on a host whose GPUs match it
// (same product and memory, enough of them, the same driver branch, CUDA
// as new) and hands its class to the runner; elsewhere Start refuses,
// naming the missing part.
func TestStartGPUClass(t *testing.T) {
	const rec = "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.2"
	cases := []struct{ host, says string }{
		{"gpu/nvidia/a100-sxm4-80gb+80gib+4x+driver535.129.03+cuda12.2", ""},
		{"cpu/amd64/x86-64-v3", "GPU: the record needs nvidia a100-sxm4-80gb, this host has no GPU"},
		{"gpu/nvidia/a100-sxm4-40gb+40gib+2x+driver535.104.05+cuda12.2", "GPU model: the record needs a100-sxm4-80gb, this host has a100-sxm4-40gb; GPU memory"},
		{"gpu/nvidia/a100-sxm4-80gb+80gib+1x+driver535.104.05+cuda12.2", "GPU count: the record needs 2 a100-sxm4-80gb, this host has 1"},
		{"gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver550.54.15+cuda12.4", "driver: the record needs the 535 branch"},
	}
	for _, c := range cases {
		t.Run(c.host, func(t *testing.T) {
			blobs, tg := target(t)
			tg.HardwareClass = rec
			r := &fakeRunner{}
			s, err := Start(context.Background(), blobs, tg, r, Options{HostClass: c.host, WorkDir: t.TempDir()})
			if c.says == "" {
				if err != nil || s.HardwareOverride || r.spec.HardwareClass != rec {
					t.Fatalf("Start = %v (override %v, runner's class %q)", err, s != nil && s.HardwareOverride, r.spec.HardwareClass)
				}
				s.Close(context.Background())
				return
			}
			if !errors.Is(err, ErrHardwareMismatch) || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "--allow-hardware-mismatch") {
				t.Fatalf("Start = %v, want ErrHardwareMismatch saying %q", err, c.says)
			}
		})
	}
}

// TestStartGPUSelection: --gpus must fit the target's class.
func TestStartGPUSelection(t *testing.T) {
	blobs, tg := target(t) // a CPU class
	_, err := Start(context.Background(), blobs, tg, &fakeRunner{}, Options{HostClass: hw, GPUs: "all", WorkDir: t.TempDir()})
	if !errors.Is(err, hwclass.ErrGPUs) || !strings.Contains(err.Error(), "for gpu/nvidia hardware classes") {
		t.Fatalf("Start = %v, want hwclass.ErrGPUs", err)
	}
	const class = "gpu/nvidia/tesla-t4+15gib+2x+driver535.104.05+cuda12.2"
	tg.HardwareClass = class
	r := &fakeRunner{}
	s, err := Start(context.Background(), blobs, tg, r, Options{HostClass: class, GPUs: "device=0,3", WorkDir: t.TempDir()})
	if err != nil || r.spec.GPUs != "device=0,3" {
		t.Fatalf("Start = %v, runner's GPUs %q", err, r.spec.GPUs)
	}
	s.Close(context.Background())
	_, err = Start(context.Background(), blobs, tg, r, Options{HostClass: class, GPUs: "3", WorkDir: t.TempDir()})
	if !errors.Is(err, hwclass.ErrGPUs) || !strings.Contains(err.Error(), "ran on 2") {
		t.Fatalf("Start = %v, want hwclass.ErrGPUs", err)
	}
}
