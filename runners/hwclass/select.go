package hwclass

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrGPUs: a --gpus selection that does not parse or does not fit the
// record's class.
var ErrGPUs = errors.New("invalid GPU selection")

// Selection is which GPUs of the engine's host a gpu/nvidia system gets
// (the CLI's --gpus, in docker run's syntax): the zero Selection lets the
// class decide (its count, or every GPU); All is every GPU; Count the
// first Count GPUs; Devices the GPUs of these indices or UUIDs, as
// nvidia-smi lists them.
type Selection struct {
	All     bool
	Count   int
	Devices []string
}

// IsZero reports whether the selection leaves the choice to the class.
func (s Selection) IsZero() bool { return !s.All && s.Count == 0 && len(s.Devices) == 0 }

// ParseSelection reads a --gpus value: "" (the class decides), "all", a
// count "N" or "count=N", or "device=ID[,ID…]" (indices such as 0,2 or
// UUIDs such as GPU-5f3c…). Errors wrap ErrGPUs.
func ParseSelection(s string) (Selection, error) {
	switch v := strings.TrimSpace(s); {
	case v == "":
		return Selection{}, nil
	case v == "all" || v == "count=all":
		return Selection{All: true}, nil
	case strings.HasPrefix(v, "device="):
		return parseDevices(s, strings.TrimPrefix(v, "device="))
	default:
		n, err := strconv.Atoi(strings.TrimPrefix(v, "count="))
		if err != nil || n < 1 {
			return Selection{}, fmt.Errorf("%w %q: want all, a number of GPUs (N or count=N, at least 1) or device=ID[,ID…]", ErrGPUs, s)
		}
		return Selection{Count: n}, nil
	}
}

func parseDevices(s, list string) (Selection, error) {
	var sel Selection
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:/.") != "" {
			return Selection{}, fmt.Errorf("%w %q: device %q: want a GPU index (0, 1, …) or UUID (GPU-…) as nvidia-smi -L lists them", ErrGPUs, s, id)
		}
		if slices.Contains(sel.Devices, id) {
			return Selection{}, fmt.Errorf("%w %q: device %q is given twice", ErrGPUs, s, id)
		}
		sel.Devices = append(sel.Devices, id)
	}
	return sel, nil
}

// CheckSelection checks a --gpus value against a record's class: a
// selection needs a gpu/nvidia class, and a count or device list must give
// the system as many GPUs as the class records, when it records a count
// (a system on another number of GPUs is another system); "all" is the
// user's choice. The empty selection always passes. Errors wrap ErrGPUs.
func CheckSelection(class, gpus string) error {
	sel, err := ParseSelection(gpus)
	if err != nil || sel.IsZero() {
		return err
	}
	c, err := Parse(class)
	if err != nil || !c.IsGPU() || c.Vendor != "nvidia" {
		return fmt.Errorf("%w: --gpus %s is for gpu/nvidia hardware classes, and the record's is %s", ErrGPUs, gpus, class)
	}
	n := max(sel.Count, len(sel.Devices))
	if !sel.All && c.Count > 0 && n != c.Count {
		return fmt.Errorf("%w: --gpus %s gives the system %d GPU(s), and the record's class %s ran on %d", ErrGPUs, gpus, n, class, c.Count)
	}
	return nil
}
