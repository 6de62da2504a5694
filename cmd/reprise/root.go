package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/stdlog"
)

// streams are the injected standard streams: results go to Out, logs and
// progress to Err. Like gh's IOStreams they know whether they are terminals,
// so progress output is drawn only on a terminal and is testable with buffers
// (set ErrTTY).
type streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// OutTTY and ErrTTY say whether Out and Err are terminals.
	OutTTY, ErrTTY bool
}

// systemStreams are the process's standard streams.
func systemStreams() *streams {
	return &streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// globalOptions are the flags every verb shares.
type globalOptions struct {
	Store   string
	Verbose bool

	logOnce sync.Once
	log     *slog.Logger
}

// storeDir resolves the store location: --store, else $REPRISE_STORE, else .reprise/store.
func (g *globalOptions) storeDir() string {
	if g.Store != "" {
		return g.Store
	}
	if s := os.Getenv("REPRISE_STORE"); s != "" {
		return s
	}
	return ".reprise/store"
}

// logger is the command's logger: discarding without -v, else text on
// s.Err. It is made once, after the flags are parsed, so every caller
// (the library log's goroutines too) shares one handler and its lock.
func (g *globalOptions) logger(s *streams) *slog.Logger {
	g.logOnce.Do(func() {
		if !g.Verbose {
			g.log = slog.New(slog.DiscardHandler)
			return
		}
		g.log = slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	return g.log
}

// execute builds the command tree, runs it with args and returns the exit code.
func execute(ctx context.Context, s *streams, args []string) int {
	g := &globalOptions{}
	defer stdlog.Route(func() *slog.Logger { return g.logger(s) })() // g.logger: nothing without -v
	root := newRoot(g, s)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	err := unknownVerb(root, args)
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	if err == nil {
		return 0
	}
	var unknown *unknownCommandError
	if !errors.As(err, &unknown) && strings.HasPrefix(err.Error(), "unknown command") {
		err = rootUnknown(root, err)
	}
	code := exitCode(err)
	var silent *silentError
	if errors.As(err, &unknown) {
		fmt.Fprint(s.Err, unknown.text())
	} else if !errors.As(err, &silent) {
		// Errors may carry a system's stderr or a record's values: no
		// escape sequence or control character reaches the terminal.
		fmt.Fprintf(s.Err, "reprise: %s\n", render.Terminal(err.Error(), false))
	}
	return code
}

// newRootCmd is the command tree with its own global options.
func newRootCmd(s *streams) *cobra.Command { return newRoot(&globalOptions{}, s) }

// newRoot is the command tree; its global flags set g.
func newRoot(g *globalOptions, s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "reprise",
		Short:         "Replay AI/ML decision records and test whether they reproduce",
		Long:          help("root"),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.Store, "store", "", "artifact store directory (default $REPRISE_STORE, else .reprise/store)")
	root.PersistentFlags().BoolVarP(&g.Verbose, "verbose", "v", false, "log progress to stderr")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see '%s --help')", err, c.CommandPath())
	})

	root.AddCommand(
		newStoreCmd(g, s),
		newRecordCmd(g, s),
		newVerifyCmd(g, s),
		newEnvCmd(g, s),
		newStatsCmd(g, s),
		newCleanCmd(g, s),
		newNightlyCmd(g, s),
		newCompareCmd(g, s),
		newSystemCmd(g, s),
		newEvalsCmd(g, s),
		newDataCmd(g, s),
		newAttributeCmd(g, s),
		newCaptureCmd(g, s),
	)
	addReplayCmd(root, g, s)
	addVersion(root, s)
	oldFormatFlags(root)
	wrapArgs(root)
	registerCompletions(root)
	hideStoreFlag(root)
	return root
}

// wrapArgs makes every positional-argument error a usage error (exit 2).
func wrapArgs(c *cobra.Command) {
	if v := c.Args; v != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := v(cmd, args); err != nil {
				return usageErrorf("%v (see '%s --help')", err, cmd.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

// newCommand is a verb: its use line, one-line and long help ("" for
// none), its positional arguments, and run, called with the command's
// context and arguments.
func newCommand(use, short, long string, args cobra.PositionalArgs, run func(ctx context.Context, args []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Long: long, Args: args,
		RunE: func(c *cobra.Command, args []string) error { return run(c.Context(), args) }}
}

// newGroup is a noun whose verbs are subs.
func newGroup(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Long: long}
	c.AddCommand(subs...)
	return c
}

// setUsage rewords the help of flags of f, by name.
func setUsage(f *pflag.FlagSet, usage map[string]string) {
	for name, u := range usage {
		f.Lookup(name).Usage = u
	}
}

// helpFiles are the long help texts of the verbs, help/<verb>.txt.
//
//go:embed help/*.txt
var helpFiles embed.FS

// help is the long help of a verb: help/<name>.txt without its last newline.
func help(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(err) // a verb names a help file that is not embedded
	}
	return strings.TrimSuffix(string(b), "\n")
}
