package synth

import (
	"fmt"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// The events file holds most of the bytes, and encoding it (dictionaries, page statistics,
// Snappy) took over half the CPU time of a one-writer run. Its row groups are therefore
// encoded on several goroutines (parquet-go's ConcurrentRowGroupWriter) and committed in
// file order.
//
// The bytes are those parquet-go's GenericWriter.Write writes for the same rows and the same
// sequence of Write calls (one per chunk): a row group holds eventGroupRows rows, and values
// are fed in pieces of writePiece rows, starting afresh at each call and at each row group,
// with a page flushed after a piece that fills a column's page buffer. So the file does not
// depend on the number of workers.

// eventGroupRows is the number of rows per row group of the events file (writerOpts).
const eventGroupRows = 256 << 10

// writePiece is the number of rows GenericWriter.Write hands to the column buffers at a time.
const writePiece = 64

// eventGroup is one row group of the events file, in the making: a copy of its rows (whose
// strings are shared with the chunks, not copied) and where each Write call began.
type eventGroup struct {
	rows  []eventRow
	size  int   // rows when full
	calls []int // start of each chunk's rows in rows
	rg    *parquet.ConcurrentRowGroupWriter
	err   error
	done  chan struct{}
}

// add copies rows of one chunk into g, as many as fit, and returns the rest.
func (g *eventGroup) add(rows []eventRow) []eventRow {
	k := min(len(rows), g.size-len(g.rows))
	if k > 0 {
		g.calls = append(g.calls, len(g.rows))
		g.rows = append(g.rows, rows[:k]...)
	}
	return rows[k:]
}

func (g *eventGroup) full() bool { return len(g.rows) == g.size }

func (g *eventGroup) reset() {
	clear(g.rows) // drop the strings
	g.rows, g.calls, g.err = g.rows[:0], g.calls[:0], nil
	g.done = make(chan struct{})
}

// eventColumns holds the leaf column indexes of eventRow's fields.
type eventColumns struct {
	ts, typ, contact, anon, email, page, channel, campaign, value int
	n                                                             int
}

func newEventColumns(s *parquet.Schema) (eventColumns, error) {
	var c eventColumns
	for _, f := range []struct {
		name string
		dst  *int
	}{{"ts", &c.ts}, {"type", &c.typ}, {"contact_id", &c.contact}, {"anonymous_id", &c.anon}, {"email", &c.email},
		{"page", &c.page}, {"channel", &c.channel}, {"campaign", &c.campaign}, {"value", &c.value}} {
		leaf, ok := s.Lookup(f.name)
		if !ok {
			return c, fmt.Errorf("synth: events schema has no column %q", f.name)
		}
		*f.dst = leaf.ColumnIndex
	}
	c.n = len(s.Columns())
	return c, nil
}

// bytesOf views s as bytes without copying; parquet-go copies values it keeps.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// encode writes the rows of g into its row group writer and flushes its pages.
func (g *eventGroup) encode(cols eventColumns) error {
	vals := make([][]parquet.Value, cols.n)
	for i := range vals {
		vals[i] = make([]parquet.Value, 0, writePiece)
	}
	str := func(col int, s string, optional bool) {
		switch {
		case !optional:
			vals[col] = append(vals[col], parquet.ByteArrayValue(bytesOf(s)).Level(0, 0, col))
		case s == "":
			vals[col] = append(vals[col], parquet.NullValue().Level(0, 0, col))
		default:
			vals[col] = append(vals[col], parquet.ByteArrayValue(bytesOf(s)).Level(0, 1, col))
		}
	}
	writers := g.rg.ColumnWriters()
	for k, lo := range g.calls {
		hi := len(g.rows)
		if k+1 < len(g.calls) {
			hi = g.calls[k+1]
		}
		evs := g.rows[lo:hi]
		for lo := 0; lo < len(evs); lo += writePiece {
			for i := range vals {
				vals[i] = vals[i][:0]
			}
			for k := range evs[lo:min(lo+writePiece, len(evs))] {
				e := &evs[lo+k]
				vals[cols.ts] = append(vals[cols.ts], parquet.Int64Value(e.TS).Level(0, 0, cols.ts))
				str(cols.typ, e.Type, false)
				str(cols.contact, e.ContactID, false)
				str(cols.anon, e.AnonymousID, true)
				str(cols.email, e.Email, true)
				str(cols.page, e.Page, true)
				str(cols.channel, e.Channel, true)
				str(cols.campaign, e.Campaign, true)
				if e.Value == nil {
					vals[cols.value] = append(vals[cols.value], parquet.NullValue().Level(0, 0, cols.value))
				} else {
					vals[cols.value] = append(vals[cols.value], parquet.DoubleValue(*e.Value).Level(0, 1, cols.value))
				}
			}
			for i, w := range writers {
				if _, err := w.WriteRowValues(vals[i]); err != nil {
					return err
				}
			}
		}
	}
	return g.rg.Flush()
}
