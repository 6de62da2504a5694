package launch

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
)

// memBlobs hands out copies of in-memory blobs, verifying as the store does.
type memBlobs map[digest.Digest][]byte

func (m memBlobs) Materialize(_ context.Context, d digest.Digest, dst string) error {
	b, ok := m[d]
	if !ok {
		return errors.New(d.String() + ": not found")
	}
	if digest.FromBytes(b) != d {
		return errors.New(d.String() + ": corrupt")
	}
	return os.WriteFile(dst, b, 0o444)
}

type fakeRunner struct {
	spec  runners.Spec
	fail  error
	model []byte
}

func (f *fakeRunner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	f.spec = spec
	if f.fail != nil {
		return nil, f.fail
	}
	f.model, _ = os.ReadFile(spec.ModelPath)
	return fakeSession{}, nil
}

// fakeSession answers "approved" for an even seed, "denied" for an odd one,
// as a jsonl-stdio system would.
type fakeSession struct{}

func (fakeSession) Run(_ context.Context, req runners.Request) (runners.Response, error) {
	l := "approved"
	if req.Params.Seed != nil && *req.Params.Seed%2 != 0 {
		l = "denied"
	}
	o := output.Output{Label: &l}
	return runners.Response{Output: o, Raw: o.Canonical()}, nil
}
func (fakeSession) Info() runners.Info          { return runners.Info{Runner: "fake", Pinned: true} }
func (fakeSession) Close(context.Context) error { return nil }

const hw = "cpu/amd64/x86-64-v3"

func target(t *testing.T) (memBlobs, Target) {
	m, c := []byte("model bytes"), []byte(`{"temperature": 1}`)
	blobs := memBlobs{digest.FromBytes(m): m, digest.FromBytes(c): c}
	sys := system.System{
		Image:  system.ImageRef{Digest: digest.FromBytes([]byte("image"))},
		Model:  system.Artifact{Name: "m", Version: "1", Digest: digest.FromBytes(m)},
		Config: system.Artifact{Name: "c", Version: "1", Digest: digest.FromBytes(c)},
	}
	sys.Seal()
	return blobs, Target{System: sys, Protocol: "jsonl-stdio", HardwareClass: hw, Labels: map[string]string{"k": "v"}}
}

func TestStartHandsOverVerifiedCopiesAndRemovesThem(t *testing.T) {
	blobs, tg := target(t)
	work := t.TempDir()
	r := &fakeRunner{}
	s, err := Start(context.Background(), blobs, tg, r, Options{HostClass: hw, WorkDir: work, Env: map[string]string{"A": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.model) != "model bytes" || r.spec.Codec == nil || r.spec.Codec.Name() != "jsonl-stdio" ||
		r.spec.Image != tg.System.Image || r.spec.Env["A"] != "1" || r.spec.Labels["k"] != "v" || s.HardwareOverride {
		t.Fatalf("spec %+v, model %q", r.spec, r.model)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Fatalf("work dir not removed: %v", left)
	}
}

func TestStartRefuses(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*memBlobs, *Target, *Options, *fakeRunner)
		want error
		msg  string
	}{
		{"hardware mismatch", func(_ *memBlobs, _ *Target, o *Options, _ *fakeRunner) { o.HostClass = "cpu/arm64/armv8.2" }, ErrHardwareMismatch, "--allow-hardware-mismatch"},
		{"system id", func(_ *memBlobs, tg *Target, _ *Options, _ *fakeRunner) {
			tg.System.Model.Version = "2"
			tg.System.Config.Digest = digest.FromBytes([]byte("x"))
		}, system.ErrIDMismatch, "computed"},
		{"unsupported protocol", func(_ *memBlobs, tg *Target, _ *Options, _ *fakeRunner) { tg.Protocol = "grpc-v2" }, runners.ErrUnsupported, "grpc-v2"},
		{"corrupt model", func(b *memBlobs, tg *Target, _ *Options, _ *fakeRunner) {
			(*b)[tg.System.Model.Digest] = []byte("swapped")
		}, ErrArtifact, "model"},
		{"runner fails", func(_ *memBlobs, _ *Target, _ *Options, r *fakeRunner) { r.fail = runners.ErrEngine }, runners.ErrEngine, "start sha256:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blobs, tg := target(t)
			work := t.TempDir()
			opts := Options{HostClass: hw, WorkDir: work}
			r := &fakeRunner{}
			c.mod(&blobs, &tg, &opts, r)
			_, err := Start(context.Background(), blobs, tg, r, opts)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, c.want, c.msg)
			}
			if left, _ := os.ReadDir(work); len(left) != 0 {
				t.Fatalf("copies left behind: %v", left)
			}
		})
	}
}

func TestHardwareOverride(t *testing.T) {
	blobs, tg := target(t)
	s, err := Start(context.Background(), blobs, tg, &fakeRunner{}, Options{HostClass: "cpu/arm64/armv8.2", AllowHardwareMismatch: true, WorkDir: t.TempDir()})
	if err != nil || !s.HardwareOverride {
		t.Fatalf("override: %v %+v", err, s)
	}
	s.Close(context.Background())
}
