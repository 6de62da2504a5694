package hwclass

import (
	"fmt"
	"strings"
)

// Part is one thing a host lacks for a record's class: its name (as the
// error says it), what the record needs and what the host has.
type Part struct {
	Name, Need, Have string
}

// MismatchError says why a host's class does not match a record's: every
// part that differs, or Err (wrapping ErrClass) when the record's class
// does not parse.
type MismatchError struct {
	Record, Host string
	Parts        []Part
	Err          error
}

func (e *MismatchError) Error() string {
	if e.Err != nil {
		return "the record's hardware class: " + e.Err.Error()
	}
	var b strings.Builder
	for i, p := range e.Parts {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: the record needs %s, this host has %s", p.Name, p.Need, p.Have)
	}
	return b.String()
}

// Unwrap returns Err: a record whose class does not parse is invalid
// input (ErrClass), not a host that lacks something.
func (e *MismatchError) Unwrap() error { return e.Err }

// Match decides whether a system recorded on class record may replay on a
// host of class host: nil when it may, otherwise a *MismatchError naming
// every part that differs. The rules:
//
//   - A CPU class matches only the same string (architecture and level).
//   - A GPU class needs a GPU host of the same vendor and product.
//   - Each attribute the record has must be met (an absent one is not
//     checked, so a gpu/nvidia/<product> class of an older record matches
//     any host with that product): memory, the same whole GiB; count, at
//     least that many GPUs of the product; driver, the same major version
//     (one driver branch: 535.86 and 535.104 match, 535 and 550 do not,
//     since a driver JIT-compiles PTX and may change results across
//     branches); CUDA, the same major version and at least the recorded
//     minor (the image's CUDA runtime needs a driver that supports it).
func Match(record, host string) error {
	if record == host {
		return nil
	}
	mismatch := &MismatchError{Record: record, Host: host}
	rc, err := Parse(record)
	if err != nil {
		mismatch.Err = err
		return mismatch
	}
	hc, herr := Parse(host)
	switch {
	case !rc.IsGPU():
		mismatch.Parts = []Part{{"hardware class", record, host}}
	case herr != nil || !hc.IsGPU():
		mismatch.Parts = []Part{{"GPU", rc.Vendor + " " + rc.Model, "no GPU (" + host + "; nvidia-smi finds none, 'reprise env' says why)"}}
	default:
		mismatch.Parts = gpuParts(rc, hc)
	}
	if len(mismatch.Parts) == 0 {
		return nil
	}
	return mismatch
}

// gpuParts compares two GPU classes part by part.
func gpuParts(rc, hc Class) []Part {
	if rc.Vendor != hc.Vendor {
		return []Part{{"GPU vendor", rc.Vendor, hc.Vendor}}
	}
	var parts []Part
	if rc.Model != hc.Model {
		parts = append(parts, Part{"GPU model", rc.Model, hc.Model})
	}
	if rc.MemoryGiB > 0 && rc.MemoryGiB != hc.MemoryGiB {
		parts = append(parts, Part{"GPU memory", fmt.Sprintf("%d GiB", rc.MemoryGiB), gib(hc.MemoryGiB)})
	}
	if rc.Count > 0 && hc.Count < rc.Count {
		parts = append(parts, Part{"GPU count", fmt.Sprintf("%d %s", rc.Count, rc.Model), fmt.Sprintf("%d", hc.Count)})
	}
	if rc.Driver != "" {
		rmaj, _ := version(rc.Driver)
		hmaj, _ := version(hc.Driver)
		if hc.Driver == "" || rmaj != hmaj {
			parts = append(parts, Part{"driver", fmt.Sprintf("the %d branch (recorded %s)", rmaj, rc.Driver), orNone(hc.Driver)})
		}
	}
	if rc.CUDA != "" {
		rmaj, rmin := version(rc.CUDA)
		hmaj, hmin := version(hc.CUDA)
		if hc.CUDA == "" || hmaj != rmaj || hmin < rmin {
			parts = append(parts, Part{"CUDA", fmt.Sprintf("%d.x at least %s", rmaj, rc.CUDA), orNone(hc.CUDA)})
		}
	}
	return parts
}

func gib(n int) string {
	if n == 0 {
		return "none recorded"
	}
	return fmt.Sprintf("%d GiB", n)
}

func orNone(s string) string {
	if s == "" {
		return "none recorded"
	}
	return s
}
