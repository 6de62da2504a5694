package launch

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/store/storetest"
)

// treeRunner records the spec and what the paths held when it started.
type treeRunner struct {
	spec  runners.Spec
	files map[string]string      // path under the session folder → content
	modes map[string]fs.FileMode // the same paths (and folders) → mode
}

func (r *treeRunner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	r.spec, r.files, r.modes = spec, map[string]string{}, map[string]fs.FileMode{}
	work := filepath.Dir(spec.ModelPath)
	filepath.WalkDir(work, func(p string, de fs.DirEntry, err error) error {
		if err != nil || p == work {
			return nil
		}
		rel, _ := filepath.Rel(work, p)
		fi, _ := os.Lstat(p)
		r.modes[rel] = fi.Mode()
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			r.files[rel] = string(b)
		}
		return nil
	})
	return fakeSession{}, nil
}

// treeTarget puts a model tree, a config file and two components (a tree
// and a file) into a Mem store and returns the target.
func treeTarget(t *testing.T, st *store.Mem) Target {
	t.Helper()
	ctx := context.Background()
	mk := func(files map[string]string) string { return storetest.WriteTree(t, files) }
	model, err := store.PutTree(ctx, st, mk(map[string]string{"config.json": "{}", "shards/1.bin": "one", "shards/2.bin": "two"}), "m")
	if err != nil {
		t.Fatal(err)
	}
	index, err := store.PutTree(ctx, st, mk(map[string]string{"docs/0.txt": "doc zero"}), "index")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := st.PutBytes(ctx, []byte(`{"t":1}`), store.Meta{})
	prompt, _ := st.PutBytes(ctx, []byte("Answer: {q}"), store.Meta{})
	return zeroTarget(t, model, cfg, map[string]digest.Digest{"index": index, "prompt": prompt})
}

// TestStartMaterializesTreesAndComponents: the runner gets the model tree,
// the config and every component as host paths, verified, readable by any
// user (folders 0555, files 0444) whatever the umask, and Close removes
// them all.
func TestStartMaterializesTreesAndComponents(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	st := store.NewMem()
	target := treeTarget(t, st)
	dir := t.TempDir()
	r := &treeRunner{}
	s, err := Start(context.Background(), st, target, r, Options{HostClass: "cpu/amd64/x", WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Dir(r.spec.ModelPath)
	want := map[string]string{
		"model/config.json": "{}", "model/shards/1.bin": "one", "model/shards/2.bin": "two",
		"config": `{"t":1}`, "components/index/docs/0.txt": "doc zero", "components/prompt": "Answer: {q}",
	}
	for p, c := range want {
		if r.files[p] != c || r.modes[p] != WorkFileMode {
			t.Errorf("%s: %q mode %v; want %q mode %v", p, r.files[p], r.modes[p], c, WorkFileMode)
		}
	}
	if len(r.files) != len(want) {
		t.Errorf("files %v, want %v", r.files, want)
	}
	for _, p := range []string{"model", "model/shards", "components", "components/index", "components/index/docs"} {
		if r.modes[p] != fs.ModeDir|WorkTreeMode {
			t.Errorf("%s: mode %v, want %v", p, r.modes[p], fs.ModeDir|WorkTreeMode)
		}
	}
	wantComps := map[string]string{"index": filepath.Join(work, "components", "index"), "prompt": filepath.Join(work, "components", "prompt")}
	if len(r.spec.Components) != 2 || r.spec.Components["index"] != wantComps["index"] || r.spec.Components["prompt"] != wantComps["prompt"] {
		t.Fatalf("Spec.Components = %v, want %v", r.spec.Components, wantComps)
	}
	s.Close(context.Background())
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left after Close: %v", left)
	}
}

// TestStartRefusesDamagedComponent: one byte changed in a component tree's
// file is ErrArtifact naming the component and the file, and nothing is
// left behind; colliding component names never reach the runner.
func TestStartRefusesDamagedComponent(t *testing.T) {
	ctx := context.Background()
	st := store.NewMem()
	target := treeTarget(t, st)
	b, _ := st.ReadAll(ctx, target.System.Components["index"])
	tree, err := store.ParseTree(b)
	if err != nil {
		t.Fatal(err)
	}
	st.CorruptBlob(tree.Files[0].Digest)
	dir := t.TempDir()
	_, err = Start(ctx, st, target, &treeRunner{}, Options{HostClass: "cpu/amd64/x", WorkDir: dir})
	if !errors.Is(err, ErrArtifact) || !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), `component index: tree `) ||
		!strings.Contains(err.Error(), `file "docs/0.txt"`) {
		t.Fatalf("err = %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left after a failed start: %v", left)
	}

	target = treeTarget(t, store.NewMem())
	target.System.Components["a.b"] = target.System.Components["prompt"]
	target.System.Components["a-b"] = target.System.Components["prompt"]
	target.System.Seal()
	r := &treeRunner{}
	if _, err := Start(ctx, st, target, r, Options{HostClass: "cpu/amd64/x", WorkDir: dir}); !errors.Is(err, ErrComponentNames) || !errors.Is(err, runners.ErrInvalidSpec) || r.files != nil {
		t.Fatalf("colliding names: %v (runner started: %v)", err, r.files != nil)
	}
}

// TestStartRefusesEnvForComponent: an extra variable cannot replace a
// component's path.
func TestStartRefusesEnvForComponent(t *testing.T) {
	st := store.NewMem()
	r := &treeRunner{}
	_, err := Start(context.Background(), st, treeTarget(t, st), r, Options{HostClass: "cpu/amd64/x", WorkDir: t.TempDir(),
		Env: map[string]string{"REPRISE_COMPONENT_INDEX": "/elsewhere"}})
	if !errors.Is(err, runners.ErrInvalidSpec) || !strings.Contains(err.Error(), "REPRISE_COMPONENT_INDEX: reserved") || r.files != nil {
		t.Fatalf("err = %v", err)
	}
}

// TestCloseRemovesTreesAsOtherUser: as a user other than root (here 65534,
// in a copy of this test binary), a session's read-only tree folders are
// removed on Close, where a plain os.RemoveAll fails. As non-root the
// other tests run this path already.
func TestCloseRemovesTreesAsOtherUser(t *testing.T) {
	if dir := os.Getenv("REPRISE_LAUNCH_NONROOT_DIR"); dir != "" {
		nonRootHelper(t, dir)
		return
	}
	if os.Getuid() != 0 {
		t.Skip("not root: cannot start a helper as another user (the other tests already run as non-root)")
	}
	base, err := os.MkdirTemp("", "launch-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	work := filepath.Join(base, "work")
	os.Mkdir(work, 0o700)
	if err := errors.Join(os.Chmod(base, 0o755), os.Chown(work, 65534, 65534)); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "launch.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestCloseRemovesTreesAsOtherUser$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "REPRISE_LAUNCH_NONROOT_DIR="+work, "TMPDIR="+work, "HOME="+work)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestCloseRemovesTreesAsOtherUser") {
		t.Fatalf("helper as uid 65534: %v\n%s", err, out)
	}
}

func nonRootHelper(t *testing.T, dir string) {
	if os.Getuid() == 0 {
		t.Fatal("helper runs as root")
	}
	ctx := context.Background()
	st := store.NewMem()
	target := treeTarget(t, st)
	// A plain RemoveAll cannot empty a read-only folder: the test can fail.
	probe := filepath.Join(dir, "probe")
	if err := st.Materialize(ctx, target.System.Model.Digest, probe); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(probe); err == nil {
		t.Fatal("os.RemoveAll removed a read-only tree: this user is not held to modes")
	}
	if err := store.RemoveCopy(probe); err != nil {
		t.Fatal(err)
	}
	sessions := filepath.Join(dir, "sessions")
	os.Mkdir(sessions, 0o700)
	s, err := Start(ctx, st, target, &treeRunner{}, Options{HostClass: "cpu/amd64/x", WorkDir: sessions})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(sessions); len(left) != 0 {
		t.Fatalf("left after Close as uid %d: %v", os.Getuid(), left)
	}
}
