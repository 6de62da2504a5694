package docker

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/fixtures/image"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
)

func testLabel(t *testing.T) (key, value string) {
	name, err := containerName()
	if err != nil {
		t.Fatal(err)
	}
	return "reprise.test", strings.TrimPrefix(name, "reprise-")
}

// labelled lists the containers (any state) with label key=value.
func labelled(t *testing.T, cli *client.Client, key, value string) []string {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", key+"="+value)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list.Items {
		ids = append(ids, c.ID)
	}
	return ids
}

// interruptStarts starts spec once for each delay, cancelling Start after
// that many milliseconds: each Start either succeeds (its session is closed)
// or fails with context.Canceled, never an engine error, and at least one is
// interrupted. It waits a second for a create the engine finishes late.
func interruptStarts(t *testing.T, r *Runner, spec runners.Spec, delaysMS ...time.Duration) {
	t.Helper()
	n := 0
	for _, delay := range delaysMS {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(delay*time.Millisecond, cancel)
		s, err := r.Start(ctx, spec)
		if err == nil {
			s.Close(context.Background())
		} else if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled after %dms: err = %v, want context.Canceled", delay, err)
		} else {
			n++
		}
		cancel()
	}
	if n == 0 {
		t.Error("no Start was interrupted")
	}
	time.Sleep(time.Second) // a create the engine finishes late would show up now
}

// TestStartCancelled interrupts Start at many points, creation included
// (issue 8, item 7): no container is left and the error is
// context.Canceled, never an engine error.
func TestStartCancelled(t *testing.T) {
	cli, img := fixture(t)
	r := newRunner(t, cli)
	key, value := testLabel(t)
	interruptStarts(t, r, fixtureSpec(t, img, runners.Spec{Labels: map[string]string{key: value}}), 0, 1, 2, 3, 5, 8, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300)
	time.Sleep(time.Second) // a create the engine finishes late would show up now
	if ids := labelled(t, cli, key, value); len(ids) > 0 {
		t.Errorf("%d container(s) left after interrupted starts: %v", len(ids), ids)
		for _, id := range ids {
			Remove(context.Background(), cli, id)
		}
	}
}

// TestImageVolumeReadOnly: an image VOLUME gives no writable disk (item 9).
func TestImageVolumeReadOnly(t *testing.T) {
	cli, _ := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	ctx := context.Background()
	_, value := testLabel(t)
	img, err := image.Build(ctx, cli, image.Options{Tag: "reprise-fixture/loan:volume-" + value, Volumes: []string{"/data", "/var/cache/model"},
		Labels: map[string]string{"reprise.test": value}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true})
	s, err := newRunner(t, cli).Start(ctx, fixtureSpec(t, img, runners.Spec{Env: map[string]string{"REPRISE_FIXTURE_PROBE_WRITE": "/data,/var/cache/model,/tmp"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	probe := runProbe(t, s)
	for _, dir := range []string{"/data", "/var/cache/model"} {
		if probe["write:"+dir] == "ok" || probe["write:"+dir] == "" {
			t.Errorf("the image VOLUME %s is writable: %q", dir, probe["write:"+dir])
		}
	}
	if probe["write:/tmp"] != "ok" {
		t.Errorf("/tmp is not writable: %q", probe["write:/tmp"])
	}
	insp, err := cli.ContainerInspect(ctx, s.Info().ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range insp.Container.Mounts {
		if m.Type == "volume" || m.RW {
			t.Errorf("mount %s: type %s, writable %v", m.Destination, m.Type, m.RW)
		}
	}
}

func runProbe(t *testing.T, s runners.Session) map[string]string {
	t.Helper()
	resp, err := s.Run(context.Background(), runners.Request{Input: json.RawMessage(`{"probe": true}`)})
	if err != nil {
		t.Fatal(err)
	}
	var probe map[string]string
	if resp.Output.Text == nil || json.Unmarshal([]byte(*resp.Output.Text), &probe) != nil {
		t.Fatalf("probe answered %q", resp.Raw)
	}
	return probe
}

// TestSandboxSettings: the log configuration is bounded (item 14), /tmp
// has the size asked for and HOME is /tmp (item 18).
func TestSandboxSettings(t *testing.T) {
	cli, img := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	s, err := newRunner(t, cli).Start(context.Background(), fixtureSpec(t, img, runners.Spec{Limits: runners.Limits{TmpfsBytes: 96 << 20}}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if probe := runProbe(t, s); probe["home"] != "/tmp" || probe["write_tmp"] != "ok" {
		t.Errorf("HOME = %q, write_tmp = %q; want /tmp, ok", probe["home"], probe["write_tmp"])
	}
	insp, err := cli.ContainerInspect(context.Background(), s.Info().ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := insp.Container.HostConfig
	if hc.LogConfig.Type != "none" {
		t.Errorf("log config %+v, want none (reprise reads stdio through attach)", hc.LogConfig)
	}
	if tmp := hc.Tmpfs["/tmp"]; !strings.Contains(tmp, "size="+strconv.Itoa(96<<20)) || !strings.Contains(tmp, "noexec") {
		t.Errorf("/tmp tmpfs %q, want noexec and 96 MiB", tmp)
	}
	if s.Info().Source != "local" {
		t.Errorf("Info.Source = %q, want local", s.Info().Source)
	}
}

// TestLimitMessages: a container killed by a limit says which limit, its
// value and its flag (item 16).
func TestLimitMessages(t *testing.T) {
	cli, img := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	_, _, input := fixturePaths(t)
	r := newRunner(t, cli)
	cases := []struct {
		name string
		lim  runners.Limits
		env  map[string]string
		want []string
	}{
		{"memory", runners.Limits{MemoryBytes: 32 << 20}, map[string]string{"REPRISE_FIXTURE_ALLOC_MB": "256"},
			[]string{"out of memory", "32 MiB", "--memory"}},
		{"pids", runners.Limits{Pids: 16}, map[string]string{"REPRISE_FIXTURE_THREADS": "64"},
			[]string{"--pids 16", "raise it with --pids"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := r.Start(context.Background(), fixtureSpec(t, img, runners.Spec{Limits: c.lim, Env: c.env, StartTimeout: 20 * time.Second}))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			_, err = s.Run(context.Background(), runners.Request{Input: input})
			if err == nil {
				t.Fatal("the run succeeded beyond its limit")
			}
			if errors.Is(err, runners.ErrTimeout) {
				t.Errorf("a limit looks like a timeout: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestStartTimeout: run 0 (start-up included) has its own timeout (item 15).
func TestStartTimeout(t *testing.T) {
	cli, img := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	_, _, input := fixturePaths(t)
	r := newRunner(t, cli)
	s, err := r.Start(context.Background(), fixtureSpec(t, img, runners.Spec{Env: map[string]string{"REPRISE_FIXTURE_HANG_AFTER": "0"}, StartTimeout: time.Second, RunTimeout: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	begin := time.Now()
	_, err = s.Run(context.Background(), runners.Request{Input: input})
	if !errors.Is(err, runners.ErrTimeout) || !strings.Contains(err.Error(), "start timeout") || time.Since(begin) > 10*time.Second {
		t.Fatalf("err = %v after %s, want the start timeout of 1s", err, time.Since(begin))
	}

	s2, err := r.Start(context.Background(), fixtureSpec(t, img, runners.Spec{}))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close(context.Background())
	if _, err := s2.Run(context.Background(), runners.Request{Input: input}); err != nil {
		t.Fatal(err)
	}
	if st := s2.Info().Startup; st <= 0 || st > time.Minute {
		t.Errorf("Info.Startup = %s after the first answer", st)
	}
}

// TestGPUClassOnCPUHost: a gpu/nvidia record on a host without NVIDIA
// support says what is missing (item 21).
func TestGPUClassOnCPUHost(t *testing.T) {
	cli, img := fixture(t)
	t.Cleanup(func() { noLeftovers(t, cli) })
	info, err := cli.Info(context.Background(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.Info.Runtimes["nvidia"]; ok {
		t.Skip("this engine has the nvidia runtime: a GPU class starts here")
	}
	_, err = newRunner(t, cli).Start(context.Background(), fixtureSpec(t, img, runners.Spec{HardwareClass: "gpu/nvidia/test"}))
	if !errors.Is(err, runners.ErrUnsupported) || errors.Is(err, runners.ErrEngine) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	for _, w := range []string{"gpu/nvidia/test", "NVIDIA GPUs", "no nvidia"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// TestOffline: --offline never contacts a registry (item 24). The registry
// named is blackholed (TEST-NET-1): a pull would hang, not fail fast.
func TestOffline(t *testing.T) {
	cli, img := fixture(t)
	r, err := New(context.Background(), Options{Client: cli, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ref := mustRef(t, "192.0.2.1:5000/reprise/absent@"+randomDigest())
	begin := time.Now()
	_, err = r.Start(ctx, runners.Spec{Image: ref, Codec: jsonl.Codec{}})
	if !errors.Is(err, runners.ErrImageUnavailable) || !strings.Contains(err.Error(), "offline") || !strings.Contains(err.Error(), "192.0.2.1:5000/reprise/absent@") {
		t.Fatalf("err = %v, want ErrImageUnavailable naming the image and offline", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("offline Start took %s: it contacted the registry", d)
	}
	// A local image still starts offline.
	s, err := r.Start(context.Background(), fixtureSpec(t, img, runners.Spec{}))
	if err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	noLeftovers(t, cli)
}

// TestLeases: clean removes a container whose lease is stale and keeps one
// whose lease is fresh, whatever its pid (item 25); a session holds a lease
// while open and drops it on Close.
func TestLeases(t *testing.T) {
	cli, img := fixture(t)
	ctx := context.Background()
	key, value := testLabel(t)
	dirID, err := leaseDirID()
	if err != nil {
		t.Fatal(err)
	}
	// mk makes a container whose lease is age old (none if age < 0), held
	// by this process if held.
	leases := map[string]string{}
	mk := func(age time.Duration, held bool) string {
		name, _ := containerName()
		labels := map[string]string{runners.Label: "1", key: value, LabelHost: hostname(),
			LabelPID: strconv.Itoa(os.Getpid()), LabelLease: dirID + "/" + name}
		c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: &container.Config{Image: img.ID, Labels: labels}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { Remove(ctx, cli, c.ID) })
		if age >= 0 {
			p := filepath.Join(LeaseDir(), name)
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			t.Cleanup(func() { os.Remove(p) })
			if held {
				l, err := journal.Lock(p)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Release() })
			}
			then := time.Now().Add(-age)
			os.Chtimes(p, then, then)
			leases[c.ID] = p
		}
		return c.ID
	}
	// The pid label names this live process: clean no longer trusts it.
	stale, missing, unlocked, fresh := mk(time.Minute, true), mk(-1, false), mk(0, false), mk(0, true)
	removed, err := removeLeftovers(ctx, cli, false, []string{key + "=" + value})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{stale, missing, unlocked}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want the stale, missing and unlocked leases %v", removed, want)
	}
	if _, err := os.Stat(leases[stale]); !os.IsNotExist(err) {
		t.Errorf("the removed container's lease file is kept: %v", err)
	}
	if left := labelled(t, cli, key, value); !slices.Equal(left, []string{fresh}) {
		t.Errorf("left %v, want the fresh lease %s", left, fresh)
	}

	s, err := newRunner(t, cli).Start(ctx, fixtureSpec(t, img, runners.Spec{}))
	if err != nil {
		t.Fatal(err)
	}
	lease := filepath.Join(LeaseDir(), s.(*session).name)
	if _, err := os.Stat(lease); err != nil {
		t.Errorf("open session without a lease: %v", err)
	}
	s.Close(ctx)
	if _, err := os.Stat(lease); !os.IsNotExist(err) {
		t.Errorf("lease kept after Close: %v", err)
	}
}
