package ingest

import "github.com/reprise-dev/reprise/record"

// NewImporter is the Importer of the version map file versions and the
// column map of columnsFile and the FIELD=COLUMN pairs (ColumnFlags),
// within lim; the caller sets its Inputs.
func NewImporter(versions, columnsFile string, pairs []string, lim record.ParquetLimits) (*Importer, error) {
	cm, err := ColumnFlags(columnsFile, pairs)
	if err != nil {
		return nil, err
	}
	vm, err := LoadVersionMap(versions)
	if err != nil {
		return nil, err
	}
	return &Importer{Map: vm, Columns: cm, Limits: lim}, nil
}
