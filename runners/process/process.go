// Package process runs the jsonl-stdio protocol against a local executable:
// for developing a model server without containers. Nothing is sandboxed or
// pinned; Info().Pinned is false and reports say so.
//
// The executable does not inherit reprise's environment (which may hold
// secrets): it gets PATH, LANG and TZ from reprise's, HOME set to a fresh
// empty directory removed on Close, $REPRISE_MODEL and $REPRISE_CONFIG, one
// $REPRISE_COMPONENT_<NAME> (runners.ComponentEnv) per pinned component
// naming its host path (a file or a directory), and the spec's Env,
// nothing else (Environ). The paths are the session's verified copies, as
// a container would see them at /reprise/…, but on the host: the process
// reads them where they are. It runs in its own process group,
// killed as a whole on Close, and on Linux it receives SIGKILL when reprise
// dies (Pdeathsig), even by SIGKILL. Caveat: Linux sends the parent-death
// signal when the OS thread that started the child exits, not the process;
// the Go runtime keeps its threads alive except those of goroutines that
// exit while locked with runtime.LockOSThread, so Start must not be called
// from such a goroutine. Processes the executable itself starts in another
// process group are not covered.
package process

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
)

// HomePrefix names the fresh HOME folder of each session in the temp folder:
// HomePrefix<pid>-…, so 'reprise clean' can remove those of a killed reprise.
const HomePrefix = "reprise-home-"

// Runner starts the executable Entrypoint with Args for each session.
type Runner struct {
	Entrypoint string
	Args       []string
}

// Start starts the executable with $REPRISE_MODEL, $REPRISE_CONFIG and
// each $REPRISE_COMPONENT_<NAME> set to the spec's host paths. spec.Image is
// ignored: the environment is not pinned.
func (r *Runner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	if spec.Codec == nil || spec.Codec.Transport() != runners.Stdio {
		return nil, fmt.Errorf("%w: the process runner carries stdio protocols only", runners.ErrUnsupported)
	}
	_, window, err := spec.InFlight()
	if err != nil {
		return nil, err
	}
	path, err := exec.LookPath(r.Entrypoint)
	if err != nil {
		return nil, fmt.Errorf("%w: entrypoint %s: %v", runners.ErrImageUnavailable, r.Entrypoint, err)
	}
	home, err := os.MkdirTemp("", HomePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			os.RemoveAll(home)
		}
	}()
	cmd := exec.Command(path, r.Args...)
	cmd.Env = Environ(os.Getenv, home, spec)
	cmd.Dir = home
	cmd.SysProcAttr = sysProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// An os.Pipe of our own, not StdoutPipe: Wait closes StdoutPipe's read end
	// when the process exits, racing with the reader of its last lines.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = stdoutW
	s := &session{cmd: cmd, home: home, stdout: stdout, stderr: &runners.Tail{Max: 4096}, spec: spec, budget: runners.DefaultBudget(spec, time.Now()), done: make(chan struct{})}
	cmd.Stderr = s.stderr
	err = cmd.Start()
	s.started = time.Now()
	stdoutW.Close() // the child holds its own copy
	if err != nil {
		stdout.Close()
		return nil, fmt.Errorf("%w: start %s: %v", runners.ErrCrashed, path, err)
	}
	started = true
	s.conn = jsonl.NewLimited(spec.Codec, stdin, stdout, spec.MaxResponseBytes)
	s.conn.OnEOF = s.exitDetail
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()
	s.info = runners.Info{Runner: "process", Pinned: false, Entrypoint: path, Window: window}
	return s, nil
}

type session struct {
	cmd     *exec.Cmd
	home    string
	stdout  *os.File
	conn    *jsonl.Conn
	stderr  *runners.Tail
	spec    runners.Spec
	info    runners.Info
	budget  runners.Budget
	started time.Time
	done    chan struct{}
	waitErr error
	once    sync.Once
}

var _ runners.Session = (*session)(nil)
var _ runners.Finisher = (*session)(nil)
var _ runners.Batcher = (*session)(nil)

// RunBatch runs reqs with up to the stdio window in flight once the system
// echoes request ids (runners.Batcher, jsonl.Conn.DoAll).
func (s *session) RunBatch(ctx context.Context, reqs []runners.Request, yield func(i int, resp runners.Response, err error) bool) {
	s.conn.DoAllWithin(ctx, reqs, s.info.Window, s.budget, s.explain, yield)
}

// explain completes the outcome of run (sent with timeout): the start-up
// time after run 0's answer, and which timeout cut it short.
func (s *session) explain(err error, run int, timeout time.Duration) error {
	if err == nil && run == 0 {
		s.info.Startup = time.Since(s.started)
	}
	return s.budget.Explain(err, run, timeout)
}

// FinishWait bounds how long Finish waits for the system's output to end
// after its input is closed.
const FinishWait = 2 * time.Second

// Environ is the environment of the executable: PATH, LANG and TZ as getenv
// has them (when set), HOME, $REPRISE_MODEL, $REPRISE_CONFIG and
// runners.ComponentEnv(name) for each of spec.Components (its host path),
// then the spec's Env (which may override any of them), sorted.
func Environ(getenv func(string) string, home string, spec runners.Spec) []string {
	env := map[string]string{"HOME": home, runners.ModelEnv: spec.ModelPath, runners.ConfigEnv: spec.ConfigPath}
	for name, p := range spec.Components {
		env[runners.ComponentEnv(name)] = p
	}
	for _, k := range []string{"PATH", "LANG", "TZ"} {
		if v := getenv(k); v != "" {
			env[k] = v
		}
	}
	maps.Copy(env, spec.Env)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// Finish closes the system's stdin and checks that it prints nothing more
// (runners.Finisher).
func (s *session) Finish(ctx context.Context) error {
	return s.conn.Finish(ctx, min(FinishWait, s.budget.Run))
}

func (s *session) Info() runners.Info {
	info := s.info
	info.Pipelined = s.conn.Pipelined()
	return info
}

func (s *session) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	return s.conn.DoWithin(ctx, req, s.budget, s.explain)
}

func (s *session) exitDetail() error {
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
	}
	var parts []string
	select {
	case <-s.done:
		var ee *exec.ExitError
		if errors.As(s.waitErr, &ee) {
			parts = append(parts, "process "+ee.ProcessState.String())
		} else if s.waitErr == nil {
			parts = append(parts, "process exited with status 0")
		}
	default:
	}
	return s.stderr.Explain(parts)
}

// Close kills the process group and reaps it. Safe to call more than once.
func (s *session) Close(ctx context.Context) error {
	s.once.Do(func() {
		if s.cmd.Process != nil {
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		}
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
		s.stdout.Close()
		os.RemoveAll(s.home)
	})
	return nil
}
