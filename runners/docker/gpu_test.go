package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/runners"
)

const a100x2 = "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.2"

func TestDeviceRequests(t *testing.T) {
	cases := []struct {
		class, gpus string
		count       int // -2: no request
		ids         string
	}{
		{"cpu/amd64/x86-64-v3", "", -2, ""},
		{"cpu/arm64/armv8.2+sve", "", -2, ""},
		{"gpu/amd/mi300x+192gib+1x", "", -2, ""}, // no device driver reprise knows
		{"gpu/nvidia/a100-sxm4-80gb", "", -1, ""},
		{a100x2, "", 2, ""},
		{"gpu/nvidia/tesla-t4+15gib+1x", "", 1, ""},
		{"gpu/nvidia/a100+80gb", "", -1, ""}, // does not parse: every GPU, as before attributes
		{a100x2, "all", -1, ""},
		{a100x2, "2", 2, ""},
		{"gpu/nvidia/a100-sxm4-80gb", "count=3", 3, ""},
		{a100x2, "device=1,GPU-5f3c", 0, "1,GPU-5f3c"},
	}
	for _, c := range cases {
		t.Run(c.class+" "+c.gpus, func(t *testing.T) {
			reqs := deviceRequests(runners.Spec{HardwareClass: c.class, GPUs: c.gpus})
			if c.count == -2 {
				if reqs != nil {
					t.Fatalf("deviceRequests = %+v, want none", reqs)
				}
				return
			}
			if len(reqs) != 1 || reqs[0].Driver != "nvidia" || reqs[0].Count != c.count || strings.Join(reqs[0].DeviceIDs, ",") != c.ids ||
				len(reqs[0].Capabilities) != 1 || strings.Join(reqs[0].Capabilities[0], ",") != "gpu" {
				t.Fatalf("deviceRequests = %+v, want nvidia, count %d, ids %q, capabilities [[gpu]]", reqs, c.count, c.ids)
			}
		})
	}
}

func TestGPUMissing(t *testing.T) {
	cases := []struct{ msg, says string }{
		{`could not select device driver "nvidia" with capabilities: [[gpu]]`, "nvidia-container-runtime-hook (NVIDIA Container Toolkit) is on its PATH"},
		{"OCI runtime create failed: ... stderr: nvidia-container-cli: initialization error: nvml error: driver not loaded: unknown", "a working NVIDIA driver"},
		{"stderr: nvidia-container-cli: device error: 1: unknown device: unknown", "does not have 2 NVIDIA GPUs"},
		{"nvidia-container-cli: mount error: something else", "NVIDIA GPU setup"},
		{"no space left on device", ""},
	}
	for _, c := range cases {
		got := gpuMissing(c.msg, container.DeviceRequest{Count: 2})
		if c.says == "" && got != "" || !strings.Contains(got, c.says) {
			t.Errorf("gpuMissing(%q) = %q, want %q", c.msg, got, c.says)
		}
	}
}

// engineProxy stands in front of the real engine's socket at the API
// boundary: it records the body of every container create, and fakes
// what this engine (no GPU) cannot do: with startErr it answers every
// container start with that engine error; with gpus it plays an engine
// whose hosts have GPUs, taking the create's device requests off before
// the real engine sees them. Everything else is the real engine.
type engineProxy struct {
	srv      *httptest.Server
	startErr string
	gpus     bool
	mu       sync.Mutex
	creates  []container.HostConfig
	deletes  int
}

func newEngineProxy(t *testing.T, cli *client.Client) *engineProxy {
	t.Helper()
	host, err := url.Parse(cli.DaemonHost())
	if err != nil {
		t.Fatal(err)
	}
	network, addr := host.Scheme, host.Host
	switch network {
	case "unix":
		addr = host.Path
	case "tcp":
	default:
		t.Skipf("the proxy speaks to unix or tcp engines, not %s", cli.DaemonHost())
	}
	p := &engineProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker" },
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if p.intercept(t, w, req) {
			return
		}
		rp.ServeHTTP(w, req)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// intercept records creates and deletes, and answers starts with startErr;
// true when it answered.
func (p *engineProxy) intercept(t *testing.T, w http.ResponseWriter, req *http.Request) bool {
	path := req.URL.Path
	switch {
	case req.Method == http.MethodPost && strings.HasSuffix(path, "/containers/create"):
		p.recordCreate(t, req)
	case req.Method == http.MethodDelete && strings.Contains(path, "/containers/"):
		p.mu.Lock()
		p.deletes++
		p.mu.Unlock()
	case req.Method == http.MethodPost && strings.HasSuffix(path, "/start") && p.startErr != "":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]string{"message": p.startErr})
		return true
	}
	return false
}

func (p *engineProxy) recordCreate(t *testing.T, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Errorf("create body: %v", err)
	}
	var typed struct{ HostConfig container.HostConfig }
	if err := json.Unmarshal(body, &typed); err != nil {
		t.Errorf("create body: %v", err)
	}
	p.mu.Lock()
	p.creates = append(p.creates, typed.HostConfig)
	p.mu.Unlock()
	if p.gpus {
		var raw map[string]any
		json.Unmarshal(body, &raw)
		delete(raw["HostConfig"].(map[string]any), "DeviceRequests")
		body, _ = json.Marshal(raw)
	}
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

func (p *engineProxy) runner(t *testing.T) *Runner {
	t.Helper()
	cli, err := client.New(client.WithHost("tcp://"+p.srv.Listener.Addr().String()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return newRunner(t, cli)
}

// lastCreate is the host config of the last container create.
func (p *engineProxy) lastCreate(t *testing.T) container.HostConfig {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.creates) == 0 {
		t.Fatal("no container create reached the engine")
	}
	return p.creates[len(p.creates)-1]
}

func gpuSpec(t *testing.T, class string) runners.Spec {
	_, img := fixture(t)
	return fixtureSpec(t, img, runners.Spec{HardwareClass: class,
		Labels: map[string]string{"reprise.test": "gpu"}})
}

// TestGPUClassOnEngineWithoutGPUs: on this engine (no NVIDIA Container
// Toolkit, as on every CI machine) a gpu/nvidia class's create carries
// its device request, the real engine refuses the start, and the error
// names the missing device driver and its hook; no container is left.
func TestGPUClassOnEngineWithoutGPUs(t *testing.T) {
	cli, _ := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	p := newEngineProxy(t, cli)
	_, err := p.runner(t).Start(context.Background(), gpuSpec(t, a100x2))
	if !errors.Is(err, runners.ErrUnsupported) {
		t.Fatalf("Start = %v, want runners.ErrUnsupported", err)
	}
	for _, want := range []string{a100x2, "requests 2 NVIDIA GPUs", `missing the engine's "nvidia" device driver`, "nvidia-container-runtime-hook", "runtimes: ", "no nvidia"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	reqs := p.lastCreate(t).DeviceRequests
	if len(reqs) != 1 || reqs[0].Driver != "nvidia" || reqs[0].Count != 2 || strings.Join(reqs[0].Capabilities[0], ",") != "gpu" {
		t.Fatalf("create sent device requests %+v, want nvidia, count 2, [[gpu]]", reqs)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deletes == 0 {
		t.Error("the refused container was not removed")
	}
}

// TestGPUEngineErrorsNameTheMissingPart: engine errors of hosts with the
// toolkit but no working driver, or fewer GPUs, faked at the start.
func TestGPUEngineErrorsNameTheMissingPart(t *testing.T) {
	cli, _ := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	hook := "failed to create shim: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error running hook #0: error running hook: exit status 1, stdout: , stderr: "
	cases := []struct{ startErr, says string }{
		{hook + "nvidia-container-cli: initialization error: nvml error: driver not loaded: unknown", "missing a working NVIDIA driver on the engine's host"},
		{hook + "nvidia-container-cli: device error: 1: unknown device: unknown", "missing GPUs: the engine's host does not have 2 NVIDIA GPUs"},
	}
	for _, c := range cases {
		p := newEngineProxy(t, cli)
		p.startErr = c.startErr
		_, err := p.runner(t).Start(context.Background(), gpuSpec(t, a100x2))
		if !errors.Is(err, runners.ErrUnsupported) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Start = %v, want runners.ErrUnsupported saying %q", err, c.says)
		}
	}
	// A CPU class's start failure is the engine's, not a GPU's.
	p := newEngineProxy(t, cli)
	p.startErr = "no space left on device"
	_, err := p.runner(t).Start(context.Background(), gpuSpec(t, "cpu/amd64/x86-64-v3"))
	if !errors.Is(err, runners.ErrEngine) || errors.Is(err, runners.ErrUnsupported) {
		t.Errorf("Start = %v, want runners.ErrEngine", err)
	}
}

// TestGPUClassOnEngineWithGPUs: an engine that grants the device request
// (faked: the proxy takes it off, the real engine runs the container)
// runs a gpu/nvidia class's session; a CPU class asks for no device.
func TestGPUClassOnEngineWithGPUs(t *testing.T) {
	cli, _ := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	_, _, input := fixturePaths(t)
	p := newEngineProxy(t, cli)
	p.gpus = true
	r := p.runner(t)
	for _, c := range []struct {
		class, gpus string
		count       int // 0: no device request, or device IDs; -1: every GPU
		ids         string
	}{{a100x2, "", 2, ""}, {"gpu/nvidia/tesla-t4", "", -1, ""}, {a100x2, "device=GPU-b,GPU-a", 0, "GPU-b,GPU-a"}, {"cpu/amd64/x86-64-v3", "", 0, ""}} {
		spec := gpuSpec(t, c.class)
		spec.GPUs = c.gpus
		s, err := r.Start(context.Background(), spec)
		if err != nil {
			t.Fatalf("%s: Start = %v", c.class, err)
		}
		resp, err := s.Run(context.Background(), runners.Request{Input: input})
		s.Close(context.Background())
		if err != nil || resp.Output.Label == nil {
			t.Fatalf("%s: Run = %+v, %v", c.class, resp, err)
		}
		reqs := p.lastCreate(t).DeviceRequests
		if c.count == 0 && c.ids == "" {
			if len(reqs) != 0 {
				t.Errorf("%s: device requests %+v, want none", c.class, reqs)
			}
			continue
		}
		if len(reqs) != 1 || reqs[0].Driver != "nvidia" || reqs[0].Count != c.count || strings.Join(reqs[0].DeviceIDs, ",") != c.ids {
			t.Errorf("%s %s: device requests %+v, want nvidia, count %d, ids %q", c.class, c.gpus, reqs, c.count, c.ids)
		}
	}
}
