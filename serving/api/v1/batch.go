package v1

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/gin-gonic/gin"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/internal/arrowipc"
)

// Media types of POST /v1/score/batch.
const (
	MediaArrowStream = "application/vnd.apache.arrow.stream"
	MediaNDJSON      = "application/x-ndjson"
)

// ArrowInputSchema is the Arrow IPC stream a batch may be posted as: one row per profile.
// Nested parts of a profile travel as JSON text in docs/contract.md §2's shape. Only contact_id is
// required; as_of may also be an RFC 3339 string; null as_of means now.
//
//	contact_id   utf8
//	as_of        timestamp (any unit, UTC) | utf8, nullable
//	attributes   utf8 JSON object, nullable
//	events       utf8 JSON array, nullable
//	transactions utf8 JSON array, nullable
func ArrowInputSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "contact_id", Type: arrow.BinaryTypes.String},
		{Name: "as_of", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "attributes", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "events", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "transactions", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
}

// ArrowOutputSchema is the Arrow IPC stream a batch is answered with when the request
// accepts MediaArrowStream: one row per profile, in input order. The columns of a block are
// null when the block is unavailable; "response" holds the whole docs/contract.md §3 response as JSON
// (with contributions and reasons).
func ArrowOutputSchema() *arrow.Schema {
	f64 := arrow.PrimitiveTypes.Float64
	str := arrow.BinaryTypes.String
	i32 := arrow.PrimitiveTypes.Int32
	return arrow.NewSchema([]arrow.Field{
		{Name: "contact_id", Type: str},
		{Name: "as_of", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "rules_scorecard", Type: str, Nullable: true},
		{Name: "rules_total", Type: f64, Nullable: true},
		{Name: "rules_grade", Type: str, Nullable: true},
		{Name: "rules_stage", Type: str, Nullable: true},
		{Name: "rules_mql", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "conversion_probability", Type: f64, Nullable: true},
		{Name: "conversion_decile", Type: i32, Nullable: true},
		{Name: "churn_probability", Type: f64, Nullable: true},
		{Name: "ltv_p_alive", Type: f64, Nullable: true},
		{Name: "ltv_expected_purchases", Type: f64, Nullable: true},
		{Name: "ltv_clv", Type: f64, Nullable: true},
		{Name: "persona_id", Type: i32, Nullable: true},
		{Name: "persona_name", Type: str, Nullable: true},
		{Name: "unavailable", Type: arrow.ListOf(str)},
		{Name: "response", Type: str},
	}, nil)
}

func mediaType(h string) string {
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(h))
	}
	return mt
}

// BatchRecordError is the line of an NDJSON batch answer that stands for a record that was
// not scored: the record's NDJSON line (from 1) or JSON array index (from 0), its contact_id
// when it could be read, and the error, as in ErrorBody. The batch goes on after it.
type BatchRecordError struct {
	Line      int         `json:"line,omitempty"`
	Index     *int        `json:"index,omitempty"`
	ContactID string      `json:"contact_id,omitempty"`
	Error     ErrorDetail `json:"error"`
}

// batchRetryAfter is the Retry-After of a batch refused because MaxConcurrentBatches are in
// progress, in seconds.
const batchRetryAfter = "5"

func (a *API) scoreBatch(c *gin.Context) {
	opts, err := scoreOptions(c)
	if err != nil {
		writeErr(c, err)
		return
	}
	if !limitBody(c, a.opts.MaxBatchBodyBytes, a.opts.BatchTimeout) {
		return
	}
	set := a.reg.Current()
	if set == nil {
		writeErr(c, serving.ErrNotReady)
		return
	}
	// Each batch in progress holds a token: the memory and cores batches take are bounded by
	// MaxConcurrentBatches, and one more is told to come back rather than queued.
	select {
	case a.batches <- struct{}{}:
		defer func() { <-a.batches }()
	default:
		c.Header("Retry-After", batchRetryAfter)
		WriteError(c, ErrUnavailable, fmt.Sprintf("%d batch requests in progress (max_concurrent_batches); retry later", a.opts.MaxConcurrentBatches))
		return
	}
	if err := checkScorecard(set, opts); err != nil {
		writeErr(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.opts.BatchTimeout)
	defer cancel()
	now := a.opts.Now()
	arrowIn := mediaType(c.GetHeader("Content-Type")) == MediaArrowStream
	arrowOut := strings.Contains(c.GetHeader("Accept"), MediaArrowStream)
	if !arrowIn && !arrowOut {
		a.streamBatch(ctx, c, set, opts, now)
		return
	}
	// Arrow in or out: all or nothing. Everything is decoded and scored before the answer
	// starts, so that a bad record is still an error status.
	var profiles []features.Profile
	where := func(i int) string { return fmt.Sprintf("profile %d", i) } // as decodeArrow names rows
	if arrowIn {
		profiles, err = decodeArrow(ctx, c.Request.Body, now, a.opts.MaxBatchRows, a.opts.MaxBatchBodyBytes)
	} else {
		profiles, err = decodeBatch(c.Request.Body, now, a.opts.MaxBatchRows, a.opts.MaxBodyBytes)
		where = func(i int) string { return fmt.Sprintf("record %d", i) }
	}
	if err != nil {
		writeErr(c, err)
		return
	}
	out := make([]serving.Response, len(profiles))
	for i := range profiles {
		if out[i], err = a.scorer.ScoreWith(ctx, set, &profiles[i], opts); err != nil {
			writeErr(c, fmt.Errorf("%s: %w", where(i), err))
			return
		}
	}
	if arrowOut {
		c.Header("Content-Type", MediaArrowStream)
		c.Status(http.StatusOK)
		if err := writeArrow(c.Writer, out); err != nil {
			a.log.Warn("writing arrow batch answer", "err", err)
		}
		return
	}
	c.Header("Content-Type", MediaNDJSON)
	c.Status(http.StatusOK)
	bw := bufio.NewWriterSize(c.Writer, 64<<10)
	enc := json.NewEncoder(bw)
	for i := range out {
		if err := enc.Encode(&out[i]); err != nil {
			a.log.Warn("writing batch answer", "err", err)
			return
		}
	}
	_ = bw.Flush()
}

// checkScorecard refuses at once a ?scorecard= that names no loaded scorecard, rather than
// on every record.
func checkScorecard(set *serving.ModelSet, opts serving.Options) error {
	if opts.Scorecard == "" {
		return nil
	}
	if set.Rules != nil {
		for _, sc := range set.Rules.Scorecards() {
			if sc.Name == opts.Scorecard {
				return nil
			}
		}
		return fmt.Errorf("%w %q", serving.ErrUnknownScorecard, opts.Scorecard)
	}
	return fmt.Errorf("%w %q (no scorecards loaded)", serving.ErrUnknownScorecard, opts.Scorecard)
}

// streamBatch scores a JSON array or NDJSON batch record by record, writing each answer line
// as soon as it is ready: memory holds one record and its response at a time, whatever the
// size of the batch. A record that cannot be decoded or scored becomes a BatchRecordError
// line in its place, and the batch goes on. An error before the first answer line is an
// error status; one after it (a body over its limit, a broken JSON array, too many records,
// the batch timeout) ends the answer with an ErrorBody line.
func (a *API) streamBatch(ctx context.Context, c *gin.Context, set *serving.ModelSet, opts serving.Options, now time.Time) {
	br, err := newBatchReader(c.Request.Body, a.opts.MaxBatchRows, a.opts.MaxBodyBytes)
	if err != nil {
		writeErr(c, err)
		return
	}
	var (
		bw      *bufio.Writer
		line    []byte // one answer line
		started bool
	)
	// Answer lines are written while the body is still read: without full duplex, an HTTP/1
	// server would read the rest of the body before the first answer byte.
	rc := http.NewResponseController(c.Writer)
	_ = rc.EnableFullDuplex() // unsupported writers (tests): the answer follows the body
	start := func() {
		if !started {
			started = true
			c.Header("Content-Type", MediaNDJSON)
			c.Status(http.StatusOK)
			bw = bufio.NewWriterSize(c.Writer, 64<<10)
		}
	}
	// fail ends the batch: an error status before the answer started, else a last line.
	fail := func(err error) {
		if !started {
			writeErr(c, err)
			return
		}
		_, typ, msg := classify(err)
		b, _ := json.Marshal(ErrorBody{ErrorDetail{Type: typ, Message: msg}})
		_, _ = bw.Write(append(b, '\n'))
		_ = bw.Flush()
	}
	recordErr := func(raw []byte, err error) []byte {
		_, typ, msg := classify(err)
		e := BatchRecordError{Error: ErrorDetail{Type: typ, Message: br.where() + ": " + msg}}
		if br.isArray() {
			i := br.index
			e.Index = &i
		} else {
			e.Line = br.line
		}
		var id struct {
			ContactID string `json:"contact_id"`
		}
		if raw != nil && json.Unmarshal(raw, &id) == nil {
			e.ContactID = id.ContactID
		}
		b, _ := json.Marshal(e)
		return append(b, '\n')
	}
	for {
		if err := ctx.Err(); err != nil {
			fail(err)
			return
		}
		// Answer what is scored before waiting for more of the body: a client that sends
		// records as it makes them gets their answers as they are ready.
		if started && br.br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				a.log.Warn("writing batch answer", "err", err)
				return
			}
			_ = rc.Flush()
		}
		raw, err := br.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *errRecord
		switch {
		case errors.As(err, &re):
			line = recordErr(nil, re.apiError)
		case err != nil:
			fail(err)
			return
		default:
			line, err = a.scoreRecord(ctx, set, opts, now, raw, line[:0])
			if err != nil {
				if ctx.Err() != nil {
					fail(ctx.Err())
					return
				}
				line = recordErr(raw, err)
			}
		}
		start()
		if _, err := bw.Write(line); err != nil {
			a.log.Warn("writing batch answer", "err", err)
			return
		}
	}
	start() // an empty JSON array: an empty answer

	if err := bw.Flush(); err != nil {
		a.log.Warn("writing batch answer", "err", err)
	}
}

// scoreRecord decodes and scores one record, appending its answer line to dst.
func (a *API) scoreRecord(ctx context.Context, set *serving.ModelSet, opts serving.Options, now time.Time, raw, dst []byte) ([]byte, error) {
	p, err := decodeProfile(raw, now)
	if err != nil {
		return dst, inputError("", err)
	}
	resp, err := a.scorer.ScoreWith(ctx, set, &p, opts)
	if err != nil {
		return dst, err
	}
	b, ok := a.enc.Append(dst, &resp)
	if !ok {
		if b, err = json.Marshal(&resp); err != nil {
			return dst, err
		}
	}
	return append(b, '\n'), nil
}

// errArrowMemory is raised (as a panic, recovered by decodeArrow) when a stream declares
// more memory than its body could hold.
var errArrowMemory = errors.New("arrow stream: declared buffers exceed the body size limit")

// cappedAllocator refuses to allocate more than left bytes in all: an Arrow stream declares
// its buffer sizes, and a malformed or hostile one must not make the server allocate
// gigabytes. Used by one reader goroutine only.
type cappedAllocator struct {
	memory.Allocator
	left int64
}

func (a *cappedAllocator) take(n int64) {
	if n > a.left {
		panic(errArrowMemory)
	}
	a.left -= n
}

func (a *cappedAllocator) Allocate(n int) []byte {
	a.take(int64(n))
	return a.Allocator.Allocate(n)
}

func (a *cappedAllocator) Reallocate(n int, b []byte) []byte {
	a.take(int64(n - len(b)))
	return a.Allocator.Reallocate(n, b)
}

func (a *cappedAllocator) Free(b []byte) {
	a.left += int64(len(b))
	a.Allocator.Free(b)
}

// decodeArrow reads an Arrow IPC stream laid out as ArrowInputSchema, turning each row into
// a docs/contract.md §2 JSON document decoded by the same strict decoder as POST /v1/score.
// The stream's framing and schema are checked before arrow-go reads it (arrowipc.Check),
// allocation is capped at 4× maxBytes, and a panic of the Arrow reader on a malformed stream
// is turned into bad_data. The batch is all or nothing: one bad row refuses it, naming the
// row and column. ctx is looked at before each record batch.
func decodeArrow(ctx context.Context, r io.Reader, now time.Time, maxRows int, maxBytes int64) (out []features.Profile, err error) {
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(error); ok && errors.Is(e, errArrowMemory) {
				out, err = nil, badData(errArrowMemory.Error())
				return
			}
			out, err = nil, badData(fmt.Sprintf("arrow stream: malformed (%v)", p))
		}
	}()
	body, err := io.ReadAll(r) // bounded by the batch body limit
	if err != nil {
		return nil, inputError("arrow stream: ", err)
	}
	if err := arrowipc.Check(ctx, body); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, badData("arrow stream: " + err.Error())
	}
	rd, err := ipc.NewReader(bytes.NewReader(body), ipc.WithAllocator(&cappedAllocator{Allocator: memory.NewGoAllocator(), left: 4 * maxBytes}),
		ipc.WithMetadataSizeLimit(min(maxBytes, 1<<20)), ipc.WithBodySizeLimit(maxBytes))
	if err != nil {
		return nil, inputError("arrow stream: ", err)
	}
	defer rd.Release()
	schema := rd.Schema()
	cols := map[string]int{}
	for i, f := range schema.Fields() {
		if _, dup := cols[f.Name]; dup {
			return nil, badData(fmt.Sprintf("arrow stream: column %q appears more than once", f.Name))
		}
		switch f.Name {
		case "contact_id", "attributes", "events", "transactions":
			if f.Type.ID() != arrow.STRING {
				return nil, badData(fmt.Sprintf("arrow stream: column %q has type %s, want utf8", f.Name, f.Type))
			}
		case "as_of":
			if f.Type.ID() != arrow.TIMESTAMP && f.Type.ID() != arrow.STRING {
				return nil, badData(fmt.Sprintf("arrow stream: column %q has type %s, want timestamp or utf8", f.Name, f.Type))
			}
		default:
			return nil, badData(fmt.Sprintf("arrow stream: unknown column %q", f.Name))
		}
		cols[f.Name] = i
	}
	if _, ok := cols["contact_id"]; !ok {
		return nil, badData(`arrow stream: missing column "contact_id"`)
	}
	id := cols["contact_id"]
	var doc bytes.Buffer
	for rd.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec := rd.RecordBatch()
		ids := rec.Column(id).(*array.String)
		for i := range int(rec.NumRows()) {
			if len(out) >= maxRows {
				return nil, badData(fmt.Sprintf("batch has more than %d profiles", maxRows))
			}
			if ids.IsNull(i) || ids.Value(i) == "" {
				return nil, badData(fmt.Sprintf(`profile %d: column "contact_id" is null or empty; every row needs a contact id`, len(out)))
			}
			m := map[string]any{}
			for name, c := range cols {
				col := rec.Column(c)
				if col.IsNull(i) {
					continue
				}
				switch col := col.(type) {
				case *array.String:
					if name == "contact_id" || name == "as_of" {
						m[name] = col.Value(i)
					} else {
						m[name] = json.RawMessage(col.Value(i))
					}
				case *array.Timestamp:
					unit := col.DataType().(*arrow.TimestampType).Unit
					m[name] = col.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
				}
			}
			doc.Reset()
			if err := json.NewEncoder(&doc).Encode(m); err != nil {
				return nil, badData(fmt.Sprintf("profile %d: a JSON column holds invalid JSON", len(out)))
			}
			p, err := features.DecodeProfile(&doc, now)
			if err != nil {
				return nil, inputError(fmt.Sprintf("profile %d: ", len(out)), err)
			}
			out = append(out, p)
		}
	}
	if err := rd.Err(); err != nil {
		return nil, inputError("arrow stream: ", err)
	}
	return out, nil
}

// writeArrow writes responses as ArrowOutputSchema, in record batches of up to 4096 rows.
func writeArrow(w io.Writer, rs []serving.Response) error {
	schema := ArrowOutputSchema()
	wr := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		return wr.Write(rec)
	}
	for i := range rs {
		r := &rs[i]
		appendResponse(b, r)
		if (i+1)%4096 == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(rs)%4096 != 0 || len(rs) == 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	return wr.Close()
}

func appendResponse(b *array.RecordBuilder, r *serving.Response) {
	str := func(i int, v string, ok bool) {
		if ok {
			b.Field(i).(*array.StringBuilder).Append(v)
		} else {
			b.Field(i).AppendNull()
		}
	}
	f64 := func(i int, v float64, ok bool) {
		if ok {
			b.Field(i).(*array.Float64Builder).Append(v)
		} else {
			b.Field(i).AppendNull()
		}
	}
	i32 := func(i int, v int, ok bool) {
		if ok {
			b.Field(i).(*array.Int32Builder).Append(int32(v))
		} else {
			b.Field(i).AppendNull()
		}
	}
	b.Field(0).(*array.StringBuilder).Append(r.ContactID)
	b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.AsOf.UnixMicro()))
	var rules serving.Rules
	if r.Rules != nil {
		rules = *r.Rules
	}
	str(2, rules.Scorecard, r.Rules != nil)
	f64(3, float64(rules.Total), r.Rules != nil)
	str(4, rules.Grade, r.Rules != nil)
	str(5, rules.Stage, r.Rules != nil)
	if r.Rules != nil {
		b.Field(6).(*array.BooleanBuilder).Append(rules.MQL)
	} else {
		b.Field(6).AppendNull()
	}
	var conv, churn serving.Prediction
	if r.Conversion != nil {
		conv = *r.Conversion
	}
	if r.Churn != nil {
		churn = *r.Churn
	}
	f64(7, conv.Probability, r.Conversion != nil)
	i32(8, conv.Decile, r.Conversion != nil && conv.Decile > 0)
	f64(9, churn.Probability, r.Churn != nil)
	var ltv serving.LTV
	if r.LTV != nil {
		ltv = *r.LTV
	}
	f64(10, ltv.PAlive, r.LTV != nil)
	f64(11, ltv.ExpectedPurchases, r.LTV != nil)
	f64(12, ltv.CLV, r.LTV != nil)
	var per serving.Persona
	if r.Persona != nil {
		per = *r.Persona
	}
	i32(13, per.ID, r.Persona != nil)
	str(14, per.Name, r.Persona != nil)
	lb := b.Field(15).(*array.ListBuilder)
	lb.Append(true)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	for _, u := range r.Unavailable {
		vb.Append(u)
	}
	js, err := json.Marshal(r)
	if err != nil {
		js = []byte(`{}`)
	}
	b.Field(16).(*array.StringBuilder).Append(string(js))
}
