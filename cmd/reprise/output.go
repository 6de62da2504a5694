package main

import "github.com/reprise-dev/reprise/render"

// outputFormat is the value of --format: how a verb prints its result on
// stdout (render.Format; a bad value is a flag error, hence exit 2).
type outputFormat = render.Format

const (
	outputText = render.Text
	outputJSON = render.JSON
)

// writeResult prints a result in a format (render.Write), writeJSON as
// --format json does (render.WriteJSON), writeFields as aligned "key:
// value" lines (render.Fields).
var (
	writeResult = render.Write
	writeJSON   = render.WriteJSON
	writeFields = render.Fields
)
