package docker

import (
	"slices"
	"time"

	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/system"

	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/fixtures/dockertest"
	"github.com/reprise-dev/reprise/fixtures/image"
	"github.com/reprise-dev/reprise/fixtures/registrytest"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/runnertest"
)

// loanImage is the fixture image the tests share.
var loanImage image.Once

// fixture builds the fixture image once per test binary.
func fixture(t testing.TB) (*client.Client, image.Result) {
	t.Helper()
	cli := dockertest.Require(t)
	built, err := loanImage.Build(cli)
	if err != nil {
		t.Fatalf("build fixture image: %v", err)
	}
	return cli, built
}

func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func fixturePaths(t testing.TB) (model, config string, input []byte) {
	r := root()
	input, err := os.ReadFile(filepath.Join(r, "fixtures", "inputs", "application-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(r, "fixtures", "models", "loan-approver-2.4.1.safetensors"),
		filepath.Join(r, "fixtures", "configs", "loan-params-3.json"), input
}

// noLeftovers fails the test if a container this test process created is
// left (other test processes may be running replays at the same time).
func noLeftovers(t *testing.T, cli *client.Client) {
	t.Helper()
	ids, err := OwnedBy(context.Background(), cli, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) > 0 {
		t.Errorf("containers with the reprise label left: %v", ids)
		for _, id := range ids {
			Remove(context.Background(), cli, id)
		}
	}
}

func newRunner(t *testing.T, cli *client.Client) *Runner {
	t.Helper()
	r, err := New(context.Background(), Options{Client: cli})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConformance(t *testing.T) {
	cli, img := fixture(t)
	model, config, input := fixturePaths(t)
	runnertest.Run(t, newRunner(t, cli), runnertest.Fixture{
		Image: img.Ref, ModelPath: model, ConfigPath: config, Input: input,
		AfterClose: func(t *testing.T) { noLeftovers(t, cli) },
	})
}

// TestSandboxFromInside asks the fixture's probe what the sandbox allows.
func TestSandboxFromInside(t *testing.T) {
	cli, img := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	r := newRunner(t, cli)
	s, err := r.Start(context.Background(), fixtureSpec(t, img, runners.Spec{Limits: runners.Limits{MemoryBytes: 64 << 20, NanoCPUs: 5e8, Pids: 16}}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	probe := runProbe(t, s)
	t.Logf("probe: %v", probe)
	// No network: no route at all, and no interface but loopback.
	if probe["routes"] != "0" || probe["interfaces"] != "lo" {
		t.Errorf("routes %q, interfaces %q: want 0 and lo only", probe["routes"], probe["interfaces"])
	}
	for _, k := range []string{"write_root", "write_reprise"} {
		if probe[k] == "ok" || probe[k] == "" {
			t.Errorf("%s = %q: the sandbox allowed it", k, probe[k])
		}
	}
	if probe["write_tmp"] != "ok" {
		t.Errorf("write_tmp = %q: /tmp must be writable", probe["write_tmp"])
	}
	if probe["uid"] != "65534" || probe["gid"] != "65534" {
		t.Errorf("uid/gid = %s/%s, want 65534", probe["uid"], probe["gid"])
	}
	if probe["cap_eff"] != "0000000000000000" {
		t.Errorf("CapEff = %s, want none", probe["cap_eff"])
	}
	insp, err := cli.ContainerInspect(context.Background(), s.Info().ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := insp.Container.HostConfig
	if !hc.ReadonlyRootfs || string(hc.NetworkMode) != "none" || hc.Memory != 64<<20 || hc.MemorySwap != 64<<20 ||
		hc.NanoCPUs != 5e8 || hc.PidsLimit == nil || *hc.PidsLimit != 16 || len(hc.CapDrop) != 1 || hc.CapDrop[0] != "ALL" ||
		!strings.Contains(strings.Join(hc.SecurityOpt, ","), "no-new-privileges") {
		t.Errorf("host config not sandboxed: %+v", hc)
	}
	if insp.Container.Config.Labels[runners.Label] != "1" {
		t.Errorf("labels %v", insp.Container.Config.Labels)
	}
	for _, m := range insp.Container.Mounts {
		if m.RW {
			t.Errorf("mount %s is writable", m.Destination)
		}
	}
}

func randomDigest() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "sha256:" + hex.EncodeToString(b)
}

func TestResolveErrors(t *testing.T) {
	cli, _ := fixture(t)
	r := newRunner(t, cli)
	ctx := context.Background()
	cases := []struct {
		ref  string
		want error
	}{
		{"reprise-fixture/loan:dev", system.ErrNotPinned},
		{"reprise-fixture/loan", system.ErrNotPinned},
		{randomDigest(), runners.ErrImageUnavailable},
		// No registry is allowed: the engine is not asked to connect.
		{"127.0.0.1:1/reprise/absent@" + randomDigest(), runners.ErrRegistryNotAllowed},
		{"192.0.2.1:5000/reprise/absent@" + randomDigest(), runners.ErrRegistryNotAllowed},
		{"reprise/absent@" + randomDigest(), runners.ErrRegistryNotAllowed},
	}
	for _, c := range cases {
		ref, err := system.ParseImageRef(c.ref)
		if err == nil {
			_, err = r.Start(ctx, runners.Spec{Image: ref, Codec: jsonl.Codec{}})
		}
		if !errors.Is(err, c.want) {
			t.Errorf("Start(%s) = %v, want %v", c.ref, err, c.want)
		} else if c.want != system.ErrNotPinned && !strings.Contains(err.Error(), strings.Split(c.ref, "@")[0]) {
			t.Errorf("error does not name the reference: %v", err)
		}
	}
	// An allowed registry is pulled from: no registry listens on port 1,
	// so the pull fails at once.
	allowed, err := New(ctx, Options{Client: cli, AllowRegistries: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := mustRef(t, "127.0.0.1:1/reprise/absent@"+randomDigest())
	if _, err := allowed.Start(ctx, runners.Spec{Image: ref, Codec: jsonl.Codec{}}); !errors.Is(err, runners.ErrImageUnavailable) || !strings.Contains(err.Error(), "pull 127.0.0.1:1/reprise/absent@") {
		t.Errorf("allowed registry: %v, want a failed pull", err)
	}
	noLeftovers(t, cli)
}

// TestRegistryNotAllowed: the error of a refused pull names the image,
// the registry and the flag; no registry is contacted (the one named is
// blackholed, TEST-NET-1: a pull would hang). Docker Hub's aliases are
// one registry (issue 19, item 6).
func TestRegistryNotAllowed(t *testing.T) {
	cli, _ := fixture(t)
	r, err := New(context.Background(), Options{Client: cli, AllowRegistries: []string{"Registry.Example.com", "index.docker.io"}})
	if err != nil {
		t.Fatal(err)
	}
	d := randomDigest()
	begin := time.Now()
	_, err = r.Start(context.Background(), runners.Spec{Image: mustRef(t, "192.0.2.1:5000/x@"+d), Codec: jsonl.Codec{}})
	want := "registry not allowed: 192.0.2.1:5000/x@" + d + " is not present on this engine, and its registry 192.0.2.1:5000 is not allowed: pull only from registries you trust, with --allow-registry 192.0.2.1:5000, or load the image into the engine first"
	if !errors.Is(err, runners.ErrRegistryNotAllowed) || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("a refused pull took %s: the registry was contacted", d)
	}
	if !slices.Equal(r.allowed, []string{"registry.example.com", "docker.io"}) {
		t.Errorf("allowed %v", r.allowed)
	}
	if _, err := New(context.Background(), Options{Client: cli, AllowRegistries: []string{"https://x"}}); !errors.Is(err, runners.ErrInvalidSpec) {
		t.Errorf("bad registry: %v", err)
	}
}

func TestParseRegistry(t *testing.T) {
	for in, want := range map[string]string{
		"registry.example.com": "registry.example.com", "127.0.0.1:5000": "127.0.0.1:5000", "LOCALHOST:5000": "localhost:5000",
		"[::1]:5000": "[::1]:5000", "[::1]": "[::1]", "index.docker.io": "docker.io", "registry-1.docker.io": "docker.io", "docker.io": "docker.io",
	} {
		if got, err := ParseRegistry(in); err != nil || got != want {
			t.Errorf("ParseRegistry(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "http://r", "r/path", "user@r", "r:0", "r:x", "r:70000", "::1", "r:1:2", "r?x"} {
		if got, err := ParseRegistry(in); err == nil {
			t.Errorf("ParseRegistry(%q) = %q, want an error", in, got)
		}
	}
}

// TestPullByDigest pushes a fixture image to a registry this test runs (in
// a container started with testcontainers-go, published on 127.0.0.1),
// removes it locally, and starts a session by name@digest: the
// runner pulls it and verifies the repo digest.
func TestPullByDigest(t *testing.T) {
	cli, _ := fixture(t)
	ctx := context.Background()
	host := registrytest.Start(t) // a registry container, published on 127.0.0.1
	// A distinct image, so removing it does not disturb other tests.
	tag := host + "/reprise/loan:pushtest"
	img, err := image.Build(ctx, cli, image.Options{Tag: tag, Labels: map[string]string{"reprise.test": "pull-" + host}})
	if err != nil {
		t.Fatal(err)
	}
	push, err := cli.ImagePush(ctx, tag, client.ImagePushOptions{RegistryAuth: "e30="})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	for msg, err := range push.JSONMessages(ctx) {
		if err != nil || msg.Error != nil {
			t.Fatalf("push: %v %v", err, msg.Error)
		}
	}
	push.Close()
	insp, err := cli.ImageInspect(ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	var pinned string
	for _, rd := range insp.RepoDigests {
		if strings.HasPrefix(rd, host+"/reprise/loan@") {
			pinned = rd
		}
	}
	if pinned == "" {
		t.Fatalf("no repo digest after push: %v", insp.RepoDigests)
	}
	if _, err := cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true}); err != nil {
		t.Fatalf("remove: %v", err)
	}
	defer cli.ImageRemove(ctx, pinned, client.ImageRemoveOptions{Force: true})
	if _, err := cli.ImageInspect(ctx, pinned); err == nil {
		t.Fatal("image still present after removal")
	}

	model, config, input := fixturePaths(t)
	r, err := New(ctx, Options{Client: cli, AllowRegistries: []string{host}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Start(ctx, runners.Spec{Image: mustRef(t, pinned), ModelPath: model, ConfigPath: config, Codec: jsonl.Codec{}})
	if err != nil {
		t.Fatalf("Start(%s): %v", pinned, err)
	}
	defer func() { s.Close(ctx); noLeftovers(t, cli) }()
	info := s.Info()
	if !info.Pulled || info.RepoDigest != pinned || info.ImageID != img.ID || info.Source != "pulled from "+host || info.Registry != host {
		t.Fatalf("info %+v, want pulled %s as %s", info, pinned, img.ID)
	}
	if _, err := s.Run(ctx, runners.Request{Input: input}); err != nil {
		t.Fatal(err)
	}
	// The same name with another digest is not silently replaced by the local one.
	other := host + "/reprise/loan@" + randomDigest()
	if _, err := r.Start(ctx, runners.Spec{Image: mustRef(t, other), Codec: jsonl.Codec{}}); !errors.Is(err, runners.ErrImageUnavailable) {
		t.Fatalf("Start(%s) = %v, want ErrImageUnavailable", other, err)
	}
}

func TestEngineUnavailable(t *testing.T) {
	cli, err := client.New(client.WithHost("tcp://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), Options{Client: cli}); !errors.Is(err, runners.ErrEngine) {
		t.Fatalf("New = %v, want ErrEngine", err)
	}
}

// BenchmarkDockerRuns measures the harness's own overhead per run: b.N runs
// of the fixture in one container (go test -bench DockerRuns -benchtime 1000x).
// BenchmarkDockerRuns measures one run of the fixture loan approver in a
// container over the attach stream: window=1 one request at a time,
// window=16 and window=64 (the default) pipelined once the server echoes
// request ids.
// Compare with runners/process's BenchmarkBareLoop (a bare Go loop piping
// to the same binary).
func BenchmarkDockerRuns(b *testing.B) {
	cli, img := fixture(b)
	_, _, input := fixturePaths(b)
	r, err := New(context.Background(), Options{Client: cli})
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range []int{1, 16, runners.DefaultWindow} {
		b.Run(fmt.Sprintf("window=%d", w), func(b *testing.B) {
			s, err := r.Start(context.Background(), fixtureSpec(b, img, runners.Spec{Window: w}))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			seed := int64(-1)
			if _, err := s.Run(context.Background(), runners.Request{Input: input, Params: system.Params{Seed: &seed}}); err != nil {
				b.Fatal(err) // start-up and the first echoed id, outside the measure
			}
			runnertest.BenchRuns(b, s, input)
		})
	}
}

func mustRef(t *testing.T, s string) system.ImageRef {
	t.Helper()
	ref, err := system.ParseImageRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestAPIVersionNegotiatedWithAnAPI141Engine: the runner's own client
// (from the environment) negotiates down to an engine that speaks API 1.41
// (Docker 20.10, as on every machine of this project): every request after
// the ping carries /v1.41/.
func TestAPIVersionNegotiatedWithAnAPI141Engine(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		paths = append(paths, req.URL.Path)
		mu.Unlock()
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(req.URL.Path, "/_ping"):
			w.Write([]byte("OK"))
		case strings.HasSuffix(req.URL.Path, "/version"):
			w.Write([]byte(`{"Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12"}`))
		default:
			http.NotFound(w, req)
		}
	}))
	defer srv.Close()
	t.Setenv("DOCKER_HOST", "tcp://"+srv.Listener.Addr().String())
	t.Setenv("DOCKER_API_VERSION", "")
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	r, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Client().ClientVersion(); got != "1.41" {
		t.Errorf("negotiated API version %s, want 1.41", got)
	}
	if got := r.Engine(); got != "docker 20.10.24 (API 1.41)" {
		t.Errorf("engine %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) < 2 || paths[len(paths)-1] != "/v1.41/version" {
		t.Errorf("requests %v, want the version asked at /v1.41/", paths)
	}
}

// fixtureSpec is spec with the fixture system filled in: img's reference,
// the fixture model and config, the jsonl-stdio codec.
func fixtureSpec(t testing.TB, img image.Result, spec runners.Spec) runners.Spec {
	model, config, _ := fixturePaths(t)
	spec.Image, spec.ModelPath, spec.ConfigPath, spec.Codec = img.Ref, model, config, jsonl.Codec{}
	return spec
}
