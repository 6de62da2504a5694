// Package process runs the jsonl-stdio protocol against a local executable:
// for developing a model server without containers. Nothing is sandboxed or
// pinned; Info().Pinned is false and reports say so.
package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
)

// Defaults of the timeouts.
const (
	DefaultStartTimeout   = 10 * time.Minute
	DefaultRunTimeout     = 30 * time.Second
	DefaultSessionTimeout = 30 * time.Minute
)

// Runner starts the executable Entrypoint with Args for each session.
type Runner struct {
	Entrypoint string
	Args       []string
}

// Start starts the executable with $REPRISE_MODEL and $REPRISE_CONFIG set to
// the spec's files. spec.Image is ignored: the environment is not pinned.
func (r *Runner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	if spec.Codec == nil || spec.Codec.Transport() != runners.Stdio {
		return nil, fmt.Errorf("%w: the process runner carries stdio protocols only", runners.ErrUnsupported)
	}
	path, err := exec.LookPath(r.Entrypoint)
	if err != nil {
		return nil, fmt.Errorf("%w: entrypoint %s: %v", runners.ErrImageUnavailable, r.Entrypoint, err)
	}
	cmd := exec.Command(path, r.Args...)
	cmd.Env = append(os.Environ(), runners.ModelEnv+"="+spec.ModelPath, runners.ConfigEnv+"="+spec.ConfigPath)
	for k, v := range spec.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // kill the whole group on Close
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
	s := &session{cmd: cmd, stdout: stdout, stderr: &runners.Tail{Max: 4096}, spec: spec, budget: runners.NewBudget(spec, DefaultStartTimeout, DefaultRunTimeout, DefaultSessionTimeout, time.Now()), done: make(chan struct{})}
	cmd.Stderr = s.stderr
	err = cmd.Start()
	s.started = time.Now()
	stdoutW.Close() // the child holds its own copy
	if err != nil {
		stdout.Close()
		return nil, fmt.Errorf("%w: start %s: %v", runners.ErrCrashed, path, err)
	}
	s.conn = jsonl.New(spec.Codec, stdin, stdout)
	s.conn.OnEOF = s.exitDetail
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()
	s.info = runners.Info{Runner: "process", Pinned: false, Entrypoint: path}
	return s, nil
}

type session struct {
	cmd     *exec.Cmd
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

func (s *session) Info() runners.Info { return s.info }

func (s *session) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	run := s.conn.Runs()
	timeout, err := s.budget.Next(run, time.Now())
	if err != nil {
		return runners.Response{}, &runners.RunError{Run: run, Err: err}
	}
	resp, err := s.conn.Do(ctx, req, timeout)
	if err == nil && run == 0 {
		s.info.Startup = time.Since(s.started)
	}
	return resp, s.budget.Explain(err, run, timeout)
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
	if t := strings.TrimSpace(s.stderr.String()); t != "" {
		parts = append(parts, "stderr: "+t)
	}
	if len(parts) == 0 {
		return nil
	}
	return errors.New(strings.Join(parts, "; "))
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
	})
	return nil
}
