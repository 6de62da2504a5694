package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/httpsess"
)

// startHTTP runs an HTTP system: a per-session network created Internal
// (no route out, named like the container and labelled like it), the
// container on it with every sandbox setting of the stdio path (no stdin),
// its stdout and stderr attached into the bounded tail (the log driver is
// "none"), readiness polled at the container's address on that network
// within the start timeout. On any failure the caller's deferred Close
// removes the container and then the network.
func (r *Runner) startHTTP(ctx context.Context, s *session, codec runners.HTTPCodec, env []string, arts []artifact, vols []string) (runners.Session, error) {
	spec := s.spec
	if err := r.createHTTP(ctx, s, env, arts, vols); err != nil {
		return nil, err
	}
	att, err := r.cli.ContainerAttach(ctx, s.id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, fmt.Errorf("%w: attach %s: %v", runners.ErrEngine, short(s.id), err)
	}
	s.att = &att.HijackedResponse
	go func() {
		// Both streams go to the tail: servers log to either.
		w := io.MultiWriter(s.stderr, &s.threads, &s.nospace)
		stdcopy.StdCopy(w, w, att.Reader)
	}()
	if _, err := r.cli.ContainerStart(ctx, s.id, client.ContainerStartOptions{}); err != nil {
		return nil, r.engineError(ctx, spec, "start container "+short(s.id), err)
	}
	s.started = time.Now()
	s.removeMarker()
	insp, err := r.cli.ContainerInspect(ctx, s.id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: inspect %s: %v", runners.ErrEngine, short(s.id), err)
	}
	addr, err := r.sandboxAddr(s, insp)
	if err != nil {
		return nil, err
	}
	base := "http://" + addr + ":" + strconv.Itoa(codec.Port())
	s.budget = runners.DefaultBudget(spec, s.started)
	hc := httpsess.NewClient()
	alive := func() error {
		st := s.state()
		if st == nil || st.Running {
			return nil
		}
		return s.exitDetail()
	}
	if err := httpsess.WaitReady(ctx, hc, base, codec, s.budget.Start, alive, func() string { return s.tail() }); err != nil {
		return nil, err
	}
	s.info.Startup = time.Since(s.started)
	hs := httpsess.New(codec, base, hc, s.budget, spec, s.info)
	hs.OnClose = s.Close
	hs.Detail = func(crashed bool) string {
		if crashed {
			// The connection's end (EOF, reset) reaches reprise before
			// the engine has seen the server exit: wait for the exit a
			// little, so the error can say how it ended.
			s.waitExit(ctx, exitWait)
		}
		if err := alive(); err != nil {
			return err.Error()
		}
		return ""
	}
	if d, ok := codec.(runners.Describer); ok {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if desc, err := d.Describe(dctx, hc, base); err == nil {
			hs.SetServer(desc)
		}
		cancel()
	}
	r.log.Info("HTTP container ready", "id", short(s.id), "name", s.name, "url", base, "startup", s.info.Startup)
	return hs, nil
}

// sandboxAddr removes the default route a Docker before 25 gives the
// running container (or refuses to go on) and returns its address on the
// session's network.
func (r *Runner) sandboxAddr(s *session, insp client.ContainerInspectResult) (string, error) {
	// Docker before 25 gives a container on an internal network a default
	// route (its traffic is dropped by the engine's rules); delete it, or
	// refuse to go on: the sandbox has no route out.
	if st := insp.Container.State; st == nil || st.Pid == 0 {
		return "", fmt.Errorf("%w: container %s is not running%s", runners.ErrCrashed, short(s.id), detailOf(s))
	} else if n, err := dropDefaultRoutes(st.Pid); err != nil {
		// A server that exits at once takes its network namespace with
		// it: that is a crash, not a missing privilege. The engine may not
		// have seen the exit yet when /proc says the process is gone, so
		// wait for it a little.
		if exited(err, s.state) {
			if derr := s.exitDetail(); derr != nil {
				return "", fmt.Errorf("%w: container %s exited while starting: %v", runners.ErrCrashed, short(s.id), derr)
			}
			return "", fmt.Errorf("%w: container %s exited while starting%s", runners.ErrCrashed, short(s.id), detailOf(s))
		}
		return "", fmt.Errorf("%w: the internal network gave container %s a default route and it could not be removed (%v): on Docker before 25 reprise must run as root on the engine's host to replay HTTP systems", runners.ErrUnsupported, short(s.id), err)
	} else if n > 0 {
		r.log.Info("default route removed from the sandbox", "id", short(s.id), "routes", n)
	}
	var addr string
	if ns := insp.Container.NetworkSettings; ns != nil {
		if ep := ns.Networks[s.network]; ep != nil && ep.IPAddress.IsValid() {
			addr = ep.IPAddress.String()
		}
	}
	if addr == "" {
		return "", fmt.Errorf("%w: container %s has no address on network %s%s", runners.ErrCrashed, short(s.id), s.network, detailOf(s))
	}
	return addr, nil
}

// createHTTP creates the session's internal network and the container on
// it (the artifacts delivered by place).
func (r *Runner) createHTTP(ctx context.Context, s *session, env []string, arts []artifact, vols []string) error {
	spec, imageID := s.spec, s.info.ImageID
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	_, err := r.cli.NetworkCreate(nctx, s.name, client.NetworkCreateOptions{Driver: "bridge", Internal: true, Labels: s.labels})
	cancel()
	if err != nil {
		return r.engineError(ctx, spec, "create internal network "+s.name, err)
	}
	s.network = s.name
	if err := ctx.Err(); err != nil {
		return err
	}
	cfg := containerConfig(imageID, env, s.labels)
	cfg.OpenStdin, cfg.StdinOnce, cfg.AttachStdin = false, false, false
	cfg.NetworkDisabled = false
	create := func(mounts []mount.Mount) error {
		hcfg := hostConfig(spec, s.lim, mounts)
		hcfg.NetworkMode = container.NetworkMode(s.network)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
		defer cancel()
		created, err := r.cli.ContainerCreate(cctx, client.ContainerCreateOptions{
			Name: s.name, Config: cfg, HostConfig: hcfg,
			NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.network: {}}},
		})
		if err != nil {
			return r.engineError(ctx, spec, "create container from "+imageID, err)
		}
		s.id, s.info.ContainerID = created.ID, created.ID
		return ctx.Err()
	}
	if err := r.place(ctx, s, arts, vols, create); err != nil {
		return err
	}
	return nil
}

// exitWait bounds the wait for a container's exit after its server's
// connection ended.
const exitWait = 2 * time.Second

// waitExit waits at most d for the container to stop running
// (ContainerWait, condition not-running); it returns early on any error.
func (s *session) waitExit(ctx context.Context, d time.Duration) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	res := s.r.cli.ContainerWait(wctx, s.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-res.Result:
	case <-res.Error:
	case <-wctx.Done():
	}
}

// tail is the last lines the container printed, for errors.
func (s *session) tail() string {
	out := "the container printed nothing"
	if t := strings.TrimSpace(s.stderr.String()); t != "" {
		out = "container output: " + t
	}
	if h := s.hints(); h != "" {
		out = h + "; " + out
	}
	return out
}

func detailOf(s *session) string {
	if err := s.exitDetail(); err != nil {
		return " (" + err.Error() + ")"
	}
	return ""
}

// exited reports whether the container's process is gone after entering its
// network namespace failed with err: the engine says so, or /proc no longer
// has the process (ENOENT, ESRCH) and the engine says so within 5 s. A
// refused setns (EPERM) on a live process is not an exit.
func exited(err error, state func() *container.State) bool {
	gone := errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if now := state(); now == nil || !now.Running {
			return true
		}
		if !gone || time.Now().After(deadline) {
			return gone
		}
		time.Sleep(50 * time.Millisecond)
	}
}
