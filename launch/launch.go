// Package launch starts a pinned, verified system: it checks the hardware
// class, looks up the codec of the system's protocol, hands verified copies of
// the model and config to a runner and starts one session. replay and evals
// share it, so both run systems under the same sandbox and checks.
//
// It imports the leaves (digest, system), store and runners; it knows
// nothing of records beyond the Target a caller builds (FromRecord).
package launch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
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
	// CopyTo writes the blob d to a new file dst, verifying it while copying.
	CopyTo(d digest.Digest, dst string) error
}

// Errors of this package.
var (
	// ErrHardwareMismatch: the target's hardware class differs from this
	// host's and no override was given.
	ErrHardwareMismatch = errors.New("hardware class mismatch")
	// ErrArtifact: the model or config could not be copied out of the store
	// verified (missing or corrupt); it wraps the store's error too.
	ErrArtifact = errors.New("artifact unavailable")
)

// Target is what to start: a composite version and how it is served.
type Target struct {
	System        system.System
	Protocol      string
	HardwareClass string
	// Labels are added to the container (e.g. the request id).
	Labels map[string]string
}

// FromRecord is the target of a decision record.
func FromRecord(rec *record.Record) Target {
	return Target{
		System: rec.System, Protocol: rec.Runtime.Protocol, HardwareClass: rec.Runtime.HardwareClass,
		Labels: map[string]string{"reprise.request_id": rec.RequestID, "reprise.system_id": rec.System.ID.String()},
	}
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
	// WorkDir holds the per-session copies of model and config ("" = os.TempDir()).
	WorkDir string
	Logger  *slog.Logger
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
}

// Start checks the hardware class and the system id, copies the model and
// config out of blobs (verified), and starts one session through runner.
// Errors wrap ErrHardwareMismatch, system.ErrIDMismatch, ErrArtifact,
// runners.ErrUnsupported or the runner's errors.
func Start(ctx context.Context, blobs Blobs, t Target, runner Runner, opts Options) (*Session, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Session{}
	if opts.HostClass != t.HardwareClass {
		if !opts.AllowHardwareMismatch {
			return nil, fmt.Errorf("%w: the system was run on %s, this host is %s (use --allow-hardware-mismatch to run anyway)",
				ErrHardwareMismatch, t.HardwareClass, opts.HostClass)
		}
		s.HardwareOverride = true
	}
	if err := t.System.Check(); err != nil {
		return nil, err
	}
	codec, err := wire.Lookup(t.Protocol)
	if err != nil {
		return nil, err
	}
	s.Codec = codec
	work, err := os.MkdirTemp(opts.WorkDir, "reprise-session-")
	if err != nil {
		return nil, err
	}
	s.work = work
	if err := os.Chmod(work, 0o755); err != nil { // the sandbox user must read the copies
		s.removeWork()
		return nil, err
	}
	modelPath, configPath := filepath.Join(work, "model"), filepath.Join(work, "config")
	if err := blobs.CopyTo(t.System.Model.Digest, modelPath); err != nil {
		s.removeWork()
		return nil, fmt.Errorf("%w: model: %w", ErrArtifact, err)
	}
	if err := blobs.CopyTo(t.System.Config.Digest, configPath); err != nil {
		s.removeWork()
		return nil, fmt.Errorf("%w: config: %w", ErrArtifact, err)
	}
	spec := runners.Spec{
		Image: t.System.Image, ModelPath: modelPath, ConfigPath: configPath,
		Env: opts.Env, Codec: codec, HardwareClass: t.HardwareClass, Limits: opts.Limits,
		StartTimeout: opts.StartTimeout, RunTimeout: opts.RunTimeout, SessionTimeout: opts.SessionTimeout, Labels: t.Labels,
	}
	log.Info("starting session", "image", t.System.Image)
	sess, err := runner.Start(ctx, spec)
	if err != nil {
		s.removeWork()
		return nil, fmt.Errorf("start %s: %w", t.System.Image, err)
	}
	s.Session = sess
	return s, nil
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

func (s *Session) removeWork() {
	if s.work != "" {
		os.RemoveAll(s.work)
	}
}
