package docker

import (
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/reprise-dev/reprise/runners"
)

// TestHostConfig checks the sandbox settings without an engine; the
// integration test TestSandboxFromInside proves them from inside a container.
func TestHostConfig(t *testing.T) {
	lim := withDefaults(runners.Limits{MemoryBytes: 1 << 28, NanoCPUs: 2e9, Pids: 32})
	hc := hostConfig(runners.Spec{HardwareClass: "cpu/amd64/x86-64-v3"}, lim, nil)
	if hc.NetworkMode != "none" || !hc.ReadonlyRootfs || hc.CapDrop[0] != "ALL" || hc.SecurityOpt[0] != "no-new-privileges" ||
		hc.Memory != 1<<28 || hc.MemorySwap != 1<<28 || hc.NanoCPUs != 2e9 || *hc.PidsLimit != 32 || hc.Tmpfs["/tmp"] == "" {
		t.Fatalf("not sandboxed: %+v", hc)
	}
	if hc.LogConfig.Type != "none" || hc.Tmpfs["/tmp"] != "rw,noexec,nosuid,nodev,size=268435456" {
		t.Fatalf("log config %+v, /tmp %q", hc.LogConfig, hc.Tmpfs["/tmp"])
	}
	if len(hc.DeviceRequests) != 0 {
		t.Fatalf("a CPU class got devices: %+v", hc.DeviceRequests)
	}
	hc = hostConfig(runners.Spec{HardwareClass: "gpu/nvidia/a100-sxm4-80gb"}, lim, nil)
	if len(hc.DeviceRequests) != 1 || hc.DeviceRequests[0].Driver != "nvidia" || hc.DeviceRequests[0].Capabilities[0][0] != "gpu" {
		t.Fatalf("a GPU class got no GPU: %+v", hc.DeviceRequests)
	}
	cc := containerConfig("sha256:x", nil, map[string]string{runners.Label: "1"})
	if cc.User != SandboxUser || !cc.NetworkDisabled || !cc.OpenStdin || !cc.StdinOnce || cc.Tty {
		t.Fatalf("container config %+v", cc)
	}
}

// TestVolumeMounts: every image VOLUME but /tmp and the mounts reprise
// makes gets a read-only tmpfs.
func TestVolumeMounts(t *testing.T) {
	taken := []mount.Mount{{Type: mount.TypeBind, Target: runners.ContainerModelPath}}
	ms := volumeMounts([]string{"/data", "/tmp", "/reprise/model", "/var/lib/x/"}, taken)
	if len(ms) != 2 || ms[0].Target != "/data" || ms[1].Target != "/var/lib/x" {
		t.Fatalf("mounts %+v", ms)
	}
	for _, m := range ms {
		if m.Type != mount.TypeTmpfs || !m.ReadOnly {
			t.Errorf("mount %+v is not a read-only tmpfs", m)
		}
	}
}

func TestDefaultsFitMLImages(t *testing.T) {
	lim := withDefaults(runners.Limits{})
	if lim.Pids < 1024 || lim.MemoryBytes < 1<<30 || lim.Pids > 1<<16 || lim.MemoryBytes > 64<<30 {
		t.Fatalf("defaults %+v do not fit a torch image or are unbounded", lim)
	}
}
