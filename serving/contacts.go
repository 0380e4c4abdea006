package serving

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/propensity-dev/propensity/internal/table"
	"github.com/propensity-dev/propensity/serving/internal/arrowipc"
)

// Errors of OpenContactStore.
var (
	// ErrNoContactID: a batch score file without a contact_id column.
	ErrNoContactID = errors.New("serving: score file has no contact_id string column")
	// ErrDuplicateContact: a batch score file with two rows for one contact_id.
	ErrDuplicateContact = errors.New("serving: score file has two rows for one contact_id")
)

// ContactStore answers one contact's row of a batch score file (the output of
// `propensity score --data ... --out FILE.parquet`). The whole file is read once, when the
// model set is loaded; each row is kept as a JSON object of its columns.
type ContactStore struct {
	// Path is the score file.
	Path string
	// ModTime is the file's modification time when read.
	ModTime time.Time
	rows    map[string]json.RawMessage
}

// Len returns the number of contacts in the store.
func (s *ContactStore) Len() int { return len(s.rows) }

// Lookup returns the row of contact id as a JSON object.
func (s *ContactStore) Lookup(id string) (json.RawMessage, bool) {
	r, ok := s.rows[id]
	return r, ok
}

// OpenContactStore reads a Parquet score file keyed by its contact_id column, with the one
// Parquet reader of internal/table (parquet-go). Timestamps become RFC 3339 strings, dates
// YYYY-MM-DD; other values keep their JSON form (NaN and infinities null).
func OpenContactStore(ctx context.Context, path string) (s *ContactStore, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	fh, pf, err := table.OpenParquet(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	defer func() {
		// parquet-go may panic on corrupt pages; a score file must never stop the server.
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%s: %w: %v", path, table.ErrMalformed, r)
		}
	}()
	if err := checkStoredArrowSchema(ctx, pf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cols, err := scoreColumns(pf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	idCol := -1
	for i, c := range cols {
		if c.name == "contact_id" && c.kind == parquet.ByteArray {
			idCol = i
		}
	}
	if idCol < 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNoContactID)
	}
	s = &ContactStore{Path: path, ModTime: st.ModTime().UTC(), rows: make(map[string]json.RawMessage, pf.NumRows())}
	row := make(map[string]any, len(cols))
	rowNum := map[string]int64{} // first row of each id, to name both rows of a duplicate
	var n int64
	rd := parquet.NewReader(pf)
	defer rd.Close()
	buf := make([]parquet.Row, 1024)
	for {
		k, rerr := rd.ReadRows(buf)
		for _, r := range buf[:k] {
			n++
			clear(row)
			var id string
			hasID := false
			for _, v := range r {
				j := v.Column()
				if j < 0 || j >= len(cols) {
					return nil, fmt.Errorf("%s: %w: value for column %d", path, table.ErrMalformed, j)
				}
				row[cols[j].name] = cols[j].json(v)
				if j == idCol && !v.IsNull() {
					id, hasID = string(v.ByteArray()), true
				}
			}
			if !hasID {
				continue
			}
			// A second row for an id would silently replace the first (and the count of
			// contacts would be wrong): the file is not a score file of one row per contact.
			if first, ok := rowNum[id]; ok {
				return nil, fmt.Errorf("%s: contact_id %q at rows %d and %d: %w", path, id, first, n, ErrDuplicateContact)
			}
			rowNum[id] = n
			b, err := json.Marshal(row)
			if err != nil {
				return nil, fmt.Errorf("%s: row %q: %w", path, id, err)
			}
			s.rows[id] = b
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if rerr == io.EOF || (rerr == nil && k == 0) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("%s: %w: %v", path, table.ErrMalformed, rerr)
		}
	}
	return s, nil
}

// scoreColumn is one flat column of a score file and how its values read as JSON.
type scoreColumn struct {
	name    string
	kind    parquet.Kind
	text    bool    // a UTF-8 string (not raw bytes)
	tsScale int64   // timestamp: nanoseconds per unit; 0 when not a timestamp
	date    bool    // DATE: days since the epoch
	scale   float64 // decimal: the value times this
}

// scoreColumns describes the leaf columns of a score file, which must be flat.
func scoreColumns(pf *parquet.File) ([]scoreColumn, error) {
	var out []scoreColumn
	for _, f := range pf.Schema().Fields() {
		if !f.Leaf() || f.Repeated() {
			return nil, fmt.Errorf("%w: column %q is nested or repeated (want a flat score file)", table.ErrUnsupported, f.Name())
		}
		c := scoreColumn{name: f.Name(), kind: f.Type().Kind()}
		if lt := f.Type().LogicalType(); lt != nil {
			switch l := lt.Value.(type) {
			case *format.StringType, *format.EnumType, *format.JsonType:
				c.text = true
			case *format.TimestampType:
				switch l.Unit.Value.(type) {
				case *format.MilliSeconds:
					c.tsScale = 1e6
				case *format.MicroSeconds:
					c.tsScale = 1e3
				default:
					c.tsScale = 1
				}
			case *format.DateType:
				c.date = true
			case *format.DecimalType:
				c.scale = math.Pow10(-int(l.Scale))
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// json returns a value of the column as something encoding/json marshals faithfully.
func (c *scoreColumn) json(v parquet.Value) any {
	if v.IsNull() {
		return nil
	}
	switch v.Kind() {
	case parquet.Boolean:
		return v.Boolean()
	case parquet.Int32, parquet.Int64:
		var x int64
		if v.Kind() == parquet.Int32 {
			x = int64(v.Int32())
		} else {
			x = v.Int64()
		}
		switch {
		case c.date:
			return time.Unix(x*86400, 0).UTC().Format("2006-01-02")
		case c.tsScale != 0:
			return time.Unix(0, x*c.tsScale).UTC().Format(time.RFC3339Nano)
		case c.scale != 0:
			return finite(float64(x) * c.scale)
		}
		return x
	case parquet.Float:
		return finite(float64(v.Float()))
	case parquet.Double:
		return finite(v.Double())
	case parquet.ByteArray, parquet.FixedLenByteArray:
		b := v.ByteArray()
		if c.text || utf8.Valid(b) {
			return string(b)
		}
		return b // base64, as JSON carries bytes
	}
	return v.String()
}

// checkStoredArrowSchema bounds the Arrow schema a Parquet file may carry (key
// "ARROW:schema", a base64 IPC stream, as pyarrow writes it). The file is read with
// parquet-go, which never decodes it; the schema is still checked so that a file that would
// take an Arrow reader down (see arrowipc) is refused here, where it is loaded, too.
func checkStoredArrowSchema(ctx context.Context, pf *parquet.File) error {
	v, ok := pf.Lookup("ARROW:schema")
	if !ok {
		return nil
	}
	// Padded and unpadded base64 are both written; what decodes with neither is ignored.
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) == 0 {
		if b, err = base64.RawStdEncoding.DecodeString(v); err != nil {
			return nil
		}
	}
	if err := arrowipc.Check(ctx, b); err != nil {
		return fmt.Errorf("stored Arrow schema (ARROW:schema): %w", err)
	}
	return nil
}

// finite maps NaN and infinities (which JSON cannot carry) to null.
func finite(v float64) any {
	if v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308 {
		return nil
	}
	return v
}
