// Package kserve is the kserve-v2 wire protocol (the Open Inference
// Protocol, REST): readiness GET /v2/health/ready, inference
// POST /v2/models/{name}/infer with the stored input as the request body
// and the run's parameters merged into its "parameters" object. The label
// and the score are the first element of the output tensors the record's
// runtime.http names (default "label" and "score"). Canonical bytes are the
// outputs sorted by name ({name, datatype, shape, data}), never the
// response's id.
package kserve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/reprise-dev/reprise/runners"
)

// Defaults of the protocol.
const (
	DefaultPort        = 8080
	DefaultModelName   = "model"
	DefaultLabelOutput = "label"
	DefaultScoreOutput = "score"
	HealthPath         = "/v2/health/ready"
)

// Codec is the kserve-v2 codec of one record's HTTP configuration.
type Codec struct{ cfg runners.HTTPConfig }

var _ runners.HTTPCodec = (*Codec)(nil)

// New returns the codec of cfg, with the defaults filled in.
func New(cfg runners.HTTPConfig) (*Codec, error) {
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.ModelName == "" {
		cfg.ModelName = DefaultModelName
	}
	if cfg.LabelOutput == "" {
		cfg.LabelOutput = DefaultLabelOutput
	}
	if cfg.ScoreOutput == "" {
		cfg.ScoreOutput = DefaultScoreOutput
	}
	if strings.ContainsAny(cfg.ModelName, "/?#") {
		return nil, fmt.Errorf("model name %q may not contain / ? #", cfg.ModelName)
	}
	return &Codec{cfg: cfg}, nil
}

// Name is "kserve-v2".
func (*Codec) Name() string { return "kserve-v2" }

// Transport is runners.HTTP.
func (*Codec) Transport() runners.Transport { return runners.HTTP }

// Health is /v2/health/ready.
func (*Codec) Health() string { return HealthPath }

// Port is the port the server listens on.
func (c *Codec) Port() int { return c.cfg.Port }

// Path is runtime.http.path, else /v2/models/{model_name}/infer.
func (c *Codec) Path(runners.Request) string {
	if c.cfg.Path != "" {
		return c.cfg.Path
	}
	return "/v2/models/" + c.cfg.ModelName + "/infer"
}

// Encode sends the stored body (a JSON object with "inputs") with the
// run's parameters merged into "parameters".
func (c *Codec) Encode(req runners.Request) ([]byte, error) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(req.Input, &body); err != nil || body == nil {
		return nil, fmt.Errorf("the stored input is not a JSON object (an inference request body)")
	}
	params := map[string]json.RawMessage{}
	if raw, ok := body["parameters"]; ok {
		if err := json.Unmarshal(raw, &params); err != nil {
			return nil, fmt.Errorf("parameters of the stored input: %v", err)
		}
	}
	pb, err := json.Marshal(req.Params)
	if err != nil {
		return nil, err
	}
	var pm map[string]json.RawMessage
	_ = json.Unmarshal(pb, &pm)
	for k, v := range pm {
		params[k] = v
	}
	if len(params) > 0 {
		b, _ := json.Marshal(params)
		body["parameters"] = b
	}
	return json.Marshal(body)
}

type tensor struct {
	Name     string          `json:"name"`
	Datatype string          `json:"datatype"`
	Shape    []int64         `json:"shape"`
	Data     json.RawMessage `json:"data"`
}

type wireResponse struct {
	Outputs []tensor        `json:"outputs"`
	Error   json.RawMessage `json:"error"`
}

func parse(raw []byte) (wireResponse, error) {
	var w wireResponse
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return w, fmt.Errorf("%w: response is not a JSON object: %s", runners.ErrProtocol, runners.Quote(t))
	}
	if err := json.Unmarshal(t, &w); err != nil {
		return w, fmt.Errorf("%w: invalid inference response %s: %v", runners.ErrProtocol, runners.Quote(t), err)
	}
	return w, nil
}

// Decode maps the named output tensors to label and score; {"error": …} is
// an error answer. A response with neither tensor wraps runners.ErrProtocol.
func (c *Codec) Decode(raw []byte) (runners.Response, error) {
	w, err := parse(raw)
	if err != nil {
		return runners.Response{}, err
	}
	resp := runners.Response{Raw: bytes.Clone(raw)}
	if len(w.Error) > 0 && string(w.Error) != "null" {
		var s string
		if json.Unmarshal(w.Error, &s) != nil {
			s = string(w.Error)
		}
		resp.Error = s
		return resp, nil
	}
	for _, t := range w.Outputs {
		var data []any
		if err := json.Unmarshal(t.Data, &data); err != nil || len(data) == 0 {
			continue
		}
		switch t.Name {
		case c.cfg.LabelOutput:
			var l string
			switch v := data[0].(type) {
			case string:
				l = v
			case float64:
				l = strconv.FormatFloat(v, 'g', -1, 64)
			case bool:
				l = strconv.FormatBool(v)
			default:
				return runners.Response{}, fmt.Errorf("%w: output %s: element 0 is not a string or number", runners.ErrProtocol, t.Name)
			}
			resp.Output.Label = &l
		case c.cfg.ScoreOutput:
			v, ok := data[0].(float64)
			if !ok {
				return runners.Response{}, fmt.Errorf("%w: output %s: element 0 is not a number", runners.ErrProtocol, t.Name)
			}
			resp.Output.Score = &v
		}
	}
	if resp.Output.IsZero() {
		return runners.Response{}, fmt.Errorf("%w: the response has neither output %q nor %q: %s", runners.ErrProtocol, c.cfg.LabelOutput, c.cfg.ScoreOutput, runners.Quote(raw))
	}
	return resp, nil
}

// Canonical is {"outputs": […]} sorted by name, each {name, datatype,
// shape, data}; a body that does not parse is returned as is.
func (c *Codec) Canonical(raw []byte) []byte {
	w, err := parse(raw)
	if err != nil {
		return raw
	}
	slices.SortFunc(w.Outputs, func(a, b tensor) int { return strings.Compare(a.Name, b.Name) })
	for i := range w.Outputs {
		var v any
		if json.Unmarshal(w.Outputs[i].Data, &v) == nil {
			w.Outputs[i].Data, _ = json.Marshal(v)
		}
	}
	b, _ := json.Marshal(struct {
		Outputs []tensor `json:"outputs"`
	}{w.Outputs})
	return b
}
