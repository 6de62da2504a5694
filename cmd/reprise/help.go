package main

import (
	"embed"
	"strings"
)

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
