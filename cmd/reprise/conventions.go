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
