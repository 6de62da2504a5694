package record

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/system"
)

var (
	requestIDRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$`)
	componentNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)
	hwClassRe       = regexp.MustCompile(`^(cpu|gpu)/[a-z0-9_.-]+/[A-Za-z0-9_.+-]+$`)
	envNameRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,199}$`)
	mediaTypeRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$`)
)

// ValidEnvName reports whether name may be a key of runtime.env_vars: an
// environment variable name of at most 200 characters (letters, digits and
// underscores, not starting with a digit). The reserved names (ReservedEnv)
// are valid names but refused as keys.
func ValidEnvName(name string) bool { return envNameRe.MatchString(name) }

// Validate reports every problem of r, independent of how it was decoded:
// malformed values (kind Malformed), and, when there are none, integrity
// problems (kind Integrity: an unpinned image, a system id that does not
// recompute). nil means r is a valid, consistent v1 record.
func (r *Record) Validate() []Problem {
	probs := r.malformed()
	if len(probs) > 0 {
		return probs
	}
	return r.Integrity()
}

// Integrity reports the integrity problems that need no artifact store: an
// image that is not pinned, and a system id that does not recompute.
func (r *Record) Integrity() []Problem {
	if r.System.Image.IsZero() {
		return []Problem{{Field: "system.image", Kind: Integrity, Message: system.ErrNotPinned.Error()}}
	}
	if err := r.System.Check(); err != nil {
		return []Problem{{Field: "system.id", Kind: Integrity, Message: err.Error()}}
	}
	return nil
}

func (r *Record) malformed() []Problem {
	var probs []Problem
	add := func(field, format string, a ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	needDigest := func(field string, d digest.Digest) {
		if d.IsZero() {
			add(field, "required digest missing")
		}
	}
	if r.Schema != Schema {
		add("schema", "unsupported schema %s (want %q)", trimQuote(r.Schema), Schema)
	}
	if !requestIDRe.MatchString(r.RequestID) {
		add("request_id", "must be 1-200 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit, got %s", trimQuote(r.RequestID))
	}
	if r.Timestamp.IsZero() {
		add("timestamp", "required")
	}
	needDigest("input.digest", r.Input.Digest)
	if !mediaTypeRe.MatchString(r.Input.MediaType) {
		add("input.media_type", "not a media type: %s", trimQuote(r.Input.MediaType))
	}
	p := r.Params
	if p.Temperature != nil && (*p.Temperature < 0 || math.IsNaN(*p.Temperature) || *p.Temperature > 100) {
		add("params.temperature", "must be between 0 and 100")
	}
	if p.TopP != nil && !(*p.TopP > 0 && *p.TopP <= 1) {
		add("params.top_p", "must be in (0, 1]")
	}
	if p.MaxTokens != nil && *p.MaxTokens <= 0 {
		add("params.max_tokens", "must be positive")
	}
	needDigest("system.id", r.System.ID)
	for _, pa := range []struct {
		path string
		a    system.Artifact
	}{{"system.model", r.System.Model}, {"system.config", r.System.Config}} {
		path, a := pa.path, pa.a
		if strings.TrimSpace(a.Name) == "" {
			add(path+".name", "must not be empty")
		}
		if strings.TrimSpace(a.Version) == "" {
			add(path+".version", "must not be empty")
		}
		needDigest(path+".digest", a.Digest)
	}
	for _, name := range slices.Sorted(maps.Keys(r.System.Components)) {
		path := "system.components." + name
		if !componentNameRe.MatchString(name) {
			add(path, "component name must match %s", componentNameRe)
		}
		needDigest(path, r.System.Components[name])
	}
	if !slices.Contains(Protocols, r.Runtime.Protocol) {
		add("runtime.protocol", "unknown protocol %s (want one of %s)", trimQuote(r.Runtime.Protocol), strings.Join(Protocols, ", "))
	}
	if !hwClassRe.MatchString(r.Runtime.HardwareClass) {
		add("runtime.hardware_class", "want cpu/<arch>/<level> or gpu/<vendor>/<product>, got %s", trimQuote(r.Runtime.HardwareClass))
	}
	for _, k := range slices.Sorted(maps.Keys(r.Runtime.EnvVars)) {
		path := "runtime.env_vars." + k
		switch {
		case !envNameRe.MatchString(k):
			add(path, "not an environment variable name")
		case slices.Contains(ReservedEnv, k):
			add(path, "reserved: reprise sets %s itself", k)
		case strings.ContainsRune(r.Runtime.EnvVars[k], 0):
			add(path, "must not contain NUL")
		}
	}
	r.checkHTTP(add)
	r.checkServer(add)
	if l := r.Runtime.Limits; l != nil {
		for _, e := range l.Check() {
			add("runtime.limits."+e.Field, "must be between %d and %d", e.Min, e.Max)
		}
	}
	if err := r.Output.Output.Validate(); err != nil {
		field := "output"
		for _, f := range []string{"label", "score", "text"} {
			if strings.Contains(err.Error(), ": "+f+" ") {
				field = "output." + f
			}
		}
		add(field, "%s", strings.TrimPrefix(err.Error(), output.ErrInvalid.Error()+": "))
	}
	needDigest("output.digest", r.Output.Digest)
	if ref := r.Reference; ref != nil {
		needDigest("reference.digest", ref.Digest)
		if ref.Runs < 1 {
			add("reference.runs", "must be at least 1, got %d", ref.Runs)
		}
	}
	return probs
}

// addFunc reports one problem of a field.
type addFunc = func(field, format string, a ...any)

// checkHTTP adds the problems of runtime.http.
func (r *Record) checkHTTP(add addFunc) {
	if h := r.Runtime.HTTP; h != nil {
		if h.Port < 0 || h.Port > 65535 {
			add("runtime.http.port", "must be between 1 and 65535")
		}
		if h.Path != "" && (h.Path[0] != '/' || strings.ContainsAny(h.Path, "?# ")) {
			add("runtime.http.path", "must be an absolute path without query, got %s", trimQuote(h.Path))
		}
		if strings.ContainsAny(h.ModelName, "/?# ") {
			add("runtime.http.model_name", "may not contain / ? # or spaces")
		}
		switch {
		case h.TopLogprobs < 0 || h.TopLogprobs > MaxTopLogprobs:
			add("runtime.http.top_logprobs", "must be between 0 and %d", MaxTopLogprobs)
		case h.TopLogprobs > 0 && !h.Logprobs:
			add("runtime.http.top_logprobs", "needs runtime.http.logprobs: true")
		}
		if h.Logprobs && r.Runtime.Protocol != "openai" {
			add("runtime.http.logprobs", "is for the openai protocol, not %s", trimQuote(r.Runtime.Protocol))
		}
		if lf := h.LabelFrom; lf != nil {
			switch {
			case lf.JSONPointer != "" && lf.Regex != "":
				add("runtime.http.label_from", "give json_pointer or regex, not both")
			case lf.JSONPointer != "" && lf.JSONPointer[0] != '/':
				add("runtime.http.label_from.json_pointer", "must start with /")
			case lf.Regex != "":
				if _, err := regexp.Compile(lf.Regex); err != nil {
					add("runtime.http.label_from.regex", "%v", err)
				}
			}
		}
	}
}

// checkServer adds the problems of runtime.seed_bits and runtime.server:
// what the server said is kept as text in reports, so it is bounded (at
// most MaxServerText bytes) and printable.
func (r *Record) checkServer(add addFunc) {
	if b := r.Runtime.SeedBits; b < 0 || b > MaxSeedBits {
		add("runtime.seed_bits", "must be between 1 and %d (0 or absent: %d), got %d", MaxSeedBits, MaxSeedBits, b)
	}
	sv := r.Runtime.Server
	if sv == nil {
		return
	}
	for _, f := range []struct{ name, v string }{
		{"model", sv.Model}, {"system_fingerprint", sv.SystemFingerprint},
		{"model_digest", sv.ModelDigest}, {"model_digest_from", sv.ModelDigestFrom},
	} {
		if ServerText(f.v) != f.v {
			add("runtime.server."+f.name, "must be at most %d bytes without control characters", MaxServerText)
		}
	}
}

// MaxServerText is the longest value of a runtime.server field, in bytes.
const MaxServerText = 200

// ServerText is s when a runtime.server field may hold it (at most
// MaxServerText bytes of valid UTF-8 without control characters), else ""
// (capture drops what a server said that a record cannot hold).
func ServerText(s string) string {
	if len(s) > MaxServerText || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return ""
	}
	return s
}

func trimQuote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// malformedExcept is malformed() without the fields already reported (by a
// codec that could not parse them) and without "required digest missing"
// for them.
func (r *Record) malformedExcept(reported []Problem) []Problem {
	var out []Problem
	for _, p := range r.malformed() {
		if !slices.ContainsFunc(reported, func(q Problem) bool { return q.Field == p.Field }) {
			out = append(out, p)
		}
	}
	return out
}
