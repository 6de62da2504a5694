package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/reprise-dev/reprise/system"
)

// k8sJob is the subset of batch/v1 Job the example uses, decoded strictly
// (an unknown or misspelt field is an error). Field names and types follow
// the Kubernetes API reference (batch/v1 JobSpec, core/v1 PodSpec).
type k8sJob struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Metadata   k8sMetadata `yaml:"metadata"`
	Spec       struct {
		CompletionMode       string `yaml:"completionMode"`
		Completions          *int   `yaml:"completions"`
		Parallelism          *int   `yaml:"parallelism"`
		BackoffLimit         *int   `yaml:"backoffLimit"`
		BackoffLimitPerIndex *int   `yaml:"backoffLimitPerIndex"`
		PodFailurePolicy     *struct {
			Rules []struct {
				Action      string `yaml:"action"`
				OnExitCodes struct {
					ContainerName string  `yaml:"containerName"`
					Operator      string  `yaml:"operator"`
					Values        []int32 `yaml:"values"`
				} `yaml:"onExitCodes"`
			} `yaml:"rules"`
		} `yaml:"podFailurePolicy"`
		Template struct {
			Metadata k8sMetadata `yaml:"metadata"`
			Spec     struct {
				RestartPolicy string            `yaml:"restartPolicy"`
				NodeSelector  map[string]string `yaml:"nodeSelector"`
				Containers    []struct {
					Name      string   `yaml:"name"`
					Image     string   `yaml:"image"`
					Command   []string `yaml:"command"`
					Args      []string `yaml:"args"`
					Env       []k8sEnv `yaml:"env"`
					Resources struct {
						Requests map[string]string `yaml:"requests"`
						Limits   map[string]string `yaml:"limits"`
					} `yaml:"resources"`
					SecurityContext *struct {
						ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
						AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
					} `yaml:"securityContext"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
						ReadOnly  bool   `yaml:"readOnly"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []k8sVolume `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sEnv struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		FieldRef struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

type k8sVolume struct {
	Name                  string `yaml:"name"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
	HostPath *struct {
		Path string `yaml:"path"`
		Type string `yaml:"type"`
	} `yaml:"hostPath"`
	EmptyDir *struct {
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
}

type k8sMetadata struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

// TestKubernetesExample checks deploy/kubernetes/nightly-job.yaml: strict
// decoding against the Job fields it uses, the Indexed Job's rules (shards
// = completions, the completion index in --shard, a node selector by
// hardware class, podFailurePolicy only with restartPolicy Never), a merge
// of every shard, images pinned by digest, and every reprise command line
// parsed by the real CLI.
func TestKubernetesExample(t *testing.T) {
	raw, err := os.ReadFile(fx("..", "deploy", "kubernetes", "nightly-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	filled := strings.NewReplacer("${NIGHT}", "2026-08-02", "${SINCE}", "2026-08-01T00:00:00Z", "${UNTIL}", "2026-08-02T00:00:00Z").Replace(string(raw))
	dec := yaml.NewDecoder(strings.NewReader(filled))
	dec.KnownFields(true)
	var jobs []k8sJob
	for {
		var j k8sJob
		err := dec.Decode(&j)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("document %d: %v", len(jobs)+1, err)
		}
		jobs = append(jobs, j)
	}
	if len(jobs) != 2 {
		t.Fatalf("%d documents, want the Indexed Job and the merge Job", len(jobs))
	}
	for _, j := range jobs {
		if j.APIVersion != "batch/v1" || j.Kind != "Job" || j.Metadata.Name == "" {
			t.Errorf("%s: apiVersion %q kind %q", j.Metadata.Name, j.APIVersion, j.Kind)
		}
		ps := j.Spec.Template.Spec
		if j.Spec.PodFailurePolicy != nil && ps.RestartPolicy != "Never" {
			t.Errorf("%s: podFailurePolicy needs restartPolicy Never", j.Metadata.Name)
		}
		for _, c := range ps.Containers {
			if _, err := system.ParseImageRef(c.Image); err != nil {
				t.Errorf("%s: image %s: %v", j.Metadata.Name, c.Image, err)
			}
			for _, m := range c.VolumeMounts {
				if !slices.ContainsFunc(ps.Volumes, func(v k8sVolume) bool {
					return v.Name == m.Name
				}) {
					t.Errorf("%s: volume mount %s has no volume", j.Metadata.Name, m.Name)
				}
			}
			// The real CLI parses every command line (flags and their values).
			args := slices.Clone(c.Args)
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "$(JOB_COMPLETION_INDEX)", "1")
			}
			root := newRootCmd(&streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
			sub, rest, err := root.Find(args)
			if err == nil {
				err = sub.ParseFlags(rest)
			}
			if err != nil {
				t.Errorf("%s: reprise %s: %v", j.Metadata.Name, strings.Join(args, " "), err)
			}
		}
	}
	idx, merge := jobs[0], jobs[1]
	if idx.Spec.CompletionMode != "Indexed" || idx.Spec.Completions == nil || idx.Spec.Parallelism == nil {
		t.Fatalf("the first Job is not Indexed with completions and parallelism")
	}
	n := *idx.Spec.Completions
	c := idx.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, fmt.Sprintf("--shard=$(JOB_COMPLETION_INDEX)/%d", n)) {
		t.Errorf("the shard flag does not use the completion index over %d shards: %v", n, c.Args)
	}
	if !slices.ContainsFunc(c.Env, func(e k8sEnv) bool {
		return e.Name == "JOB_COMPLETION_INDEX" && e.ValueFrom != nil &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
	}) {
		t.Error("JOB_COMPLETION_INDEX is not taken from the completion-index annotation")
	}
	if idx.Spec.Template.Spec.NodeSelector["reprise.dev/hardware-class"] == "" {
		t.Error("the shards are not placed by hardware class")
	}
	margs := merge.Spec.Template.Spec.Containers[0].Args
	for i := range n {
		if !slices.Contains(margs, fmt.Sprintf("/data/nights/2026-08-02/shard-%d", i)) {
			t.Errorf("the merge misses shard %d: %v", i, margs)
		}
	}
	if !bytes.Contains(raw, []byte("--since=${SINCE}")) {
		t.Error("the shards must share absolute time bounds, not a relative --since")
	}
}
