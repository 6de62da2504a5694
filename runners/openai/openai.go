// Package openai is the openai wire protocol (OpenAI-compatible servers:
// vLLM, TGI, llama.cpp server…): POST /v1/chat/completions when the stored
// input has "messages", POST /v1/completions when it has "prompt" (or the
// path the record's runtime.http.path names). Each request is the stored
// input with the run's seed and the record's temperature, top_p and
// max_tokens merged in, n = 1 and stream = false.
//
// The output text is the first choice's content (chat) or text
// (completions); tool calls are appended in canonical form
// ({"name", "arguments"} per call, without their random ids). Canonical
// bytes, which the exact match compares, hold every choice's content, tool
// calls and finish_reason, never id, created, usage or system_fingerprint.
//
// Readiness (Probe): GET /health answering 200, or absent (404, 405, 501),
// then GET /v1/models answering 200 and listing the served model
// (runtime.http.model_name, Ollama's ":latest" tag allowed; any model when
// the record names none: an empty list serves nothing). Many servers list
// a model before it is loaded: until the first answer 2xx, run 0's 503 or
// 404 "model … not found" is retried within the start timeout (NotReady).
// After run 0 the session asks for the served model's digest
// (ModelDigest: a digest in its /v1/models entry, else Ollama's
// /api/tags), since system_fingerprint need not identify the model
// (Ollama answers the constant "fp_ollama"). Decode keeps the answer's
// "model" and system_fingerprint (runners.Response). A response that
// gives a key reprise reads twice or in another case ("choices" and
// "Choices") is a protocol error: JSON clients read such a body
// differently.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
)

// DefaultPort is the port a server listens on unless runtime.http.port says otherwise.
const DefaultPort = 8000

// Paths of the protocol.
const (
	ChatPath       = "/v1/chat/completions"
	CompletionPath = "/v1/completions"
	ModelsPath     = "/v1/models"
	// HealthPath is the readiness path of vLLM, TGI and llama.cpp server.
	HealthPath = "/health"
)

// Codec is the openai codec of one record's HTTP configuration.
type Codec struct {
	cfg   runners.HTTPConfig
	label labelFunc
	// last caches what every run of one stored input shares: replays send
	// the same input with the same parameters, only the seed changes.
	mu   sync.Mutex
	last *prepared
}

// prepared is a stored input's request body with every parameter but the
// seed merged in, and the path it goes to.
type prepared struct {
	input  []byte
	params system.Params // without the seed
	seeded bool          // the body omits "seed": the run sets it
	rest   []byte        // the body as JSON, "seed" omitted when seeded
	path   string
}

var (
	_ runners.HTTPCodec   = (*Codec)(nil)
	_ runners.Describer   = (*Codec)(nil)
	_ runners.ReadyProber = (*Codec)(nil)
)

// New returns the codec of cfg; a bad label extractor is an error.
func New(cfg runners.HTTPConfig) (*Codec, error) {
	lf, err := labeler(cfg)
	if err != nil {
		return nil, err
	}
	return &Codec{cfg: cfg, label: lf}, nil
}

// Name is "openai".
func (*Codec) Name() string { return "openai" }

// Transport is runners.HTTP.
func (*Codec) Transport() runners.Transport { return runners.HTTP }

// Health is GET /v1/models, the one path every OpenAI-compatible server
// has; Probe, which readiness uses, asks /health first.
func (*Codec) Health() string { return ModelsPath }

// get is one GET of url, its status and at most limit bytes of its body.
func get(ctx context.Context, hc *http.Client, url string, limit int64) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	return resp.StatusCode, bytes.TrimSpace(b), err
}

// Port is runtime.http.port, else DefaultPort.
func (c *Codec) Port() int {
	if c.cfg.Port > 0 {
		return c.cfg.Port
	}
	return DefaultPort
}

// Path is runtime.http.path, else the chat path for an input with
// "messages" and the completions path for one with "prompt".
func (c *Codec) Path(req runners.Request) string {
	if c.cfg.Path != "" {
		return c.cfg.Path
	}
	c.mu.Lock()
	if l := c.last; l != nil && bytes.Equal(l.input, req.Input) {
		c.mu.Unlock()
		return l.path
	}
	c.mu.Unlock()
	return pathOf(req.Input)
}

func pathOf(in json.RawMessage) string {
	var probe struct {
		Prompt json.RawMessage `json:"prompt"`
	}
	if json.Unmarshal(in, &probe) == nil && probe.Prompt != nil {
		return CompletionPath
	}
	return ChatPath
}

// Encode merges the run's parameters into the stored request body (a JSON
// object): seed, temperature, top_p, max_tokens when set, n = 1,
// stream = false, model when the body has none and the record names one,
// and, when the record asks for token logprobs, logprobs (chat: true and
// top_logprobs; completions: the number of alternatives).
func (c *Codec) Encode(req runners.Request) ([]byte, error) {
	p, err := c.prepare(req)
	if err != nil {
		return nil, err
	}
	if !p.seeded {
		return bytes.Clone(p.rest), nil
	}
	// The seed goes first; the other members follow in the order
	// json.Marshal gave them (sorted).
	b := make([]byte, 0, len(p.rest)+28)
	b = append(b, `{"seed":`...)
	b = strconv.AppendInt(b, *req.Params.Seed, 10)
	if len(p.rest) > 2 {
		b = append(b, ',')
		b = append(b, p.rest[1:]...)
	} else {
		b = append(b, '}')
	}
	return b, nil
}

// prepare returns the body of req's input with every parameter but the
// seed merged in, parsed and marshalled once per distinct input and
// parameters.
func (c *Codec) prepare(req runners.Request) (*prepared, error) {
	params := req.Params
	params.Seed = nil
	seeded := req.Params.Seed != nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.last; l != nil && l.seeded == seeded && sameParams(l.params, params) && bytes.Equal(l.input, req.Input) {
		return l, nil
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(req.Input, &body); err != nil || body == nil {
		return nil, fmt.Errorf("the stored input is not a JSON object (an openai request body)")
	}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		body[k] = b
	}
	if seeded {
		delete(body, "seed")
	}
	if params.Temperature != nil {
		set("temperature", *params.Temperature)
	}
	if params.TopP != nil {
		set("top_p", *params.TopP)
	}
	if params.MaxTokens != nil {
		set("max_tokens", *params.MaxTokens)
	}
	set("n", 1)
	set("stream", false)
	path := c.cfg.Path
	if path == "" {
		path = pathOf(req.Input)
	}
	if c.cfg.Logprobs {
		if path == CompletionPath {
			set("logprobs", c.cfg.TopLogprobs)
		} else {
			set("logprobs", true)
			if c.cfg.TopLogprobs > 0 {
				set("top_logprobs", c.cfg.TopLogprobs)
			}
		}
	}
	if _, ok := body["model"]; !ok && c.cfg.ModelName != "" {
		set("model", c.cfg.ModelName)
	}
	rest, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("the stored input is not a JSON object (an openai request body): %v", err)
	}
	c.last = &prepared{input: bytes.Clone(req.Input), params: params, seeded: seeded, rest: rest, path: path}
	return c.last, nil
}

func sameParams(a, b system.Params) bool {
	eq := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eq(a.Temperature, b.Temperature) && eq(a.TopP, b.TopP) &&
		(a.MaxTokens == nil) == (b.MaxTokens == nil) && (a.MaxTokens == nil || *a.MaxTokens == *b.MaxTokens)
}

type toolCall struct {
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type choice struct {
	Index   int     `json:"index"`
	Text    *string `json:"text,omitempty"`
	Message *struct {
		Content   *string    `json:"content"`
		ToolCalls []toolCall `json:"tool_calls,omitempty"`
	} `json:"message,omitempty"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

type wireResponse struct {
	Choices           []choice        `json:"choices"`
	SystemFingerprint string          `json:"system_fingerprint"`
	Model             string          `json:"model"`
	Error             json.RawMessage `json:"error"`
}

// canonChoice is one choice as the exact match compares it.
type canonChoice struct {
	Index        int         `json:"index"`
	Content      *string     `json:"content"`
	ToolCalls    []canonTool `json:"tool_calls,omitempty"`
	FinishReason *string     `json:"finish_reason"`
}

type canonTool struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

func parse(raw []byte) (wireResponse, error) {
	t := bytes.TrimSpace(raw)
	if w, ok := fastParse(t); ok {
		return w, nil
	}
	return slowParse(t)
}

// slowParse is parse by encoding/json alone (raw already trimmed), which
// also refuses a key reprise reads given twice or in another case
// (checkKeys): fastParse declines those bodies, so this is where they end.
func slowParse(t []byte) (wireResponse, error) {
	var w wireResponse
	if len(t) == 0 || t[0] != '{' {
		return w, fmt.Errorf("%w: response is not a JSON object: %s", runners.ErrProtocol, runners.Quote(t))
	}
	if err := json.Unmarshal(t, &w); err != nil {
		return w, fmt.Errorf("%w: invalid openai response %s: %v", runners.ErrProtocol, runners.Quote(t), err)
	}
	if err := checkKeys(t); err != nil {
		return wireResponse{}, fmt.Errorf("%w: %s", err, runners.Quote(t))
	}
	return w, nil
}

func canonical(w wireResponse) []canonChoice {
	out := make([]canonChoice, 0, len(w.Choices))
	for _, c := range w.Choices {
		cc := canonChoice{Index: c.Index, FinishReason: c.FinishReason, Content: c.Text}
		if c.Message != nil {
			cc.Content = c.Message.Content
			for _, tc := range c.Message.ToolCalls {
				cc.ToolCalls = append(cc.ToolCalls, canonTool{Name: tc.Function.Name, Arguments: tc.Function.Arguments})
			}
		}
		out = append(out, cc)
	}
	return out
}

// Decode parses a response body. {"error": …} is an error answer; a body
// that is not an openai response, one without choices, or one that gives a
// key reprise reads twice or in another case ("choices" and "Choices",
// which JSON clients read differently), wraps runners.ErrProtocol. Output.Text is the first choice's text (tool calls
// appended canonically); Output.Label is derived when the record says how.
func (c *Codec) Decode(raw []byte) (runners.Response, error) {
	w, err := parse(raw)
	if err != nil {
		return runners.Response{}, err
	}
	resp := runners.Response{Raw: bytes.Clone(raw), Fingerprint: w.SystemFingerprint, Model: w.Model}
	if len(w.Error) > 0 && string(w.Error) != "null" {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(w.Error, &e) == nil && e.Message != "" {
			resp.Error = e.Message
		} else {
			resp.Error = string(w.Error)
		}
		return resp, nil
	}
	if len(w.Choices) == 0 {
		return runners.Response{}, fmt.Errorf("%w: openai response without choices: %s", runners.ErrProtocol, runners.Quote(raw))
	}
	first := w.Choices[0]
	text := ""
	var tools []canonTool
	if first.Message != nil {
		if first.Message.Content != nil {
			text = *first.Message.Content
		}
		for _, tc := range first.Message.ToolCalls {
			tools = append(tools, canonTool{Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
	} else if first.Text != nil {
		text = *first.Text
	}
	if len(tools) > 0 {
		b, _ := json.Marshal(tools)
		if text != "" {
			text += "\n"
		}
		text += string(b)
	}
	resp.Output.Text = &text
	if lp := w.Choices[0].Logprobs; len(lp) > 0 && string(lp) != "null" {
		var b bytes.Buffer
		if json.Compact(&b, lp) == nil {
			resp.Logprobs = b.Bytes()
		}
	}
	if c.label != nil {
		if l, ok := c.label(text); ok {
			resp.Output.Label = &l
		}
	}
	return resp, nil
}

// Canonical is {"choices": [{index, content, tool_calls, finish_reason}…]}
// (never id, created, usage, system_fingerprint); a body that does not
// parse is returned as is.
func (c *Codec) Canonical(raw []byte) []byte {
	w, err := parse(raw)
	if err != nil {
		return raw
	}
	b, _ := json.Marshal(struct {
		Choices []canonChoice `json:"choices"`
	}{canonical(w)})
	return b
}

// Fingerprint returns the system_fingerprint of a response body ("" when none).
func Fingerprint(raw []byte) string {
	w, _ := parse(raw)
	return w.SystemFingerprint
}

// Describe asks the server for GET /v1/models and returns the body (at most 4 KiB).
func (c *Codec) Describe(ctx context.Context, hc *http.Client, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+ModelsPath, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", ModelsPath, resp.Status)
	}
	return string(bytes.TrimSpace(b)), nil
}
