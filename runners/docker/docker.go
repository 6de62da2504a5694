// Package docker runs a pinned system in a sandboxed container through the
// Docker Engine API (github.com/moby/moby/client, API version negotiated; the
// engine here is 20.10, API 1.41).
//
// Image resolution: "sha256:<hex>" is a local image id; "name@sha256:<hex>"
// is used when a local image has that repo digest, and is otherwise pulled by
// digest and verified (the pulled image's repo digests are parsed and compared
// with the pinned one). A tag alone is refused (runners.ErrNotPinned).
//
// Sandbox: one container per session, no network, read-only root filesystem,
// a size-limited noexec /tmp tmpfs, all capabilities dropped,
// no-new-privileges, user 65534:65534, memory (swap off), CPU and pids
// limits, the model and config bind-mounted read-only. Every container has
// the label "reprise" (and the pid and host of the reprise process that made
// it) and is force-removed on every exit path: Close, a failed Start, a
// cancelled context (Ctrl-C). RemoveLeftovers removes those a killed process
// left behind, without touching the containers of live replays.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/system"
)

// Defaults of the sandbox and timeouts.
const (
	DefaultMemory         = 512 << 20
	DefaultNanoCPUs       = 1e9
	DefaultPids           = 64
	DefaultRunTimeout     = 30 * time.Second
	DefaultSessionTimeout = 30 * time.Minute
	SandboxUser           = "65534:65534"
	removeTimeout         = 30 * time.Second
)

// Options configure a Runner.
type Options struct {
	// Client is an engine client to use; nil creates one from the environment
	// (DOCKER_HOST…) with API version negotiation.
	Client *client.Client
	Logger *slog.Logger
}

// Runner starts sandboxed sessions on a Docker engine.
type Runner struct {
	cli    *client.Client
	owned  bool
	log    *slog.Logger
	engine string
}

// New connects to the engine and pings it. An unreachable engine wraps
// runners.ErrEngine.
func New(ctx context.Context, opts Options) (*Runner, error) {
	r := &Runner{cli: opts.Client, log: opts.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.cli == nil {
		cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("%w: %v", runners.ErrEngine, err)
		}
		r.cli, r.owned = cli, true
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		r.Close()
		return nil, fmt.Errorf("%w: %v", runners.ErrEngine, err)
	}
	if v, err := r.cli.ServerVersion(pctx, client.ServerVersionOptions{}); err == nil {
		r.engine = fmt.Sprintf("docker %s (API %s)", v.Version, r.cli.ClientVersion())
	}
	return r, nil
}

// Engine describes the engine, e.g. "docker 20.10.24 (API 1.41)".
func (r *Runner) Engine() string { return r.engine }

// Client returns the engine client.
func (r *Runner) Client() *client.Client { return r.cli }

// Close releases the client if the runner created it.
func (r *Runner) Close() error {
	if r.owned && r.cli != nil {
		return r.cli.Close()
	}
	return nil
}

// resolved is a local image matching a pinned reference.
type resolved struct {
	id, repoDigest string
	pulled         bool
}

// Resolve finds the pinned image locally or pulls it by digest, and verifies it.
func (r *Runner) Resolve(ctx context.Context, img system.ImageRef) (resolved, error) {
	if img.IsZero() {
		return resolved{}, fmt.Errorf("image: %w", system.ErrNotPinned)
	}
	if img.IsID() {
		d := img.Digest
		insp, err := r.cli.ImageInspect(ctx, d.String())
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				return resolved{}, fmt.Errorf("%w: image id %s is not present on this engine (an image id cannot be pulled; pin name@sha256:… to pull)", runners.ErrImageUnavailable, d)
			}
			return resolved{}, fmt.Errorf("%w: inspect %s: %v", runners.ErrEngine, d, err)
		}
		if insp.ID != d.String() {
			return resolved{}, fmt.Errorf("%w: %s resolved to image %s", runners.ErrImageMismatch, d, insp.ID)
		}
		return resolved{id: insp.ID}, nil
	}
	ref := img.String()
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return resolved{}, fmt.Errorf("%w: image %q: %v", runners.ErrImageUnavailable, ref, err)
	}
	canon, ok := named.(reference.Canonical)
	if !ok {
		return resolved{}, fmt.Errorf("image %q: %w", ref, system.ErrNotPinned)
	}
	pinned := reference.TrimNamed(canon).Name() + "@" + canon.Digest().String()
	if res, err := r.matchLocal(ctx, pinned, canon); err == nil {
		return res, nil
	} else if !errors.Is(err, errNoLocal) {
		return resolved{}, err
	}
	r.log.Info("pulling image by digest", "image", pinned)
	if err := r.pull(ctx, pinned); err != nil {
		return resolved{}, err
	}
	res, err := r.matchLocal(ctx, pinned, canon)
	if errors.Is(err, errNoLocal) {
		return resolved{}, fmt.Errorf("%w: pulled %s but no local image has that repo digest", runners.ErrImageMismatch, pinned)
	}
	res.pulled = true
	return res, err
}

var errNoLocal = errors.New("no local image with that repo digest")

// matchLocal inspects the image by its pinned reference and checks that one
// of its repo digests, parsed, names the same repository and digest.
func (r *Runner) matchLocal(ctx context.Context, pinned string, want reference.Canonical) (resolved, error) {
	insp, err := r.cli.ImageInspect(ctx, pinned)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return resolved{}, errNoLocal
		}
		return resolved{}, fmt.Errorf("%w: inspect %s: %v", runners.ErrEngine, pinned, err)
	}
	for _, rd := range insp.RepoDigests {
		n, err := reference.ParseNormalizedNamed(rd)
		if err != nil {
			continue
		}
		c, ok := n.(reference.Canonical)
		if ok && c.Name() == want.Name() && c.Digest() == want.Digest() {
			return resolved{id: insp.ID, repoDigest: rd}, nil
		}
	}
	return resolved{}, errNoLocal
}

func (r *Runner) pull(ctx context.Context, pinned string) error {
	resp, err := r.cli.ImagePull(ctx, pinned, client.ImagePullOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: pull %s: %v", runners.ErrImageUnavailable, pinned, err)
	}
	defer resp.Close()
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: pull %s: %v", runners.ErrImageUnavailable, pinned, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("%w: pull %s: %s", runners.ErrImageUnavailable, pinned, msg.Error.Message)
		}
	}
	return nil
}

// Start resolves the image, creates the sandboxed container, attaches to its
// stdio and starts it.
func (r *Runner) Start(ctx context.Context, spec runners.Spec) (_ runners.Session, err error) {
	if spec.Codec == nil || spec.Codec.Transport() != runners.Stdio {
		return nil, fmt.Errorf("%w: the docker runner carries stdio protocols only", runners.ErrUnsupported)
	}
	img, err := r.Resolve(ctx, spec.Image)
	if err != nil {
		return nil, err
	}
	lim := spec.Limits
	if lim.MemoryBytes == 0 {
		lim.MemoryBytes = DefaultMemory
	}
	if lim.NanoCPUs == 0 {
		lim.NanoCPUs = DefaultNanoCPUs
	}
	if lim.Pids == 0 {
		lim.Pids = DefaultPids
	}
	labels := map[string]string{runners.Label: "1", LabelPID: strconv.Itoa(os.Getpid()), LabelHost: hostname()}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	var env []string
	var mounts []mount.Mount
	if spec.ModelPath != "" {
		env = append(env, runners.ModelEnv+"="+runners.ContainerModelPath)
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: spec.ModelPath, Target: runners.ContainerModelPath, ReadOnly: true})
	}
	if spec.ConfigPath != "" {
		env = append(env, runners.ConfigEnv+"="+runners.ContainerConfigPath)
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: spec.ConfigPath, Target: runners.ContainerConfigPath, ReadOnly: true})
	}
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	created, err := r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     containerConfig(img.id, env, labels),
		HostConfig: hostConfig(spec, lim, mounts),
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: create container from %s: %v", runners.ErrEngine, img.id, err)
	}
	s := &session{r: r, id: created.ID, spec: spec, info: runners.Info{
		Runner: "docker", Pinned: true, ImageID: img.id, RepoDigest: img.repoDigest,
		ContainerID: created.ID, Engine: r.engine, Pulled: img.pulled,
	}}
	defer func() {
		if err != nil {
			s.Close(context.WithoutCancel(ctx))
		}
	}()
	att, err := r.cli.ContainerAttach(ctx, created.ID, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, fmt.Errorf("%w: attach %s: %v", runners.ErrEngine, short(created.ID), err)
	}
	s.att = &att.HijackedResponse
	if _, err := r.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: start container %s: %v", runners.ErrEngine, short(created.ID), err)
	}
	pr, pw := io.Pipe()
	s.stderr = &runners.Tail{Max: 4096}
	go func() {
		_, err := stdcopy.StdCopy(pw, s.stderr, att.Reader)
		pw.CloseWithError(err)
	}()
	s.conn = jsonl.NewLimited(spec.Codec, att.Conn, pr, spec.MaxResponseBytes)
	s.conn.OnEOF = s.exitDetail
	s.budget = runners.NewBudget(spec, DefaultRunTimeout, DefaultSessionTimeout, time.Now())
	r.log.Info("container started", "id", short(created.ID), "image", img.id)
	return s, nil
}

// containerConfig is the container's config: the sandbox user, stdio
// attached for the jsonl-stdio protocol, no network.
func containerConfig(image string, env []string, labels map[string]string) *container.Config {
	return &container.Config{
		Image: image, Env: env, Labels: labels, User: SandboxUser,
		OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		NetworkDisabled: true,
	}
}

// hostConfig is the sandbox: no network, read-only root, a small noexec
// /tmp, no capabilities, no-new-privileges, resource limits, read-only
// mounts, and the GPUs for a gpu/nvidia hardware class.
func hostConfig(spec runners.Spec, lim runners.Limits, mounts []mount.Mount) *container.HostConfig {
	pids := lim.Pids
	hc := &container.HostConfig{
		NetworkMode:    "none",
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": "rw,noexec,nosuid,nodev,size=64m"},
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Mounts:         mounts,
		Resources: container.Resources{
			Memory: lim.MemoryBytes, MemorySwap: lim.MemoryBytes, NanoCPUs: lim.NanoCPUs, PidsLimit: &pids,
		},
	}
	if strings.HasPrefix(spec.HardwareClass, "gpu/nvidia/") {
		hc.Resources.DeviceRequests = []container.DeviceRequest{{Driver: "nvidia", Count: -1, Capabilities: [][]string{{"gpu"}}}}
	}
	return hc
}

type session struct {
	r        *Runner
	id       string
	spec     runners.Spec
	info     runners.Info
	att      *client.HijackedResponse
	conn     *jsonl.Conn
	stderr   *runners.Tail
	budget   runners.Budget
	once     sync.Once
	closeErr error
}

var _ runners.Session = (*session)(nil)

// Finish closes the container's stdin and checks that it prints nothing more
// (runners.Finisher); it waits at most 2 s.
func (s *session) Finish(ctx context.Context) error {
	return s.conn.Finish(ctx, min(2*time.Second, s.budget.Run))
}

func (s *session) Info() runners.Info { return s.info }

func (s *session) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	timeout, err := s.budget.Next(time.Now())
	if err != nil {
		return runners.Response{}, &runners.RunError{Run: s.conn.Runs(), Err: err}
	}
	resp, err := s.conn.Do(ctx, req, timeout)
	return resp, s.budget.Explain(err, timeout)
}

// exitDetail explains why the container's output ended.
func (s *session) exitDetail() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var detail string
	for range 20 { // the state may lag the closed stream briefly
		insp, err := s.r.cli.ContainerInspect(ctx, s.id, client.ContainerInspectOptions{})
		if err != nil {
			break
		}
		if st := insp.Container.State; st != nil && !st.Running {
			detail = fmt.Sprintf("container %s exited with status %d", short(s.id), st.ExitCode)
			if st.OOMKilled {
				detail += " (out of memory)"
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tail := strings.TrimSpace(s.stderr.String()); tail != "" {
		if detail != "" {
			detail += "; "
		}
		detail += "stderr: " + tail
	}
	if detail == "" {
		return nil
	}
	return errors.New(detail)
}

// Close removes the container (force, with volumes), even when ctx is
// cancelled. It is safe to call more than once.
func (s *session) Close(ctx context.Context) error {
	s.once.Do(func() {
		if s.att != nil {
			s.att.Close()
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		defer cancel()
		_, err := s.r.cli.ContainerRemove(rctx, s.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			s.closeErr = fmt.Errorf("remove container %s: %w", short(s.id), err)
		}
		s.r.log.Info("container removed", "id", short(s.id))
	})
	return s.closeErr
}

// Labels that say which process owns a container, so leftovers of a killed
// process can be told from the containers of one still running.
const (
	LabelPID  = "reprise.pid"
	LabelHost = "reprise.host"
)

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// Container is a container with the reprise label.
type Container struct {
	ID   string
	PID  int    // the reprise process that created it (0 if unknown)
	Host string // the host that process ran on
	// Orphaned: its owner is not a live process on this host.
	Orphaned bool
}

// Containers lists the containers with the reprise label.
func Containers(ctx context.Context, cli *client.Client) ([]Container, error) {
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", runners.Label)})
	if err != nil {
		return nil, fmt.Errorf("%w: list containers: %v", runners.ErrEngine, err)
	}
	host := hostname()
	var out []Container
	for _, c := range list.Items {
		pid, _ := strconv.Atoi(c.Labels[LabelPID])
		ct := Container{ID: c.ID, PID: pid, Host: c.Labels[LabelHost]}
		ct.Orphaned = pid <= 0 || (ct.Host == host && !alive(pid))
		out = append(out, ct)
	}
	return out, nil
}

// alive reports whether a process with that pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// OwnedBy returns the ids of the reprise containers that process pid created.
func OwnedBy(ctx context.Context, cli *client.Client, pid int) ([]string, error) {
	cs, err := Containers(ctx, cli)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range cs {
		if c.PID == pid {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// RemoveLeftovers force-removes the reprise containers whose owning process
// is gone (all of them with all = true, which also stops running replays) and
// returns their ids.
func RemoveLeftovers(ctx context.Context, cli *client.Client, all bool) ([]string, error) {
	cs, err := Containers(ctx, cli)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range cs {
		if !all && !c.Orphaned {
			continue
		}
		if err := Remove(ctx, cli, c.ID); err != nil {
			return ids, err
		}
		ids = append(ids, c.ID)
	}
	return ids, nil
}

// Remove force-removes one container (with its volumes).
func Remove(ctx context.Context, cli *client.Client, id string) error {
	if _, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove %s: %w", short(id), err)
	}
	return nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
