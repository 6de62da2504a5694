// Package runners holds what every runner shares: the wire types of one
// inference request and response, the Spec that starts a session of a pinned
// system, the Session interface, and the errors runners report.
//
// A runner starts the pinned system once per replay session and answers many
// runs through it. Implementations live in sub-packages: runners/docker (the
// Docker Engine API, sandboxed), runners/process (a local executable, not
// pinned) and the wire protocols (runners/jsonl).
//
// The contract with the system under replay (jsonl-stdio protocol):
//   - one JSON request per line on stdin: {"input": <any JSON>, "params": {"seed": 42, "temperature": 0.7, ...}}
//   - one JSON response per line on stdout: {"label": "approved", "score": 0.87, "text": null}
//     or {"error": "message"} for a request it could not answer;
//   - the model file is at the path in $REPRISE_MODEL and the config file at
//     $REPRISE_CONFIG (in a container: /reprise/model and /reprise/config, read-only).
//
// Packages of reprise that use runners declare the small interfaces they need;
// this package imports nothing of the project but replay/digest.
package runners

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Params are the per-request inference parameters sent with a request.
// Nil fields are omitted on the wire.
type Params struct {
	Seed        *int64   `json:"seed,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	MaxTokens   *int     `json:"max_tokens,omitempty"`
}

// Request is one inference request.
type Request struct {
	Input  json.RawMessage `json:"input"`
	Params Params          `json:"params"`
}

// Response is one inference response, normalized. Raw holds the exact
// response bytes (one line, without the newline) as the system wrote them.
type Response struct {
	Label *string  `json:"label,omitempty"`
	Score *float64 `json:"score,omitempty"`
	Text  *string  `json:"text,omitempty"`
	Raw   []byte   `json:"-"`
	// Latency is the wall time from sending the request to reading the response.
	Latency time.Duration `json:"-"`
}

// Standard paths and variables of the model and config inside a session.
const (
	ModelEnv            = "REPRISE_MODEL"
	ConfigEnv           = "REPRISE_CONFIG"
	ContainerModelPath  = "/reprise/model"
	ContainerConfigPath = "/reprise/config"
	// Label is set on every container reprise creates, so leftovers can be
	// found with `docker ps -a --filter label=reprise`.
	Label = "reprise"
)

// Limits bound the resources of a sandboxed session.
type Limits struct {
	MemoryBytes int64 // hard memory limit; 0 means the runner's default
	NanoCPUs    int64 // CPU quota in 1e-9 CPUs; 0 means the runner's default
	Pids        int64 // maximum number of processes; 0 means the runner's default
}

// Spec says what to start for one session.
type Spec struct {
	// Image is the pinned image: "name@sha256:<hex>" or a local image id
	// "sha256:<hex>". A tag alone is refused with ErrNotPinned.
	Image string
	// ModelPath and ConfigPath are host files (already verified) that the
	// runner exposes read-only to the system; empty means none.
	ModelPath  string
	ConfigPath string
	// Env is extra environment for the system (e.g. fixture switches).
	Env map[string]string
	// Protocol is the wire protocol; only "jsonl-stdio" is implemented.
	Protocol string
	// HardwareClass is the record's hardware class; a "gpu/nvidia/…" class
	// makes the docker runner request the host's NVIDIA GPUs.
	HardwareClass string
	Limits        Limits
	// RunTimeout bounds one request; SessionTimeout bounds the whole session.
	// Zero means the runner's default.
	RunTimeout     time.Duration
	SessionTimeout time.Duration
	// Labels are added to the container (docker runner).
	Labels map[string]string
}

// Info describes the session that actually ran, for reports.
type Info struct {
	Runner string `json:"runner"` // "docker", "process"
	// Pinned is false when the environment is not pinned (process runner).
	Pinned      bool   `json:"environment_pinned"`
	ImageID     string `json:"image_id,omitempty"`
	RepoDigest  string `json:"repo_digest,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	Entrypoint  string `json:"entrypoint,omitempty"`
	Engine      string `json:"engine,omitempty"` // e.g. "docker 20.10.24 (API 1.41)"
	Pulled      bool   `json:"pulled,omitempty"`
}

// Session answers runs of one started system. Run is not safe for concurrent
// use; Close releases everything (the container is removed) and is safe to
// call more than once.
type Session interface {
	Run(ctx context.Context, req Request) (Response, error)
	Info() Info
	Close(ctx context.Context) error
}

// Errors reported by runners. Callers test them with errors.Is.
var (
	// ErrNotPinned: an image reference with a tag and no digest.
	ErrNotPinned = errors.New("image is not pinned by digest")
	// ErrImageMismatch: the image found or pulled does not match the pinned digest.
	ErrImageMismatch = errors.New("image does not match its pinned digest")
	// ErrImageUnavailable: the image is not present and cannot be pulled.
	ErrImageUnavailable = errors.New("image unavailable")
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

func (e *RunError) Error() string { return "run " + itoa(e.Run) + ": " + e.Err.Error() }
func (e *RunError) Unwrap() error { return e.Err }

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
