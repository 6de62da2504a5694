package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/reprise-dev/reprise/buildinfo"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/wire"
	"github.com/reprise-dev/reprise/system"
)

// More reasons a request is not recorded.
const (
	ReasonErrorAnswer   = "error_answer"
	ReasonInvalidRecord = "invalid_record"
	ReasonQueueFull     = "queue_full"
)

// SeedInjected is the record's runtime.env.driver when the proxy added
// the seed (--inject-seed).
const SeedInjected = "reprise capture serve: seed injected"

// request is what the proxy reads of a recorded request's body.
type request struct {
	params system.Params
	stream bool
	model  string
}

// parseRequest reads the parameters of an openai or kserve-v2 body (a
// JSON object); a body that is not one is an error.
func parseRequest(rt route, body []byte) (request, error) {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return request{}, errors.New("the body is not a JSON object")
	}
	var req request
	if rt.protocol == "kserve-v2" {
		var v struct {
			Parameters *system.Params `json:"parameters"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return request{}, err
		}
		if v.Parameters != nil {
			req.params = *v.Parameters
		}
		req.model = rt.model
		return req, nil
	}
	var v struct {
		system.Params
		Stream bool   `json:"stream"`
		Model  string `json:"model"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return request{}, err
	}
	req.params, req.stream, req.model = v.Params, v.Stream, v.Model
	return req, nil
}

// serveRecorded forwards a request of a recorded route and, when its
// answer allows, queues its record.
func (p *Proxy) serveRecorded(w http.ResponseWriter, r *http.Request, rt route) {
	t0 := time.Now()
	at := p.cfg.Now()
	id := p.requestID(w, r)
	body, whole, err := readLimited(r.Body, p.cfg.MaxBody)
	var a answer
	var req request
	switch {
	case err != nil:
		a.reason = ReasonClientGone
		bad(w, http.StatusBadRequest, "reading the request body: %v", err)
	case !whole:
		a = p.forward(w, r, io.MultiReader(bytes.NewReader(body), r.Body), r.ContentLength, false)
		a.reason = ReasonOversize
	default:
		if req, err = parseRequest(rt, body); err != nil {
			a = p.forward(w, r, bytes.NewReader(body), int64(len(body)), false)
			a.reason = ReasonMalformed
			break
		}
		if !p.sampled(rt, req.model, id) {
			a = p.forward(w, r, bytes.NewReader(body), int64(len(body)), false)
			a.reason = ReasonSampledOut
			break
		}
		fwd, injected := body, false
		if p.cfg.InjectSeed && rt.protocol == "openai" && req.params.Seed == nil {
			seed := p.drawSeed()
			fwd, injected, req.params.Seed = withSeed(body, seed), true, &seed
		}
		a = p.forward(w, r, bytes.NewReader(fwd), int64(len(fwd)), true)
		if a.reason == "" {
			a.reason = p.enqueue(r.Context(), rt, req, id, at, body, a, injected)
		}
	}
	if a.reason != "" {
		p.m.notRecorded(a.reason)
	}
	p.m.observeAdded(time.Since(t0) - a.upstream)
	if a.abort {
		panic(http.ErrAbortHandler)
	}
}

// enqueue builds the record of an answered request and puts it on the
// writer's queue; it returns why it did not ("" when it did).
func (p *Proxy) enqueue(ctx context.Context, rt route, req request, id string, at time.Time, body []byte, a answer, injected bool) string {
	hc := p.cfg.Target.HTTP
	if rt.model != "" {
		hc.ModelName = rt.model
	}
	codec, err := wire.Lookup(rt.protocol, hc)
	if err != nil {
		return ReasonUndecodable
	}
	raw := a.body
	if req.stream && a.stream {
		if raw, err = assembleSSE(raw, rt.path == "/v1/completions"); err != nil {
			p.cfg.Logger.Debug("stream not recorded", "request_id", id, "err", err)
			return ReasonStreamBroken
		}
	}
	resp, err := codec.Decode(raw)
	if err != nil {
		return ReasonUndecodable
	}
	if resp.Error != "" || resp.Output.IsZero() {
		return ReasonErrorAnswer
	}
	canon := codec.Canonical(raw)
	rec := p.newRecord(rt, req, id, at, body, resp, canon)
	if injected {
		rec.Runtime.Env = &record.Env{Driver: SeedInjected}
	}
	if probs := rec.Validate(); len(probs) > 0 {
		p.cfg.Logger.Warn("record not valid", "request_id", id, "problem", probs[0].String())
		return ReasonInvalidRecord
	}
	e := Entry{Record: rec}
	tier := p.tierOf(rt.path)
	if tier == TierFull && p.cfg.Input == InputFull {
		e.Input = body
	}
	if tier != TierHash {
		e.Response = canon
	}
	if !p.cfg.Writer.Add(ctx, e) {
		return ReasonQueueFull
	}
	return ""
}

func (p *Proxy) tierOf(path string) Tier {
	if t, ok := p.cfg.Tiers[path]; ok {
		return t
	}
	return p.cfg.Tier
}

// newRecord is the decision record of one answered request.
func (p *Proxy) newRecord(rt route, req request, id string, at time.Time, body []byte, resp runners.Response, canon []byte) *record.Record {
	rec := &record.Record{
		Schema: record.Schema, RequestID: id, Timestamp: at.UTC().Truncate(time.Microsecond), RepriseVersion: buildinfo.Version(),
		Input:  record.Input{Digest: digest.FromBytes(body), MediaType: "application/json"},
		Params: req.params, System: p.cfg.Target.System,
		Runtime: record.Runtime{Protocol: rt.protocol, HardwareClass: p.cfg.Target.HardwareClass},
		Output:  record.Output{Output: resp.Output, Digest: digest.FromBytes(canon)},
	}
	if rt.model != "" {
		rec.Runtime.HTTP = &record.HTTP{ModelName: rt.model}
	}
	t := record.ServerText
	if sv := (&record.Server{Model: t(resp.Model), SystemFingerprint: t(resp.Fingerprint)}); !sv.IsZero() {
		rec.Runtime.Server = sv
	}
	return rec
}
