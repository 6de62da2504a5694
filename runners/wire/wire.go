// Package wire maps the protocol names records use to codecs: the one place
// where protocol names are compared.
package wire

import (
	"fmt"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/runners/kserve"
	"github.com/reprise-dev/reprise/runners/openai"
)

// Lookup returns the codec of a protocol name, configured by cfg (the
// record's runtime.http; ignored by stdio protocols). An unknown protocol
// wraps runners.ErrUnsupported; a bad cfg is an error naming it.
func Lookup(protocol string, cfg runners.HTTPConfig) (runners.Codec, error) {
	switch protocol {
	case "jsonl-stdio", "":
		return jsonl.Codec{}, nil
	case "openai":
		c, err := openai.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("runtime.http: %w", err)
		}
		return c, nil
	case "kserve-v2":
		c, err := kserve.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("runtime.http: %w", err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w: protocol %s is not implemented (jsonl-stdio, openai and kserve-v2 are)", runners.ErrUnsupported, protocol)
}

// IsHTTP reports whether protocol is known and carried over HTTP (openai,
// kserve-v2): whether a record's runtime.http applies to it.
func IsHTTP(protocol string) bool {
	c, err := Lookup(protocol, runners.HTTPConfig{})
	return err == nil && c.Transport() == runners.HTTP
}
