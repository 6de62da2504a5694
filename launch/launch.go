// Package launch is the one owner of session lifecycles. Start checks the
// hardware class and the system id, looks up the codec of the system's
// protocol, hands verified copies of the model, the config and every
// component (each a file or a tree) to a runner and starts one session; a
// Pool creates the runner on first need, lends sessions (one per Acquire,
// or one per system shared by any number of records) and closes them. replay, nightly, evals and capture take the
// sessions a Pool lends them and never start or close one, so every system
// runs under the same sandbox and checks.
//
// It imports the leaves (digest, system), record (FromRecord builds a
// Target from a decision record) and runners.
package launch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/runners/wire"
	"github.com/reprise-dev/reprise/system"
)

// Runner starts sessions of a pinned system. runners/docker and
// runners/process implement it.
type Runner interface {
	Start(ctx context.Context, spec runners.Spec) (runners.Session, error)
}

// Blobs is what launch needs of the artifact store: verified copies.
type Blobs interface {
	// Materialize writes artifact d to a new path dst, verifying it while
	// copying: a file, or for a tree a directory of its files (folders
	// 0555, files 0444 or 0555). On error dst is not left behind.
	Materialize(ctx context.Context, d digest.Digest, dst string) error
}

// Errors of this package.
var (
	// ErrHardwareMismatch: the target's hardware class differs from this
	// host's and no override was given.
	ErrHardwareMismatch = errors.New("hardware class mismatch")
	// ErrArtifact: the model, the config or a component could not be
	// copied out of the store verified (missing or corrupt); it wraps the
	// store's error too.
	ErrArtifact = errors.New("artifact unavailable")
	// ErrComponentNames: two component names give the same variable
	// (runners.ComponentEnv), e.g. "a-b" and "a.b". It wraps
	// runners.ErrInvalidSpec.
	ErrComponentNames = fmt.Errorf("%w: component names collide", runners.ErrInvalidSpec)
)

// CheckComponents refuses component names that map to the same variable
// runners.ComponentEnv (the system could read only one of them); the error
// wraps ErrComponentNames and names both and the variable.
func CheckComponents[V any](components map[string]V) error {
	if a, b, env, ok := runners.ComponentClash(components); ok {
		return fmt.Errorf("%w: %q and %q are both $%s: rename one", ErrComponentNames, a, b, env)
	}
	return nil
}

// Target is what to start: a composite version and how it is served.
type Target struct {
	System        system.System
	Protocol      string
	HardwareClass string
	// Labels are added to the container (e.g. the request id).
	Labels map[string]string
	// HTTP configures an HTTP protocol (the record's runtime.http).
	HTTP runners.HTTPConfig
}

// FromRecord is the target of a decision record.
func FromRecord(rec *record.Record) Target {
	return Target{
		System: rec.System, Protocol: rec.Runtime.Protocol, HardwareClass: rec.Runtime.HardwareClass,
		Labels: map[string]string{"reprise.request_id": rec.RequestID, "reprise.system_id": rec.System.ID.String()},
		HTTP:   HTTPConfig(rec.Runtime.HTTP),
	}
}

// HTTPConfig converts a record's runtime.http (nil: all defaults).
func HTTPConfig(h *record.HTTP) runners.HTTPConfig {
	if h == nil {
		return runners.HTTPConfig{}
	}
	c := runners.HTTPConfig{Port: h.Port, ModelName: h.ModelName, Path: h.Path, Logprobs: h.Logprobs, TopLogprobs: h.TopLogprobs}
	if h.LabelFrom != nil {
		c.LabelJSONPointer, c.LabelRegex = h.LabelFrom.JSONPointer, h.LabelFrom.Regex
	}
	if h.OutputMap != nil {
		c.LabelOutput, c.ScoreOutput = h.OutputMap.Label, h.OutputMap.Score
	}
	return c
}

// Options configure the session.
type Options struct {
	// HostClass is this host's hardware class; AllowHardwareMismatch
	// starts the target anyway when it differs.
	HostClass             string
	AllowHardwareMismatch bool
	Limits                runners.Limits
	StartTimeout          time.Duration // the first run, start-up included
	RunTimeout            time.Duration
	SessionTimeout        time.Duration
	// Env is extra environment for the system.
	Env map[string]string
	// NoSandbox says the runner reaches a server that already runs (the
	// endpoint runner): no limits and no environment reach the system, so
	// reports list no sandbox settings.
	NoSandbox bool
	// MaxResponseBytes bounds one response (0 = runners.DefaultMaxResponseBytes).
	MaxResponseBytes int64
	// Concurrency and Window bound the runs in flight (runners.Spec).
	Concurrency, Window int
	// WorkDir holds the per-session copies of model, config and components ("" = os.TempDir()).
	WorkDir string
	Logger  *slog.Logger
	// GPUs selects the GPUs of a gpu/nvidia target (runners.Spec.GPUs,
	// checked against the target's class by hwclass.CheckSelection).
	GPUs string
}

// Session is a started system: the runner's session, the codec it speaks,
// and whether the hardware class was overridden. Close releases everything.
type Session struct {
	runners.Session
	Codec runners.Codec
	// HardwareOverride is true when the host's class differs from the
	// target's and the override allowed it.
	HardwareOverride bool
	work             string
	// pool and from are set on a session lent from a sharing pool.
	pool *Pool
	from *shared
}

// Start checks the hardware class, the system id and the component names,
// copies the model, the config and every component out of blobs
// (verified; each a file or a tree), and starts one session through runner.
// Only a Pool calls it: everyone else acquires sessions from a Pool.
// Errors wrap ErrHardwareMismatch, system.ErrIDMismatch, ErrComponentNames,
// runners.ErrInvalidSpec (an Env entry setting a component's variable),
// ErrArtifact, runners.ErrUnsupported or the runner's errors.
func Start(ctx context.Context, blobs Blobs, t Target, runner Runner, opts Options) (*Session, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	override, err := checkHardware(t, opts)
	if err != nil {
		return nil, err
	}
	s := &Session{HardwareOverride: override}
	if err := t.System.Check(); err != nil {
		return nil, err
	}
	if err := CheckComponents(t.System.Components); err != nil {
		return nil, err
	}
	for name := range t.System.Components {
		if env := runners.ComponentEnv(name); hasKey(opts.Env, env) {
			return nil, fmt.Errorf("%w: --env %s: reserved, reprise sets it to the path of component %s", runners.ErrInvalidSpec, env, name)
		}
	}
	codec, err := wire.Lookup(t.Protocol, t.HTTP)
	if err != nil {
		return nil, err
	}
	s.Codec = codec
	a, err := copyArtifacts(ctx, blobs, t, opts.WorkDir)
	if err != nil {
		return nil, err
	}
	s.work = a.work
	spec := runners.Spec{
		Image: t.System.Image, ModelPath: a.model, ConfigPath: a.config, Components: a.components,
		Env: opts.Env, Codec: codec, HardwareClass: t.HardwareClass, Limits: opts.Limits,
		StartTimeout: opts.StartTimeout, RunTimeout: opts.RunTimeout, SessionTimeout: opts.SessionTimeout, Labels: t.Labels,
		MaxResponseBytes: opts.MaxResponseBytes, Concurrency: opts.Concurrency, Window: opts.Window,
	}
	spec.GPUs = opts.GPUs
	log.Info("starting session", "image", t.System.Image)
	sess, err := runner.Start(ctx, spec)
	if err != nil {
		s.removeWork()
		return nil, fmt.Errorf("start %s: %w", t.System.Image, err)
	}
	s.Session = sess
	return s, nil
}

// checkHardware checks the GPU selection against the target's class
// (hwclass.CheckSelection: an error wrapping hwclass.ErrGPUs) and compares
// the host's class with the target's (hwclass.Match): a mismatch
// is an error wrapping ErrHardwareMismatch unless overridden (then true).
func checkHardware(t Target, opts Options) (bool, error) {
	if err := hwclass.CheckSelection(t.HardwareClass, opts.GPUs); err != nil {
		return false, err
	}
	mismatch := hwclass.Match(t.HardwareClass, opts.HostClass)
	if mismatch == nil {
		return false, nil
	}
	if !opts.AllowHardwareMismatch {
		return false, fmt.Errorf("%w: the system was run on %s, this host is %s: %w (use --allow-hardware-mismatch to run anyway)",
			ErrHardwareMismatch, t.HardwareClass, opts.HostClass, mismatch)
	}
	return true, nil
}

// Close closes the runner's session (also when ctx is cancelled) and removes
// the copies. It is safe to call more than once.
func (s *Session) Close(ctx context.Context) error {
	var err error
	if s.Session != nil {
		err = s.Session.Close(context.WithoutCancel(ctx))
	}
	s.removeWork()
	return err
}

// Modes of the per-session copies, set explicitly (never left to the umask).
//
// The sandbox user (65534 in the docker runner) must read the model,
// config and components, and a bind mount keeps the host's modes, so
// files are 0o444 (0o555 for a tree's executables) and the folders of a
// tree 0o555 (listed and entered, never written). What keeps other host
// users out is the session folder: 0o700, owned by reprise's user, named
// unpredictably (os.MkdirTemp). The container never walks that folder: the
// engine (root) bind-mounts each artifact at creation, and inside the
// container /reprise/model is the file or tree itself, so the sandbox user
// needs no search permission on the host folder. The process runner runs
// as reprise's own user.
const (
	WorkDirMode  fs.FileMode = 0o700
	WorkFileMode fs.FileMode = 0o444
	// WorkTreeMode is the mode of a tree's folders (and of components/).
	WorkTreeMode fs.FileMode = 0o555
)

// WorkDirPrefix starts the name of every per-session folder; the owner's
// pid follows (reprise-session-<pid>-<random>), so RemoveOrphans can tell
// the folders of dead processes.
const WorkDirPrefix = "reprise-session-"

// artifacts are a session folder and the host paths in it.
type artifacts struct {
	work, model, config string
	// components maps each name to work/components/<name>; nil for none.
	components map[string]string
}

// copyArtifacts makes the session folder in dir ("" = os.TempDir()) and
// copies the model, the config and each component into it (model, config,
// components/<name>: a file or a tree), verified while streaming, with the
// modes above. On error nothing is left behind.
func copyArtifacts(ctx context.Context, blobs Blobs, t Target, dir string) (a artifacts, err error) {
	made, err := os.MkdirTemp(dir, fmt.Sprintf("%s%d-", WorkDirPrefix, os.Getpid()))
	if err != nil {
		return a, err
	}
	defer func() {
		if err != nil {
			removeAll(made)
			a = artifacts{}
		}
	}()
	a.work = made
	if err = os.Chmod(made, WorkDirMode); err != nil {
		return a, err
	}
	a.model, a.config = filepath.Join(made, "model"), filepath.Join(made, "config")
	if err = materialize(ctx, blobs, "model", t.System.Model.Digest, a.model); err != nil {
		return a, err
	}
	if err = materialize(ctx, blobs, "config", t.System.Config.Digest, a.config); err != nil {
		return a, err
	}
	if len(t.System.Components) == 0 {
		return a, nil
	}
	comps := filepath.Join(made, "components")
	if err = os.Mkdir(comps, 0o700); err != nil {
		return a, err
	}
	a.components = map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(t.System.Components)) {
		p := filepath.Join(comps, name)
		if err = materialize(ctx, blobs, "component "+name, t.System.Components[name], p); err != nil {
			return a, err
		}
		a.components[name] = p
	}
	return a, os.Chmod(comps, WorkTreeMode)
}

// materialize copies one artifact out of blobs; a file's mode is set to
// WorkFileMode (a tree's modes are the store's).
func materialize(ctx context.Context, blobs Blobs, what string, d digest.Digest, dst string) error {
	if err := blobs.Materialize(ctx, d, dst); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrArtifact, what, err)
	}
	fi, err := os.Lstat(dst)
	if err != nil || fi.IsDir() {
		return err
	}
	return os.Chmod(dst, WorkFileMode)
}

// removeAll removes a session folder, whose trees' folders are read-only:
// they are made writable first, which a user other than root needs.
func removeAll(p string) error {
	filepath.WalkDir(p, func(q string, de fs.DirEntry, err error) error {
		if err == nil && de.IsDir() {
			os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// RemoveOrphans removes the session folders in dir ("" = os.TempDir())
// left by reprise processes that are gone (killed outright: no cleanup
// ran): folders named <prefix><pid>-… for each prefix (default
// WorkDirPrefix; the process runner's homes are another). Only folders owned
// by this user and named with a pid that is not running are removed; it
// returns their paths.
func RemoveOrphans(dir string, prefixes ...string) ([]string, error) {
	if len(prefixes) == 0 {
		prefixes = []string{WorkDirPrefix}
	}
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		var rest string
		ok := false
		for _, pre := range prefixes {
			if r, found := strings.CutPrefix(e.Name(), pre); found {
				rest, ok = r, true
				break
			}
		}
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(path)
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
			continue
		}
		if alive(pid) {
			continue
		}
		if err := removeAll(path); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, path)
	}
	return removed, errors.Join(errs...)
}

// alive reports whether a process with this pid exists (EPERM: it exists
// but is another user's).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (s *Session) removeWork() {
	if s.work != "" {
		removeAll(s.work)
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
