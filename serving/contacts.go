package serving

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

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

// OpenContactStore reads a Parquet score file keyed by its contact_id column. Timestamps
// become RFC 3339 strings; other values keep their JSON form.
func OpenContactStore(ctx context.Context, path string) (*ContactStore, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer pf.Close()
	if err := checkStoredArrowSchema(ctx, pf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer rr.Release()
	schema := rr.Schema()
	idCol := -1
	for i, f := range schema.Fields() {
		if f.Name == "contact_id" && (f.Type.ID() == arrow.STRING || f.Type.ID() == arrow.LARGE_STRING) {
			idCol = i
		}
	}
	if idCol < 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNoContactID)
	}
	s := &ContactStore{Path: path, ModTime: st.ModTime().UTC(), rows: make(map[string]json.RawMessage, pf.NumRows())}
	row := make(map[string]any, len(schema.Fields()))
	rowNum := map[string]int64{} // first row of each id, to name both rows of a duplicate
	var n int64
	for rr.Next() {
		rec := rr.RecordBatch()
		ids, ok := rec.Column(idCol).(interface {
			IsNull(int) bool
			Value(int) string
		})
		if !ok {
			return nil, fmt.Errorf("%s: %w", path, ErrNoContactID)
		}
		for i := range int(rec.NumRows()) {
			n++
			if ids.IsNull(i) {
				continue
			}
			// A second row for an id would silently replace the first (and the count of
			// contacts would be wrong): the file is not a score file of one row per contact.
			if first, ok := rowNum[ids.Value(i)]; ok {
				return nil, fmt.Errorf("%s: contact_id %q at rows %d and %d: %w", path, ids.Value(i), first, n, ErrDuplicateContact)
			}
			rowNum[ids.Value(i)] = n
			clear(row)
			for c, f := range schema.Fields() {
				row[f.Name] = jsonValue(rec.Column(c), i)
			}
			b, err := json.Marshal(row)
			if err != nil {
				return nil, fmt.Errorf("%s: row %q: %w", path, ids.Value(i), err)
			}
			s.rows[ids.Value(i)] = b
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// checkStoredArrowSchema bounds the Arrow schema a Parquet file may carry (key
// "ARROW:schema", a base64 IPC stream) before pqarrow decodes it with arrow-go: the schema of
// a file is as able as that of a request to stand for billions of fields (see arrowipc).
func checkStoredArrowSchema(ctx context.Context, pf *file.Reader) error {
	v := pf.MetaData().KeyValueMetadata().FindValue("ARROW:schema")
	if v == nil {
		return nil
	}
	// pqarrow accepts padded and unpadded base64; what decodes with neither, it refuses.
	b, err := base64.StdEncoding.DecodeString(*v)
	if err != nil || len(b) == 0 {
		if b, err = base64.RawStdEncoding.DecodeString(*v); err != nil {
			return nil
		}
	}
	if err := arrowipc.Check(ctx, b); err != nil {
		return fmt.Errorf("stored Arrow schema (ARROW:schema): %w", err)
	}
	return nil
}

// jsonValue returns the value of row i of a as something encoding/json marshals faithfully.
func jsonValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
	case *array.Date32:
		return a.Value(i).ToTime().UTC().Format("2006-01-02")
	case *array.Float64:
		return finite(a.Value(i))
	case *array.Float32:
		return finite(float64(a.Value(i)))
	}
	return a.GetOneForMarshal(i)
}

// finite maps NaN and infinities (which JSON cannot carry) to null.
func finite(v float64) any {
	if v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308 {
		return nil
	}
	return v
}
