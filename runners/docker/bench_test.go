package docker

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
)

// bigTree writes a model tree of n files of size bytes each (seeded
// bytes), as a sharded checkpoint is.
func bigTree(b *testing.B, n int, size int64) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "weights")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{20})
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, n)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyN(f, rng, size); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkStartup1GB: the start-up of a system given a 1 GiB model tree
// (4 shards of 256 MiB, as a component beside the fixture's model and
// config), from the call to the first answer: reprise's docker runner
// (bind mounts, proven by the probe), `docker run -i --rm --network none`
// with the same bind mounts (create, attach, start, one request), and
// reprise's volume delivery (the tree copied through the engine). The three
// are interleaved, their order rotated every iteration; the figures are
// ms per start (bind-ms, dockerrun-ms, volume-ms) and bind/dockerrun.
// Removal is not counted.
func BenchmarkStartup1GB(b *testing.B) {
	cli, img := fixture(b)
	model, config, input := fixturePaths(b)
	tree := bigTree(b, 4, 256<<20)
	spec := fixtureSpec(b, img, runners.Spec{Components: map[string]string{"weights": tree}})
	bind, err := New(context.Background(), Options{Client: cli})
	if err != nil {
		b.Fatal(err)
	}
	vol, err := New(context.Background(), Options{Client: cli, Delivery: DeliverVolume})
	if err != nil {
		b.Fatal(err)
	}
	reprise := func(r *Runner, want string) time.Duration {
		began := time.Now()
		s, err := r.Start(context.Background(), spec)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(context.Background())
		if _, err := s.Run(context.Background(), runners.Request{Input: input}); err != nil {
			b.Fatal(err)
		}
		took := time.Since(began)
		if got := s.Info().Delivery; got != want {
			b.Fatalf("delivered by %s, want %s", got, want)
		}
		return took
	}
	plain := func() time.Duration { return dockerRun(b, cli, img.ID, model, config, tree, input) }
	runs := []func() time.Duration{
		func() time.Duration { return reprise(bind, DeliveredBind) }, plain, func() time.Duration { return reprise(vol, DeliveredVolume) },
	}
	var total [3]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range runs {
			j := (i + k) % len(runs)
			total[j] += runs[j]()
		}
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / n }
	b.ReportMetric(ms(total[0]), "bind-ms")
	b.ReportMetric(ms(total[1]), "dockerrun-ms")
	b.ReportMetric(ms(total[2]), "volume-ms")
	b.ReportMetric(float64(total[0])/float64(total[1]), "bind/dockerrun")
	b.ReportMetric(float64(total[2])/float64(total[1]), "volume/dockerrun")
}

// dockerRun is `docker run -i --rm --network none -v model -v config -v
// tree` through the API, timed from the create to the first answer line.
func dockerRun(b *testing.B, cli *client.Client, imageID, model, config, tree string, input []byte) time.Duration {
	ctx := context.Background()
	began := time.Now()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: imageID, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
			Env: []string{runners.ModelEnv + "=/m", runners.ConfigEnv + "=/c", "W=/w"}, Labels: map[string]string{runners.Label: "1", LabelPID: fmt.Sprint(os.Getpid())}},
		HostConfig: &container.HostConfig{NetworkMode: "none", Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: model, Target: "/m", ReadOnly: true},
			{Type: mount.TypeBind, Source: config, Target: "/c", ReadOnly: true},
			{Type: mount.TypeBind, Source: tree, Target: "/w", ReadOnly: true},
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer Remove(ctx, cli, created.ID)
	att, err := cli.ContainerAttach(ctx, created.ID, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		b.Fatal(err)
	}
	defer att.Close()
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		b.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() { _, err := stdcopy.StdCopy(pw, io.Discard, att.Reader); pw.CloseWithError(err) }()
	line, err := jsonl.Codec{}.Encode(runners.Request{ID: "r0", Input: input})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := att.Conn.Write(append(line, '\n')); err != nil {
		b.Fatal(err)
	}
	if _, err := bufio.NewReader(pr).ReadBytes('\n'); err != nil {
		b.Fatal(err)
	}
	return time.Since(began)
}
