package hwclass

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrClass: a hardware class string that does not parse.
var ErrClass = errors.New("invalid hardware class")

// Class is a hardware class, parsed. Its String form is what a record
// pins in runtime.hardware_class:
//
//	cpu/<arch>/<level>                 cpu/amd64/x86-64-v3, cpu/arm64/armv8.2+sve
//	gpu/<vendor>/<product>[+<attr>…]   gpu/nvidia/a100-sxm4-80gb+80gib+2x+driver535.104.05+cuda12.2
//
// A GPU class's attributes, each optional and in this order when written:
// "<N>gib" the memory of one GPU in GiB (nvidia-smi's memory.total
// rounded to the nearest GiB), "<N>x" how many GPUs of that product the
// system had, "driver<version>" the driver version, "cuda<major.minor>"
// the highest CUDA version the driver supports. A class without
// attributes (gpu/nvidia/<product>, as reprise wrote before they existed)
// pins the product alone; Match says what each attribute requires.
type Class struct {
	// Kind is "cpu" or "gpu".
	Kind string
	// Vendor is a CPU class's architecture (amd64) or a GPU class's vendor (nvidia).
	Vendor string
	// Model is a CPU class's level (x86-64-v3, armv8.2+sve) or a GPU
	// class's product (a100-sxm4-80gb, as Slug makes it).
	Model string
	// MemoryGiB, Count, Driver and CUDA are a GPU class's attributes; zero
	// or "" when the class does not record them.
	MemoryGiB int
	Count     int
	Driver    string
	CUDA      string
}

// IsGPU reports whether the class is a GPU class.
func (c Class) IsGPU() bool { return c.Kind == "gpu" }

// String is the class as a record pins it (attributes in canonical order).
func (c Class) String() string {
	var b strings.Builder
	b.WriteString(c.Kind + "/" + c.Vendor + "/" + c.Model)
	if c.MemoryGiB > 0 {
		fmt.Fprintf(&b, "+%dgib", c.MemoryGiB)
	}
	if c.Count > 0 {
		fmt.Fprintf(&b, "+%dx", c.Count)
	}
	if c.Driver != "" {
		b.WriteString("+driver" + c.Driver)
	}
	if c.CUDA != "" {
		b.WriteString("+cuda" + c.CUDA)
	}
	return b.String()
}

// Parse reads a hardware class. Errors wrap ErrClass and name the part
// that is wrong (a GPU attribute it does not know, a repeated one, a
// version that is not numbers and dots).
func Parse(s string) (Class, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return Class{}, fmt.Errorf("%w %q: want cpu/<arch>/<level> or gpu/<vendor>/<product>[+<attribute>…]", ErrClass, s)
	}
	c := Class{Kind: parts[0], Vendor: parts[1], Model: parts[2]}
	switch c.Kind {
	case "cpu":
		return c, nil
	case "gpu":
	default:
		return Class{}, fmt.Errorf("%w %q: the kind %q is neither cpu nor gpu", ErrClass, s, c.Kind)
	}
	model, attrs, found := strings.Cut(c.Model, "+")
	if c.Model = model; model == "" {
		return Class{}, fmt.Errorf("%w %q: no GPU product", ErrClass, s)
	}
	seen := map[string]bool{}
	for _, a := range strings.Split(attrs, "+") {
		if !found {
			break
		}
		name, err := c.setAttr(a)
		if err != nil {
			return Class{}, fmt.Errorf("%w %q: attribute %q: %v", ErrClass, s, a, err)
		}
		if seen[name] {
			return Class{}, fmt.Errorf("%w %q: attribute %q: the %s is given twice", ErrClass, s, a, name)
		}
		seen[name] = true
	}
	return c, nil
}

// setAttr sets one GPU attribute and returns its name.
func (c *Class) setAttr(a string) (string, error) {
	switch {
	case strings.HasPrefix(a, "driver"):
		c.Driver = a[len("driver"):]
		return "driver", checkVersion(c.Driver, 1)
	case strings.HasPrefix(a, "cuda"):
		c.CUDA = a[len("cuda"):]
		return "CUDA version", checkVersion(c.CUDA, 2)
	case strings.HasSuffix(a, "gib"):
		n, err := positive(strings.TrimSuffix(a, "gib"))
		c.MemoryGiB = n
		return "memory", err
	case strings.HasSuffix(a, "x"):
		n, err := positive(strings.TrimSuffix(a, "x"))
		c.Count = n
		return "GPU count", err
	}
	return "", errors.New("want <N>gib, <N>x, driver<version> or cuda<major.minor>")
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a positive whole number", s)
	}
	return n, nil
}

// checkVersion accepts dot-separated decimal numbers, at least min of them.
func checkVersion(v string, min int) error {
	nums := strings.Split(v, ".")
	for _, n := range nums {
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return fmt.Errorf("version %q: want numbers separated by dots", v)
		}
	}
	if len(nums) < min {
		return fmt.Errorf("version %q: want at least %d numbers (major.minor)", v, min)
	}
	return nil
}

// version splits a checked version into its first two numbers (minor 0
// when absent).
func version(v string) (major, minor int) {
	maj, rest, _ := strings.Cut(v, ".")
	major, _ = strconv.Atoi(maj)
	min, _, _ := strings.Cut(rest, ".")
	minor, _ = strconv.Atoi(min)
	return major, minor
}
