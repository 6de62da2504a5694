package runners

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/system"
)

// Request is one inference request: the stored input and the parameters
// of this run (the seed included).
type Request struct {
	// ID identifies the request within its session; the jsonl-stdio Conn
	// sets it ("r0", "r1", … by run index) when empty.
	ID     string          `json:"id,omitempty"`
	Input  json.RawMessage `json:"input"`
	Params system.Params   `json:"params"`
}

// Response is one inference response. Output is the normalized output the
// codec decoded; Raw holds the exact response bytes as the system wrote them
// (for jsonl-stdio: one line, without the newline). A response with Error
// set is an error answer: the system said it could not answer this request;
// Output is then empty. It is an outcome of the run, not a failure of the
// session.
type Response struct {
	Output output.Output
	Raw    []byte
	// Error is the message of an error answer ({"error": "…"}), "" otherwise.
	Error string
	// ID is the request id the system echoed, "" when it echoed none.
	ID string
	// Latency is the run's service time: the wall time from the moment the
	// system could start on this request to the moment its answer was
	// read. One request at a time (and for HTTP, where every exchange has
	// its own connection slot) that is from writing the request to reading
	// the answer. On a pipelined stdio session (several requests in
	// flight, answered in order) the system cannot start on a request
	// before it was written nor before it answered the previous one, so
	// service starts at the later of the two: Latency = answer read −
	// max(request written, previous answer read).
	Latency time.Duration
	// Queue is the time the request waited in the pipeline before its
	// service started: max(0, previous answer read − request written).
	// Zero one request at a time and for HTTP. Latency + Queue is the
	// request's time in flight.
	Queue time.Duration
	// Fingerprint is the build fingerprint the answer carries (openai:
	// system_fingerprint), "" when the protocol has none.
	Fingerprint string
	// Model is the model the answer says served it (openai: "model"), ""
	// when it names none.
	Model string
	// Logprobs are the token logprobs of the first choice as the server
	// wrote them (openai: choices[0].logprobs, compacted), nil when the
	// answer has none.
	Logprobs json.RawMessage
}

// Transport is how a codec's bytes reach a system.
type Transport int

const (
	// Stdio: one request per line on stdin, one response per line on stdout.
	Stdio Transport = iota + 1
	// HTTP: requests to a server the system runs.
	HTTP
)

// Codec speaks one wire protocol: it encodes requests, decodes responses and
// says which bytes of a response an exact match compares. Runners (the
// lifecycles: docker, process, endpoint) carry a codec's bytes over its
// transport; no other code compares protocol names (runners/wire maps names
// to codecs).
type Codec interface {
	// Name is the protocol name records use, e.g. "jsonl-stdio".
	Name() string
	Transport() Transport
	// Encode returns the bytes of one request (without framing).
	Encode(req Request) ([]byte, error)
	// Decode parses one response's bytes; errors wrap ErrProtocol. The
	// returned Response has Raw set to raw or a copy of it: the caller
	// hands raw over (a 1 MiB answer is not copied again) and must not
	// modify it afterwards.
	Decode(raw []byte) (Response, error)
	// Canonical returns the bytes of a response that an exact match compares
	// (for jsonl-stdio the raw line; a protocol whose responses carry ids or
	// times leaves them out).
	Canonical(raw []byte) []byte
}

// Standard paths and variables of the model and config inside a session.
const (
	ModelEnv            = "REPRISE_MODEL"
	ConfigEnv           = "REPRISE_CONFIG"
	ContainerModelPath  = "/reprise/model"
	ContainerConfigPath = "/reprise/config"
	// ContainerComponentsDir holds each pinned component, read-only, at
	// ContainerComponentsDir/<name> (a file or a directory), named by
	// $REPRISE_COMPONENT_<NAME> (ComponentEnv).
	ContainerComponentsDir = "/reprise/components"
	// Label is set on every container reprise creates, so leftovers can be
	// found with `docker ps -a --filter label=reprise`.
	Label = "reprise"
)

// Limits bound the resources of a sandboxed session.
type Limits struct {
	MemoryBytes int64 // hard memory limit; 0 means the runner's default
	NanoCPUs    int64 // CPU quota in 1e-9 CPUs; 0 means the runner's default
	Pids        int64 // maximum number of processes (threads count); 0 means the runner's default
	// TmpfsBytes is the size of the writable /tmp tmpfs; 0 means the runner's default.
	TmpfsBytes int64
}

// Spec says what to start for one session.
type Spec struct {
	// Image is the pinned image (docker runner).
	Image system.ImageRef
	// ModelPath and ConfigPath are host files (already verified) that the
	// runner exposes read-only to the system; empty means none.
	ModelPath  string
	ConfigPath string
	// Components are the record's pinned components (retrieval index,
	// embedding table, prompt template…), by name: host paths (a file or a
	// directory, already verified) that the runner exposes read-only, at
	// ContainerComponentsDir/<name> in a container, each named by the
	// variable ComponentEnv(name). Nil means none.
	Components map[string]string
	// Env is extra environment for the system (e.g. fixture switches).
	Env map[string]string
	// Codec is the wire protocol the system speaks.
	Codec Codec
	// HardwareClass is the record's hardware class; a "gpu/nvidia/…" class
	// makes the docker runner request the host's NVIDIA GPUs.
	HardwareClass string
	Limits        Limits
	// StartTimeout bounds the first run (run 0), which includes the
	// system's start-up (e.g. importing torch and loading the model);
	// RunTimeout bounds every later request; SessionTimeout bounds the
	// whole session. Zero means the runner's default.
	StartTimeout   time.Duration
	RunTimeout     time.Duration
	SessionTimeout time.Duration
	// Labels are added to the container (docker runner).
	Labels map[string]string
	// Concurrency is how many HTTP requests are in flight at once (the
	// CLI's --concurrency), to reproduce systems whose outputs depend on
	// server-side batching; 0 means 1. A stdio protocol refuses more than
	// 1 (ErrInvalidSpec): its window is Window.
	Concurrency int
	// Window bounds the requests in flight on a stdio session (the CLI's
	// --stdio-window); 0 means DefaultWindow, 1 sends one request at a
	// time. Requests are pipelined only once the system has echoed a
	// request id, so that every answer is checked against its request.
	Window int
	// MaxResponseBytes bounds one response, in bytes (the CLI's
	// --max-response-size); a longer response is a protocol error. Zero
	// means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// GPUs selects the GPUs of a gpu/nvidia class (the CLI's --gpus, in
	// hwclass.ParseSelection's syntax); "" lets the class decide.
	GPUs string
}

// DefaultMaxResponseBytes is the default bound of one response: 4 MiB.
const DefaultMaxResponseBytes = 4 << 20

// Bounds of Spec.Concurrency and Spec.Window.
const (
	// MaxConcurrency is the largest Spec.Concurrency.
	MaxConcurrency = 256
	// DefaultWindow is the stdio window when Spec.Window is 0: with the
	// fixture loan approver in a container, 64 brings a run through the
	// engine's attach stream to the cost of a bare loop piping to the
	// binary (16 is about twice that).
	DefaultWindow = 64
	// MaxWindow is the largest Spec.Window.
	MaxWindow = 1024
)

// InFlight checks the spec's Concurrency and Window against their bounds
// and the codec's transport, and returns the effective values (defaults
// applied). Errors wrap ErrInvalidSpec.
func (s Spec) InFlight() (concurrency, window int, err error) {
	concurrency, window = max(s.Concurrency, 1), s.Window
	if window == 0 {
		window = DefaultWindow
	}
	if s.Concurrency < 0 || s.Concurrency > MaxConcurrency {
		return 0, 0, fmt.Errorf("%w: concurrency %d: must be between 1 and %d", ErrInvalidSpec, s.Concurrency, MaxConcurrency)
	}
	if s.Window < 0 || s.Window > MaxWindow {
		return 0, 0, fmt.Errorf("%w: stdio window %d: must be between 1 and %d", ErrInvalidSpec, s.Window, MaxWindow)
	}
	if concurrency > 1 && s.Codec != nil && s.Codec.Transport() != HTTP {
		return 0, 0, fmt.Errorf("%w: concurrency %d: protocol %s is a stdio protocol, which answers one request at a time; it pipelines up to the stdio window (%d) instead, once the system echoes request ids", ErrInvalidSpec, concurrency, s.Codec.Name(), window)
	}
	return concurrency, window, nil
}

// Info describes the session that actually ran, for reports.
type Info struct {
	Runner string `json:"runner"` // "docker", "process", "endpoint"
	// Pinned is false when the environment is not pinned (process runner).
	Pinned      bool   `json:"environment_pinned"`
	ImageID     string `json:"image_id,omitempty"`
	RepoDigest  string `json:"repo_digest,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	Entrypoint  string `json:"entrypoint,omitempty"`
	Engine      string `json:"engine,omitempty"` // e.g. "docker 20.10.24 (API 1.41)"
	Pulled      bool   `json:"pulled,omitempty"`
	// Source says where the image came from: "local" (present on the
	// engine) or "pulled from HOST" (the registry host); empty for runners
	// without images.
	Source string `json:"image_source,omitempty"`
	// Registry is the registry that served a pulled image (HOST[:PORT],
	// one the user allowed); empty when the image was already present.
	Registry string `json:"registry,omitempty"`
	// Startup is the time from starting the system to its first answer
	// (start-up, model load and run 0), zero until run 0 has answered.
	// Run 0's Latency counts only from sending its request, so per-run
	// figures may leave run 0 out and report Startup apart.
	Startup time.Duration `json:"startup_ns,omitempty"`
	// Server is what an HTTP server says about itself (openai: the body
	// of GET /v1/models, truncated), when the codec can ask.
	Server string `json:"server,omitempty"`
	// Delivery says how model, config and components reached a container
	// (docker runner): "bind" (bind mounts of reprise's files, the engine
	// proven to see them) or "volume" (a volume filled through the engine).
	Delivery string `json:"delivery,omitempty"`
	// URL is the server's base URL (HTTP sessions).
	URL string `json:"url,omitempty"`
	// Fingerprints are the distinct build fingerprints the server's
	// answers carried (openai: system_fingerprint), in order of appearance.
	Fingerprints []string `json:"fingerprints,omitempty"`
	// ServedModels are the distinct model names the server's answers
	// carried (openai: "model"), in order of appearance.
	ServedModels []string `json:"served_models,omitempty"`
	// ModelDigest is the served model's digest as the server gives it
	// (Ollama: GET /api/tags; a "digest" of its GET /v1/models entry),
	// asked once after run 0; ModelDigestFrom names where it came from.
	// Empty when the server offers none.
	ModelDigest     string `json:"model_digest,omitempty"`
	ModelDigestFrom string `json:"model_digest_from,omitempty"`
	// Concurrency is the number of HTTP requests sent at once (HTTP
	// sessions; 1 is one at a time).
	Concurrency int `json:"concurrency,omitempty"`
	// Window is the bound of requests in flight on a stdio session, and
	// Pipelined says whether the session used it (the system echoed
	// request ids); without echoed ids requests went one at a time.
	Window    int  `json:"stdio_window,omitempty"`
	Pipelined bool `json:"pipelined,omitempty"`
	// Notes say what the runner did not do that the spec asked for (the
	// endpoint runner: the pinned components a running server was not
	// given); reports add them to their notes.
	Notes []string `json:"notes,omitempty"`
}

// Session answers runs of one started system. Run is not safe for concurrent
// use; Close releases everything (the container is removed) and is safe to
// call more than once.
type Session interface {
	Run(ctx context.Context, req Request) (Response, error)
	Info() Info
	Close(ctx context.Context) error
}

// Batcher is implemented by sessions that can keep several runs in flight
// (HTTP: Spec.Concurrency requests at once; stdio: pipelining up to
// Spec.Window once the system echoes request ids). RunBatch sends reqs as
// the session's next len(reqs) runs (consecutive run indices, each with its
// own parameters) and calls yield once per request, in request order, with
// i the index in reqs. It stops at the first error (after yielding it) or
// when yield returns false; runs still in flight then are abandoned, never
// yielded. Run and RunBatch are not safe for concurrent use.
type Batcher interface {
	RunBatch(ctx context.Context, reqs []Request, yield func(i int, resp Response, err error) bool)
}

// Errors reported by runners. Callers test them with errors.Is.
var (
	// ErrInvalidSpec: a session setting is out of range or does not fit
	// the protocol (a usage error).
	ErrInvalidSpec = errors.New("invalid session settings")
	// ErrImageMismatch: the image found or pulled does not match the pinned digest.
	ErrImageMismatch = errors.New("image does not match its pinned digest")
	// ErrImageUnavailable: the image is not present and cannot be pulled.
	ErrImageUnavailable = errors.New("image unavailable")
	// ErrRegistryNotAllowed: the image is not present, and the registry
	// its reference names is not one the user allowed pulls from (a usage
	// error: the flag --allow-registry allows it).
	ErrRegistryNotAllowed = errors.New("registry not allowed")
	// ErrEngine: the container engine cannot be reached.
	ErrEngine = errors.New("container engine unavailable")
	// ErrCrashed: the system exited or closed its output during a session.
	ErrCrashed = errors.New("system crashed")
	// ErrTimeout: a run or the session took longer than its timeout.
	ErrTimeout = errors.New("timed out")
	// ErrProtocol: the system answered something that is not a valid response.
	ErrProtocol = errors.New("protocol error")
	// ErrUnsupported: a protocol or option this runner does not implement.
	ErrUnsupported = errors.New("unsupported")
)

// RunError wraps an error of one run with its index, so messages name the run.
type RunError struct {
	Run int // 0-based index of the run in the session
	Err error
}

func (e *RunError) Error() string { return "run " + strconv.Itoa(e.Run) + ": " + e.Err.Error() }
func (e *RunError) Unwrap() error { return e.Err }

// OutOfStepError says that a session's responses are out of step with its
// requests: a line arrived while no request was outstanding, or an echoed
// request id is not the id of the request it answers. Every run from Since
// on (0-based run indices of the session, Since <= the failing run) may
// carry another request's answer: callers must treat those runs as invalid,
// never as outputs. Err wraps ErrProtocol and names the line or the ids.
type OutOfStepError struct {
	Since int
	Err   error
}

func (e *OutOfStepError) Error() string {
	return e.Err.Error() + "; the session is out of step since run " + strconv.Itoa(e.Since)
}
func (e *OutOfStepError) Unwrap() error { return e.Err }

// Finisher is implemented by sessions that can check, after the last run,
// that the system printed nothing more: it closes the system's input and
// reads what is left of its output (a bounded wait). A line found then is an
// *OutOfStepError wrapped in a *RunError of the last run. Callers call
// Finish once, after the last run and before trusting the runs.
type Finisher interface {
	Finish(ctx context.Context) error
}

// Default timeouts of a session, for every runner (the CLI's flags default
// to the same): DefaultStartTimeout bounds run 0, which includes a model
// load (the endpoint runner, whose server already runs, takes less);
// DefaultRunTimeout every later run; DefaultSessionTimeout the session.
const (
	DefaultStartTimeout   = 10 * time.Minute
	DefaultRunTimeout     = 30 * time.Second
	DefaultSessionTimeout = 30 * time.Minute
)

// Budget holds a session's timeouts: run 0 gets Start (the system's
// start-up is charged to it), every later run gets Run, and no run may end
// after the session's deadline. Runners share it so the rules are written
// once.
type Budget struct {
	Start, Run, Session time.Duration
	began, deadline     time.Time
}

// NewBudget starts a session's budget at now; zero durations of the spec
// take the defaults given.
func NewBudget(spec Spec, defStart, defRun, defSession time.Duration, now time.Time) Budget {
	b := Budget{
		Start:   cmp.Or(spec.StartTimeout, defStart),
		Run:     cmp.Or(spec.RunTimeout, defRun),
		Session: cmp.Or(spec.SessionTimeout, defSession),
	}
	b.began, b.deadline = now, now.Add(b.Session)
	return b
}

// StartDeadline is when the start timeout of a session begun by NewBudget
// passes: the system's start-up, its readiness and run 0 all fall within
// it (an HTTP server that still answers 503 "not ready" to run 0 is
// retried until then).
func (b Budget) StartDeadline() time.Time { return b.began.Add(b.Start) }

// DefaultBudget is NewBudget with DefaultStartTimeout, DefaultRunTimeout
// and DefaultSessionTimeout for the durations spec leaves zero.
func DefaultBudget(spec Spec, now time.Time) Budget {
	return NewBudget(spec, DefaultStartTimeout, DefaultRunTimeout, DefaultSessionTimeout, now)
}

// For returns the timeout of run (0-based) before the session's deadline:
// Start for run 0, Run for the others.
func (b Budget) For(run int) time.Duration {
	if run == 0 {
		return b.Start
	}
	return b.Run
}

// Next returns the timeout of run started at now: For(run), or what is left
// of the session if less. A passed session deadline wraps ErrTimeout.
func (b Budget) Next(run int, now time.Time) (time.Duration, error) {
	left := b.deadline.Sub(now)
	if left <= 0 {
		return 0, fmt.Errorf("%w: the session timeout %s has passed", ErrTimeout, b.Session)
	}
	return min(b.For(run), left), nil
}

// Explain says which timeout cut a run short: "(session timeout)" when the
// session's deadline did, "(start timeout)" for run 0.
func (b Budget) Explain(err error, run int, timeout time.Duration) error {
	if err == nil || !errors.Is(err, ErrTimeout) {
		return err
	}
	if timeout < b.For(run) {
		return fmt.Errorf("%w (session timeout %s)", err, b.Session)
	}
	if run == 0 {
		return fmt.Errorf("%w (start timeout %s: the first run includes the system's start-up)", err, b.Start)
	}
	return err
}

// ComponentEnv is the environment variable naming component name's path:
// REPRISE_COMPONENT_ and the name upper-cased, every character other than
// A–Z and 0–9 written as "_" (index → REPRISE_COMPONENT_INDEX,
// prompt-template → REPRISE_COMPONENT_PROMPT_TEMPLATE).
func ComponentEnv(name string) string {
	b := []byte(strings.ToUpper(name))
	for i, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	return "REPRISE_COMPONENT_" + string(b)
}

// ComponentClash returns the first two component names, in name order,
// that ComponentEnv maps to one variable (a-b and a.b are both
// REPRISE_COMPONENT_A_B), and that variable; ok is false when there are
// none.
func ComponentClash[V any](components map[string]V) (a, b, env string, ok bool) {
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(components)) {
		e := ComponentEnv(name)
		if other, dup := seen[e]; dup {
			return other, name, e, true
		}
		seen[e] = name
	}
	return "", "", "", false
}
