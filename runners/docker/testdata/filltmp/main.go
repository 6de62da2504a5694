// Command filltmp is a test system that fills /tmp, as a server copying a
// model onto it does: it writes 1 MiB blocks to /tmp/model-copy until a
// write fails, prints the error to stderr ("… no space left on device")
// and exits with status 1, before answering anything.
package main

import (
	"fmt"
	"os"
)

func main() {
	f, err := os.Create("/tmp/model-copy")
	if err != nil {
		fmt.Fprintln(os.Stderr, "filltmp:", err)
		os.Exit(1)
	}
	block := make([]byte, 1<<20)
	for {
		if _, err := f.Write(block); err != nil {
			fmt.Fprintln(os.Stderr, "filltmp: copy the model:", err)
			os.Exit(1)
		}
	}
}
