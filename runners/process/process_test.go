package process

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/reprise-dev/reprise/fixtures/gobuild"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/runners/runnertest"
)

// buildLoanserver compiles the fixture system for the host.
func buildLoanserver(t *testing.T) string {
	t.Helper()
	return gobuild.Build(t, "./fixtures/loanserver")
}

func root(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestConformance(t *testing.T) {
	bin := buildLoanserver(t)
	r := &Runner{Entrypoint: bin}
	input, err := os.ReadFile(filepath.Join(root(t), "fixtures", "inputs", "application-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	runnertest.Run(t, r, runnertest.Fixture{
		ModelPath:  filepath.Join(root(t), "fixtures", "models", "loan-approver-2.4.1.safetensors"),
		ConfigPath: filepath.Join(root(t), "fixtures", "configs", "loan-params-3.json"),
		Input:      input,
	})
	s, err := r.Start(context.Background(), runners.Spec{ModelPath: "x", ConfigPath: "y", Codec: jsonl.Codec{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if s.Info().Pinned || s.Info().Runner != "process" {
		t.Fatalf("info %+v", s.Info())
	}
	// A system that cannot load its model exits: the run says why.
	_, err = s.Run(context.Background(), runners.Request{Input: input})
	if !errors.Is(err, runners.ErrCrashed) {
		t.Fatalf("err = %v", err)
	}
	t.Logf("bad model reported as: %v", err)
}

func TestMissingEntrypoint(t *testing.T) {
	_, err := (&Runner{Entrypoint: "/nonexistent/server"}).Start(context.Background(), runners.Spec{Codec: jsonl.Codec{}})
	if !errors.Is(err, runners.ErrImageUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkBareLoop is the floor of the stdio benchmarks: a bare Go loop
// that writes one request line to the fixture loan approver's stdin and
// reads one answer line, with no codec, timeouts or checks.
func BenchmarkBareLoop(b *testing.B) {
	bin, model, config, input := benchFixture(b)
	cmd := exec.Command(bin)
	cmd.Env = []string{runners.ModelEnv + "=" + model, runners.ConfigEnv + "=" + config}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	br := bufio.NewReader(stdout)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		line := fmt.Sprintf(`{"id":"r%d","input":%s,"params":{"seed":%d}}`+"\n", i, input, i)
		if _, err := io.WriteString(stdin, line); err != nil {
			b.Fatal(err)
		}
		if _, err := br.ReadBytes('\n'); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}

// BenchmarkProcessRuns is --runner process over the same binary, one
// request at a time (window=1) and pipelined (window=16, and 64, the default).
func BenchmarkProcessRuns(b *testing.B) {
	bin, model, config, input := benchFixture(b)
	for _, w := range []int{1, 16, runners.DefaultWindow} {
		b.Run(fmt.Sprintf("window=%d", w), func(b *testing.B) {
			s, err := (&Runner{Entrypoint: bin}).Start(context.Background(), runners.Spec{ModelPath: model, ConfigPath: config, Codec: jsonl.Codec{}, Window: w})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			if _, err := s.Run(context.Background(), runners.Request{Input: input}); err != nil {
				b.Fatal(err)
			}
			runnertest.BenchRuns(b, s, input)
		})
	}
}

func benchFixture(b *testing.B) (bin, model, config string, input []byte) {
	bin = gobuild.Build(b, "./fixtures/loanserver")
	r := root(b)
	input, err := os.ReadFile(filepath.Join(r, "fixtures", "inputs", "application-demo.json"))
	if err != nil {
		b.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, input); err != nil {
		b.Fatal(err)
	}
	return bin, filepath.Join(r, "fixtures", "models", "loan-approver-2.4.1.safetensors"), filepath.Join(r, "fixtures", "configs", "loan-params-3.json"), compact.Bytes()
}
