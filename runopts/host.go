package runopts

import (
	"context"
	"fmt"
	"io"

	"github.com/reprise-dev/reprise/runners/hwclass"
)

// Host is this host as reprise env shows it: the hardware class and
// environment snapshot, and the Docker engine's version (or why there is
// none).
type Host struct {
	hwclass.Snapshot
	Docker      string `json:"docker,omitempty"`
	DockerError string `json:"docker_error,omitempty"`
}

// ThisHost reads this host's snapshot and asks the engine its version.
func ThisHost(ctx context.Context) Host {
	h := Host{Snapshot: hwclass.Host(ctx)}
	if v, err := EngineVersion(ctx); err != nil {
		h.DockerError = err.Error()
	} else {
		h.Docker = v
	}
	return h
}

// WriteText writes the snapshot's lines (hwclass.Snapshot.WriteText) and
// the engine's.
func (h Host) WriteText(w io.Writer) error {
	h.Snapshot.WriteText(w)
	if h.Docker != "" {
		_, err := fmt.Fprintf(w, "docker:         %s\n", h.Docker)
		return err
	}
	_, err := fmt.Fprintf(w, "docker:         unavailable (%s)\n", h.DockerError)
	return err
}
