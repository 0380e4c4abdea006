package v1

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// decodeOne decodes one profile strictly (as features.DecodeProfile: unknown fields and
// wrong types are refused with the field named; see decodeProfile) and maps failures to
// bad_data. The body is read here first so that an oversized body is told apart (413) from a
// malformed one.
func decodeOne(pool *sync.Pool, r io.Reader, now time.Time) (features.Profile, error) {
	buf, _ := pool.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			pool.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return features.Profile{}, inputError("", err)
	}
	p, err := decodeProfile(buf.Bytes(), now)
	if err != nil {
		return p, inputError("", err)
	}
	return p, nil
}

// inputError maps an error reading or decoding a request body to bad_data (413 when the body
// is over the limit). prefix locates the profile inside a batch ("profile 3: ").
func inputError(prefix string, err error) *apiError {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &apiError{typ: ErrBadData, status: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("request body larger than %d bytes", mb.Limit)}
	}
	msg := err.Error()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of JSON input: " + msg
	}
	return badData(prefix + strings.TrimPrefix(msg, "features: "))
}

// decodeBatch reads a whole JSON array or NDJSON batch (see batchReader), all or nothing:
// the first bad record fails it, named by its line (NDJSON) or index (array). Batches
// answered as Arrow use it; NDJSON answers stream instead (see API.streamBatch).
func decodeBatch(r io.Reader, now time.Time, maxRows int, maxRecord int64) ([]features.Profile, error) {
	br, err := newBatchReader(r, maxRows, maxRecord)
	if err != nil {
		return nil, err
	}
	var out []features.Profile
	for {
		raw, err := br.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		p, err := decodeProfile(raw, now)
		if err != nil {
			return nil, inputError(br.where()+": ", err)
		}
		out = append(out, p)
	}
}

// batchReader yields the records of a batch body one at a time, so that a batch is never
// held in memory whole: a JSON array (its elements, by index from 0) or NDJSON (one record
// per line, lines numbered from 1; blank lines are skipped).
type batchReader struct {
	br        *bufio.Reader
	dec       *json.Decoder // JSON array; nil for NDJSON
	maxRows   int
	maxRecord int64 // NDJSON: longest line
	records   int   // records returned so far
	line      int   // NDJSON: line of the last record
	index     int   // JSON array: index of the last record
	buf       []byte
}

// newBatchReader peeks at the body to tell a JSON array from NDJSON. An empty body is
// bad_data.
func newBatchReader(r io.Reader, maxRows int, maxRecord int64) (*batchReader, error) {
	b := &batchReader{br: bufio.NewReaderSize(r, 64<<10), maxRows: maxRows, maxRecord: maxRecord, index: -1}
	first, err := peekNonSpace(b.br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, badData("empty batch: want a JSON array or NDJSON profiles")
		}
		return nil, inputError("", err)
	}
	if first == '[' {
		b.dec = json.NewDecoder(b.br)
		if _, err := b.dec.Token(); err != nil {
			return nil, inputError("", err)
		}
	}
	return b, nil
}

// isArray reports whether the batch is a JSON array.
func (b *batchReader) isArray() bool { return b.dec != nil }

// where names the last record: "line N" or "index N".
func (b *batchReader) where() string {
	if b.isArray() {
		return fmt.Sprintf("index %d", b.index)
	}
	return fmt.Sprintf("line %d", b.line)
}

// errRecord marks an error of next that concerns the last record only: the batch goes on.
type errRecord struct{ *apiError }

func (e *errRecord) Unwrap() error { return e.apiError }

// next returns the next record's bytes (valid until the next call), io.EOF after the last,
// an *errRecord for a record refused before decoding (the batch goes on), or another error
// that ends the batch (a body that cannot be read or is over its limit, a broken JSON array,
// more than maxRows records).
func (b *batchReader) next() ([]byte, error) {
	if b.records >= b.maxRows {
		if b.more() {
			return nil, badData(fmt.Sprintf("batch has more than %d profiles", b.maxRows))
		}
		return nil, io.EOF
	}
	var raw []byte
	var err error
	if b.isArray() {
		raw, err = b.nextElement()
	} else {
		raw, err = b.nextLine()
	}
	if err == nil {
		b.records++
	}
	var re *errRecord
	if errors.As(err, &re) {
		b.records++
	}
	return raw, err
}

// more reports whether another record follows (for the row limit).
func (b *batchReader) more() bool {
	if b.isArray() {
		return b.dec.More()
	}
	_, err := peekNonSpace(b.br)
	return err == nil
}

func (b *batchReader) nextElement() ([]byte, error) {
	if !b.dec.More() {
		if _, err := b.dec.Token(); err != nil {
			return nil, inputError(fmt.Sprintf("after index %d: ", b.index), err)
		}
		if _, err := b.dec.Token(); !errors.Is(err, io.EOF) {
			return nil, badData("unexpected data after the JSON array")
		}
		return nil, io.EOF
	}
	b.index++
	var raw json.RawMessage
	if err := b.dec.Decode(&raw); err != nil {
		// The array itself is broken: nothing after it can be read.
		return nil, inputError(fmt.Sprintf("index %d: ", b.index), err)
	}
	b.buf = raw
	return raw, nil
}

// nextLine returns the next non-blank line, without its line end. A line over maxRecord
// bytes is skipped and refused as a record.
func (b *batchReader) nextLine() ([]byte, error) {
	for {
		b.line++
		b.buf = b.buf[:0]
		long := false
		for {
			chunk, err := b.br.ReadSlice('\n')
			if !long {
				if int64(len(b.buf)+len(chunk)) > b.maxRecord+2 { // room for "\r\n"
					long, b.buf = true, b.buf[:0]
				} else {
					b.buf = append(b.buf, chunk...)
				}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, inputError(fmt.Sprintf("line %d: ", b.line), err)
			}
			if long {
				return nil, &errRecord{badData(fmt.Sprintf("line %d: longer than %d bytes (max_body_bytes)", b.line, b.maxRecord))}
			}
			line := bytes.TrimRight(b.buf, "\r\n")
			if len(bytes.TrimSpace(line)) > 0 {
				return line, nil
			}
			if err != nil { // io.EOF after blank lines
				return nil, io.EOF
			}
			break
		}
	}
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}
