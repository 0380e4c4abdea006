package v1

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
)

// ErrorType is the type of an error answer (docs/contract.md §5).
type ErrorType string

// Error types and their HTTP statuses.
const (
	ErrBadData      ErrorType = "bad_data"     // 400, or 413 for an oversized body
	ErrUnauthorized ErrorType = "unauthorized" // 401
	ErrNotFound     ErrorType = "not_found"    // 404
	ErrUnavailable  ErrorType = "unavailable"  // 503
	ErrInternal     ErrorType = "internal"     // 500
)

// Status returns the HTTP status of t.
func (t ErrorType) Status() int {
	switch t {
	case ErrBadData:
		return http.StatusBadRequest
	case ErrUnauthorized:
		return http.StatusUnauthorized
	case ErrNotFound:
		return http.StatusNotFound
	case ErrUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON envelope of every error answer:
// {"error": {"type": "...", "message": "..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Type    ErrorType `json:"type"`
	Message string    `json:"message"`
}

// apiError is an error with its answer type, returned by handlers' helpers.
type apiError struct {
	typ    ErrorType
	status int // 0 means typ.Status()
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badData(msg string) *apiError { return &apiError{typ: ErrBadData, msg: msg} }

// WriteError answers the error envelope with t's status and aborts the handler chain.
func WriteError(c *gin.Context, t ErrorType, msg string) {
	WriteErrorStatus(c, t.Status(), t, msg)
}

// WriteErrorStatus is WriteError with an explicit status (413 for bad_data).
func WriteErrorStatus(c *gin.Context, status int, t ErrorType, msg string) {
	c.AbortWithStatusJSON(status, ErrorBody{ErrorDetail{Type: t, Message: msg}})
}

// writeErr maps err to an answer (see classify) and aborts the handler chain.
func writeErr(c *gin.Context, err error) {
	status, typ, msg := classify(err)
	if typ == ErrInternal {
		_ = c.Error(err) // for the access log
	}
	WriteErrorStatus(c, status, typ, msg)
}

// classify maps err to an answer: *apiError as it says, timeouts and a missing model set to
// unavailable, an unknown scorecard and an attribute a rule cannot compare to bad_data,
// anything else to internal.
func classify(err error) (status int, typ ErrorType, msg string) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		status = ae.status
		if status == 0 {
			status = ae.typ.Status()
		}
		return status, ae.typ, ae.msg
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, ErrUnavailable, "request timed out"
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, ErrUnavailable, "request canceled"
	case errors.Is(err, serving.ErrNotReady):
		return http.StatusServiceUnavailable, ErrUnavailable, "models not loaded yet"
	case errors.Is(err, features.ErrBadProfile):
		// A profile value outside what features accepts (a time out of range, a
		// non-finite number, text that is not UTF-8), with the field named.
		return http.StatusBadRequest, ErrBadData, strings.TrimPrefix(err.Error(), "features: ")
	case errors.Is(err, serving.ErrUnknownScorecard):
		return http.StatusBadRequest, ErrBadData, "scorecard: " + err.Error()
	case errors.Is(err, scorecard.ErrType):
		// A profile attribute of the wrong kind for a rule (text where a number is
		// compared): the client's data, named in the message, not a server fault.
		return http.StatusBadRequest, ErrBadData, err.Error()
	}
	return http.StatusInternalServerError, ErrInternal, err.Error()
}
