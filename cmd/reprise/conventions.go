package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/render"
)

// unknownCommandError is a word that names no command (`reprise store
// verfy`): a usage error (exit 2) printed as cobra prints it, with each
// suggestion on its own line, so a typo in a CI step fails and says what
// was meant.
type unknownCommandError struct {
	word, path  string   // the word and the command path it followed
	suggestions []string // cobra's suggestions, nearest first
}

func (e *unknownCommandError) Error() string {
	return fmt.Sprintf("unknown command %q for %q", e.word, e.path)
}

// Unwrap makes the error a usage error for exitCode.
func (e *unknownCommandError) Unwrap() error { return &usageError{fmt.Errorf("%s", e.Error())} }

// text is the message as printed on stderr: the error, cobra's "Did you
// mean this?" block with one suggestion a line, and where help is. The
// word came from the command line: escape sequences are removed.
func (e *unknownCommandError) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reprise: %s\n", render.Terminal(e.Error(), false))
	if len(e.suggestions) > 0 {
		b.WriteString("\nDid you mean this?\n")
		for _, s := range e.suggestions {
			fmt.Fprintf(&b, "\t%s\n", s)
		}
	}
	fmt.Fprintf(&b, "\nRun '%s --help' for usage.\n", e.path)
	return b.String()
}

// unknownCommand is the error for word after command c, with c's suggestions.
func unknownCommand(c *cobra.Command, word string) error {
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, set only on the root
	}
	return &unknownCommandError{word: word, path: c.CommandPath(), suggestions: c.SuggestionsFor(word)}
}

// unknownVerb refuses a word after a noun that is none of its verbs
// (`reprise store verfy`): cobra would print the noun's help and exit 0, so
// a typo in a CI step would pass. The root's own unknown commands are
// cobra's error, rewritten by rootUnknown.
func unknownVerb(root *cobra.Command, args []string) error {
	c, rest, err := root.Find(args)
	if err != nil || c == root || c.Runnable() || !c.HasSubCommands() {
		return nil
	}
	if err := c.ParseFlags(rest); err != nil {
		return nil // cobra reports it
	}
	words := c.Flags().Args()
	if len(words) == 0 {
		return nil
	}
	return unknownCommand(c, words[0])
}

// rootUnknown rewrites cobra's "unknown command" error of the root (whose
// suggestions cobra folds into one string) as an unknownCommandError.
func rootUnknown(root *cobra.Command, err error) error {
	var word string
	if _, scanErr := fmt.Sscanf(err.Error(), "unknown command %q", &word); scanErr != nil {
		return &usageError{err}
	}
	return unknownCommand(root, word)
}

// The output convention, the same on every verb: -o/--output FILE|DIR is
// where output goes, --format text|json how a result is printed on
// stdout. The spellings of the release before (--out FILE|DIR, and
// --output text|json for the format) work for one more release with a
// deprecation warning on stderr.

// addFormatFlag adds --format text|json to cmd, storing the choice in f,
// with default def. (oldFormatFlags gives a verb without -o/--output the
// old spelling.)
func addFormatFlag(cmd *cobra.Command, f *outputFormat, def outputFormat) {
	*f = def
	cmd.Flags().Var(f, "format", "result format on stdout: text or json")
}

// oldFormatFlags gives every command under c that has --format text|json
// and no -o/--output a hidden --output that accepts the old spelling of
// the format (text or json), with a warning.
func oldFormatFlags(c *cobra.Command) {
	if f := c.Flags().Lookup("format"); f != nil && c.Flags().Lookup("output") == nil {
		if _, ok := f.Value.(*outputFormat); ok {
			c.Flags().Var(&oldFormatFlag{cmd: c}, "output", "deprecated spelling of --format")
			_ = c.Flags().MarkHidden("output")
		}
	}
	for _, sub := range c.Commands() {
		oldFormatFlags(sub)
	}
}

// addDestFlag adds -o/--output to cmd, storing where output goes in dest;
// kind is FILE or DIR (help shows it), usage says what is written there.
// The old long name --out stays for one release, hidden and deprecated.
// On a verb with --format, a value of text or json is the old spelling of
// the format: it sets --format, with a warning (a file of that name is
// ./json).
func addDestFlag(cmd *cobra.Command, dest *string, kind, usage string) {
	f := cmd.Flags()
	f.VarP(&destFlag{cmd: cmd, dest: dest, kind: kind}, "output", "o", usage)
	f.Var(&destFlag{cmd: cmd, dest: dest, kind: kind, old: true}, "out", "deprecated spelling of --output")
	_ = f.MarkHidden("out")
}

// destFlag is the value of -o/--output: a path, or on a verb with --format
// the old spelling of the format.
type destFlag struct {
	cmd  *cobra.Command
	dest *string
	kind string
	old  bool // --out, the old spelling
}

func (d *destFlag) String() string { return *d.dest }
func (d *destFlag) Type() string   { return d.kind }
func (d *destFlag) Set(s string) error {
	if format := d.cmd.Flags().Lookup("format"); format != nil && (s == string(outputText) || s == string(outputJSON)) {
		fmt.Fprintf(d.cmd.ErrOrStderr(), "reprise: warning: --output %s is deprecated: use --format %s (-o/--output names where output goes; a file named %s is ./%s)\n", s, s, s, s)
		return format.Value.Set(s)
	}
	if s == "" {
		return fmt.Errorf("must name a %s", strings.ToLower(d.kind))
	}
	if d.old {
		fmt.Fprintf(d.cmd.ErrOrStderr(), "reprise: warning: --out is deprecated: use -o/--output %s\n", s)
	}
	*d.dest = s
	return nil
}

// oldFormatFlag is the hidden --output of a verb without -o: the old
// spelling of --format.
type oldFormatFlag struct{ cmd *cobra.Command }

func (o *oldFormatFlag) String() string { return "" }
func (o *oldFormatFlag) Type() string   { return "text|json" }
func (o *oldFormatFlag) Set(s string) error {
	if s != string(outputText) && s != string(outputJSON) {
		return fmt.Errorf("%s writes its result to stdout; --output was the format (text or json), now --format", o.cmd.CommandPath())
	}
	fmt.Fprintf(o.cmd.ErrOrStderr(), "reprise: warning: --output %s is deprecated: use --format %s\n", s, s)
	return o.cmd.Flags().Lookup("format").Value.Set(s)
}
