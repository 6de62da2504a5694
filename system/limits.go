package system

// Limits are the sandbox limits a system ran with (a record's
// runtime.limits); a zero field is unknown. They live here, beside Params,
// because records carry them and runners enforce them: the ranges are
// written once, for both (the CLI's flags check the same).
type Limits struct {
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	NanoCPUs    int64 `json:"nano_cpus,omitempty"`
	Pids        int64 `json:"pids,omitempty"`
}

// Ranges of Limits. Below 6 MiB the engine refuses a container, above
// 1 TiB a memory limit is surely a typo; the engine takes at most the
// host's CPUs and no host has more than 1024; Linux's pid_max is at most
// 4194304.
const (
	MinMemoryBytes = 6 << 20
	MaxMemoryBytes = 1 << 40
	MinNanoCPUs    = 1e7
	MaxNanoCPUs    = 1024e9
	MinPids        = 1
	MaxPids        = 4194304
)

// RangeError is a field of Limits outside its range: Field is its JSON
// name, Min and Max the bounds (inclusive).
type RangeError struct {
	Field    string
	Min, Max int64
}

// Check returns the fields of l outside their ranges, in field order
// (memory_bytes, nano_cpus, pids); a zero field is unknown, never out of
// range.
func (l Limits) Check() []RangeError {
	var errs []RangeError
	check := func(field string, v, lo, hi int64) {
		if v != 0 && (v < lo || v > hi) {
			errs = append(errs, RangeError{Field: field, Min: lo, Max: hi})
		}
	}
	check("memory_bytes", l.MemoryBytes, MinMemoryBytes, MaxMemoryBytes)
	check("nano_cpus", l.NanoCPUs, MinNanoCPUs, MaxNanoCPUs)
	check("pids", l.Pids, MinPids, MaxPids)
	return errs
}
