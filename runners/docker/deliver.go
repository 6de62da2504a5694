package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/runners"
)

// Delivery says how the model, config and components reach the container.
type Delivery int

const (
	// DeliverAuto bind-mounts the host paths when the engine is proven to
	// see reprise's filesystem (zero copy), and fills a volume through the
	// engine otherwise (a remote DOCKER_HOST, reprise in a pod or a
	// container with the engine's socket, a rootless or Desktop engine
	// that does not share the path).
	DeliverAuto Delivery = iota
	// DeliverVolume always fills a volume through the engine (no bind
	// mount is tried).
	DeliverVolume
)

// Delivery names in runners.Info.Delivery.
const (
	DeliveredBind   = "bind"
	DeliveredVolume = "volume"
)

// probeTarget is where the bind probe's marker is mounted in the container.
const probeTarget = "/reprise/.bind-probe"

// reprisePath is the folder under which the volume holds the artifacts.
const reprisePath = "/reprise"

// artifact is one host path given to the container at target, named by env.
type artifact struct {
	src, target, env string
}

// artifacts lists the spec's model, config and components (by name) with
// their container paths and variables. A component name that is not one
// path segment, or two names with the same variable, wrap
// runners.ErrInvalidSpec; a source that cannot be read is an error naming it.
func artifacts(spec runners.Spec) ([]artifact, error) {
	var arts []artifact
	if spec.ModelPath != "" {
		arts = append(arts, artifact{spec.ModelPath, runners.ContainerModelPath, runners.ModelEnv})
	}
	if spec.ConfigPath != "" {
		arts = append(arts, artifact{spec.ConfigPath, runners.ContainerConfigPath, runners.ConfigEnv})
	}
	names := make([]string, 0, len(spec.Components))
	for n := range spec.Components {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\\\x00") {
			return nil, fmt.Errorf("%w: component name %q: want one path segment (no /, not . or ..)", runners.ErrInvalidSpec, n)
		}
	}
	if a, b, env, ok := runners.ComponentClash(spec.Components); ok {
		return nil, fmt.Errorf("%w: components %q and %q would both be named by $%s", runners.ErrInvalidSpec, a, b, env)
	}
	for _, n := range names {
		arts = append(arts, artifact{spec.Components[n], path.Join(runners.ContainerComponentsDir, n), runners.ComponentEnv(n)})
	}
	for _, a := range arts {
		if _, err := os.Stat(a.src); err != nil {
			return nil, fmt.Errorf("%s: %w", a.target, err)
		}
	}
	return arts, nil
}

// place creates the session's container (create makes it with the mounts
// given and sets s.id) with the artifacts delivered: by bind mounts once
// the engine is proven to see them, else through a volume. It sets
// s.info.Delivery.
func (r *Runner) place(ctx context.Context, s *session, arts []artifact, vols []string, create func([]mount.Mount) error) error {
	if len(arts) == 0 {
		return create(volumeMounts(vols, nil))
	}
	if r.delivery == DeliverAuto {
		ok, err := r.tryBind(ctx, s, arts, vols, create)
		if ok || err != nil {
			return err
		}
	}
	if err := r.fillVolume(ctx, s, arts, vols); err != nil {
		return err
	}
	mounts := []mount.Mount{{Type: mount.TypeVolume, Source: s.volume, Target: reprisePath, ReadOnly: true,
		VolumeOptions: &mount.VolumeOptions{NoCopy: true}}}
	if err := create(append(mounts, volumeMounts(vols, mounts)...)); err != nil {
		return err
	}
	s.info.Delivery = DeliveredVolume
	return nil
}

// tryBind creates the container with bind mounts and a random marker
// (written beside the first artifact, bound at probeTarget), then reads
// the marker back through the engine and compares every artifact's stat
// as the engine sees it with reprise's own. It returns true when the
// engine sees reprise's files (the container stays), false when it does
// not (a bind source the engine cannot find, another marker, another file:
// the container is removed) and the caller falls back to a volume. Other
// create failures are returned.
func (r *Runner) tryBind(ctx context.Context, s *session, arts []artifact, vols []string, create func([]mount.Mount) error) (bool, error) {
	marker, token, err := writeMarker(filepath.Dir(arts[0].src))
	if err != nil {
		r.log.Info("no bind probe possible, delivering through a volume", "err", err)
		return false, nil
	}
	s.marker = marker
	src := func(p string) string { return p }
	if r.hooks.bindSource != nil {
		src = r.hooks.bindSource
	}
	mounts := []mount.Mount{{Type: mount.TypeBind, Source: src(marker), Target: probeTarget, ReadOnly: true}}
	for _, a := range arts {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: src(a.src), Target: a.target, ReadOnly: true})
	}
	err = create(append(mounts, volumeMounts(vols, mounts)...))
	if err != nil {
		s.removeMarker()
		if bindSourceMissing(err) && ctx.Err() == nil {
			r.log.Info("the engine does not see reprise's files, delivering through a volume", "err", err)
			return false, nil
		}
		return false, err
	}
	if reason := r.probeBind(ctx, s.id, token, arts); reason != "" {
		r.log.Info("the engine sees other files, delivering through a volume", "reason", reason)
		s.removeMarker()
		if err := s.removeContainer(ctx); err != nil {
			return false, err
		}
		return false, ctx.Err()
	}
	s.info.Delivery = DeliveredBind
	return true, nil
}

// bindSourceMissing reports whether a create failed because the engine
// does not have a bind source ("invalid mount config for type "bind": bind
// source path does not exist: …", Engine 20.10 and later).
func bindSourceMissing(err error) bool {
	return strings.Contains(err.Error(), "bind source path does not exist")
}

// writeMarker writes a file with a random token in dir, or in
// os.TempDir() when dir cannot be written, readable by the engine.
func writeMarker(dir string) (file, token string, err error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = hex.EncodeToString(b)
	for _, d := range []string{dir, os.TempDir()} {
		f, err := os.CreateTemp(d, ".reprise-bind-probe-")
		if err != nil {
			continue
		}
		_, werr := f.WriteString(token)
		cerr := f.Close()
		if werr == nil && cerr == nil && os.Chmod(f.Name(), 0o444) == nil {
			return f.Name(), token, nil
		}
		os.Remove(f.Name())
	}
	return "", "", fmt.Errorf("cannot write a bind probe in %s or %s", dir, os.TempDir())
}

// probeBind reads the marker of container id through the engine and
// compares it with token, then each artifact's kind, size (files) and
// modification time as the engine sees it with reprise's view. It returns
// "" when all match, else what differs.
func (r *Runner) probeBind(ctx context.Context, id, token string, arts []artifact) string {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := r.cli.CopyFromContainer(pctx, id, client.CopyFromContainerOptions{SourcePath: probeTarget})
	if err != nil {
		return "read the marker: " + err.Error()
	}
	got, err := firstFile(res.Content, int64(len(token))+1)
	res.Content.Close()
	if err != nil {
		return "read the marker: " + err.Error()
	}
	if string(got) != token {
		return "the marker the engine sees is not the one reprise wrote"
	}
	for _, a := range arts {
		st, err := r.cli.ContainerStatPath(pctx, id, client.ContainerStatPathOptions{Path: a.target})
		if err != nil {
			return a.target + ": " + err.Error()
		}
		fi, err := os.Stat(a.src)
		if err != nil {
			return a.src + ": " + err.Error()
		}
		if d := statDiff(fi, st.Stat); d != "" {
			return a.target + ": " + d
		}
	}
	return ""
}

// statDiff compares reprise's stat of a file with the engine's: kind,
// size (regular files) and modification time (to the second: some file
// sharing of Desktop engines rounds it).
func statDiff(fi fs.FileInfo, st container.PathStat) string {
	switch {
	case fi.IsDir() != st.Mode.IsDir():
		return fmt.Sprintf("a directory for one, not the other (reprise %s, engine %s)", fi.Mode(), st.Mode)
	case fi.Mode().IsRegular() && fi.Size() != st.Size:
		return fmt.Sprintf("size %d, the engine sees %d", fi.Size(), st.Size)
	case fi.ModTime().Unix() != st.Mtime.Unix():
		return fmt.Sprintf("modified %s, the engine sees %s", fi.ModTime().UTC(), st.Mtime.UTC())
	}
	return ""
}

// firstFile returns the content of the first regular file of a tar
// stream, at most limit bytes.
func firstFile(r io.Reader, limit int64) ([]byte, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			var buf bytes.Buffer
			_, err := io.Copy(&buf, io.LimitReader(tr, limit))
			return buf.Bytes(), err
		}
	}
}

// fillVolume creates the session's volume (named like the container,
// labelled like it), and fills it through the engine: a filler container
// that mounts it read-write is created from the session's image, never
// started (no code of the image runs), the artifacts are copied into it
// as one tar stream (CopyToContainer), and the filler is removed. The
// volume holds model, config and components/<name> with modes 0444 (0555
// for directories and executables), owned by root.
func (r *Runner) fillVolume(ctx context.Context, s *session, arts []artifact, vols []string) error {
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	_, err := r.cli.VolumeCreate(vctx, client.VolumeCreateOptions{Name: s.name, Driver: "local", Labels: s.labels})
	cancel()
	if err != nil {
		return r.engineError(ctx, s.spec, "create volume "+s.name, err)
	}
	s.volume = s.name
	if err := ctx.Err(); err != nil {
		return err
	}
	filler := s.name + "-fill"
	mounts := []mount.Mount{{Type: mount.TypeVolume, Source: s.volume, Target: reprisePath, VolumeOptions: &mount.VolumeOptions{NoCopy: true}}}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	s.filler = filler
	_, err = r.cli.ContainerCreate(cctx, client.ContainerCreateOptions{
		Name: filler,
		Config: &container.Config{Image: s.info.ImageID, Labels: s.labels, User: SandboxUser, NetworkDisabled: true,
			Entrypoint: []string{"/reprise-filler-is-never-started"}},
		HostConfig: fillerHostConfig(append(mounts, volumeMounts(vols, mounts)...)),
	})
	cancel()
	if err != nil {
		return r.engineError(ctx, s.spec, "create the volume's filler container", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.hooks.filling != nil {
		r.hooks.filling()
	}
	began := time.Now()
	if err := r.copyArtifacts(ctx, filler, arts); err != nil {
		return err
	}
	r.log.Info("volume filled through the engine", "volume", s.volume, "took", time.Since(began))
	if err := Remove(context.WithoutCancel(ctx), r.cli, filler); err != nil {
		return fmt.Errorf("%w: %v", runners.ErrEngine, err)
	}
	s.filler = ""
	return ctx.Err()
}

// fillerHostConfig is the filler's sandbox (it is never started): no
// network, read-only root (the copy goes to the volume), no capabilities.
func fillerHostConfig(mounts []mount.Mount) *container.HostConfig {
	return &container.HostConfig{
		NetworkMode: "none", ReadonlyRootfs: true, CapDrop: []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"}, Mounts: mounts, LogConfig: container.LogConfig{Type: "none"},
	}
}

// errCopyEnded stops the tar stream's writer once the engine's copy ended.
var errCopyEnded = errors.New("the copy through the engine ended")

// copyArtifacts streams the artifacts into the filler's volume.
func (r *Runner) copyArtifacts(ctx context.Context, filler string, arts []artifact) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := writeTar(ctx, pw, arts)
		pw.CloseWithError(err)
		done <- err
	}()
	_, err := r.cli.CopyToContainer(ctx, filler, client.CopyToContainerOptions{DestinationPath: reprisePath, Content: pr})
	pr.CloseWithError(errCopyEnded)
	werr := <-done
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if werr != nil && !errors.Is(werr, errCopyEnded) {
		return fmt.Errorf("fill the volume: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("%w: fill the volume through the engine: %v", runners.ErrEngine, err)
	}
	return nil
}

// writeTar writes the artifacts as a tar stream relative to reprisePath
// (model, config, components/<name>/…), files streamed, never held whole.
// A symbolic link or a special file is refused.
func writeTar(ctx context.Context, w io.Writer, arts []artifact) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	for _, a := range arts {
		rel := strings.TrimPrefix(a.target, reprisePath+"/")
		if parent := path.Dir(rel); parent != "." && !dirs[parent] {
			dirs[parent] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: parent + "/", Mode: 0o555, ModTime: time.Unix(0, 0)}); err != nil {
				return err
			}
		}
		err := filepath.WalkDir(a.src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			sub, err := filepath.Rel(a.src, p)
			if err != nil {
				return err
			}
			return tarEntry(tw, p, path.Join(rel, filepath.ToSlash(sub)), d)
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// tarEntry writes one file or directory of an artifact.
func tarEntry(tw *tar.Writer, src, name string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	h := &tar.Header{Name: name, ModTime: fi.ModTime(), Mode: 0o444 | int64(fi.Mode().Perm()&0o111)}
	switch {
	case fi.IsDir():
		h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o555
		return tw.WriteHeader(h)
	case fi.Mode().IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
	default:
		return fmt.Errorf("%w: %s: %s is not a regular file or a directory", runners.ErrInvalidSpec, src, fi.Mode().Type())
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	if err == nil && n != h.Size {
		err = fmt.Errorf("%s changed size while copied (%d bytes, then %d)", src, h.Size, n)
	}
	return err
}

// removeMarker removes the bind probe's marker file, if any.
func (s *session) removeMarker() {
	if s.marker != "" {
		os.Remove(s.marker)
		s.marker = ""
	}
}

// removeContainer force-removes the session's container (a probe's, before
// the fallback) and forgets it.
func (s *session) removeContainer(ctx context.Context) error {
	ref := cmpOr(s.id, s.name)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	if _, err := s.r.cli.ContainerRemove(rctx, ref, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%w: remove container %s: %v", runners.ErrEngine, short(ref), err)
	}
	s.id, s.info.ContainerID = "", ""
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// removeVolumes removes the volumes of sessions whose owner is gone (stale
// lease, or every one with all), like removeNetworks; it returns "volume
// NAME" for each. A volume is made before its container: only a stale
// lease removes one without a container.
func removeVolumes(ctx context.Context, cli *client.Client, all bool, extra []string) ([]string, error) {
	list := func() ([]volume.Volume, error) {
		l, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: labelFilters(extra)})
		return l.Items, err
	}
	return removeStale(all, "volume", list, func(v volume.Volume) (string, map[string]string) { return v.Name, v.Labels },
		func(v volume.Volume) error {
			_, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
			return err
		})
}
