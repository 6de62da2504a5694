package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeNVIDIASMI puts a fake nvidia-smi first on PATH that reports gpus
// (nvidia-smi --query-gpu=index,uuid,name,memory.total,driver_version
// --format=csv,noheader,nounits lines) and CUDA 12.2 in its summary.
func fakeNVIDIASMI(t *testing.T, gpus string) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\ncase \"$1\" in\n--query-gpu=*) printf '%s\\n' '" + gpus + "' ;;\n" +
		"*) printf '| NVIDIA-SMI 535.129.03   Driver Version: 535.129.03   CUDA Version: 12.2 |\\n' ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestReplayGPUClass: a record made on two A100s is refused on a host
// with one T4, naming each missing part (exit 5); on a host with two
// A100s in the same driver branch it passes the class check and the
// docker runner asks the engine for 2 GPUs, which this engine (no NVIDIA
// Container Toolkit) refuses, naming what it lacks (exit 5). A class that
// does not parse is invalid input (exit 2), at record create and replay.
func TestReplayGPUClass(t *testing.T) {
	_, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	const class = "gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.2"
	create := func(class, out string) cliResult {
		return cli(t, "", "--store", st, "record", "create", "--image", img, "--input", fx("inputs", "application-demo.json"),
			"--model", fx("models", "loan-approver-2.4.1.safetensors"), "--config", fx("configs", "loan-params-3.json"),
			"--label", "approved", "--hardware-class", class, "--request-id", "req_gpu", "-o", out)
	}
	rec := filepath.Join(t.TempDir(), "gpu.json")
	if r := create(class, rec); r.code != 0 {
		t.Fatal(r.err)
	}
	t.Run("one T4", func(t *testing.T) {
		fakeNVIDIASMI(t, "0, GPU-1, Tesla T4, 15109, 535.129.03")
		r := cli(t, "", "--store", st, "replay", rec, "-n", "10", "--output", filepath.Join(t.TempDir(), "o"))
		for _, want := range []string{"hardware class mismatch", "GPU model: the record needs a100-sxm4-80gb, this host has tesla-t4",
			"GPU memory: the record needs 80 GiB, this host has 15 GiB", "--allow-hardware-mismatch"} {
			if r.code != 5 || !strings.Contains(r.err, want) {
				t.Errorf("exit %d (want 5), stderr %q does not say %q", r.code, r.err, want)
			}
		}
	})
	t.Run("two A100s", func(t *testing.T) {
		fakeNVIDIASMI(t, "0, GPU-1, NVIDIA A100-SXM4-80GB, 81920, 535.129.03\n1, GPU-2, NVIDIA A100-SXM4-80GB, 81920, 535.129.03")
		r := cli(t, "", "--store", st, "replay", rec, "-n", "10", "--output", filepath.Join(t.TempDir(), "o"))
		if r.code != 5 || strings.Contains(r.err, "hardware class mismatch") || !strings.Contains(r.err, "requests 2 NVIDIA GPUs") ||
			!strings.Contains(r.err, "nvidia-container-runtime-hook") {
			t.Errorf("exit %d (want 5), stderr %q: want the engine's missing nvidia device driver named", r.code, r.err)
		}
	})
	t.Run("--gpus", func(t *testing.T) {
		fakeNVIDIASMI(t, "0, GPU-1, NVIDIA A100-SXM4-80GB, 81920, 535.129.03\n1, GPU-2, NVIDIA A100-SXM4-80GB, 81920, 535.129.03")
		cases := []struct {
			gpus []string
			code int
			says string
		}{
			{[]string{"--gpus", "device=GPU-2,GPU-1"}, 5, "requests the NVIDIA GPUs GPU-2,GPU-1"},
			{[]string{"--gpus", "1"}, 2, "--gpus 1 gives the system 1 GPU(s), and the record's class " + class + " ran on 2"},
			{[]string{"--gpus", "lots"}, 2, `--gpus: invalid GPU selection "lots"`},
			{[]string{"--gpus", "all", "--runner", "process", "--entrypoint", os.Args[0]}, 2, "--gpus is only for --runner docker"},
		}
		for _, c := range cases {
			args := append([]string{"--store", st, "replay", rec, "-n", "10", "--output", filepath.Join(t.TempDir(), "o")}, c.gpus...)
			if r := cli(t, "", args...); r.code != c.code || !strings.Contains(r.err, c.says) {
				t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.gpus, r.code, c.code, r.err, c.says)
			}
		}
	})
	t.Run("invalid class", func(t *testing.T) {
		if r := create("gpu/nvidia/a100+80gb", filepath.Join(t.TempDir(), "bad.json")); r.code != 2 || !strings.Contains(r.err, `attribute "80gb"`) {
			t.Errorf("record create: exit %d (want 2), stderr %q", r.code, r.err)
		}
		b, err := os.ReadFile(rec)
		if err != nil {
			t.Fatal(err)
		}
		bad := filepath.Join(t.TempDir(), "bad.json")
		os.WriteFile(bad, []byte(strings.Replace(string(b), class, "gpu/nvidia/a100+80gb", 1)), 0o644)
		r := cli(t, "", "--store", st, "replay", bad, "-n", "10", "--output", filepath.Join(t.TempDir(), "o"))
		if r.code != 2 || !strings.Contains(r.err, `the record's hardware class: invalid hardware class "gpu/nvidia/a100+80gb"`) {
			t.Errorf("replay: exit %d (want 2), stderr %q", r.code, r.err)
		}
	})
}

// TestEnvGPUs: reprise env shows the GPUs nvidia-smi lists and the class
// they make.
func TestEnvGPUs(t *testing.T) {
	fakeNVIDIASMI(t, "0, GPU-1, NVIDIA A100-SXM4-80GB, 81920, 535.129.03\n1, GPU-2, NVIDIA A100-SXM4-80GB, 81559, 535.129.03")
	r := cli(t, "", "env")
	for _, want := range []string{"hardware_class: gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.129.03+cuda12.2\n",
		"gpu 1:          NVIDIA A100-SXM4-80GB, 81559 MiB, driver 535.129.03, CUDA 12.2, GPU-2\n"} {
		if r.code != 0 || !strings.Contains(r.out, want) {
			t.Errorf("env: exit %d, stdout %q does not say %q", r.code, r.out, want)
		}
	}
	r = cli(t, "", "env", "--format", "json")
	var env struct {
		GPUs []struct {
			Name      string `json:"name"`
			MemoryMiB int    `json:"memory_mib"`
			CUDA      string `json:"cuda"`
		} `json:"gpus"`
	}
	if err := json.Unmarshal([]byte(r.out), &env); err != nil || len(env.GPUs) != 2 || env.GPUs[1].MemoryMiB != 81559 || env.GPUs[0].CUDA != "12.2" {
		t.Fatalf("env --format json: %v, %+v (%s)", err, env, r.out)
	}
}
