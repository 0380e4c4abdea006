package v1

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
)

// TestWriteErrMapping checks the status and type of the errors a score can end with.
func TestWriteErrMapping(t *testing.T) {
	gin.SetMode(gin.TestMode)
	typeErr := &scorecard.MatchError{Field: "employees", Value: "many", Op: ">=", Err: scorecard.ErrType}
	for _, tc := range []struct {
		name   string
		err    error
		status int
		typ    ErrorType
		msg    string
	}{
		{"attribute of the wrong kind", &serving.BlockError{Block: serving.BlockRules, Err: fmt.Errorf("rule big: %w", typeErr)}, 400, ErrBadData, `field "employees"`},
		{"unknown scorecard", fmt.Errorf("%w: nope", serving.ErrUnknownScorecard), 400, ErrBadData, "nope"},
		{"not ready", serving.ErrNotReady, 503, ErrUnavailable, "not loaded"},
		{"other", errors.New("boom"), 500, ErrInternal, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodPost, "/v1/score", nil)
			writeErr(c, tc.err)
			var body ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s: %v", w.Body, err)
			}
			if w.Code != tc.status || body.Error.Type != tc.typ || !strings.Contains(body.Error.Message, tc.msg) {
				t.Errorf("got %d %s %q, want %d %s containing %q", w.Code, body.Error.Type, body.Error.Message, tc.status, tc.typ, tc.msg)
			}
		})
	}
}
