package runners

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// HTTPConfig is what an HTTP protocol needs to know of the served system,
// from the record's runtime.http (all optional; zero values take the
// protocol's defaults).
type HTTPConfig struct {
	// Port the server listens on inside its container (docker runner).
	Port int
	// ModelName is the model name of a kserve-v2 inference path
	// (/v2/models/{ModelName}/infer) or the "model" an openai request
	// carries when its stored input has none.
	ModelName string
	// Path overrides the inference path (e.g. "/v1/completions").
	Path string
	// LabelJSONPointer and LabelRegex derive output.label from generated
	// text: a JSON pointer (RFC 6901) into the text parsed as JSON, or a
	// regular expression whose first group (or whole match) is the label.
	LabelJSONPointer string
	LabelRegex       string
	// LabelOutput and ScoreOutput name the kserve-v2 output tensors that
	// hold the label and the score.
	LabelOutput, ScoreOutput string
	// Logprobs asks an openai server for token logprobs (chat:
	// "logprobs": true and "top_logprobs": TopLogprobs when > 0;
	// completions: "logprobs": TopLogprobs); they come back in
	// Response.Logprobs.
	Logprobs    bool
	TopLogprobs int
}

// HTTPCodec is a Codec whose transport is HTTP: it also says where a
// request goes and how readiness is polled.
type HTTPCodec interface {
	Codec
	// Path is the inference path of req (e.g. "/v1/chat/completions").
	Path(req Request) string
	// Health is the readiness path; a 200 answer means ready.
	Health() string
	// Port is the port the server listens on in its container.
	Port() int
}

// ReadyProber is implemented by HTTP codecs whose readiness is more than
// a 200 on Health() (openai: GET /health where the server has it, then
// GET /v1/models listing the record's model). Probe asks the server once;
// when it is not ready, why says what it answered (for the start timeout's
// error).
type ReadyProber interface {
	Probe(ctx context.Context, c *http.Client, base string) (ready bool, why string)
}

// Describer is implemented by HTTP codecs that can ask a running server
// what it says about itself (openai: GET /v1/models); the answer is kept
// in Info.Server.
type Describer interface {
	Describe(ctx context.Context, c *http.Client, base string) (string, error)
}

// Quote quotes the first 200 bytes of b (a response body) for an error
// message.
func Quote(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q…", b[:200])
	}
	return fmt.Sprintf("%q", b)
}

// RedactURL returns s with the password of its user info replaced by
// "***" (http://user:***@host, as net/http writes URLs in its errors), for
// every report, log line and error that shows a server's URL. A string
// that does not parse as a URL has everything between "//" and the last
// "@" of its authority replaced.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return userinfo.ReplaceAllString(s, "//***@")
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	// As net/http does (url.UserPassword would escape the stars).
	return strings.Replace(u.String(), u.User.String()+"@", url.User(u.User.Username()).String()+":***@", 1)
}

var userinfo = regexp.MustCompile(`//.*@`)
