package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/system"
)

// components writes a directory component (two files, one in a
// subdirectory) and a file component, and returns them by name with the
// files each should show in the container (path under the component → content).
func components(t testing.TB) (map[string]string, map[string]map[string]string) {
	t.Helper()
	dir := t.TempDir()
	index := filepath.Join(dir, "index")
	if err := os.MkdirAll(filepath.Join(index, "shards"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"vectors.bin": "\x00\x01\x02 index vectors", "shards/0.json": `{"doc": 7}`}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(index, p), []byte(c), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	prompt := filepath.Join(dir, "prompt.txt")
	if err := os.WriteFile(prompt, []byte("Answer from {{context}}."), 0o444); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"index": index, "prompt-template": prompt},
		map[string]map[string]string{"index": files, "prompt-template": {"": "Answer from {{context}}."}}
}

// readBack reads a path of a session's container through the engine: the
// files under it (path relative to it, "" for the path itself when a file)
// → content. Engine 20.10 does not show bind mounts of a running container
// to its archive calls, so the path is read from a container created (never
// started) with the same mounts: what the session's container has there.
func readBack(t *testing.T, cli *client.Client, id, p string) map[string]string {
	t.Helper()
	ctx := context.Background()
	insp, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ms []mount.Mount
	for _, m := range insp.Container.Mounts {
		switch {
		case m.Destination == probeTarget: // removed once the container started
		case m.Type == "bind":
			ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Destination, ReadOnly: true})
		case m.Type == "volume":
			ms = append(ms, mount.Mount{Type: mount.TypeVolume, Source: m.Name, Target: m.Destination, ReadOnly: true})
		}
	}
	twin, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: insp.Container.Image, Entrypoint: []string{"/never-started"}, Labels: map[string]string{runners.Label: "1", LabelPID: strconv.Itoa(os.Getpid())}},
		HostConfig: &container.HostConfig{NetworkMode: "none", Mounts: ms},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer Remove(ctx, cli, twin.ID)
	res, err := cli.CopyFromContainer(ctx, twin.ID, client.CopyFromContainerOptions{SourcePath: p})
	if err != nil {
		t.Fatalf("read %s back: %v", p, err)
	}
	defer res.Content.Close()
	out := map[string]string{}
	tr := tar.NewReader(res.Content)
	base := filepath.Base(p)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		var buf bytes.Buffer
		io.Copy(&buf, tr)
		rel := strings.TrimPrefix(strings.TrimPrefix(h.Name, base), "/")
		out[rel] = buf.String()
	}
}

// ownedVolumes lists the reprise volumes this test process made.
func ownedVolumes(t *testing.T, cli *client.Client) []string {
	t.Helper()
	f := make(client.Filters).Add("label", runners.Label).Add("label", LabelPID+"="+strconv.Itoa(os.Getpid()))
	list, err := cli.VolumeList(context.Background(), client.VolumeListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range list.Items {
		names = append(names, v.Name)
	}
	return names
}

// clean fails the test when this process left a container, a filler or a
// volume (and removes them).
func clean(t *testing.T, cli *client.Client) {
	t.Helper()
	noLeftovers(t, cli)
	if vs := ownedVolumes(t, cli); len(vs) > 0 {
		t.Errorf("volumes left: %v", vs)
		for _, v := range vs {
			cli.VolumeRemove(context.Background(), v, client.VolumeRemoveOptions{Force: true})
		}
	}
}

// componentSpec is the fixture system's spec with the two components of
// components, the fixture input, and what each component should show; at
// the end of the test nothing may be left (clean).
func componentSpec(t *testing.T) (*client.Client, runners.Spec, []byte, map[string]map[string]string) {
	t.Helper()
	cli, img := fixture(t)
	t.Cleanup(func() { clean(t, cli) })
	_, _, input := fixturePaths(t)
	comps, want := components(t)
	return cli, fixtureSpec(t, img, runners.Spec{Components: comps}), input, want
}

// pinnedRun runs the fixture input with seed 42.
func pinnedRun(t *testing.T, s runners.Session, input []byte) []byte {
	t.Helper()
	seed := int64(42)
	resp, err := s.Run(context.Background(), runners.Request{Input: input, Params: system.Params{Seed: &seed}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Raw
}

// TestDelivery replays the fixture with a model, a config and two
// components (a directory and a file) by bind mounts, then through a
// volume, forced three ways: DeliverVolume; bind sources the engine does
// not have (as for reprise in a pod); and a marker that is not the one
// reprise wrote (as for another host with the same paths). Each answers the
// pinned run as the bind session does, shows every component at
// /reprise/components/<name> named by $REPRISE_COMPONENT_<NAME> (read back
// through the engine), mounts the volume read-only, and leaves nothing.
func TestDelivery(t *testing.T) {
	cli, spec, input, want := componentSpec(t)
	ref := startAndCheck(t, cli, newRunner(t, cli), spec, DeliveredBind, want, input)
	other := filepath.Join(t.TempDir(), "other-marker")
	if err := os.WriteFile(other, []byte("a marker of another host"), 0o444); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts Options
		h    hooks
	}{
		{"forced", Options{Delivery: DeliverVolume}, hooks{}},
		{"bind source missing", Options{}, hooks{bindSource: func(p string) string { return "/nonexistent-reprise-test" + p }}},
		{"other marker", Options{}, hooks{bindSource: func(p string) string {
			if strings.Contains(p, ".reprise-bind-probe-") {
				return other
			}
			return p
		}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Client = cli
			r, err := New(context.Background(), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			r.hooks = c.h
			if got := startAndCheck(t, cli, r, spec, DeliveredVolume, want, input); !bytes.Equal(got, ref) {
				t.Errorf("pinned run through the volume %s, by bind mounts %s", got, ref)
			}
			clean(t, cli)
		})
	}
}

// startAndCheck starts spec, checks its delivery, components, environment
// and mounts, returns the pinned run's answer and closes the session.
func startAndCheck(t *testing.T, cli *client.Client, r *Runner, spec runners.Spec, delivery string, want map[string]map[string]string, input []byte) []byte {
	t.Helper()
	s, err := r.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	info := s.Info()
	if info.Delivery != delivery {
		t.Errorf("delivered by %q, want %q", info.Delivery, delivery)
	}
	raw := pinnedRun(t, s, input)
	insp, err := cli.ContainerInspect(context.Background(), info.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, files := range want {
		p := runners.ContainerComponentsDir + "/" + name
		if env := runners.ComponentEnv(name) + "=" + p; !slices.Contains(insp.Container.Config.Env, env) {
			t.Errorf("the container's environment lacks %s: %v", env, insp.Container.Config.Env)
		}
		if got := readBack(t, cli, info.ContainerID, p); !mapsEqual(got, files) {
			t.Errorf("component %s in the container: %v, want %v", name, got, files)
		}
	}
	for _, m := range insp.Container.Mounts {
		if m.RW {
			t.Errorf("mount %s (%s) is writable", m.Destination, m.Type)
		}
		if delivery == DeliveredVolume && m.Type == "bind" {
			t.Errorf("a bind mount %s → %s with volume delivery", m.Source, m.Destination)
		}
	}
	if probe := runProbe(t, s); probe["write_reprise"] == "ok" {
		t.Error("/reprise is writable")
	}
	return raw
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestDeliveryCleanup: with volume delivery nothing is left after a system
// that crashes, a fill that fails (a component holds a symbolic link),
// a Start cancelled during the fill and at many other points.
func TestDeliveryCleanup(t *testing.T) {
	cli, spec, input, _ := componentSpec(t)
	r, err := New(context.Background(), Options{Client: cli, Delivery: DeliverVolume})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("crash", func(t *testing.T) {
		crash := spec
		crash.Env = map[string]string{"REPRISE_FIXTURE_CRASH_AFTER": "0"}
		s, err := r.Start(context.Background(), crash)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(context.Background(), runners.Request{Input: input}); !errors.Is(err, runners.ErrCrashed) {
			t.Errorf("run: %v, want a crash", err)
		}
		s.Close(context.Background())
		clean(t, cli)
	})
	t.Run("fill fails", func(t *testing.T) {
		bad := spec
		link := filepath.Join(t.TempDir(), "linked")
		os.MkdirAll(link, 0o755)
		if err := os.Symlink("/etc/passwd", filepath.Join(link, "passwd")); err != nil {
			t.Fatal(err)
		}
		bad.Components = map[string]string{"linked": link}
		_, err := r.Start(context.Background(), bad)
		if !errors.Is(err, runners.ErrInvalidSpec) || !strings.Contains(err.Error(), "passwd") {
			t.Errorf("err = %v, want an invalid spec naming the link", err)
		}
		clean(t, cli)
	})
	t.Run("cancelled while filling", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rc := *r
		rc.hooks.filling = cancel
		if _, err := rc.Start(ctx, spec); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		clean(t, cli)
	})
	t.Run("cancelled", func(t *testing.T) {
		interruptStarts(t, r, spec, 0, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500)
		clean(t, cli)
	})
}

// TestLeftoverVolumes: the volume of a session whose owner is gone (its
// lease released, as when the process is killed) is removed by
// RemoveLeftovers with its container; a live session's volume is kept.
func TestLeftoverVolumes(t *testing.T) {
	cli, img := fixture(t)
	t.Cleanup(func() { clean(t, cli) })
	key, value := testLabel(t)
	r, err := New(context.Background(), Options{Client: cli, Delivery: DeliverVolume})
	if err != nil {
		t.Fatal(err)
	}
	spec := fixtureSpec(t, img, runners.Spec{Labels: map[string]string{key: value}})
	live, err := r.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close(context.Background())
	dead, err := r.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	ds := dead.(*session)
	ds.lease.Release()
	removed, err := removeLeftovers(context.Background(), cli, false, []string{key + "=" + value})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, "volume "+ds.volume) || !slices.Contains(removed, ds.id) {
		t.Errorf("removed %v, want the dead session's container %s and volume %s", removed, short(ds.id), ds.volume)
	}
	if ls := live.(*session); slices.Contains(removed, "volume "+ls.volume) || slices.Contains(removed, ls.id) {
		t.Errorf("removed %v: the live session's", removed)
	}
	dead.Close(context.Background())
}

// TestTmpfsHint: a system whose stderr says a write found no space (as
// Ollama's does when the model it copies onto /tmp does not fit) gets an
// error naming the tmpfs size and --tmpfs-size; one that does not, none.
func TestTmpfsHint(t *testing.T) {
	for _, c := range []struct {
		stderr []string
		want   bool
	}{
		{[]string{"Error: write /tmp/ollama/blobs/sha256-1f: no space left on device\n"}, true},
		{[]string{"OSError: [Errno 28] No space left", " on device: '/tmp/hf'\n"}, true}, // split across writes
		{[]string{"loading model\n", "ready\n"}, false},
	} {
		s := &session{lim: withDefaults(runners.Limits{TmpfsBytes: 64 << 20}), nospace: watcher{pat: noSpace}, threads: watcher{pat: threadFailures}}
		for _, w := range c.stderr {
			s.nospace.Write([]byte(w))
		}
		h := s.hints()
		if got := strings.Contains(h, "--tmpfs-size") && strings.Contains(h, "64 MiB"); got != c.want {
			t.Errorf("stderr %q: hint %q, want one naming --tmpfs-size and 64 MiB: %v", c.stderr, h, c.want)
		}
	}
}

// TestDeliveryHTTP: an HTTP system (the fixture text server) given its
// model and a component through a volume answers a pinned request as by
// bind mounts, and its container, network and volume are removed.
func TestDeliveryHTTP(t *testing.T) {
	cli, img := textFixture(t)
	t.Cleanup(func() { clean(t, cli) })
	comps, want := components(t)
	spec := textSpec(t, img, nil)
	spec.Components = comps
	var answers [2][]byte
	for i, d := range []Delivery{DeliverAuto, DeliverVolume} {
		r, err := New(context.Background(), Options{Client: cli, Delivery: d})
		if err != nil {
			t.Fatal(err)
		}
		s, err := r.Start(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		info := s.Info()
		if wantD := []string{DeliveredBind, DeliveredVolume}[i]; info.Delivery != wantD {
			t.Errorf("delivered by %q, want %q", info.Delivery, wantD)
		}
		if got := readBack(t, cli, info.ContainerID, runners.ContainerComponentsDir+"/index"); !mapsEqual(got, want["index"]) {
			t.Errorf("component index: %v, want %v", got, want["index"])
		}
		resp, err := s.Run(context.Background(), chatReq(42))
		if err != nil {
			t.Fatal(err)
		}
		answers[i] = spec.Codec.Canonical(resp.Raw)
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
		clean(t, cli)
		noOwnedNetworks(t, cli)
	}
	if !bytes.Equal(answers[0], answers[1]) {
		t.Errorf("pinned answer by bind mounts %s, through a volume %s", answers[0], answers[1])
	}
}

// TestTmpfsFull: a real system that fills the /tmp tmpfs (testdata/filltmp,
// FROM scratch) fails with an error that names the tmpfs size and
// --tmpfs-size, and nothing is left.
func TestTmpfsFull(t *testing.T) {
	cli, _ := fixture(t)
	t.Cleanup(func() { clean(t, cli) })
	id := buildFillTmp(t, cli)
	r := newRunner(t, cli)
	s, err := r.Start(context.Background(), runners.Spec{Image: mustRef(t, id), Codec: jsonl.Codec{},
		Limits: runners.Limits{TmpfsBytes: 8 << 20}, StartTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	_, err = s.Run(context.Background(), runners.Request{Input: []byte(`{}`)})
	if !errors.Is(err, runners.ErrCrashed) {
		t.Fatalf("run: %v, want a crash", err)
	}
	t.Logf("error: %v", err)
	for _, w := range []string{"no space left on device", "8 MiB", "--tmpfs-size"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// buildFillTmp builds testdata/filltmp into a FROM-scratch image (removed
// when the test ends) and returns its id.
func buildFillTmp(t *testing.T, cli *client.Client) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "filltmp")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./runners/docker/testdata/filltmp")
	cmd.Dir = root()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build filltmp: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY filltmp /filltmp\nUSER 65534:65534\nENTRYPOINT [\"/filltmp\"]\n")}, {"filltmp", 0o755, data}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg})
		tw.Write(f.data)
	}
	tw.Close()
	_, value := testLabel(t)
	res, err := cli.ImageBuild(context.Background(), &buf, client.ImageBuildOptions{Remove: true, ForceRemove: true,
		Labels: map[string]string{"reprise.test": value}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var id string
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string
			Aux   struct{ ID string }
		}
		if err := dec.Decode(&msg); err != nil {
			break
		}
		if msg.Error != "" {
			t.Fatal(msg.Error)
		}
		if msg.Aux.ID != "" {
			id = msg.Aux.ID
		}
	}
	if id == "" {
		t.Fatal("the build reported no image id")
	}
	t.Cleanup(func() { cli.ImageRemove(context.Background(), id, client.ImageRemoveOptions{Force: true}) })
	return id
}
