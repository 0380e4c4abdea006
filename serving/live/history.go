package live

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/serving/store"
)

// ImportStats counts what Import stored.
type ImportStats struct {
	Contacts, Events, Transactions, Identities int64
	// Duplicates counts rows already stored (resent events, equal transactions).
	Duplicates int64
	// Refused counts rows the store cannot hold (an identifier over store.MaxIDBytes bytes
	// or with a NUL byte, a time outside 1900..2200).
	Refused int64
	// Report is the history reader's report (rows it could not use, by file and reason).
	Report history.Report
}

// Records returns the number of rows stored.
func (s ImportStats) Records() int64 { return s.Contacts + s.Events + s.Transactions + s.Identities }

// Import loads the history directory dir (column names from m) into st: contacts,
// identities, events, then transactions, each row one change. It does not re-score or fire
// triggers. progress, when not nil, is called every 100,000 rows with the stats so far.
// Into an empty store, rows go through a store.Loader (sorted runs merged into SSTables and
// ingested at once); into a store that holds records already, they are committed in batches
// of 4096 without a sync, and synced once at the end. Either way a nil error means every row
// is durable, and the store is the same. Import holds the store's writers' mutex while it
// runs.
func Import(ctx context.Context, st *store.Store, dir string, m features.Mapping, progress func(ImportStats)) (ImportStats, error) {
	var s ImportStats
	var seen int64
	tick := func(res store.Result, err error, kind *int64) error {
		seen++
		if progress != nil && seen%100000 == 0 {
			progress(s)
		}
		switch {
		case err != nil:
			if errorsIsBad(err) {
				s.Refused++
				return nil
			}
			return err
		case res.Duplicate:
			s.Duplicates++
		default:
			*kind++
		}
		return ctx.Err()
	}
	inRange := func(t time.Time) bool { return t.IsZero() || features.CheckTime(t) == nil }
	var w importWriter
	if l, err := st.Loader(store.LoadOptions{}); err == nil {
		w = &loaderWriter{l: l}
	} else if errors.Is(err, store.ErrNotEmpty) {
		w = groupWriter{st.BulkGroup(4096)}
	} else {
		return s, err
	}
	rep, err := history.ReadRows(ctx, dir, m, history.RowVisitor{
		Contact: func(r history.ContactRow) error {
			if !inRange(r.CreatedAt) || !inRange(r.StageSince) {
				s.Refused++
				return nil
			}
			c := store.Contact{ContactID: r.ContactID, CreatedAt: r.CreatedAt, Email: r.Email, Stage: r.Stage,
				StageSince: r.StageSince, Attributes: r.Attributes}
			res, err := w.PutContact(c)
			return tick(res, err, &s.Contacts)
		},
		Identity: func(r history.IdentityRow) error {
			if !inRange(r.TS) {
				s.Refused++
				return nil
			}
			res, err := w.PutIdentity(store.Identity{IDA: r.IDA, IDB: r.IDB, TS: r.TS})
			return tick(res, err, &s.Identities)
		},
		Event: func(r history.EventRow) error {
			if !inRange(r.TS) {
				s.Refused++
				return nil
			}
			e := store.Event{EventID: r.EventID, TS: r.TS, Type: r.Type, ContactID: r.ContactID, AnonymousID: r.AnonymousID,
				Email: r.Email, Page: r.Page, Channel: r.Channel, Campaign: r.Campaign}
			if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
				v := r.Value
				e.Value = &v
			}
			res, err := w.PutEvent(e)
			return tick(res, err, &s.Events)
		},
		Transaction: func(r history.CustomerTransaction) error {
			if !inRange(r.TS) {
				s.Refused++
				return nil
			}
			res, err := w.PutTransaction(store.Transaction{ContactID: r.Customer, TS: r.TS, Amount: r.Amount,
				Product: r.Product, Category: r.Category, Quantity: r.Quantity})
			return tick(res, err, &s.Transactions)
		},
	})
	s.Report = rep
	if err != nil {
		w.abort()
		return s, err
	}
	dups, err := w.finish(ctx)
	if err != nil {
		return s, fmt.Errorf("writing the store: %w", err)
	}
	if l, ok := w.(*loaderWriter); ok {
		// The loader knows duplicates only once its runs are merged: they were counted as
		// stored above.
		s.Duplicates += dups
		s.Refused += l.refused
		s.Events, s.Transactions, s.Identities, s.Contacts = l.stored()
	}
	return s, nil
}

// importWriter is where Import puts rows: a store.Loader into an empty store, a bulk group
// of the record path otherwise.
type importWriter interface {
	PutContact(store.Contact) (store.Result, error)
	PutEvent(store.Event) (store.Result, error)
	PutTransaction(store.Transaction) (store.Result, error)
	PutIdentity(store.Identity) (store.Result, error)
	// finish makes every row durable and returns the duplicates found after the rows were
	// handed in (the loader's).
	finish(ctx context.Context) (int64, error)
	abort()
}

type groupWriter struct{ g *store.Group }

func (w groupWriter) PutContact(c store.Contact) (store.Result, error) { return w.g.PutContact(c, nil) }
func (w groupWriter) PutEvent(e store.Event) (store.Result, error)     { return w.g.PutEvent(e, nil) }
func (w groupWriter) PutTransaction(x store.Transaction) (store.Result, error) {
	return w.g.PutTransaction(x, nil)
}
func (w groupWriter) PutIdentity(r store.Identity) (store.Result, error) {
	return w.g.PutIdentity(r, nil)
}
func (w groupWriter) finish(context.Context) (int64, error) { return 0, w.g.Wait() }
func (w groupWriter) abort()                                { _ = w.g.Wait() }

type loaderWriter struct {
	l     *store.Loader
	kinds store.LoadCounts
	// Events are handed to the loader in batches (store.Loader.PutEvents encodes a batch on
	// two goroutines); refused counts the batched events it refused.
	events  []store.Event
	errs    []error
	refused int64
}

// eventBatch is the number of events loaderWriter hands to the loader at once.
const eventBatch = 4096

// flushEvents hands the pending events to the loader; every other kind of row calls it
// first, so that rows reach the loader in the order they were read.
func (w *loaderWriter) flushEvents() error {
	if len(w.events) == 0 {
		return nil
	}
	errs := w.errs[:len(w.events)]
	clear(errs)
	if err := w.l.PutEvents(w.events, errs); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			if !errorsIsBad(err) {
				return err
			}
			w.refused++
		}
	}
	w.events = w.events[:0]
	return nil
}

func (w *loaderWriter) PutContact(c store.Contact) (store.Result, error) {
	if err := w.flushEvents(); err != nil {
		return store.Result{}, err
	}
	return store.Result{}, w.l.PutContact(c)
}
func (w *loaderWriter) PutEvent(e store.Event) (store.Result, error) {
	if w.events == nil {
		w.events, w.errs = make([]store.Event, 0, eventBatch), make([]error, eventBatch)
	}
	w.events = append(w.events, e)
	if len(w.events) < eventBatch {
		return store.Result{}, nil
	}
	return store.Result{}, w.flushEvents()
}
func (w *loaderWriter) PutTransaction(x store.Transaction) (store.Result, error) {
	if err := w.flushEvents(); err != nil {
		return store.Result{}, err
	}
	return store.Result{}, w.l.PutTransaction(x)
}
func (w *loaderWriter) PutIdentity(r store.Identity) (store.Result, error) {
	if err := w.flushEvents(); err != nil {
		return store.Result{}, err
	}
	return store.Result{}, w.l.PutIdentity(r)
}
func (w *loaderWriter) finish(ctx context.Context) (int64, error) {
	if err := w.flushEvents(); err != nil {
		w.l.Abort()
		return 0, err
	}
	if err := w.l.Finish(ctx); err != nil {
		return 0, err
	}
	w.kinds = w.l.Stored
	return w.l.Duplicates, nil
}
func (w *loaderWriter) abort() { w.l.Abort() }
func (w *loaderWriter) stored() (int64, int64, int64, int64) {
	return w.kinds.Events, w.kinds.Transactions, w.kinds.Identities, w.kinds.Contacts
}

func errorsIsBad(err error) bool { return errors.Is(err, store.ErrBadRecord) }

// ExportStats counts what Export wrote.
type ExportStats struct {
	Contacts, Events, Transactions, Identities int64
}

// Export file format version, written in each file's key-value metadata.
const exportFormatVersion = "1"

// Export writes the store as a history directory in the docs/contract.md §1 layout (contacts,
// events, transactions and identities Parquet files, default column names; events carry
// their event_id). Each file is written atomically; dir is created when absent.
func Export(ctx context.Context, st *store.Store, dir string) (ExportStats, error) {
	var s ExportStats
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s, err
	}
	opts := func(kind string) []parquet.WriterOption {
		return []parquet.WriterOption{parquet.Compression(&snappy.Codec{}), parquet.MaxRowsPerRowGroup(256 << 10),
			parquet.CreatedBy("propensity-export", exportFormatVersion, ""),
			parquet.KeyValueMetadata("propensity.format_version", exportFormatVersion),
			parquet.KeyValueMetadata("propensity.kind", kind)}
	}
	write := func(name string, fill func(w io.Writer) error) error {
		return atomicfile.Write(filepath.Join(dir, name), 0o644, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			if err := fill(bw); err != nil {
				return err
			}
			return bw.Flush()
		})
	}
	if err := write("contacts.parquet", func(w io.Writer) error {
		n, err := exportContacts(ctx, st, w, opts("contacts"))
		s.Contacts = n
		return err
	}); err != nil {
		return s, err
	}
	if err := write("events.parquet", func(w io.Writer) error {
		pw := parquet.NewGenericWriter[eventRow](w, opts("events")...)
		buf := make([]eventRow, 0, 4096)
		err := st.ForEachEvent(func(e store.Event) error {
			buf = append(buf, eventRow{TS: e.TS.UnixNano(), Type: e.Type, ContactID: e.ContactID, AnonymousID: e.AnonymousID,
				Email: e.Email, Page: e.Page, Channel: e.Channel, Campaign: e.Campaign, Value: e.Value, EventID: e.EventID})
			s.Events++
			return flushIfFull(ctx, pw, &buf)
		})
		return closeWriter(pw, buf, err)
	}); err != nil {
		return s, err
	}
	if err := write("transactions.parquet", func(w io.Writer) error {
		pw := parquet.NewGenericWriter[txRow](w, opts("transactions")...)
		buf := make([]txRow, 0, 4096)
		err := st.ForEachTransaction(func(x store.Transaction) error {
			buf = append(buf, txRow{ContactID: x.ContactID, TS: x.TS.UnixNano(), Amount: x.Amount, Product: x.Product,
				Category: x.Category, Quantity: x.Quantity})
			s.Transactions++
			return flushIfFull(ctx, pw, &buf)
		})
		return closeWriter(pw, buf, err)
	}); err != nil {
		return s, err
	}
	err := write("identities.parquet", func(w io.Writer) error {
		pw := parquet.NewGenericWriter[identityRow](w, opts("identities")...)
		buf := make([]identityRow, 0, 4096)
		err := st.ForEachIdentity(func(x store.Identity) error {
			r := identityRow{IDA: x.IDA, IDB: x.IDB}
			if !x.TS.IsZero() {
				ts := x.TS.UnixNano()
				r.TS = &ts
			}
			buf = append(buf, r)
			s.Identities++
			return flushIfFull(ctx, pw, &buf)
		})
		return closeWriter(pw, buf, err)
	})
	return s, err
}

type eventRow struct {
	TS          int64    `parquet:"ts,timestamp(nanosecond)"`
	Type        string   `parquet:"type,dict"`
	ContactID   string   `parquet:"contact_id,optional,dict"`
	AnonymousID string   `parquet:"anonymous_id,optional,dict"`
	Email       string   `parquet:"email,optional,dict"`
	Page        string   `parquet:"page,optional,dict"`
	Channel     string   `parquet:"channel,optional,dict"`
	Campaign    string   `parquet:"campaign,optional,dict"`
	Value       *float64 `parquet:"value,optional"`
	EventID     string   `parquet:"event_id,optional"`
}

type txRow struct {
	ContactID string  `parquet:"contact_id,dict"`
	TS        int64   `parquet:"ts,timestamp(nanosecond)"`
	Amount    float64 `parquet:"amount"`
	Product   string  `parquet:"product,optional,dict"`
	Category  string  `parquet:"category,optional,dict"`
	Quantity  int64   `parquet:"quantity"`
}

type identityRow struct {
	IDA string `parquet:"id_a"`
	IDB string `parquet:"id_b"`
	TS  *int64 `parquet:"ts,optional,timestamp(nanosecond)"`
}

func flushIfFull[T any](ctx context.Context, pw *parquet.GenericWriter[T], buf *[]T) error {
	if len(*buf) < cap(*buf) {
		return nil
	}
	if _, err := pw.Write(*buf); err != nil {
		return err
	}
	*buf = (*buf)[:0]
	return ctx.Err()
}

func closeWriter[T any](pw *parquet.GenericWriter[T], buf []T, err error) error {
	if err != nil {
		return err
	}
	if _, err := pw.Write(buf); err != nil {
		return err
	}
	return pw.Close()
}

// exportContacts writes the contacts file: the fixed columns, then one optional column per
// attribute, DOUBLE when every value of it is a number, else a string (booleans as
// "true"/"false", which the batch reader takes as it takes a boolean column).
func exportContacts(ctx context.Context, st *store.Store, w io.Writer, opts []parquet.WriterOption) (int64, error) {
	numeric := map[string]bool{}
	if err := st.ForEachContact(func(c store.Contact) error {
		for k, v := range c.Attributes {
			_, isNum := v.(float64)
			if was, ok := numeric[k]; !ok || was {
				numeric[k] = isNum
			}
		}
		return ctx.Err()
	}); err != nil {
		return 0, err
	}
	reserved := map[string]bool{"contact_id": true, "created_at": true, "email": true, "stage": true, "stage_since": true}
	g := parquet.Group{
		"contact_id":  parquet.String(),
		"created_at":  parquet.Optional(parquet.Timestamp(parquet.Nanosecond)),
		"email":       parquet.Optional(parquet.String()),
		"stage":       parquet.Optional(parquet.String()),
		"stage_since": parquet.Optional(parquet.Timestamp(parquet.Nanosecond)),
	}
	for k, num := range numeric {
		if reserved[k] {
			continue // an attribute may not shadow a contact column
		}
		if num {
			g[k] = parquet.Optional(parquet.Leaf(parquet.DoubleType))
		} else {
			g[k] = parquet.Optional(parquet.String())
		}
	}
	schema := parquet.NewSchema("contacts", g)
	fields := schema.Fields() // in column order
	pw := parquet.NewWriter(w, append([]parquet.WriterOption{schema}, opts...)...)
	var n int64
	rows := make([]parquet.Row, 0, 1024)
	flush := func() error {
		if _, err := pw.WriteRows(rows); err != nil {
			return err
		}
		rows = rows[:0]
		return nil
	}
	err := st.ForEachContact(func(c store.Contact) error {
		row := make(parquet.Row, len(fields))
		for i, f := range fields {
			var v parquet.Value
			present := true
			switch name := f.Name(); name {
			case "contact_id":
				v = parquet.ByteArrayValue([]byte(c.ContactID))
			case "created_at", "stage_since":
				t := c.CreatedAt
				if name == "stage_since" {
					t = c.StageSince
				}
				present = !t.IsZero()
				v = parquet.Int64Value(t.UnixNano())
			case "email", "stage":
				s := c.Email
				if name == "stage" {
					s = c.Stage
				}
				present = s != ""
				v = parquet.ByteArrayValue([]byte(s))
			default:
				switch x := c.Attributes[name].(type) {
				case float64:
					if numeric[name] {
						v = parquet.DoubleValue(x)
					} else {
						v = parquet.ByteArrayValue([]byte(strconv.FormatFloat(x, 'g', -1, 64)))
					}
				case string:
					v = parquet.ByteArrayValue([]byte(x))
				case bool:
					v = parquet.ByteArrayValue([]byte(strconv.FormatBool(x)))
				default:
					present = false
				}
			}
			switch {
			case f.Name() == "contact_id":
				v = v.Level(0, 0, i)
			case present:
				v = v.Level(0, 1, i)
			default:
				v = parquet.Value{}.Level(0, 0, i)
			}
			row[i] = v
		}
		rows = append(rows, row)
		n++
		if len(rows) == cap(rows) {
			if err := flush(); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return n, err
	}
	if err := flush(); err != nil {
		return n, err
	}
	return n, pw.Close()
}
