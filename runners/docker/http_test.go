package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/fixtures/image"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/kserve"
	"github.com/reprise-dev/reprise/runners/openai"
	"github.com/reprise-dev/reprise/runners/runnertest"
	"github.com/reprise-dev/reprise/system"
)

// textImage is the text server image the tests share.
var textImage = image.Once{Options: image.Options{Server: image.ServerText}}

// textFixture builds the text server image once per test binary.
func textFixture(t testing.TB) (*client.Client, image.Result) {
	t.Helper()
	cli, _ := fixture(t)
	built, err := textImage.Build(cli)
	if err != nil {
		t.Fatalf("build text fixture image: %v", err)
	}
	return cli, built
}

func textSpec(t testing.TB, img image.Result, env map[string]string) runners.Spec {
	codec, err := openai.New(runners.HTTPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return runners.Spec{Image: img.Ref, ModelPath: filepath.Join(root(), "fixtures", "models", "text-story-1.0.txt"),
		Codec: codec, Env: env, StartTimeout: 20 * time.Second, RunTimeout: 5 * time.Second}
}

func chatReq(seed int64) runners.Request {
	temp := 0.8
	return runners.Request{Input: json.RawMessage(`{"model":"story","messages":[{"role":"user","content":"tell me about the loan"}]}`),
		Params: system.Params{Temperature: &temp}.WithSeed(seed)}
}

// noNetworks fails the test if a reprise network named like a container of
// this session is left.
func noNetworks(t *testing.T, cli *client.Client, name string) {
	t.Helper()
	if name == "" {
		return
	}
	if _, err := cli.NetworkInspect(context.Background(), name, client.NetworkInspectOptions{}); err == nil {
		t.Errorf("network %s left behind", name)
		cli.NetworkRemove(context.Background(), name, client.NetworkRemoveOptions{})
	}
}

func TestHTTPSession(t *testing.T) {
	cli, img := textFixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	r := newRunner(t, cli)
	ctx := context.Background()
	s, err := r.Start(ctx, textSpec(t, img, map[string]string{"REPRISE_FIXTURE_PROBE": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	info := s.Info()
	insp, err := cli.ContainerInspect(ctx, info.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	netName := string(insp.Container.HostConfig.NetworkMode)
	defer noNetworks(t, cli, netName)
	defer s.Close(ctx)
	ninsp, err := cli.NetworkInspect(ctx, netName, client.NetworkInspectOptions{})
	if err != nil || !ninsp.Network.Internal {
		t.Fatalf("network %s: internal=%v err=%v", netName, err == nil && ninsp.Network.Internal, err)
	}
	hc := insp.Container.HostConfig
	if !hc.ReadonlyRootfs || len(hc.CapDrop) != 1 || hc.CapDrop[0] != "ALL" || hc.LogConfig.Type != "none" ||
		!strings.Contains(strings.Join(hc.SecurityOpt, ","), "no-new-privileges") || insp.Container.Config.User != SandboxUser {
		t.Errorf("host config not sandboxed: %+v", hc)
	}
	if !strings.Contains(info.Server, `"object":"list"`) || !strings.HasPrefix(info.URL, "http://") {
		t.Errorf("info: server %q url %q", info.Server, info.URL)
	}
	a, err := s.Run(ctx, chatReq(42))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Run(ctx, chatReq(42))
	if err != nil {
		t.Fatal(err)
	}
	codec := textSpec(t, img, nil).Codec
	if *a.Output.Text == "" || string(codec.Canonical(a.Raw)) != string(codec.Canonical(b.Raw)) {
		t.Errorf("pinned seed not reproduced: %s vs %s", a.Raw, b.Raw)
	}
	// The probe: read from inside, nothing sent anywhere.
	resp, err := http.Get(info.URL + "/probe")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var probe struct {
		Route string   `json:"route"`
		Caps  []string `json:"caps"`
		UID   int      `json:"uid"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		t.Fatalf("probe %s: %v", body, err)
	}
	t.Logf("probe: %s", body)
	for _, line := range strings.Split(probe.Route, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "00000000" {
			t.Errorf("a default route inside the container: %s", line)
		}
	}
	if !slicesContains(probe.Caps, "CapEff:\t0000000000000000") || probe.UID != 65534 {
		t.Errorf("caps %v uid %d", probe.Caps, probe.UID)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	noNetworks(t, cli, netName)
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestHTTPNeverReady: a server that exits at once (no model) is a clear
// error with its last output; nothing is left behind.
func TestHTTPNeverReady(t *testing.T) {
	cli, img := textFixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	r := newRunner(t, cli)
	spec := textSpec(t, img, nil)
	spec.ModelPath = ""
	_, err := r.Start(context.Background(), spec)
	if !errors.Is(err, runners.ErrCrashed) || !strings.Contains(err.Error(), "REPRISE_MODEL is not set") {
		t.Fatalf("err = %v, want ErrCrashed with the server's output", err)
	}
	// A server on the wrong port never becomes ready within the start timeout.
	codec, _ := openai.New(runners.HTTPConfig{Port: 9})
	spec = textSpec(t, img, nil)
	spec.Codec, spec.StartTimeout = codec, 2*time.Second
	_, err = r.Start(context.Background(), spec)
	if !errors.Is(err, runners.ErrTimeout) || !strings.Contains(err.Error(), "listening on :8000") {
		t.Fatalf("err = %v, want ErrTimeout with the server's output", err)
	}
	nets, err := cli.NetworkList(context.Background(), client.NetworkListOptions{Filters: make(client.Filters).Add("label", LabelPID+"="+itoa(os.Getpid()))})
	if err != nil {
		t.Fatal(err)
	}
	if len(nets.Items) > 0 {
		t.Errorf("networks left: %v", nets.Items)
	}
}

// TestHTTPCrashMidSession: the container is killed between runs; the next
// run is a run error (not an output) and Close still cleans up.
func TestHTTPCrashMidSession(t *testing.T) {
	cli, img := textFixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	r := newRunner(t, cli)
	ctx := context.Background()
	s, err := r.Start(ctx, textSpec(t, img, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if _, err := s.Run(ctx, chatReq(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerKill(ctx, s.Info().ContainerID, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Run(ctx, chatReq(2))
	var re *runners.RunError
	if !errors.As(err, &re) || re.Run != 1 || !resp.Output.IsZero() {
		t.Fatalf("after a crash: %v %+v", err, resp)
	}
	t.Logf("crash error: %v", err)
	if !errors.Is(err, runners.ErrCrashed) && !errors.Is(err, runners.ErrTimeout) {
		t.Errorf("err = %v, want ErrCrashed or ErrTimeout", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// BenchmarkHTTPSession compares one run through the docker HTTP session
// with a bare keep-alive client loop posting the same body to the same
// container (reached at its address on the internal network) and reading
// the answer (runnertest.Paired: overhead-% is the session's).
func BenchmarkHTTPSession(b *testing.B) {
	cli, img := textFixture(b)
	r, err := New(context.Background(), Options{Client: cli})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := r.Start(ctx, textSpec(b, img, nil))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	codec := textSpec(b, img, nil).Codec.(runners.HTTPCodec)
	req := chatReq(42)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	body, _ := codec.Encode(req)
	url := s.Info().URL + codec.Path(req)
	runnertest.Paired(b, runnertest.BarePost(b, hc, url, body), func() {
		if _, err := s.Run(ctx, req); err != nil {
			b.Fatal(err)
		}
	})
}

// TestRemoveLeftoverNetworks: clean removes the per-session networks of
// gone owners (all, here) and keeps those it cannot tell are orphaned.
func TestRemoveLeftoverNetworks(t *testing.T) {
	cli, _ := fixture(t)
	ctx := context.Background()
	key, value := "reprise.test.netleft", randomDigest()[7:19]
	name := "reprise-test-" + value
	if _, err := cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: "bridge", Internal: true,
		Labels: map[string]string{runners.Label: "1", key: value, LabelLease: "unknown/lease"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.NetworkRemove(ctx, name, client.NetworkRemoveOptions{}) })
	removed, err := removeLeftovers(ctx, cli, false, []string{key + "=" + value})
	if err != nil || len(removed) != 0 {
		t.Fatalf("not orphaned: removed %v, %v", removed, err)
	}
	removed, err = removeLeftovers(ctx, cli, true, []string{key + "=" + value})
	if err != nil || len(removed) != 1 || removed[0] != "network "+name {
		t.Fatalf("all: removed %v, %v", removed, err)
	}
}

// TestKServeLoan serves the loan approver over kserve-v2 from the same
// image: the same seed gives the same canonical answer, and the label and
// score of the jsonl-stdio path.
func TestKServeLoan(t *testing.T) {
	cli, img := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	model, config, input := fixturePaths(t)
	kin, err := os.ReadFile(filepath.Join(root(), "fixtures", "inputs", "application-demo-kserve.json"))
	if err != nil {
		t.Fatal(err)
	}
	codec, err := kserve.New(runners.HTTPConfig{ModelName: "loan-approver"})
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, cli)
	ctx := context.Background()
	s, err := r.Start(ctx, runners.Spec{Image: img.Ref, ModelPath: model, ConfigPath: config, Codec: codec,
		Env: map[string]string{"REPRISE_FIXTURE_KSERVE_ADDR": ":8080"}, StartTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	req := runners.Request{Input: kin, Params: system.Params{}.WithSeed(42)}
	a, err := s.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Output.Label == nil || a.Output.Score == nil || !bytes.Equal(codec.Canonical(a.Raw), codec.Canonical(b.Raw)) || bytes.Equal(a.Raw, b.Raw) {
		t.Fatalf("kserve answers: %s / %s", a.Raw, b.Raw)
	}
	if _, err := s.Run(ctx, runners.Request{Input: json.RawMessage(`{"inputs":[{"name":"income","data":[1,2]}]}`)}); !errors.Is(err, runners.ErrProtocol) || !strings.Contains(err.Error(), "400") {
		t.Errorf("bad request: %v", err)
	}
	stdio, err := r.Start(ctx, fixtureSpec(t, img, runners.Spec{}))
	if err != nil {
		t.Fatal(err)
	}
	defer stdio.Close(ctx)
	c, err := stdio.Run(ctx, runners.Request{Input: input, Params: system.Params{}.WithSeed(42)})
	if err != nil {
		t.Fatal(err)
	}
	if *c.Output.Label != *a.Output.Label || *c.Output.Score != *a.Output.Score {
		t.Errorf("kserve %s %g, stdio %s %g", *a.Output.Label, *a.Output.Score, *c.Output.Label, *c.Output.Score)
	}
}

func TestConformanceHTTP(t *testing.T) {
	cli, img := fixture(t)
	model, config, _ := fixturePaths(t)
	kin, err := os.ReadFile(filepath.Join(root(), "fixtures", "inputs", "application-demo-kserve.json"))
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := kserve.New(runners.HTTPConfig{ModelName: "loan-approver"})
	runnertest.RunHTTP(t, newRunner(t, cli), runnertest.HTTPFixture{
		Image: img.Ref, ModelPath: model, ConfigPath: config, Codec: codec, Input: kin,
		Env:        map[string]string{"REPRISE_FIXTURE_KSERVE_ADDR": ":8080"},
		BadInput:   json.RawMessage(`{"inputs":[{"name":"income","data":[1,2]}]}`),
		AfterClose: func(t *testing.T) { noLeftovers(t, cli); noOwnedNetworks(t, cli) },
	})
}

// TestConformanceOpenAI runs the HTTP conformance suite against the text
// server's image over openai.
func TestConformanceOpenAI(t *testing.T) {
	cli, img := textFixture(t)
	spec := textSpec(t, img, nil)
	runnertest.RunHTTP(t, newRunner(t, cli), runnertest.HTTPFixture{
		Image: img.Ref, ModelPath: spec.ModelPath, Codec: spec.Codec.(runners.HTTPCodec), Input: chatReq(0).Input,
		BadInput:   json.RawMessage(`{"messages":"not a list"}`),
		AfterClose: func(t *testing.T) { noLeftovers(t, cli); noOwnedNetworks(t, cli) },
	})
}

// noOwnedNetworks fails the test if a network labelled with this test
// process's pid is left.
func noOwnedNetworks(t *testing.T, cli *client.Client) {
	t.Helper()
	nets, err := cli.NetworkList(context.Background(), client.NetworkListOptions{Filters: make(client.Filters).Add("label", LabelPID+"="+itoa(os.Getpid()))})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets.Items {
		t.Errorf("network left: %s", n.Name)
		cli.NetworkRemove(context.Background(), n.ID, client.NetworkRemoveOptions{})
	}
}

// TestHTTPExitMidRequest: a server that exits while it holds a request
// (the fixture's os.Exit(3) on request 1): the run's error says how the
// container exited and what it printed, not only the transport's EOF,
// which comes before the engine has seen the exit (issue 19, item 11).
func TestHTTPExitMidRequest(t *testing.T) {
	cli, img := textFixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	r := newRunner(t, cli)
	ctx := context.Background()
	s, err := r.Start(ctx, textSpec(t, img, map[string]string{"REPRISE_FIXTURE_CRASH_AFTER": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if _, err := s.Run(ctx, chatReq(1)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Run(ctx, chatReq(2))
	if !errors.Is(err, runners.ErrCrashed) || !strings.HasPrefix(err.Error(), "run 1: system crashed: POST /v1/chat/completions: ") {
		t.Fatalf("err = %v, want run 1 crashed", err)
	}
	for _, w := range []string{"exited with status 3", "stderr: textserver: model model (fp_"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}
