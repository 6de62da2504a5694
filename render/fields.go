package render

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Fields writes the exported fields of the struct v (or pointer to one)
// as "key: value" lines with the values aligned. Keys are the json names;
// fields tagged "-" and omitempty fields holding their zero value are left
// out, as in the JSON; embedded structs are flattened and nested structs
// prefix their fields' keys with "name.". An empty list reads "none", an
// empty string or nil pointer "-". Numbers are printed in the
// shortest form that reads back exactly, lists space-separated (lists of
// strings "; "-separated), nested lists in brackets.
func Fields(w io.Writer, v any) error {
	var rows [][2]string
	fieldRows(reflect.ValueOf(v), "", &rows)
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(w, "%-*s %s\n", width+1, r[0]+":", r[1]); err != nil {
			return err
		}
	}
	return nil
}

func fieldRows(v reflect.Value, prefix string, rows *[][2]string) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		*rows = append(*rows, [2]string{strings.TrimSuffix(prefix, "."), formatValue(v)})
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		fv := v.Field(i)
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			fieldRows(fv, prefix, rows) // promoted fields, as in JSON
			continue
		}
		if !sf.IsExported() || name == "-" && opts == "" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if strings.Contains(","+opts+",", ",omitempty,") && isEmpty(fv) {
			continue
		}
		if isStruct(fv) {
			fieldRows(fv, prefix+name+".", rows)
			continue
		}
		*rows = append(*rows, [2]string{prefix + name, formatValue(fv)})
	}
}

// isEmpty reports whether encoding/json's omitempty leaves v out.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return v.IsZero() && v.Kind() != reflect.Struct
}

func isStruct(v reflect.Value) bool {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	return v.Kind() == reflect.Struct
}

func formatValue(v reflect.Value) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "-"
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits())
	case reflect.String:
		if v.Len() == 0 {
			return "-"
		}
		return v.String()
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return "none"
		}
		sep := " "
		if v.Type().Elem().Kind() == reflect.String {
			sep = "; "
		}
		parts := make([]string, v.Len())
		for i := range parts {
			e := v.Index(i)
			parts[i] = formatValue(e)
			if k := e.Kind(); k == reflect.Slice || k == reflect.Array {
				parts[i] = "[" + parts[i] + "]"
			}
		}
		return strings.Join(parts, sep)
	}
	return fmt.Sprint(v.Interface())
}
