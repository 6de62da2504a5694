// Command reprise replays stored AI/ML decision records and decides, with
// statistical tests, whether the stored output is reproducible.
//
// main only wires the process to run; everything else takes injected streams
// and a context so the CLI is testable with buffers.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, systemStreams(), os.Args[1:])
}
