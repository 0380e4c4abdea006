package scorecard

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

func TestParseExprMatch(t *testing.T) {
	rec := map[string]any{
		"age":        62,
		"net_worth":  2.5e6,
		"occupation": "retired",
		"email":      "ann@gmail.com",
		"p_alive":    0.2,
		"clv":        json.Number("250"),
		"b2b":        true,
		"zip":        "01234",
		"blank":      "",
		"nan":        math.NaN(),
		"null":       nil,
		"n_str":      "42",
		"b_str":      "true",
		"b_upper":    "FALSE",
		"created_at": time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		"zero_time":  time.Time{},
	}
	tests := []struct {
		expr string
		want bool
	}{
		{`age >= 60`, true},
		{`age > 62`, false},
		{`age <= 62 and age < 63`, true},
		{`age == 62`, true},
		{`age != 62`, false},
		{`net_worth > 1e6`, true},
		{`occupation == "retired"`, true},
		{`occupation == 'student'`, false},
		{`occupation in ["retired", "student"]`, true},
		{`occupation not in ["retired", "student"]`, false},
		{`email matches "@(gmail|yahoo)\.com$"`, true},
		{`email not matches "@corp\.com$"`, true},
		{`p_alive < 0.3 and clv > 200`, true},
		{`p_alive < 0.3 and clv > 300`, false},
		{`p_alive > 0.3 or clv > 200`, true},
		{`not (p_alive < 0.3)`, false},
		{`not p_alive < 0.3 or b2b == true`, true},
		{`b2b == false`, false},
		{`b_str == true`, true},
		{`b_str != false`, true},
		{`b_upper == false`, true},
		{`occupation == true`, false},
		{`zip == "01234"`, true},
		{`zip < "1"`, true},
		{`n_str > 40`, true},
		{`unknown missing`, true},
		{`blank missing`, true},
		{`nan missing`, true},
		{`null missing`, true},
		{`age missing`, false},
		{`age not missing`, true},
		{`unknown == 1`, false},
		{`unknown != 1`, true},
		{`unknown not in [1]`, true},
		{`unknown < 1`, false},
		{`nan > 0`, false},
		{`age in [61, 62, "x"]`, true},
		{`age == "62"`, false},
		{`AGE == 62`, false},
		{`age >= 60 AND (occupation == "retired" OR occupation == "adviser")`, true},
		{`a.b missing`, true},
		{`age > -1`, true},
		{`created_at < "2025-06-02"`, true},
		{`created_at >= "2025-06-01T12:00:00Z"`, true},
		{`created_at == "2025-06-01T12:00:00Z"`, true},
		{`created_at > "2025-06-01T12:00:01Z"`, false},
		{`created_at == "June"`, false},
		{`zero_time missing`, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			c, err := ParseExpr(tt.expr)
			if err != nil {
				t.Fatalf("ParseExpr: %v", err)
			}
			got, err := c.Match(rec)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			// The printed form must parse back to a condition that prints the same.
			again, err := ParseExpr(c.String())
			if err != nil {
				t.Fatalf("reparsing %q: %v", c.String(), err)
			}
			if again.String() != c.String() {
				t.Errorf("round trip: %q then %q", c.String(), again.String())
			}
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	tests := []struct {
		expr   string
		offset int
	}{
		{``, 0},
		{`age`, 3},
		{`age = 3`, 4},
		{`age > `, 6},
		{`age > 3 and`, 11},
		{`(age > 3`, 8},
		{`age in 3`, 7},
		{`age in [3`, 9},
		{`email matches "("`, 14},
		{`email matches x`, 14},
		{`"x" == 3`, 0},
		{`x == "abc`, 5},
		{`x > true`, 4},
		{`x == 1.2.3`, 5},
		{`x == 1 )`, 7},
		{`and == 1`, 0},
		{`x not < 3`, 6},
		{`x # 3`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := ParseExpr(tt.expr)
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if se.Offset != tt.offset {
				t.Errorf("offset = %d, want %d (%v)", se.Offset, tt.offset, err)
			}
		})
	}
}

func TestMatchTypeError(t *testing.T) {
	c, err := ParseExpr(`occupation > 3`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Match(map[string]any{"occupation": "student"})
	var me *MatchError
	if !errors.As(err, &me) || !errors.Is(err, ErrType) || me.Field != "occupation" {
		t.Fatalf("err = %v, want *MatchError on occupation", err)
	}
	// Short-circuit: the right side is not evaluated when the left decides.
	c, _ = ParseExpr(`age > 10 or occupation > 3`)
	if ok, err := c.Match(map[string]any{"age": 20, "occupation": "x"}); !ok || err != nil {
		t.Errorf("Match = %v, %v; want true, nil", ok, err)
	}
}

// TestMatchNonFiniteText: the strings "Infinity", "-inf", "+Inf" and "NaN" were read as
// numbers, so that "age >= 60" held for "Infinity" (issue 17, defect 5). They are text that
// is not a number, like "forty": comparing them with a number is a type error.
func TestMatchNonFiniteText(t *testing.T) {
	c, err := ParseExpr(`age >= 60`)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{"Infinity", "-inf", "+Inf", "NaN", "1e400", json.Number("NaN")} {
		ok, err := c.Match(map[string]any{"age": v})
		var me *MatchError
		if ok || !errors.As(err, &me) || !errors.Is(err, ErrType) || me.Field != "age" {
			t.Errorf("age %q: Match = %v, %v; want a type error on age", v, ok, err)
		}
	}
	if ok, err := c.Match(map[string]any{"age": "1e308"}); !ok || err != nil {
		t.Errorf("age \"1e308\": Match = %v, %v; want true (a finite number)", ok, err)
	}
}

func TestConditionFieldsAndZero(t *testing.T) {
	c, err := ParseExpr(`clv > 200 and (p_alive < 0.3 or not clv missing)`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Fields(), []string{"clv", "p_alive"}; !slices.Equal(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
	var zero Condition
	if ok, err := zero.Match(nil); !ok || err != nil || !zero.IsZero() || zero.String() != "" {
		t.Errorf("zero Condition: Match = %v, %v", ok, err)
	}
	both := And(zero, c, zero)
	if both.String() != c.String() {
		t.Errorf("And = %q, want %q", both.String(), c.String())
	}
}

func TestConditionText(t *testing.T) {
	var c Condition
	if err := json.Unmarshal([]byte(`"age > 3 and x in [1, \"a\"]"`), &c); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `"age \u003e 3 and x in [1, \"a\"]"`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		`age >= 60 and net_worth > 1e6`,
		`not (a in [1, "x", true]) or b matches "^x\\.y$"`,
		`email matches '@gmail\.com$' and c not missing`,
		`x != -1.5e-3`,
		`((((a missing))))`,
	} {
		f.Add(s)
	}
	rec := map[string]any{"age": 61, "a": "x", "b": 1.5, "email": "a@gmail.com", "x": nil}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseExpr(s)
		if err != nil {
			return
		}
		printed := c.String()
		again, err := ParseExpr(printed)
		if err != nil {
			t.Fatalf("%q printed as %q which does not parse: %v", s, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("%q: printed %q, reprinted %q", s, printed, again.String())
		}
		ok1, err1 := c.Match(rec)
		ok2, err2 := again.Match(rec)
		if ok1 != ok2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("%q and %q disagree", s, printed)
		}
	})
}

func ExampleParseExpr() {
	winBack, err := ParseExpr(`p_alive < 0.3 and clv > 200`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, rec := range []map[string]any{
		{"p_alive": 0.12, "clv": 480.0},
		{"p_alive": 0.90, "clv": 480.0},
	} {
		ok, err := winBack.Match(rec)
		fmt.Println(ok, err)
	}
	fmt.Println(winBack.Fields())
	// Output:
	// true <nil>
	// false <nil>
	// [clv p_alive]
}

func ExampleCondition_Match() {
	c, _ := ParseExpr(`email matches "@(gmail|yahoo)\.com$" or company missing`)
	ok, _ := c.Match(map[string]any{"email": "bo@acme.io", "company": "Acme"})
	fmt.Println(ok)
	ok, _ = c.Match(map[string]any{"email": "bo@gmail.com"})
	fmt.Println(ok)
	// Output:
	// false
	// true
}
