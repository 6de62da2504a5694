package docker

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/hwclass"
)

// gpuDriver and gpuCapability are what a device request of a gpu/nvidia
// class names, as `docker run --gpus N` does: the engine's "nvidia" device
// driver, which the engine registers at start-up only when the NVIDIA
// Container Toolkit's hook (nvidiaHook) is on its PATH.
const (
	gpuDriver     = "nvidia"
	gpuCapability = "gpu"
	nvidiaHook    = "nvidia-container-runtime-hook"
)

// deviceRequests are the GPUs a hardware class asks the engine for: none
// for a CPU class; for a gpu/nvidia class one request of the "nvidia"
// driver with the capability "gpu" and Count the class's GPU count, the
// first that many GPUs of the engine's host (-1, every GPU, when the class
// records no count, as gpu/nvidia/<product> classes of older records do).
// launch has already checked the class against this host (hwclass.Match).
func deviceRequests(class string) []container.DeviceRequest {
	if !strings.HasPrefix(class, "gpu/nvidia/") {
		return nil
	}
	count := -1
	if c, err := hwclass.Parse(class); err == nil && c.Count > 0 {
		count = c.Count
	}
	return []container.DeviceRequest{{Driver: gpuDriver, Count: count, Capabilities: [][]string{{gpuCapability}}}}
}

// gpuError explains a failed create or start of a container that requests
// GPUs, naming what the engine's host lacks: the engine's "nvidia" device
// driver (no NVIDIA Container Toolkit), a working NVIDIA driver, or enough
// GPUs. It wraps runners.ErrUnsupported; nil when the class requests no
// GPU or the failure is not about GPUs.
func (r *Runner) gpuError(ctx context.Context, spec runners.Spec, err error) error {
	reqs := deviceRequests(spec.HardwareClass)
	if reqs == nil {
		return nil
	}
	missing := gpuMissing(err.Error(), reqs[0].Count)
	if missing == "" {
		return nil
	}
	return fmt.Errorf("%w: the hardware class %s requests %s, and this engine cannot provide them: missing %s (engine %s; runtimes: %s; engine said: %v); replay on a host of that class",
		runners.ErrUnsupported, spec.HardwareClass, gpuCount(reqs[0].Count), missing, r.engine, r.runtimes(context.WithoutCancel(ctx)), err)
}

// gpuMissing names what an engine error says is missing for a GPU
// request ("" when the error is not about GPUs).
func gpuMissing(msg string, count int) string {
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "could not select device driver"):
		return fmt.Sprintf(`the engine's %q device driver: the engine registers it at start-up only when %s (NVIDIA Container Toolkit) is on its PATH; install the toolkit on the engine's host and restart the engine`, gpuDriver, nvidiaHook)
	case strings.Contains(low, "nvml") || strings.Contains(low, "driver not loaded") || strings.Contains(low, "libnvidia-ml"):
		return "a working NVIDIA driver on the engine's host (nvidia-container-cli cannot initialize NVML: is the kernel module loaded? `nvidia-smi` on that host says)"
	case strings.Contains(low, "unknown device") || strings.Contains(low, "invalid device"):
		return fmt.Sprintf("GPUs: the engine's host has fewer than %s", gpuCount(count))
	case strings.Contains(low, "nvidia"):
		return "the NVIDIA GPU setup of the engine's host"
	}
	return ""
}

func gpuCount(count int) string {
	switch {
	case count < 0:
		return "all NVIDIA GPUs"
	case count == 1:
		return "1 NVIDIA GPU"
	}
	return fmt.Sprintf("%d NVIDIA GPUs", count)
}
