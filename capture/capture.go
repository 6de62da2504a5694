// Package capture builds decision records: from their parts (input, pinned
// image, model, config, components, params, the stored output) with every
// blob put into the store and every digest and the system id computed, and,
// with Capture, by running the pinned system once and recording its answer.
package capture

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/buildinfo"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
)

// ErrPart is wrapped by errors about a part the caller gave: a file that is
// missing, unreadable or not a regular file, no standard input for "-", a
// value the record refuses.
var ErrPart = errors.New("invalid record part")

// Store is what building a record needs of the artifact store.
type Store interface {
	launch.Blobs
	Put(ctx context.Context, r io.Reader, meta store.Meta) (digest.Digest, int64, error)
	PutBytes(ctx context.Context, b []byte, meta store.Meta) (digest.Digest, error)
	ReadAll(ctx context.Context, d digest.Digest) ([]byte, error)
}

var _ Store = (*store.Layout)(nil)

// Source is a file to store: a path, or "-" for Stdin.
type Source struct {
	Path      string
	MediaType string // "" = guessed from the extension
}

// Parts are the pieces of a record. Zero optional fields are left out of the
// record or take the documented default.
type Parts struct {
	Input  Source
	Image  system.ImageRef
	Model  Source
	Config Source
	// ModelName, ModelVersion, ConfigName, ConfigVersion override what the
	// files say (safetensors __metadata__, a JSON config's name/version);
	// the last resorts are the file name and "unversioned".
	ModelName, ModelVersion, ConfigName, ConfigVersion string
	// Components: a name to a file (Source) or a digest already in the store.
	Components map[string]ComponentRef
	Params     system.Params
	Protocol   string
	// HTTP is the record's runtime.http (HTTP protocols); nil for none.
	HTTP *record.HTTP
	// HardwareClass and EnvOS describe where the decision was made.
	HardwareClass string
	EnvOS         string
	// EvalSuite pins a suite by digest, or stores the file.
	EvalSuite ComponentRef
	RequestID string
	Timestamp time.Time
	// Stdin is read for a Source "-".
	Stdin io.Reader
}

// ComponentRef is a digest or a file to store.
type ComponentRef struct {
	Digest digest.Digest
	File   string
}

// IsZero reports whether neither is set.
func (c ComponentRef) IsZero() bool { return c.Digest.IsZero() && c.File == "" }

// Build puts the parts' files into the store and assembles the record
// without its output (Output, ManualOutput or Capture fill it). The model,
// the config and each component may be a file or a directory, stored as a
// tree (store.PutTree) whose digest the record holds.
func Build(ctx context.Context, st Store, p Parts) (*record.Record, error) {
	return build(ctx, st, p, true)
}

// build is Build; without input the record's input is left zero (a system
// file's).
func build(ctx context.Context, st Store, p Parts, withInput bool) (*record.Record, error) {
	if p.Image.IsZero() {
		return nil, fmt.Errorf("%w: the image is required", ErrPart)
	}
	if err := check(p, withInput); err != nil {
		return nil, err
	}
	rec := &record.Record{Schema: record.Schema, Timestamp: p.Timestamp, Params: p.Params, RepriseVersion: buildinfo.Version()}
	var err error
	if withInput {
		inMT := p.Input.MediaType
		if inMT == "" {
			inMT = GuessMediaType(p.Input.Path)
		}
		if rec.Input.Digest, err = putFile(ctx, st, p.Stdin, p.Input.Path, inMT, "input"); err != nil {
			return nil, err
		}
		rec.Input.MediaType = inMT
	}
	if rec.System.Model, err = putArtifact(ctx, st, p.Stdin, p.Model.Path, "model", p.ModelName, p.ModelVersion, safetensorsMeta); err != nil {
		return nil, err
	}
	if rec.System.Config, err = putArtifact(ctx, st, p.Stdin, p.Config.Path, "config", p.ConfigName, p.ConfigVersion, jsonNameVersion); err != nil {
		return nil, err
	}
	for name, c := range p.Components {
		if rec.System.Components == nil {
			rec.System.Components = map[string]digest.Digest{}
		}
		if rec.System.Components[name], err = c.resolve(ctx, st, p.Stdin, "component "+name); err != nil {
			return nil, err
		}
	}
	rec.System.Image = p.Image
	rec.System.Seal()
	rec.Runtime.Protocol = p.Protocol
	rec.Runtime.HTTP = p.HTTP
	rec.Runtime.HardwareClass = p.HardwareClass
	if p.EnvOS != "" {
		rec.Runtime.Env = &record.Env{OS: p.EnvOS}
	}
	if !p.EvalSuite.IsZero() {
		if rec.EvalSuite, err = p.EvalSuite.resolve(ctx, st, p.Stdin, "eval suite"); err != nil {
			return nil, err
		}
	}
	rec.RequestID = p.RequestID
	if rec.RequestID == "" && withInput {
		rec.RequestID = "req_" + digest.FromBytes([]byte(rec.Input.Digest.String() + rec.Timestamp.Format(time.RFC3339Nano))).Hex()[:16]
	}
	return rec, nil
}

// putArtifact stores the model or config at path (a file, "-", or a
// directory as a tree) and names it: name and version when given, else
// what meta reads from a file's first MiB, else the file name (without its
// extension; a directory's whole base name) and "unversioned".
func putArtifact(ctx context.Context, st Store, stdin io.Reader, path, what, name, version string, meta func([]byte) (string, string)) (system.Artifact, error) {
	a := system.Artifact{Name: name, Version: version}
	if isDir(path) {
		a.Name = first(a.Name, filepath.Base(path))
	} else {
		h, err := head(path, 1<<20)
		if err != nil {
			return a, fmt.Errorf("%w: %s: %v", ErrPart, what, err)
		}
		mName, mVer := meta(h)
		a.Name, a.Version = first(a.Name, mName, trimExt(path)), first(a.Version, mVer)
	}
	a.Version = first(a.Version, "unversioned")
	d, err := putPath(ctx, st, stdin, path, what)
	a.Digest = d
	return a, err
}

// isDir reports whether path names a directory (through a link at path).
func isDir(path string) bool {
	if path == "" || path == "-" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// putPath stores a file (PutFile) or a directory as a tree.
func putPath(ctx context.Context, st Store, stdin io.Reader, path, what string) (digest.Digest, error) {
	if !isDir(path) {
		return putFile(ctx, st, stdin, path, "", what)
	}
	d, err := store.PutTree(ctx, st, path, filepath.Base(path))
	if errors.Is(err, store.ErrTreeInput) {
		return d, fmt.Errorf("%w: %s: %w", ErrPart, what, err)
	}
	if err != nil {
		return d, fmt.Errorf("store %s %s: %w", what, path, err)
	}
	return d, nil
}

// check finds what is wrong with the parts before anything is stored, so
// invalid parts leave no blobs behind: the input and eval suite must be
// regular files, the model, config and components regular files or
// directories; component names must map to distinct variables
// (launch.CheckComponents); and a preview of the record (placeholder
// digests and output) must validate (request id, hardware class, params,
// protocol, names).
func check(p Parts, withInput bool) error {
	type part struct {
		what, path string
		dirOK      bool
	}
	files := []part{{"model", p.Model.Path, true}, {"config", p.Config.Path, true}}
	if withInput {
		files = append(files, part{"input", p.Input.Path, false})
	}
	names := map[string]digest.Digest{}
	for name, c := range p.Components {
		names[name] = c.Digest
		if c.Digest.IsZero() {
			files = append(files, part{"component " + name, c.File, true})
		}
	}
	if err := launch.CheckComponents(names); err != nil {
		return fmt.Errorf("%w: %w", ErrPart, err)
	}
	if p.EvalSuite.Digest.IsZero() && p.EvalSuite.File != "" {
		files = append(files, part{"eval suite", p.EvalSuite.File, false})
	}
	for _, f := range files {
		if f.path == "" {
			return fmt.Errorf("%w: %s: a file is required", ErrPart, f.what)
		}
		if f.path == "-" {
			continue
		}
		fi, err := os.Stat(f.path)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrPart, f.what, err)
		}
		if fi.IsDir() && !f.dirOK {
			return fmt.Errorf("%w: %s: %s is a directory, not a regular file", ErrPart, f.what, f.path)
		}
		if !fi.Mode().IsRegular() && !fi.IsDir() {
			return fmt.Errorf("%w: %s: %s is not a regular file or a directory", ErrPart, f.what, f.path)
		}
	}
	placeholder := digest.FromBytes(nil)
	mt := p.Input.MediaType
	if mt == "" {
		mt = GuessMediaType(p.Input.Path)
	}
	label := "preview"
	rec := &record.Record{
		Schema: record.Schema, RequestID: first(p.RequestID, "req_preview"), Timestamp: p.Timestamp, Params: p.Params, RepriseVersion: buildinfo.Version(),
		Input: record.Input{Digest: placeholder, MediaType: mt},
		System: system.System{Image: p.Image,
			Model:  system.Artifact{Name: first(p.ModelName, "preview"), Version: first(p.ModelVersion, "preview"), Digest: placeholder},
			Config: system.Artifact{Name: first(p.ConfigName, "preview"), Version: first(p.ConfigVersion, "preview"), Digest: placeholder}},
		Runtime: record.Runtime{Protocol: p.Protocol, HardwareClass: p.HardwareClass},
		Output:  record.Output{Output: output.Output{Label: &label}, Digest: placeholder},
	}
	for name := range p.Components {
		if rec.System.Components == nil {
			rec.System.Components = map[string]digest.Digest{}
		}
		rec.System.Components[name] = placeholder
	}
	if !p.EvalSuite.IsZero() {
		rec.EvalSuite = placeholder
	}
	rec.System.Seal()
	if probs := rec.Validate(); len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, pr := range probs {
			msgs[i] = pr.String()
		}
		return fmt.Errorf("%w: %s", ErrPart, strings.Join(msgs, "; "))
	}
	return nil
}

func (c ComponentRef) resolve(ctx context.Context, st Store, stdin io.Reader, what string) (digest.Digest, error) {
	if !c.Digest.IsZero() {
		return c.Digest, nil
	}
	return putPath(ctx, st, stdin, c.File, what)
}

// ManualOutput sets rec's output to out, typed in by hand. raw, when not
// nil, is the raw response bytes: stored, and their digest is the output
// digest; otherwise the digest is that of out.Canonical().
func ManualOutput(ctx context.Context, st Store, rec *record.Record, out output.Output, raw io.Reader, rawName string) error {
	if err := out.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrPart, err)
	}
	rec.Output.Output = out
	if raw == nil {
		rec.Output.Digest = digest.FromBytes(out.Canonical())
		return nil
	}
	d, _, err := st.Put(ctx, raw, store.Meta{Name: rawName})
	if err != nil {
		return err
	}
	rec.Output.Digest = d
	return nil
}

// Options configure Capture.
type Options struct {
	// Rand draws the seed when the record has none, and the seed of the
	// reference runs' seeds (default crypto/rand).
	Rand io.Reader
	// ReferenceRuns, when positive, also runs the system that many times
	// with fresh seeds and keeps their outputs (error answers left out) as
	// the record's reference outputs (record.Reference).
	ReferenceRuns int
	// SeedBits is how many low bits of a seed the system uses
	// (record.Runtime.SeedBits; 0 or 64: all): a seed Capture draws is
	// drawn below 2^SeedBits, so the recorded seed is the one the system
	// used, and SeedBits below 64 goes into the record.
	SeedBits int
}

// Capture runs rec's pinned system once on its input with its params and
// records the answer as rec's output: the response's canonical bytes (its
// codec's Canonical: no ids, times or fingerprints) are stored and their
// digest is the output digest; what the server said about itself (its
// model name, system_fingerprint, served model digest) goes into
// rec.Runtime.Server. Without a seed in rec.Params a random seed is drawn
// and recorded, so the decision can be replayed exactly.
// sess is a started session of rec's system (launch.Pool); Capture neither
// starts nor closes it. It returns the session's runner info.
func Capture(ctx context.Context, st Store, rec *record.Record, sess *launch.Session, opts Options) (runners.Info, error) {
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	if rec.Params.Seed == nil {
		u, err := draw(r)
		if err != nil {
			return runners.Info{}, err
		}
		seed := int64(u >> (64 - record.DrawnSeedBits)) // below 2^53: exact in every JSON reader (jq, JavaScript)
		if b := opts.SeedBits; b > 0 && b < 64 {
			seed &= 1<<b - 1
		}
		rec.Params.Seed = &seed
	}
	if b := opts.SeedBits; b > 0 && b < 64 {
		rec.Runtime.SeedBits = b
	}
	input, err := st.ReadAll(ctx, rec.Input.Digest)
	if err != nil {
		return runners.Info{}, err
	}
	resp, err := sess.Run(ctx, runners.Request{Input: input, Params: rec.Params})
	if err != nil {
		return sess.Info(), err
	}
	if err := answered(resp); err != nil {
		return sess.Info(), err
	}
	ref, err := referenceRuns(ctx, sess, input, rec.Params, opts.ReferenceRuns, r)
	if err != nil {
		return sess.Info(), err
	}
	if f, ok := sess.Session.(runners.Finisher); ok {
		if err := f.Finish(ctx); err != nil {
			return sess.Info(), err
		}
	}
	if err := storeOutput(ctx, st, rec, sess.Codec.Canonical(resp.Raw), resp.Output, ref); err != nil {
		return sess.Info(), err
	}
	info := sess.Info()
	rec.Runtime.Server = serverOf(resp, info)
	if !info.Pinned && rec.Runtime.Env != nil {
		rec.Runtime.Env.Driver = info.Runner + " runner: environment not pinned"
	}
	return info, nil
}

// serverOf is what the server said about itself in the captured answer
// and its session (record.Server), nil when it said nothing; a value a
// record cannot hold (record.ServerText) is left out.
func serverOf(resp runners.Response, info runners.Info) *record.Server {
	t := record.ServerText // what a record cannot hold is dropped
	sv := &record.Server{Model: t(resp.Model), SystemFingerprint: t(resp.Fingerprint), ModelDigest: t(info.ModelDigest), ModelDigestFrom: t(info.ModelDigestFrom)}
	if sv.IsZero() {
		return nil
	}
	return sv
}

// draw reads a big-endian uint64 from r.
func draw(r io.Reader) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// answered checks that a captured answer is an output (errors wrap
// runners.ErrProtocol).
func answered(resp runners.Response) error {
	if resp.Error != "" {
		return fmt.Errorf("%w: the system answered an error: %.200q", runners.ErrProtocol, resp.Error)
	}
	if resp.Output.IsZero() {
		return fmt.Errorf("%w: the system answered no label, score or text: %.200q", runners.ErrProtocol, resp.Raw)
	}
	if err := resp.Output.Validate(); err != nil {
		return fmt.Errorf("%w: %w", runners.ErrProtocol, err)
	}
	return nil
}

// referenceRuns runs the input n times with fresh seeds drawn from a PCG
// seeded by one draw of r, and returns the outputs (error answers left out).
func referenceRuns(ctx context.Context, sess *launch.Session, input []byte, params system.Params, n int, r io.Reader) ([]output.Output, error) {
	if n <= 0 {
		return nil, nil
	}
	base, err := draw(r)
	if err != nil {
		return nil, err
	}
	seeds := mrand.New(mrand.NewPCG(base, 0x7265666572656e63))
	var ref []output.Output
	for range n {
		rr, err := sess.Run(ctx, runners.Request{Input: input, Params: params.WithSeed(int64(seeds.Uint64() >> 1))})
		if err != nil {
			return nil, fmt.Errorf("reference run: %w", err)
		}
		if rr.Error == "" && rr.Output.Validate() == nil && !rr.Output.IsZero() {
			ref = append(ref, rr.Output)
		}
	}
	if len(ref) == 0 {
		return nil, fmt.Errorf("%w: every reference run answered an error", runners.ErrProtocol)
	}
	return ref, nil
}

// storeOutput records out as rec's output: canonical (for jsonl-stdio, the
// line without the echoed request id: what a replay's exact match
// compares) and the reference outputs go into the store.
func storeOutput(ctx context.Context, st Store, rec *record.Record, canonical []byte, out output.Output, ref []output.Output) error {
	rec.Output.Output = out
	d, err := st.PutBytes(ctx, canonical, store.Meta{MediaType: "application/json", Name: "output of " + rec.RequestID})
	if err != nil {
		return err
	}
	rec.Output.Digest = d
	if len(ref) > 0 {
		rd, err := st.PutBytes(ctx, record.EncodeReference(ref), store.Meta{MediaType: record.ReferenceMediaType, Name: "reference outputs of " + rec.RequestID})
		if err != nil {
			return err
		}
		rec.Reference = &record.Reference{Digest: rd, Runs: len(ref)}
	}
	return nil
}

// PutFile stores the file at path ("-" reads stdin) with a media type
// (guessed from the extension when "") and a name (the file's base name
// when ""). what names the file in errors; a missing or non-regular file
// wraps ErrPart.
func PutFile(ctx context.Context, st Putter, stdin io.Reader, path, mediaType, name, what string) (digest.Digest, error) {
	if path == "" {
		return digest.Digest{}, fmt.Errorf("%w: %s: a file is required", ErrPart, what)
	}
	var r io.Reader = stdin
	if path != "-" {
		f, _, err := fsread.Open(path)
		if err != nil {
			return digest.Digest{}, fmt.Errorf("%w: %s: %v", ErrPart, what, err)
		}
		defer f.Close()
		r = f
		if name == "" {
			name = filepath.Base(path)
		}
		if mediaType == "" {
			mediaType = GuessMediaType(path)
		}
	} else if stdin == nil {
		return digest.Digest{}, fmt.Errorf("%w: %s: no standard input", ErrPart, what)
	}
	d, _, err := st.Put(ctx, r, store.Meta{MediaType: mediaType, Name: name})
	if err != nil {
		return d, fmt.Errorf("store %s %s: %w", what, path, err)
	}
	return d, nil
}

// Putter is what PutFile needs of a store.
type Putter interface {
	Put(ctx context.Context, r io.Reader, meta store.Meta) (digest.Digest, int64, error)
}

func putFile(ctx context.Context, st Store, stdin io.Reader, path, mediaType, what string) (digest.Digest, error) {
	return PutFile(ctx, st, stdin, path, mediaType, "", what)
}

// head returns the first n bytes of the file (fewer when it is shorter).
func head(path string, n int64) ([]byte, error) {
	if path == "" || path == "-" {
		return nil, nil
	}
	f, _, err := fsread.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// GuessMediaType guesses a media type from a file name's extension.
func GuessMediaType(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "application/json"
	case ".jsonl":
		return "application/jsonl"
	case ".safetensors":
		return "application/vnd.safetensors"
	case ".parquet":
		return "application/vnd.apache.parquet"
	case ".tar":
		return "application/x-tar"
	}
	if mt := mime.TypeByExtension(filepath.Ext(path)); mt != "" {
		mt, _, _ = strings.Cut(mt, ";")
		return mt
	}
	return "application/octet-stream"
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func trimExt(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// safetensorsMeta returns __metadata__.name and .version of a safetensors
// file from its first bytes (the header must fit), or "" when they are not
// safetensors.
func safetensorsMeta(b []byte) (name, version string) {
	if len(b) < 8 {
		return "", ""
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n == 0 || n > uint64(len(b)-8) {
		return "", ""
	}
	var hdr struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if json.Unmarshal(bytes.TrimRight(b[8:8+n], " "), &hdr) != nil {
		return "", ""
	}
	return hdr.Meta["name"], hdr.Meta["version"]
}

// jsonNameVersion returns the top-level "name" and "version" of a JSON config.
func jsonNameVersion(b []byte) (name, version string) {
	var v struct {
		Name    any `json:"name"`
		Version any `json:"version"`
	}
	if json.Unmarshal(b, &v) != nil {
		return "", ""
	}
	str := func(x any) string {
		switch t := x.(type) {
		case string:
			return t
		case float64:
			return fmt.Sprint(t)
		}
		return ""
	}
	return str(v.Name), str(v.Version)
}
