package table

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrConfig is wrapped by errors of ParseConfig and ParseOverride.
var ErrConfig = errors.New("table: bad column config")

// Config is the table part of a mapping YAML file (docs/tables.md): per-column type
// overrides and the missing-value tokens. Other top-level keys (the history mapping) are
// left to their own parser.
//
//	columns:
//	  Customer No: drop
//	  Store: categorical
//	  First order: date dd.mm.yyyy
//	  Revenue: {as: numeric}
//	missing: [n/a, "-", k.A.]
type Config struct {
	Columns map[string]Override
	// Missing replaces the default missing-value tokens when not nil.
	Missing []string
}

// ParseConfig decodes the columns and missing keys of a YAML document.
func ParseConfig(data []byte) (Config, error) {
	var doc map[string]yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	var c Config
	if n, ok := doc["missing"]; ok {
		if err := n.Decode(&c.Missing); err != nil {
			return Config{}, fmt.Errorf("%w: missing (line %d): want a list of strings", ErrConfig, n.Line)
		}
		if c.Missing == nil {
			c.Missing = []string{}
		}
	}
	n, ok := doc["columns"]
	if !ok {
		return c, nil
	}
	if n.Kind != yaml.MappingNode {
		return Config{}, fmt.Errorf("%w: columns (line %d): want a map of column name to type", ErrConfig, n.Line)
	}
	c.Columns = map[string]Override{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var o Override
		switch v.Kind {
		case yaml.ScalarNode:
			var err error
			if o, err = ParseOverride(v.Value); err != nil {
				return Config{}, fmt.Errorf("columns: %q (line %d): %w", k.Value, v.Line, err)
			}
		case yaml.MappingNode:
			var m map[string]string
			if err := v.Decode(&m); err != nil {
				return Config{}, fmt.Errorf("%w: columns: %q (line %d): %v", ErrConfig, k.Value, v.Line, err)
			}
			var keys []string
			for key := range m {
				if key != "as" && key != "format" {
					keys = append(keys, key)
				}
			}
			sort.Strings(keys)
			if len(keys) > 0 {
				return Config{}, fmt.Errorf("%w: columns: %q (line %d): unknown key %q (want as, format)", ErrConfig, k.Value, v.Line, keys[0])
			}
			o = Override{As: m["as"], Format: m["format"]}
			if err := o.Validate(); err != nil {
				return Config{}, fmt.Errorf("columns: %q (line %d): %w", k.Value, v.Line, err)
			}
		default:
			return Config{}, fmt.Errorf("%w: columns: %q (line %d): want a type or {as, format}", ErrConfig, k.Value, v.Line)
		}
		if _, dup := c.Columns[k.Value]; dup {
			return Config{}, fmt.Errorf("%w: columns: %q (line %d) given twice", ErrConfig, k.Value, k.Line)
		}
		c.Columns[k.Value] = o
	}
	return c, nil
}

// ParseOverride reads an override as written in a flag or YAML: numeric, categorical, drop,
// date, or date with a format ("date dd/mm/yyyy" or "date=dd/mm/yyyy").
func ParseOverride(s string) (Override, error) {
	s = strings.TrimSpace(s)
	o := Override{As: s}
	if rest, ok := strings.CutPrefix(s, AsDate); ok && rest != "" {
		o = Override{As: AsDate, Format: strings.TrimSpace(strings.TrimLeft(rest, " =:"))}
	}
	return o, o.Validate()
}

// Validate reports an unknown type or date format.
func (o Override) Validate() error {
	switch o.As {
	case AsNumeric, AsCategorical, AsDrop:
		if o.Format != "" {
			return fmt.Errorf("%w: %s takes no format", ErrConfig, o.As)
		}
	case AsDate:
		if o.Format != "" && !slices.Contains(dateFormats, o.Format) {
			return fmt.Errorf("%w: date format %q (want %s)", ErrConfig, o.Format, strings.Join(dateFormats, ", "))
		}
	default:
		return fmt.Errorf("%w: type %q (want numeric, categorical, drop or date)", ErrConfig, o.As)
	}
	return nil
}
