package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func TestNewDeliveries(t *testing.T) {
	c := dealership(t)
	ts := c.Evaluate(State{HasChurn: true, PChurn: 0.2}, State{HasChurn: true, PChurn: 0.8})
	score := json.RawMessage(`{"contact_id":"c-1","rules":{"total":40,"contributions":[{"rule":"directions-page","points":20}]}}`)
	ds := c.NewDeliveries("c-1", ts, score, t0)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries, want one per endpoint (2)", len(ds))
	}
	if ds[0].ID == ds[1].ID || len(ds[0].ID) != 32 {
		t.Errorf("ids %q %q: want distinct 128-bit hex", ds[0].ID, ds[1].ID)
	}
	for i, ep := range []string{"retention", "sales-crm"} {
		d := ds[i]
		e, _ := c.Endpoint(ep)
		if d.Endpoint != ep || d.URL != e.URL || d.ContactID != "c-1" || d.Trigger != "churn-risk" ||
			d.State != StatePending || !d.CreatedAt.Equal(t0) || !d.NextAttempt.Equal(t0) || d.Attempts != 0 {
			t.Errorf("delivery %d: %+v", i, d)
		}
		var body map[string]any
		if err := json.Unmarshal(d.Body, &body); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"delivery_id": d.ID, "contact_id": "c-1", "trigger": "churn-risk", "kind": "p_churn_crossed_up",
			"old": 0.2, "new": 0.8, "value": 0.5, "occurred_at": "2026-03-02T09:30:00Z",
		}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("body[%s] = %v, want %v", k, body[k], v)
			}
		}
		var got struct {
			Score json.RawMessage `json:"score"`
		}
		_ = json.Unmarshal(d.Body, &got)
		if string(got.Score) != string(score) {
			t.Errorf("score %s, want the response as given", got.Score)
		}
	}
	// A first score: old is null in the body; an invalid score response is sent as null.
	ds = c.NewDeliveries("c-2", c.Evaluate(State{}, rules("mql", 40)), json.RawMessage(`{not json`), t0)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries", len(ds))
	}
	if !strings.Contains(string(ds[0].Body), `"old":null,"new":"mql"`) || !strings.Contains(string(ds[0].Body), `"score":null`) {
		t.Errorf("body %s", ds[0].Body)
	}
	if c.NewDeliveries("c-3", nil, score, t0) != nil {
		t.Error("no transitions: want no deliveries")
	}
	// A transition naming an endpoint the config lacks is skipped, not sent unsigned.
	if ds := c.NewDeliveries("c-4", []Transition{{Trigger: "x", Kind: KindMQLEntered, Endpoints: []string{"gone"}}}, score, t0); len(ds) != 0 {
		t.Errorf("unknown endpoint: %d deliveries", len(ds))
	}
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"delivery_id":"abc","kind":"stage_entered"}`)
	h := Sign("s3cret", body, t0)
	if !strings.HasPrefix(h, fmt.Sprintf("t=%d,v1=", t0.Unix())) {
		t.Fatalf("header %q", h)
	}
	tampered := []byte(strings.Replace(string(body), "stage_entered", "stage_left", 1))
	other := Sign("old-secret", body, t0)
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{"good", "s3cret", h, body, t0.Add(time.Minute), 5 * time.Minute, nil},
		{"no tolerance", "s3cret", h, body, t0.Add(24 * time.Hour), 0, nil},
		{"tampered body", "s3cret", h, tampered, t0, 5 * time.Minute, ErrSignature},
		{"wrong secret", "other", h, body, t0, 5 * time.Minute, ErrSignature},
		{"replayed later", "s3cret", h, body, t0.Add(6 * time.Minute), 5 * time.Minute, ErrSignatureAge},
		{"from the future", "s3cret", h, body, t0.Add(-6 * time.Minute), 5 * time.Minute, ErrSignatureAge},
		{"timestamp changed", "s3cret", strings.Replace(h, fmt.Sprint(t0.Unix()), fmt.Sprint(t0.Unix()+1), 1), body, t0, 5 * time.Minute, ErrSignature},
		{"rotation: second v1 matches", "s3cret", other + ",v1=" + strings.SplitN(h, "v1=", 2)[1], body, t0, time.Minute, nil},
		{"empty", "s3cret", "", body, t0, time.Minute, ErrSignatureFormat},
		{"no v1", "s3cret", "t=1", body, t0, time.Minute, ErrSignatureFormat},
		{"bad hex", "s3cret", "t=1,v1=zz", body, t0, time.Minute, ErrSignatureFormat},
		{"bad t", "s3cret", "t=x,v1=00", body, t0, time.Minute, ErrSignatureFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header, tt.body, tt.now, tt.tol)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestSignKnownValue checks the signature against an HMAC-SHA256 computed independently:
// printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
func TestSignKnownValue(t *testing.T) {
	got := Sign("key", []byte(`{"a":1}`), time.Unix(1700000000, 0))
	want := "t=1700000000,v1=" + "a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
	if got != want {
		t.Errorf("Sign = %s\nwant   %s", got, want)
	}
}

func TestMemOutbox(t *testing.T) {
	ctx := context.Background()
	var o MemOutbox
	mk := func(id, contact string, next time.Duration, state string) Delivery {
		return Delivery{ID: id, ContactID: contact, CreatedAt: t0, NextAttempt: t0.Add(next), State: state, Body: []byte(id)}
	}
	o.Add(mk("c", "p1", 2*time.Second, StatePending), mk("a", "p1", 0, StatePending), mk("b", "p2", time.Second, StatePending),
		mk("d", "p2", 0, StateDead), mk("e", "p3", 5*time.Second, StatePending))
	ids := func(ds []Delivery) string {
		var s []string
		for _, d := range ds {
			s = append(s, d.ID)
		}
		return strings.Join(s, ",")
	}
	due, _ := o.Due(ctx, t0.Add(2*time.Second), 0)
	if got := ids(due); got != "a,b,c" {
		t.Errorf("Due = %s, want a,b,c (pending, due, earliest first)", got)
	}
	if due, _ := o.Due(ctx, t0.Add(10*time.Second), 2); ids(due) != "a,b" {
		t.Errorf("Due with limit 2 = %s", ids(due))
	}
	due[0].Body[0] = 'X' // the caller's copy, not the stored record
	d, ok, _ := o.Get(ctx, "a")
	if !ok || string(d.Body) != "a" {
		t.Errorf("Get(a) = %+v, %v", d, ok)
	}
	d.State = StateDelivered
	_ = o.Update(ctx, d)
	_ = o.Update(ctx, Delivery{ID: "never-added", State: StatePending})
	if l, _ := o.List(ctx, StatePending, 0); ids(l) != "b,c,e" {
		t.Errorf("List(pending) = %s", ids(l))
	}
	if l, _ := o.List(ctx, "", 0); len(l) != 5 {
		t.Errorf("List(all) has %d, want 5 (an update of an unknown id adds nothing)", len(l))
	}
	if n, _ := o.Count(ctx, StateDead); n != 1 {
		t.Errorf("Count(dead) = %d", n)
	}
	if n := o.DeleteContact("p2"); n != 2 {
		t.Errorf("DeleteContact(p2) = %d, want 2", n)
	}
	if _, ok, _ := o.Get(ctx, "b"); ok {
		t.Error("b survived its contact's erasure")
	}
}
