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

// decodeBatch reads a JSON array of profiles, or NDJSON (one profile per line; blank lines
// are skipped), and decodes every profile strictly. It stops at maxRows.
func decodeBatch(r io.Reader, now time.Time, maxRows int) ([]features.Profile, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := peekNonSpace(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, badData("empty batch: want a JSON array or NDJSON profiles")
		}
		return nil, inputError("", err)
	}
	var out []features.Profile
	add := func(raw []byte) error {
		if len(out) >= maxRows {
			return badData(fmt.Sprintf("batch has more than %d profiles", maxRows))
		}
		p, err := decodeProfile(raw, now)
		if err != nil {
			return inputError(fmt.Sprintf("profile %d: ", len(out)), err)
		}
		out = append(out, p)
		return nil
	}
	dec := json.NewDecoder(br)
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return nil, inputError("", err)
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, inputError(fmt.Sprintf("profile %d: ", len(out)), err)
			}
			if err := add(raw); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, inputError("", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, badData("unexpected data after the JSON array")
		}
		return out, nil
	}
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, inputError(fmt.Sprintf("profile %d: ", len(out)), err)
		}
		if err := add(raw); err != nil {
			return nil, err
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
