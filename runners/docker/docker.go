// Package docker runs a pinned system in a sandboxed container through the
// Docker Engine API (github.com/moby/moby/client, API version negotiated; the
// engine here is 20.10, API 1.41).
//
// Image resolution: "sha256:<hex>" is a local image id; "name@sha256:<hex>"
// is used when a local image has that repo digest, and is otherwise pulled by
// digest and verified (the pulled image's repo digests are parsed and compared
// with the pinned one). A tag alone is refused (runners.ErrNotPinned).
//
// Pulls go only to the registries Options.AllowRegistries names (none by
// default: only images already on the engine are used), so a record cannot
// make the engine connect to a host and port of its choosing; an image of
// another registry is runners.ErrRegistryNotAllowed, naming the registry.
// With Options.Offline nothing is pulled: an absent image is
// runners.ErrImageUnavailable. Info.Source says where the image came from,
// Info.Registry which registry served a pulled image.
//
// Sandbox: one container per session, no network, read-only root filesystem,
// a size-limited (Limits.TmpfsBytes, default 256 MiB) noexec, nosuid, nodev
// /tmp tmpfs and HOME=/tmp (so caches such as HF_HOME or torch's land there),
// all capabilities dropped, no-new-privileges, user 65534:65534, memory (swap
// off), CPU and pids limits, the model, config and components read-only at
// /reprise/model, /reprise/config and /reprise/components/<name>, named by
// $REPRISE_MODEL, $REPRISE_CONFIG and $REPRISE_COMPONENT_<NAME>.
//
// Nothing else is writable: every VOLUME of the image gets an empty
// read-only tmpfs (never an anonymous volume), and the container logs
// nothing (log driver "none": reprise reads stdout and stderr through the
// attach stream and keeps a bounded stderr tail, so the daemon stores
// nothing an untrusted system prints).
//
// Delivery (see Delivery): the artifacts reach the container through the
// engine. By default they are bind-mounted (zero copy) once the engine is
// proven to see reprise's filesystem: a random marker written beside the
// model is bound too and read back through the engine (CopyFromContainer)
// from the created container, and every artifact's kind, size and mtime as
// the engine sees it (ContainerStatPath) must match, before the container
// starts. When the engine lacks a bind source ("bind source path does not
// exist": a remote DOCKER_HOST, reprise in a pod with the engine's socket)
// or sees other files (another host), reprise creates a volume (named and
// labelled like the container), fills it through the engine
// (CopyToContainer into a filler container that is created from the
// session's image and never started, so no code of the image runs) and
// mounts it read-only at /reprise. Info.Delivery says which ("bind",
// "volume"). The volume, the filler and the marker are removed on every
// exit path, like the container; RemoveLeftovers finds stale ones by label.
//
// Every container has a random name "reprise-<hex>", the label "reprise",
// the pid and host of the reprise process that made it and a lease (see
// Lease), and is force-removed on every exit path: Close, a failed Start, a
// cancelled context (Ctrl-C) even in the middle of creating it.
// RemoveLeftovers removes those a killed process left behind (their lease is
// stale), without touching the containers of live replays.
//
// When a container dies by a limit the error names the limit, its value and
// the flag that raises it: the OOM killer (memory) or, from stderr, threads
// that could not be created (pids) and writes that found no space (the /tmp
// tmpfs: --tmpfs-size).
package docker

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/system"
)

// Defaults of the sandbox (the session's timeouts default to
// runners.DefaultStartTimeout, DefaultRunTimeout and DefaultSessionTimeout).
const (
	// DefaultMemory and DefaultPids fit a Python/ML image (torch starts
	// a thread per core, and threads count against the pids limit).
	DefaultMemory   = 2 << 30
	DefaultNanoCPUs = 1e9
	DefaultPids     = 4096
	DefaultTmpfs    = 256 << 20
	SandboxUser     = "65534:65534"
	SandboxHome     = "/tmp"
	removeTimeout   = 30 * time.Second
	createTimeout   = time.Minute
	// volumeTmpfs is the size of the read-only tmpfs over an image VOLUME.
	volumeTmpfs = 4096
)

// Options configure a Runner.
type Options struct {
	// Client is an engine client to use; nil creates one from the environment
	// (DOCKER_HOST…) with API version negotiation.
	Client *client.Client
	Logger *slog.Logger
	// Offline forbids pulling: an image absent from the engine is
	// runners.ErrImageUnavailable, and no registry is contacted.
	Offline bool
	// AllowRegistries are the registries (HOST[:PORT], as ParseRegistry
	// reads them) an absent image may be pulled from. A record names its
	// image, so pulling from any registry would let a record make the
	// engine connect to any host and port: an image of another registry
	// is refused (runners.ErrRegistryNotAllowed), and with none allowed
	// only images already on the engine are used.
	AllowRegistries []string
	// Delivery says how model, config and components reach the container
	// (default DeliverAuto: bind mounts when the engine is proven to see
	// reprise's files, else a volume filled through the engine).
	Delivery Delivery
}

// Runner starts sandboxed sessions on a Docker engine.
type Runner struct {
	cli      *client.Client
	owned    bool
	log      *slog.Logger
	engine   string
	offline  bool
	allowed  []string // normalized registries pulls may use
	delivery Delivery
	hooks    hooks
}

// hooks let the package's tests stand in for another engine host.
type hooks struct {
	// bindSource maps a host path to the bind source given to the engine
	// (nil: the path itself).
	bindSource func(string) string
	// filling is called once the filler exists, before the copy.
	filling func()
}

// New connects to the engine and pings it. An unreachable engine wraps
// runners.ErrEngine.
func New(ctx context.Context, opts Options) (*Runner, error) {
	r := &Runner{cli: opts.Client, log: opts.Logger, offline: opts.Offline, delivery: opts.Delivery}
	for _, a := range opts.AllowRegistries {
		host, err := ParseRegistry(a)
		if err != nil {
			return nil, fmt.Errorf("%w: allowed registry %q: %v", runners.ErrInvalidSpec, a, err)
		}
		r.allowed = append(r.allowed, host)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.cli == nil {
		cli, err := client.New(client.FromEnv) // the API version is negotiated with the engine (20.10: 1.41)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", runners.ErrEngine, err)
		}
		r.cli, r.owned = cli, true
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		r.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
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
	source         string   // "local" or "pulled from HOST"
	registry       string   // the registry that served a pulled image
	volumes        []string // the image's VOLUME paths
}

// volumes returns the sorted VOLUME paths of an image.
func volumes(insp client.ImageInspectResult) []string {
	if insp.Config == nil {
		return nil
	}
	var vs []string
	for v := range insp.Config.Volumes {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// Resolve finds the pinned image locally or pulls it by digest (unless
// offline), and verifies it.
func (r *Runner) Resolve(ctx context.Context, img system.ImageRef) (res resolved, err error) {
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = ctx.Err()
		}
	}()
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
		return resolved{id: insp.ID, source: "local", volumes: volumes(insp)}, nil
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
	if r.offline {
		return resolved{}, fmt.Errorf("%w: %s is not present on this engine, and offline mode (--offline) does not pull", runners.ErrImageUnavailable, pinned)
	}
	registry := normalizeRegistry(reference.Domain(canon))
	if !slices.Contains(r.allowed, registry) {
		return resolved{}, fmt.Errorf("%w: %s is not present on this engine, and its registry %s is not allowed: pull only from registries you trust, with --allow-registry %s, or load the image into the engine first", runners.ErrRegistryNotAllowed, pinned, registry, registry)
	}
	r.log.Info("pulling image by digest", "image", pinned, "registry", registry)
	if err := r.pull(ctx, pinned); err != nil {
		return resolved{}, err
	}
	res, err = r.matchLocal(ctx, pinned, canon)
	if errors.Is(err, errNoLocal) {
		return resolved{}, fmt.Errorf("%w: pulled %s but no local image has that repo digest", runners.ErrImageMismatch, pinned)
	}
	res.pulled, res.source, res.registry = true, "pulled from "+reference.Domain(canon), registry
	return res, err
}

var errNoLocal = errors.New("no local image with that repo digest")

// ParseRegistry reads a registry as --allow-registry gives it, HOST[:PORT]
// (a name, an IPv4 address or a bracketed IPv6 address; no scheme, no
// path), and returns it normalized: lower case, Docker Hub's aliases
// (index.docker.io, registry-1.docker.io) as docker.io, the name a
// reference's domain has.
func ParseRegistry(s string) (string, error) {
	bad := fmt.Errorf("want HOST[:PORT], e.g. registry.example.com or 127.0.0.1:5000")
	if s == "" || strings.ContainsAny(s, "/@?# ") {
		return "", bad
	}
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q: want 1 to 65535", p)
		}
		host = h
	} else if strings.Contains(s, ":") && !(strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]")) {
		return "", bad
	}
	if strings.Trim(host, "[]") == "" {
		return "", bad
	}
	return normalizeRegistry(s), nil
}

// normalizeRegistry is a registry host in lower case, Docker Hub's aliases
// as docker.io.
func normalizeRegistry(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return host
}

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
			return resolved{id: insp.ID, repoDigest: rd, source: "local", volumes: volumes(insp)}, nil
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
// stdio and starts it. A cancelled ctx returns ctx.Err() (context.Canceled
// for Ctrl-C) and leaves no container behind, whatever step it interrupts.
func (r *Runner) Start(ctx context.Context, spec runners.Spec) (_ runners.Session, err error) {
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = ctx.Err()
		}
	}()
	if spec.Codec == nil {
		return nil, fmt.Errorf("%w: no codec", runners.ErrUnsupported)
	}
	hc, isHTTP := spec.Codec.(runners.HTTPCodec)
	if !isHTTP && spec.Codec.Transport() != runners.Stdio {
		return nil, fmt.Errorf("%w: protocol %s: the docker runner carries stdio and HTTP protocols", runners.ErrUnsupported, spec.Codec.Name())
	}
	if _, _, err := spec.InFlight(); err != nil {
		return nil, err
	}
	img, err := r.Resolve(ctx, spec.Image)
	if err != nil {
		return nil, err
	}
	lim := withDefaults(spec.Limits)
	name, err := containerName()
	if err != nil {
		return nil, err
	}
	lease, err := newLease(name)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{runners.Label: "1", LabelPID: strconv.Itoa(os.Getpid()), LabelHost: hostname(),
		LabelLease: lease.label()}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	arts, err := artifacts(spec)
	if err != nil {
		return nil, err
	}
	env := []string{"HOME=" + SandboxHome}
	for _, a := range arts {
		env = append(env, a.env+"="+a.target)
	}
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	s := &session{r: r, name: name, spec: spec, lim: lim, lease: lease, labels: labels, stderr: &runners.Tail{Max: 4096},
		threads: watcher{pat: threadFailures}, nospace: watcher{pat: noSpace}, info: runners.Info{
			Runner: "docker", Pinned: true, ImageID: img.id, RepoDigest: img.repoDigest,
			Engine: r.engine, Pulled: img.pulled, Source: img.source, Registry: img.registry,
		}}
	defer func() {
		if err != nil {
			s.Close(context.WithoutCancel(ctx))
		}
	}()
	if isHTTP {
		return r.startHTTP(ctx, s, hc, env, arts, img.volumes)
	}
	return r.startStdio(ctx, s, env, arts, img.volumes)
}

// startStdio creates the container of a stdio system (the artifacts
// delivered by place), attaches to its stdio and starts it.
func (r *Runner) startStdio(ctx context.Context, s *session, env []string, arts []artifact, vols []string) (runners.Session, error) {
	spec, name, imageID := s.spec, s.name, s.info.ImageID
	create := func(mounts []mount.Mount) error {
		// The create is not cancelled with ctx: a create aborted on the
		// client's side may still complete in the engine, after a remove
		// could find it. ctx is checked once it returns.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
		defer cancel()
		created, err := r.cli.ContainerCreate(cctx, client.ContainerCreateOptions{
			Name:       name,
			Config:     containerConfig(imageID, env, s.labels),
			HostConfig: hostConfig(spec, s.lim, mounts),
		})
		if err != nil {
			return r.engineError(ctx, spec, "create container from "+imageID, err)
		}
		s.id, s.info.ContainerID = created.ID, created.ID
		return ctx.Err()
	}
	if err := r.place(ctx, s, arts, vols, create); err != nil {
		return nil, err
	}
	att, err := r.cli.ContainerAttach(ctx, s.id, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, fmt.Errorf("%w: attach %s: %v", runners.ErrEngine, short(s.id), err)
	}
	s.att = &att.HijackedResponse
	if _, err := r.cli.ContainerStart(ctx, s.id, client.ContainerStartOptions{}); err != nil {
		return nil, r.engineError(ctx, spec, "start container "+short(s.id), err)
	}
	s.started = time.Now()
	s.removeMarker() // the running container holds its own mount of it
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, io.MultiWriter(s.stderr, &s.threads, &s.nospace), att.Reader)
		pw.CloseWithError(err)
	}()
	s.conn = jsonl.NewLimited(spec.Codec, att.Conn, pr, spec.MaxResponseBytes)
	s.conn.OnEOF = s.exitDetail
	_, s.info.Window, _ = spec.InFlight()
	s.budget = runners.DefaultBudget(spec, s.started)
	r.log.Info("container started", "id", short(s.id), "name", name, "image", imageID)
	return s, nil
}

// withDefaults fills the zero limits with the defaults.
func withDefaults(lim runners.Limits) runners.Limits {
	lim.MemoryBytes = cmp.Or(lim.MemoryBytes, DefaultMemory)
	lim.NanoCPUs = cmp.Or(lim.NanoCPUs, DefaultNanoCPUs)
	lim.Pids = cmp.Or(lim.Pids, DefaultPids)
	lim.TmpfsBytes = cmp.Or(lim.TmpfsBytes, DefaultTmpfs)
	return lim
}

// containerName is a random name, known before the create, so that a
// container whose create response was lost can still be found and removed.
func containerName() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "reprise-" + hex.EncodeToString(b), nil
}

// engineError explains a failed create or start. The GPUs of a gpu/nvidia
// class that the engine cannot provide wrap runners.ErrUnsupported and say
// what is missing; other failures wrap runners.ErrEngine.
func (r *Runner) engineError(ctx context.Context, spec runners.Spec, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if gerr := r.gpuError(ctx, spec, err); gerr != nil { // gpu.go
		return gerr
	}
	return fmt.Errorf("%w: %s: %v", runners.ErrEngine, what, err)
}

// runtimes lists the engine's container runtimes (docker info Runtimes).
func (r *Runner) runtimes(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := r.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "unknown"
	}
	var names []string
	for n := range info.Info.Runtimes {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Contains(names, "nvidia") {
		names = append(names, "no nvidia")
	}
	return strings.Join(names, ", ")
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

// volumeMounts covers each VOLUME of the image with an empty read-only
// tmpfs, so the engine creates no anonymous (writable, unbounded) volume.
// /tmp and the targets of taken are left alone (already mounted).
func volumeMounts(vols []string, taken []mount.Mount) []mount.Mount {
	var ms []mount.Mount
	for _, v := range vols {
		v = path.Clean(v)
		if v == "/tmp" || slices.ContainsFunc(taken, func(m mount.Mount) bool { return m.Target == v }) {
			continue
		}
		ms = append(ms, mount.Mount{Type: mount.TypeTmpfs, Target: v, ReadOnly: true,
			TmpfsOptions: &mount.TmpfsOptions{SizeBytes: volumeTmpfs, Mode: 0o555}})
	}
	return ms
}

// hostConfig is the sandbox: no network, read-only root, a size-limited
// noexec /tmp, no capabilities, no-new-privileges, resource limits,
// read-only mounts, no logs kept by the daemon, and the GPUs for a
// gpu/nvidia hardware class.
func hostConfig(spec runners.Spec, lim runners.Limits, mounts []mount.Mount) *container.HostConfig {
	pids := lim.Pids
	hc := &container.HostConfig{
		NetworkMode:    "none",
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": "rw,noexec,nosuid,nodev,size=" + strconv.FormatInt(lim.TmpfsBytes, 10)},
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Mounts:         mounts,
		// reprise reads stdio through the attach stream; the daemon keeps nothing.
		LogConfig: container.LogConfig{Type: "none"},
		Resources: container.Resources{
			Memory: lim.MemoryBytes, MemorySwap: lim.MemoryBytes, NanoCPUs: lim.NanoCPUs, PidsLimit: &pids,
		},
	}
	hc.Resources.DeviceRequests = deviceRequests(spec) // gpu.go
	return hc
}

type session struct {
	r        *Runner
	id, name string
	spec     runners.Spec
	lim      runners.Limits
	lease    *Lease
	info     runners.Info
	started  time.Time
	att      *client.HijackedResponse
	conn     *jsonl.Conn
	stderr   *runners.Tail
	threads  watcher // threadFailures seen on stderr
	nospace  watcher // noSpace seen on stderr (a full /tmp tmpfs)
	labels   map[string]string
	// volume and filler are the session's artifact volume and its filler
	// container ("" when none); marker is the bind probe's file on the host.
	volume, filler, marker string
	budget                 runners.Budget
	// network is the per-session internal network of an HTTP system ("" for stdio).
	network  string
	once     sync.Once
	closeErr error
}

var _ runners.Session = (*session)(nil)

// Finish closes the container's stdin and checks that it prints nothing more
// (runners.Finisher); it waits at most 2 s.
func (s *session) Finish(ctx context.Context) error {
	return s.conn.Finish(ctx, min(2*time.Second, s.budget.Run))
}

func (s *session) Info() runners.Info {
	info := s.info
	if s.conn != nil {
		info.Pipelined = s.conn.Pipelined()
	}
	return info
}

var _ runners.Batcher = (*session)(nil)

// RunBatch runs reqs with up to the stdio window in flight once the system
// echoes request ids (runners.Batcher, jsonl.Conn.DoAll).
func (s *session) RunBatch(ctx context.Context, reqs []runners.Request, yield func(i int, resp runners.Response, err error) bool) {
	s.conn.DoAllWithin(ctx, reqs, s.info.Window, s.budget, s.explain, yield)
}

func (s *session) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	return s.conn.DoWithin(ctx, req, s.budget, s.explain)
}

// explain completes the outcome of run (sent with timeout): the start-up
// time after run 0's answer, and for a timeout the likely cause.
func (s *session) explain(err error, run int, timeout time.Duration) error {
	if err == nil && run == 0 {
		s.info.Startup = time.Since(s.started)
	}
	if errors.Is(err, runners.ErrTimeout) {
		// A system killed by a limit may leave a hang behind (a child killed
		// by the OOM killer): say so rather than "timed out".
		if st := s.state(); st != nil && st.OOMKilled {
			return &runners.RunError{Run: run, Err: fmt.Errorf("%w: %s (then no answer within %s)", runners.ErrCrashed, s.oomMessage(), timeout)}
		}
		if hint := s.hints(); hint != "" {
			return fmt.Errorf("%w (%s)", s.budget.Explain(err, run, timeout), hint)
		}
	}
	return s.budget.Explain(err, run, timeout)
}

func (s *session) state() *container.State {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	insp, err := s.r.cli.ContainerInspect(ctx, s.id, client.ContainerInspectOptions{})
	if err != nil {
		return nil
	}
	return insp.Container.State
}

func (s *session) oomMessage() string {
	return fmt.Sprintf("out of memory: the sandbox memory limit %s was reached (raise it with --memory)", formatBytes(s.lim.MemoryBytes))
}

// threadFailures are what runtimes print when they cannot create a thread
// (torch's libgomp, CPython, glibc, Go): with the pids limit reached,
// clone fails with EAGAIN.
var threadFailures = []string{
	"Thread creation failed", "Resource temporarily unavailable", "can't start new thread",
	"failed to create new OS thread", "pthread_create failed",
}

// pidsHint points at --pids when stderr said threads could not be created
// (the engine does not report a pids limit reached).
func (s *session) pidsHint() string {
	if !s.threads.seen.Load() {
		return ""
	}
	return fmt.Sprintf("the process limit --pids %d may be too low: threads count against it (raise it with --pids)", s.lim.Pids)
}

// noSpace are what a write to a full filesystem prints: in the sandbox
// only the /tmp tmpfs is writable (Ollama, for one, copies the model
// there).
var noSpace = []string{"no space left on device", "No space left on device", "ENOSPC"}

// tmpfsHint points at --tmpfs-size when stderr said a write found no space.
func (s *session) tmpfsHint() string {
	if !s.nospace.seen.Load() {
		return ""
	}
	return fmt.Sprintf("the system ran out of space: the writable /tmp tmpfs of %s may be full (a server that copies the model or keeps a cache there needs more: raise it with --tmpfs-size)", formatBytes(s.lim.TmpfsBytes))
}

// hints are the limit hints stderr supports (pids, tmpfs), "" when none.
func (s *session) hints() string {
	var hs []string
	for _, h := range []string{s.pidsHint(), s.tmpfsHint()} {
		if h != "" {
			hs = append(hs, h)
		}
	}
	return strings.Join(hs, "; ")
}

// watcher looks for its patterns in everything written to it (not only in
// the tail kept: a Go runtime prints its goroutines after the message).
type watcher struct {
	pat  []string // what to look for
	mu   sync.Mutex
	last []byte // the end of the previous write, for a message split across writes
	seen atomic.Bool
}

func (w *watcher) Write(p []byte) (int, error) {
	if w.seen.Load() {
		return len(p), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := append(w.last, p...)
	for _, f := range w.pat {
		if bytes.Contains(buf, []byte(f)) {
			w.seen.Store(true)
			break
		}
	}
	w.last = append(w.last[:0], buf[max(0, len(buf)-64):]...)
	return len(p), nil
}

func formatBytes(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// exitDetail explains why the container's output ended: its exit status,
// the limit that killed it, and the stderr tail.
func (s *session) exitDetail() error {
	var parts []string
	for range 20 { // the state may lag the closed stream briefly
		st := s.state()
		if st == nil {
			break
		}
		if !st.Running {
			parts = append(parts, fmt.Sprintf("container %s exited with status %d", short(s.id), st.ExitCode))
			if st.OOMKilled {
				parts = append(parts, s.oomMessage())
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if hint := s.hints(); hint != "" {
		parts = append(parts, hint)
	}
	return s.stderr.Explain(parts)
}

// Close removes the container (force, with volumes), the artifact volume
// and its filler, the bind probe's marker and the lease, even when ctx is
// cancelled; a container whose create was interrupted is found by its
// name. It is safe to call more than once.
func (s *session) Close(ctx context.Context) error {
	s.once.Do(func() {
		if s.att != nil {
			s.att.Close()
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		defer cancel()
		ref := s.id
		if ref == "" {
			ref = s.name
		}
		_, err := s.r.cli.ContainerRemove(rctx, ref, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			s.closeErr = fmt.Errorf("remove container %s: %w", short(ref), err)
		}
		s.removeMarker()
		if s.filler != "" {
			if err := Remove(rctx, s.r.cli, s.filler); err != nil {
				s.closeErr = errors.Join(s.closeErr, err)
			}
		}
		if s.volume != "" {
			if _, err := s.r.cli.VolumeRemove(rctx, s.volume, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				s.closeErr = errors.Join(s.closeErr, fmt.Errorf("remove volume %s: %w", s.volume, err))
			}
		}
		if s.network != "" {
			if _, err := s.r.cli.NetworkRemove(rctx, s.network, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
				s.closeErr = errors.Join(s.closeErr, fmt.Errorf("remove network %s: %w", s.network, err))
			}
		}
		s.lease.Release()
		s.r.log.Info("container removed", "id", short(ref))
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
	ID    string
	PID   int    // the reprise process that created it (0 if unknown)
	Host  string // the host that process ran on
	lease string // the lease file, if this process can see it
	// Orphaned: its owner no longer renews its lease (see Lease). A
	// container without a lease (made by an older reprise) is orphaned when
	// it has no pid, or its pid is not a live process on this host.
	Orphaned bool
}

// Containers lists the containers with the reprise label.
func Containers(ctx context.Context, cli *client.Client) ([]Container, error) {
	return containers(ctx, cli, nil)
}

// labelFilters selects what carries the reprise label and the extra
// labels ("key=value") given.
func labelFilters(extra []string) client.Filters {
	f := make(client.Filters).Add("label", runners.Label)
	for _, l := range extra {
		f = f.Add("label", l)
	}
	return f
}

// removable: a session's network or volume (labels) may be removed when
// every one is (all) or its lease is stale.
func removable(labels map[string]string, all bool, now time.Time) bool {
	l, ok := labels[LabelLease]
	_, stale := leaseState(l, now)
	return all || (ok && stale)
}

// containers lists the containers with the reprise label and the extra
// labels ("key=value") given.
func containers(ctx context.Context, cli *client.Client, extra []string) ([]Container, error) {
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: labelFilters(extra)})
	if err != nil {
		return nil, fmt.Errorf("%w: list containers: %v", runners.ErrEngine, err)
	}
	host, now := hostname(), time.Now()
	var out []Container
	for _, c := range list.Items {
		pid, _ := strconv.Atoi(c.Labels[LabelPID])
		ct := Container{ID: c.ID, PID: pid, Host: c.Labels[LabelHost]}
		if l, ok := c.Labels[LabelLease]; ok {
			visible, stale := leaseState(l, now)
			ct.Orphaned = stale
			if visible {
				_, name, _ := strings.Cut(l, "/")
				ct.lease = filepath.Join(LeaseDir(), name)
			}
		} else {
			ct.Orphaned = pid <= 0 || (ct.Host == host && !alive(pid))
		}
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

// RemoveLeftovers force-removes the reprise containers whose owner is gone
// (their lease is stale; all of them with all = true, which also stops
// running replays), then the per-session networks and artifact volumes of
// the same owners, and returns the containers' ids, "network NAME" for
// each network and "volume NAME" for each volume.
func RemoveLeftovers(ctx context.Context, cli *client.Client, all bool) ([]string, error) {
	return removeLeftovers(ctx, cli, all, nil)
}

func removeLeftovers(ctx context.Context, cli *client.Client, all bool, extra []string) ([]string, error) {
	cs, err := containers(ctx, cli, extra)
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
		if c.lease != "" && c.Orphaned {
			os.Remove(c.lease) // its owner is gone
		}
		ids = append(ids, c.ID)
	}
	nets, err := removeNetworks(ctx, cli, all, extra)
	ids = append(ids, nets...)
	if err != nil {
		return ids, err
	}
	vols, err := removeVolumes(ctx, cli, all, extra)
	return append(ids, vols...), err
}

// removeNetworks removes the per-session networks of HTTP sessions whose
// owner is gone (stale lease, or every one with all), once no container
// is attached; it returns their names. A network is made before its
// container, so one without any may belong to a session starting now:
// only a stale lease removes it.
func removeNetworks(ctx context.Context, cli *client.Client, all bool, extra []string) ([]string, error) {
	list := func() ([]network.Summary, error) {
		l, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: labelFilters(extra)})
		return l.Items, err
	}
	return removeStale(all, "network", list, func(n network.Summary) (string, map[string]string) { return n.Name, n.Labels },
		func(n network.Summary) error {
			_, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
			return err
		})
}

// removeStale removes, by remove, each of the items list gives (networks
// or volumes of sessions) that is removable (its owner gone: a stale lease,
// or every one with all; of gives its name and labels); it returns "KIND
// NAME" for each removed, so far on an error. One already gone counts as
// removed.
func removeStale[T any](all bool, kind string, list func() ([]T, error), of func(T) (string, map[string]string), remove func(T) error) ([]string, error) {
	items, err := list()
	if err != nil {
		return nil, fmt.Errorf("%w: list %ss: %v", runners.ErrEngine, kind, err)
	}
	now := time.Now()
	var names []string
	for _, it := range items {
		name, labels := of(it)
		if !removable(labels, all, now) {
			continue
		}
		if err := remove(it); err != nil && !cerrdefs.IsNotFound(err) {
			return names, fmt.Errorf("remove %s %s: %w", kind, name, err)
		}
		names = append(names, kind+" "+name)
	}
	return names, nil
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
