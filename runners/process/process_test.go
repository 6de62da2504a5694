package process

import (
	"github.com/reprise-dev/reprise/runners/jsonl"

	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/runnertest"
)

// buildLoanserver compiles the fixture system for the host.
func buildLoanserver(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "loanserver")
	cmd := exec.Command("go", "build", "-o", bin, "./fixtures/loanserver")
	cmd.Dir = root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func root(t *testing.T) string {
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
