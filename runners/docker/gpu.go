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

// deviceRequests are the GPUs a session asks the engine for: none for a
// CPU class; for a gpu/nvidia class one request of the "nvidia" driver
// with the capability "gpu" and the GPUs Spec.GPUs selects (the CLI's
// --gpus, hwclass.ParseSelection: every GPU, a count, or DeviceIDs), else
// Count the class's GPU count, the first that many GPUs of the engine's
// host (-1, every GPU, when the class records no count, as
// gpu/nvidia/<product> classes of older records do). launch has already
// checked the class against this host (hwclass.Match) and the selection
// against the class (hwclass.CheckSelection).
func deviceRequests(spec runners.Spec) []container.DeviceRequest {
	if !strings.HasPrefix(spec.HardwareClass, "gpu/nvidia/") {
		return nil
	}
	req := container.DeviceRequest{Driver: gpuDriver, Count: -1, Capabilities: [][]string{{gpuCapability}}}
	if c, err := hwclass.Parse(spec.HardwareClass); err == nil && c.Count > 0 {
		req.Count = c.Count
	}
	switch sel, _ := hwclass.ParseSelection(spec.GPUs); {
	case sel.All:
		req.Count = -1
	case sel.Count > 0:
		req.Count = sel.Count
	case len(sel.Devices) > 0:
		req.Count, req.DeviceIDs = 0, sel.Devices // the engine refuses both
	}
	return []container.DeviceRequest{req}
}

// gpuError explains a failed create or start of a container that requests
// GPUs, naming what the engine's host lacks: the engine's "nvidia" device
// driver (no NVIDIA Container Toolkit), a working NVIDIA driver, or enough
// GPUs. It wraps runners.ErrUnsupported; nil when the class requests no
// GPU or the failure is not about GPUs.
func (r *Runner) gpuError(ctx context.Context, spec runners.Spec, err error) error {
	reqs := deviceRequests(spec)
	if reqs == nil {
		return nil
	}
	missing := gpuMissing(err.Error(), reqs[0])
	if missing == "" {
		return nil
	}
	return fmt.Errorf("%w: the hardware class %s requests %s, and this engine cannot provide them: missing %s (engine %s; runtimes: %s; engine said: %v); replay on a host of that class",
		runners.ErrUnsupported, spec.HardwareClass, gpuCount(reqs[0]), missing, r.engine, r.runtimes(context.WithoutCancel(ctx)), err)
}

// gpuMissing names what an engine error says is missing for a GPU
// request ("" when the error is not about GPUs).
func gpuMissing(msg string, req container.DeviceRequest) string {
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "could not select device driver"):
		return fmt.Sprintf(`the engine's %q device driver: the engine registers it at start-up only when %s (NVIDIA Container Toolkit) is on its PATH; install the toolkit on the engine's host and restart the engine`, gpuDriver, nvidiaHook)
	case strings.Contains(low, "nvml") || strings.Contains(low, "driver not loaded") || strings.Contains(low, "libnvidia-ml"):
		return "a working NVIDIA driver on the engine's host (nvidia-container-cli cannot initialize NVML: is the kernel module loaded? `nvidia-smi` on that host says)"
	case strings.Contains(low, "unknown device") || strings.Contains(low, "invalid device"):
		return fmt.Sprintf("GPUs: the engine's host does not have %s", gpuCount(req))
	case strings.Contains(low, "nvidia"):
		return "the NVIDIA GPU setup of the engine's host"
	}
	return ""
}

// gpuCount says what a device request asks for ("2 NVIDIA GPUs").
func gpuCount(req container.DeviceRequest) string {
	switch {
	case len(req.DeviceIDs) > 0:
		return "the NVIDIA GPUs " + strings.Join(req.DeviceIDs, ",")
	case req.Count < 0:
		return "all NVIDIA GPUs"
	case req.Count == 1:
		return "1 NVIDIA GPU"
	}
	return fmt.Sprintf("%d NVIDIA GPUs", req.Count)
}
