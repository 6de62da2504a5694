package hwclass

import (
	"fmt"
	"io"
)

// WriteText writes the snapshot as aligned "key: value" lines, as reprise
// env prints them: the hardware class, OS, kernel, architecture, CPU, Go
// toolchain and the NVIDIA GPUs (GPULines).
func (s Snapshot) WriteText(w io.Writer) {
	fmt.Fprintf(w, "hardware_class: %s\n", s.HardwareClass)
	fmt.Fprintf(w, "os:             %s\n", s.OS)
	fmt.Fprintf(w, "kernel:         %s\n", s.Kernel)
	fmt.Fprintf(w, "arch:           %s\n", s.Arch)
	fmt.Fprintf(w, "cpu:            %s (%d cpus)\n", s.CPUModel, s.CPUs)
	fmt.Fprintf(w, "go:             %s\n", s.GoVersion)
	for _, l := range s.GPULines() {
		fmt.Fprintln(w, l)
	}
}
