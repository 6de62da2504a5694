package nightly

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
)

// reuse is a replay.Runner that starts one session of the inner runner and
// hands it to every record of one system: replay.Replay starts "a session"
// per record, and each gets a view of the same one whose Close does
// nothing. The model and config are hard-linked (or copied) into a folder
// of its own, so the records' own copies can come and go. A view does not
// offer Finish (that closes the system's input); Close(ctx) of the reuse
// finishes and closes the real session.
// NightSessionTimeout bounds a shared session: a week.
const NightSessionTimeout = 7 * 24 * time.Hour

type reuse struct {
	inner replay.Runner
	// workDir is where the session's own copies live ("" = os.TempDir()).
	workDir string

	mu     sync.Mutex
	sess   runners.Session
	dir    string
	runs   int
	starts int
}

var _ replay.Runner = (*reuse)(nil)

func (u *reuse) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.sess == nil {
		dir, err := os.MkdirTemp(u.workDir, launch.WorkDirPrefix+strconv.Itoa(os.Getpid())+"-nightly-")
		if err != nil {
			return nil, err
		}
		own := spec
		own.ModelPath, own.ConfigPath = filepath.Join(dir, "model"), filepath.Join(dir, "config")
		for _, p := range [][2]string{{spec.ModelPath, own.ModelPath}, {spec.ConfigPath, own.ConfigPath}} {
			if err := linkOrCopy(p[0], p[1]); err != nil {
				os.RemoveAll(dir)
				return nil, err
			}
		}
		// The session serves a whole night: its own deadline is the
		// night's, not one record's.
		own.SessionTimeout = NightSessionTimeout
		own.Labels = map[string]string{"reprise.nightly": "1"}
		sess, err := u.inner.Start(ctx, own)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		u.sess, u.dir, u.runs = sess, dir, 0
		u.starts++
	}
	return &view{u: u, base: u.runs}, nil
}

// discard closes the session after a failure, so the next record starts a
// fresh one.
func (u *reuse) discard(ctx context.Context) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closeLocked(ctx)
}

func (u *reuse) closeLocked(ctx context.Context) error {
	if u.sess == nil {
		return nil
	}
	var err error
	if f, ok := u.sess.(runners.Finisher); ok {
		err = f.Finish(ctx)
	}
	if cerr := u.sess.Close(context.WithoutCancel(ctx)); err == nil {
		err = cerr
	}
	os.RemoveAll(u.dir)
	u.sess, u.dir = nil, ""
	return err
}

// Close finishes and closes the shared session; an error from Finish says
// the system printed something after the last run.
func (u *reuse) Close(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.closeLocked(ctx)
}

type view struct {
	u    *reuse
	base int
}

func (v *view) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	v.u.mu.Lock()
	sess := v.u.sess
	v.u.mu.Unlock()
	if sess == nil {
		return runners.Response{}, errors.New("the shared session was closed")
	}
	resp, err := sess.Run(ctx, req)
	v.u.mu.Lock()
	v.u.runs++
	v.u.mu.Unlock()
	var oos *runners.OutOfStepError
	if errors.As(err, &oos) {
		// The replay counts runs from its own first; the session from the night's.
		oos.Since -= v.base
	}
	return resp, err
}

func (v *view) Info() runners.Info {
	v.u.mu.Lock()
	defer v.u.mu.Unlock()
	if v.u.sess == nil {
		return runners.Info{}
	}
	return v.u.sess.Info()
}

func (v *view) Close(ctx context.Context) error { return nil }

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
