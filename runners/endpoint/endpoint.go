// Package endpoint replays against an HTTP inference server that is already
// running (e.g. a GPU server elsewhere): nothing is started or stopped, so
// the environment is not pinned (Info.Pinned is false, and reports say so).
// What the server says about itself (openai: GET /v1/models, and every
// system_fingerprint its answers carry) is kept in Info. The record's pinned
// components cannot be given to a server that already runs: Info.Notes says
// so (ComponentNotes), and every report with it.
//
// A server behind HTTP basic auth takes its user and password from the URL
// (http://user:PASSWORD@host), from a credentials file (ReadCredentials)
// or from the environment (PasswordEnv); Info.URL, every report and every
// error show the URL with the password as "***".
package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/httpsess"
)

// DefaultStartTimeout bounds run 0 of a session: the server already runs,
// so it is shorter than runners.DefaultStartTimeout (a later run and the
// session take runners.DefaultRunTimeout and DefaultSessionTimeout).
const DefaultStartTimeout = time.Minute

// PasswordEnv is the environment variable that holds the basic-auth
// password of the server, for the user the URL names (http://user@host).
const PasswordEnv = "REPRISE_ENDPOINT_PASSWORD"

// MaxCredentialsBytes bounds a credentials file.
const MaxCredentialsBytes = 4096

// ErrCredentials: the server's credentials are unreadable or given twice.
var ErrCredentials = errors.New("endpoint credentials")

// Runner starts sessions against the server at URL.
type Runner struct {
	// URL is the server's base URL, e.g. "http://gpu-7:8000".
	URL string
	// User, when set, is the basic-auth user and password, replacing the
	// URL's user info (Credentials gives them).
	User *url.Userinfo
}

// ParseURL checks a server URL: http or https, a host, no query or
// fragment. Its errors show the URL with the password redacted.
func ParseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse's errors quote the URL, and where the user info does
		// not parse, a part of it: name neither.
		if strings.Contains(s, "@") {
			return "", fmt.Errorf("%q is not a valid URL", runners.RedactURL(s))
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("%q is not a valid URL: %v", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("want http(s)://HOST[:PORT][/PREFIX], got %q", runners.RedactURL(s))
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// ReadCredentials reads a credentials file: one line USER:PASSWORD (a
// final newline is ignored), a regular file of at most
// MaxCredentialsBytes. Errors wrap ErrCredentials and name the file,
// never its content.
func ReadCredentials(path string) (*url.Userinfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCredentials, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s: not a regular file", ErrCredentials, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxCredentialsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCredentials, path, err)
	}
	if len(b) > MaxCredentialsBytes {
		return nil, fmt.Errorf("%w: %s: longer than %d bytes", ErrCredentials, path, MaxCredentialsBytes)
	}
	line := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	user, pw, ok := strings.Cut(line, ":")
	if !ok || strings.ContainsAny(line, "\r\n") {
		return nil, fmt.Errorf("%w: %s: want one line USER:PASSWORD", ErrCredentials, path)
	}
	return url.UserPassword(user, pw), nil
}

// Credentials returns the basic-auth user of the server at rawURL from a
// credentials file (file, when not "") or the password in getenv(PasswordEnv)
// with the URL's user, nil when neither is given (the URL's own user info,
// if any, applies). A password given twice (in the URL and elsewhere, or
// in a file and the environment) and a file naming another user than the
// URL wrap ErrCredentials.
func Credentials(rawURL, file string, getenv func(string) string) (*url.Userinfo, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: --url: %v", ErrCredentials, err)
	}
	env := getenv(PasswordEnv)
	_, inURL := u.User.Password()
	switch {
	case file == "" && env == "":
		return nil, nil
	case inURL:
		return nil, fmt.Errorf("%w: --url %s has a password, and so has %s: give it once", ErrCredentials, runners.RedactURL(rawURL), cond(file != "", "--url-credentials-file", "$"+PasswordEnv))
	case file != "" && env != "":
		return nil, fmt.Errorf("%w: both --url-credentials-file and $%s give a password: give it once", ErrCredentials, PasswordEnv)
	case env != "":
		return url.UserPassword(u.User.Username(), env), nil
	}
	ui, err := ReadCredentials(file)
	if err != nil {
		return nil, err
	}
	if name := u.User.Username(); name != "" && name != ui.Username() {
		return nil, fmt.Errorf("%w: --url names the user %q and --url-credentials-file %s the user %q", ErrCredentials, name, file, ui.Username())
	}
	return ui, nil
}

func cond(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// Start waits for the server's readiness (within the start timeout) and
// returns a session of it. A stdio protocol wraps runners.ErrUnsupported.
func (r *Runner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	codec, ok := spec.Codec.(runners.HTTPCodec)
	if !ok {
		name := "none"
		if spec.Codec != nil {
			name = spec.Codec.Name()
		}
		return nil, fmt.Errorf("%w: protocol %s: the endpoint runner speaks HTTP protocols only", runners.ErrUnsupported, name)
	}
	if _, _, err := spec.InFlight(); err != nil {
		return nil, err
	}
	base, err := ParseURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: --url: %v", runners.ErrUnsupported, err)
	}
	if r.User != nil {
		u, _ := url.Parse(base)
		u.User = r.User
		base = u.String()
	}
	budget := runners.NewBudget(spec, DefaultStartTimeout, runners.DefaultRunTimeout, runners.DefaultSessionTimeout, time.Now())
	hc := httpsess.NewClient()
	if err := httpsess.WaitReady(ctx, hc, base, codec, budget.Start, nil, nil); err != nil {
		return nil, err
	}
	s := httpsess.New(codec, base, hc, budget, spec, runners.Info{Runner: "endpoint", Pinned: false, Notes: ComponentNotes(spec)})
	if d, ok := codec.(runners.Describer); ok {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if desc, err := d.Describe(dctx, hc, base); err == nil {
			s.SetServer(desc)
		}
		cancel()
	}
	return s, nil
}

// ComponentNotes is the note of a session whose record pins components:
// a server that already runs is given none of them (nor the model and
// config) and reads its own, so the replay says so instead of silently
// leaving them out. Nil without components.
func ComponentNotes(spec runners.Spec) []string {
	if len(spec.Components) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("the endpoint runner gave the running server none of the record's %d pinned components (%s): it reads its own, which nothing checks against the record",
		len(spec.Components), strings.Join(slices.Sorted(maps.Keys(spec.Components)), ", "))}
}
