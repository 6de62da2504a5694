package launch

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
)

// modeBlobs copies fixed bytes, creating the file as a store would (its
// mode subject to the umask).
type modeBlobs struct{ fail bool }

func (b modeBlobs) Materialize(_ context.Context, d digest.Digest, dst string) error {
	if b.fail {
		return errors.New("corrupt")
	}
	return os.WriteFile(dst, []byte(d.String()), 0o444)
}

// modeRunner records the spec it was given and what it saw on disk.
type modeRunner struct {
	spec            runners.Spec
	dirMode, fModes []os.FileMode
	err             error
}

func (r *modeRunner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	r.spec = spec
	di, _ := os.Stat(filepath.Dir(spec.ModelPath))
	r.dirMode = append(r.dirMode, di.Mode().Perm())
	for _, p := range []string{spec.ModelPath, spec.ConfigPath} {
		fi, _ := os.Stat(p)
		r.fModes = append(r.fModes, fi.Mode().Perm())
	}
	if r.err != nil {
		return nil, r.err
	}
	return fakeSession{}, nil
}

func modeTarget(t *testing.T) Target {
	return zeroTarget(t, digest.FromBytes([]byte("model")), digest.FromBytes([]byte("config")), nil)
}

// zeroTarget is the sealed system of image sha256:0…0, model m 1 and config
// c 1 of digests model and config, and components, on jsonl-stdio and
// class cpu/amd64/x.
func zeroTarget(t *testing.T, model, config digest.Digest, components map[string]digest.Digest) Target {
	t.Helper()
	img, err := system.ParseImageRef("sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	sys := system.System{Image: img,
		Model:      system.Artifact{Name: "m", Version: "1", Digest: model},
		Config:     system.Artifact{Name: "c", Version: "1", Digest: config},
		Components: components}
	sys.Seal()
	return Target{System: sys, Protocol: "jsonl-stdio", HardwareClass: "cpu/amd64/x"}
}

// TestCopiesModesIgnoreUmask: with umask 077 the copies are still readable
// by the sandbox user (0o444) and the folder is the owner's only (0o700),
// named with the owner's pid; it is gone after Close and after a failed
// start.
func TestCopiesModesIgnoreUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	r := &modeRunner{}
	opts := Options{HostClass: "cpu/amd64/x", WorkDir: dir}
	s, err := Start(context.Background(), modeBlobs{}, modeTarget(t), r, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.dirMode[0] != WorkDirMode || r.fModes[0] != WorkFileMode || r.fModes[1] != WorkFileMode {
		t.Fatalf("modes: dir %v, files %v; want %v and %v", r.dirMode, r.fModes, WorkDirMode, WorkFileMode)
	}
	work := filepath.Dir(r.spec.ModelPath)
	if want := WorkDirPrefix + strconv.Itoa(os.Getpid()) + "-"; !strings.HasPrefix(filepath.Base(work), want) {
		t.Fatalf("work dir %s does not start with %s", work, want)
	}
	s.Close(context.Background())
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Fatalf("work dir left after Close: %v", err)
	}
	// Failed starts leave nothing either.
	for _, c := range []struct {
		blobs Blobs
		r     *modeRunner
	}{{modeBlobs{fail: true}, &modeRunner{}}, {modeBlobs{}, &modeRunner{err: runners.ErrCrashed}}} {
		if _, err := Start(context.Background(), c.blobs, modeTarget(t), c.r, opts); err == nil {
			t.Fatal("started")
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left after failed starts: %v", left)
	}
}

func TestRemoveOrphans(t *testing.T) {
	dir := t.TempDir()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Skip(err)
	}
	dead := c.Process.Pid
	mk := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(p, "model"), []byte("x"), 0o444)
		return p
	}
	orphan := mk(WorkDirPrefix + strconv.Itoa(dead) + "-123")
	live := mk(WorkDirPrefix + strconv.Itoa(os.Getpid()) + "-456")
	oldStyle := mk(WorkDirPrefix + "789")
	other := mk("something-else")
	home := mk("reprise-home-" + strconv.Itoa(dead) + "-7")
	removed, err := RemoveOrphans(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != orphan {
		t.Fatalf("removed %v, want [%s]", removed, orphan)
	}
	// With the process runner's prefix too, its orphaned home goes.
	removed, err = RemoveOrphans(dir, WorkDirPrefix, "reprise-home-")
	if err != nil || len(removed) != 1 || removed[0] != home {
		t.Fatalf("removed %v (%v), want [%s]", removed, err, home)
	}
	for _, p := range []string{live, oldStyle, other} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed: %v", p, err)
		}
	}
}
