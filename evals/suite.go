package evals

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/store"
)

// Media types of the blobs this package stores.
const (
	MediaTypeSuite   = "application/vnd.reprise.eval-suite.v1+json"
	MediaTypeSpec    = "application/vnd.reprise.eval-suite-spec.v1+json"
	MediaTypeItems   = "application/vnd.reprise.eval-items.v1+jsonl"
	MediaTypeRun     = "application/vnd.reprise.eval-run.v1+json"
	MediaTypeResults = "application/vnd.reprise.eval-results.v1+parquet"
	SuiteSchema      = "reprise/eval-suite/v1"
	RunSchema        = "reprise/eval-run/v1"
	SpecFile         = "suite.json"
	ItemsFile        = "items.jsonl"
	maxItemLine      = 16 << 20
)

// Errors of this package; test with errors.Is.
var (
	// ErrSuite: a suite on disk or in the store is malformed (the message
	// names the file and line).
	ErrSuite = errors.New("invalid eval suite")
	// ErrSuiteMismatch: results on different suite digests were compared.
	ErrSuiteMismatch = errors.New("results are on different eval suites")
	// ErrResults: stored results are malformed or missing.
	ErrResults = errors.New("invalid eval results")
)

// Spec is suite.json: what a suite is and how it is scored.
type Spec struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Description string            `json:"description,omitempty"`
	Scorer      ScorerSpec        `json:"scorer"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// Item is one line of items.jsonl.
type Item struct {
	ID        string          `json:"id"`
	Input     json.RawMessage `json:"input"`
	Reference json.RawMessage `json:"reference"`
	Tags      []string        `json:"tags,omitempty"`
}

// InputDigest is the sha256 of the item's input bytes as sent (compacted JSON).
func (it Item) InputDigest() digest.Digest { return digest.FromBytes(compact(it.Input)) }

// Manifest is the suite blob: the digests of its two files. Its own digest
// is the suite digest.
type Manifest struct {
	Schema  string        `json:"schema"`
	Name    string        `json:"name"`
	Version string        `json:"version"`
	Spec    digest.Digest `json:"suite_json"`
	Items   digest.Digest `json:"items_jsonl"`
}

// Suite is a loaded suite.
type Suite struct {
	Digest   digest.Digest // zero until packed or loaded from the store
	Manifest Manifest
	Spec     Spec
	Items    []Item
	Scorer   *Scorer
	specRaw  []byte
	itemsRaw []byte
}

// Index returns the items by id.
func (s *Suite) Index() map[string]*Item {
	m := make(map[string]*Item, len(s.Items))
	for i := range s.Items {
		m[s.Items[i].ID] = &s.Items[i]
	}
	return m
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// Size limits of a suite folder's files, in bytes: suite.json has at most
// MaxSpecSize; items.jsonl at most SuiteLimits.MaxItemsSize, by default
// DefaultMaxItemsSize (the CLI's --max-items-size raises it).
const (
	MaxSpecSize         = 1 << 20
	DefaultMaxItemsSize = 256 << 20
)

// SuiteLimits bounds what LoadDirContext reads.
type SuiteLimits struct {
	// MaxItemsSize is the largest items.jsonl, in bytes; 0 is
	// DefaultMaxItemsSize.
	MaxItemsSize int64
}

// LoadDir is LoadDirContext with no context and the default limits.
func LoadDir(dir string) (*Suite, error) {
	return LoadDirContext(context.Background(), dir, SuiteLimits{})
}

// LoadDirContext reads and validates the suite in dir (suite.json,
// items.jsonl). Each file must be a regular file in dir (a symbolic link,
// a FIFO or a device is refused, wrapping fsread.ErrNotRegular) within its
// size limit (a *fsread.TooLargeError). Errors wrap ErrSuite and name the
// file and line; ctx stops the reads (ctx.Err()).
func LoadDirContext(ctx context.Context, dir string, lim SuiteLimits) (*Suite, error) {
	maxItems := lim.MaxItemsSize
	if maxItems <= 0 {
		maxItems = DefaultMaxItemsSize
	}
	spec, err := fsread.ReadFile(ctx, filepath.Join(dir, SpecFile), MaxSpecSize, "")
	if err != nil {
		return nil, suiteReadErr(err)
	}
	items, err := fsread.ReadFile(ctx, filepath.Join(dir, ItemsFile), maxItems, "--max-items-size")
	if err != nil {
		return nil, suiteReadErr(err)
	}
	return parse(ctx, filepath.Join(dir, SpecFile), filepath.Join(dir, ItemsFile), spec, items)
}

func suiteReadErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrSuite, err)
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// parse checks and decodes a suite's two files; ctx stops it between
// items (checked every parseCheckEvery lines: a 256 MiB items.jsonl takes
// seconds).
func parse(ctx context.Context, specName, itemsName string, specRaw, itemsRaw []byte) (*Suite, error) {
	s := &Suite{specRaw: specRaw, itemsRaw: itemsRaw}
	if err := strictDecode(specRaw, &s.Spec); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSuite, specName, err)
	}
	if s.Spec.Name == "" || s.Spec.Version == "" {
		return nil, fmt.Errorf("%w: %s: name and version are required", ErrSuite, specName)
	}
	sc, err := NewScorer(s.Spec.Scorer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: scorer: %v", ErrSuite, specName, err)
	}
	s.Scorer = sc
	seen := map[string]int{}
	sc2 := bufio.NewScanner(bytes.NewReader(itemsRaw))
	sc2.Buffer(make([]byte, 64<<10), maxItemLine)
	line := 0
	for sc2.Scan() {
		line++
		if line%parseCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		b := bytes.TrimSpace(sc2.Bytes())
		if len(b) == 0 {
			continue
		}
		var it Item
		if err := strictDecode(b, &it); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrSuite, itemsName, line, err)
		}
		switch {
		case it.ID == "":
			return nil, fmt.Errorf("%w: %s:%d: item without id", ErrSuite, itemsName, line)
		case len(it.Input) == 0 || string(it.Input) == "null":
			return nil, fmt.Errorf("%w: %s:%d: item %q has no input", ErrSuite, itemsName, line, it.ID)
		case len(it.Reference) == 0:
			return nil, fmt.Errorf("%w: %s:%d: item %q has no reference", ErrSuite, itemsName, line, it.ID)
		}
		if prev, ok := seen[it.ID]; ok {
			return nil, fmt.Errorf("%w: %s:%d: duplicate item id %q (first on line %d)", ErrSuite, itemsName, line, it.ID, prev)
		}
		if err := sc.CheckReference(it.Reference); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: item %q: reference: %v", ErrSuite, itemsName, line, it.ID, err)
		}
		seen[it.ID] = line
		it.Input = compact(it.Input)
		it.Reference = compact(it.Reference)
		s.Items = append(s.Items, it)
	}
	if err := sc2.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s:%d: %v", ErrSuite, itemsName, line+1, err)
	}
	if len(s.Items) == 0 {
		return nil, fmt.Errorf("%w: %s: no items", ErrSuite, itemsName)
	}
	s.Manifest = Manifest{Schema: SuiteSchema, Name: s.Spec.Name, Version: s.Spec.Version,
		Spec: digest.FromBytes(specRaw), Items: digest.FromBytes(itemsRaw)}
	mb, _ := json.Marshal(s.Manifest)
	s.Digest = digest.FromBytes(mb)
	return s, nil
}

// parseCheckEvery is how many items.jsonl lines parse reads between two
// looks at its context.
const parseCheckEvery = 1024

// ManifestBytes returns the manifest's stored bytes (its digest is the suite digest).
func (s *Suite) ManifestBytes() []byte {
	b, _ := json.Marshal(s.Manifest)
	return b
}

// Pack stores the suite's two files and its manifest and returns the suite
// digest. Packing the same suite twice gives the same digest.
func Pack(ctx context.Context, w store.Writer, s *Suite) (digest.Digest, error) {
	if _, err := w.PutBytes(ctx, s.specRaw, store.Meta{MediaType: MediaTypeSpec, Name: s.Spec.Name + " " + s.Spec.Version + " " + SpecFile}); err != nil {
		return digest.Digest{}, err
	}
	if _, err := w.PutBytes(ctx, s.itemsRaw, store.Meta{MediaType: MediaTypeItems, Name: s.Spec.Name + " " + s.Spec.Version + " " + ItemsFile}); err != nil {
		return digest.Digest{}, err
	}
	d, err := w.PutBytes(ctx, s.ManifestBytes(), store.Meta{MediaType: MediaTypeSuite, Name: s.Spec.Name + " " + s.Spec.Version})
	if err != nil {
		return digest.Digest{}, err
	}
	if d != s.Digest {
		return d, fmt.Errorf("%w: stored manifest digest %s differs from computed %s", ErrSuite, d, s.Digest)
	}
	return d, nil
}

// Load reads the suite d from the store (every blob verified).
func Load(ctx context.Context, r store.Reader, d digest.Digest) (*Suite, error) {
	mb, err := r.ReadAll(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("suite %s: %w", d, err)
	}
	var m Manifest
	if err := strictDecode(mb, &m); err != nil || m.Schema != SuiteSchema {
		return nil, fmt.Errorf("%w: %s is not an eval suite manifest", ErrSuite, d)
	}
	spec, err := r.ReadAll(ctx, m.Spec)
	if err != nil {
		return nil, fmt.Errorf("suite %s %s: %w", d, SpecFile, err)
	}
	items, err := r.ReadAll(ctx, m.Items)
	if err != nil {
		return nil, fmt.Errorf("suite %s %s: %w", d, ItemsFile, err)
	}
	s, err := parse(ctx, d.String()+"/"+SpecFile, d.String()+"/"+ItemsFile, spec, items)
	if err != nil {
		return nil, err
	}
	if s.Digest != d {
		return nil, fmt.Errorf("%w: manifest %s does not re-encode to its digest", ErrSuite, d)
	}
	return s, nil
}

// Lister is what listing suites and runs needs of the store.
type Lister interface {
	store.Reader
	List(ctx context.Context) ([]store.Entry, error)
}

// ListSuites returns the digests of every suite in the store.
func ListSuites(ctx context.Context, st Lister) ([]digest.Digest, error) {
	return listByType(ctx, st, MediaTypeSuite)
}

func listByType(ctx context.Context, st Lister, mt string) ([]digest.Digest, error) {
	es, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []digest.Digest
	for _, e := range es {
		if e.MediaType == mt && !e.Manifest {
			out = append(out, e.Digest)
		}
	}
	return out, nil
}

// Diff is what changed from suite A to suite B.
type Diff struct {
	A             digest.Digest `json:"a"`
	B             digest.Digest `json:"b"`
	Added         []string      `json:"added"`
	Removed       []string      `json:"removed"`
	InputChanged  []string      `json:"input_changed"`
	RefChanged    []string      `json:"reference_changed"`
	TagsChanged   []string      `json:"tags_changed"`
	ScorerChanged bool          `json:"scorer_changed"`
	Unchanged     int           `json:"unchanged"`
}

// DiffSuites compares two suites item by item (by id).
func DiffSuites(a, b *Suite) Diff {
	d := Diff{A: a.Digest, B: b.Digest, Added: []string{}, Removed: []string{}, InputChanged: []string{}, RefChanged: []string{}, TagsChanged: []string{}}
	ai, bi := a.Index(), b.Index()
	for _, it := range b.Items {
		old, ok := ai[it.ID]
		if !ok {
			d.Added = append(d.Added, it.ID)
			continue
		}
		same := true
		if !bytes.Equal(old.Input, it.Input) {
			d.InputChanged = append(d.InputChanged, it.ID)
			same = false
		}
		if !bytes.Equal(old.Reference, it.Reference) {
			d.RefChanged = append(d.RefChanged, it.ID)
			same = false
		}
		if !slices.Equal(old.Tags, it.Tags) {
			d.TagsChanged = append(d.TagsChanged, it.ID)
			same = false
		}
		if same {
			d.Unchanged++
		}
	}
	for _, it := range a.Items {
		if _, ok := bi[it.ID]; !ok {
			d.Removed = append(d.Removed, it.ID)
		}
	}
	sa, _ := json.Marshal(a.Spec.Scorer)
	sb, _ := json.Marshal(b.Spec.Scorer)
	d.ScorerChanged = !bytes.Equal(sa, sb)
	return d
}
