package features

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// Mapping names the history files of a directory and their columns. Every empty field means
// the docs/contract.md §1 name, given in its comment. It can be loaded from a small YAML file:
//
//	transactions:
//	  file: orders.parquet
//	  contact_id: customer_id
//	  ts: date
//	  amount: amount
type Mapping struct {
	Contacts     ContactColumns     `yaml:"contacts" json:"contacts"`
	Events       EventColumns       `yaml:"events" json:"events"`
	Transactions TransactionColumns `yaml:"transactions" json:"transactions"`
	Identities   IdentityColumns    `yaml:"identities" json:"identities"`
}

// ContactColumns names the columns of the contacts file.
type ContactColumns struct {
	File       string `yaml:"file" json:"file,omitempty"`               // contacts.parquet
	ContactID  string `yaml:"contact_id" json:"contact_id,omitempty"`   // contact_id
	CreatedAt  string `yaml:"created_at" json:"created_at,omitempty"`   // created_at
	Email      string `yaml:"email" json:"email,omitempty"`             // email
	Stage      string `yaml:"stage" json:"stage,omitempty"`             // stage
	StageSince string `yaml:"stage_since" json:"stage_since,omitempty"` // stage_since (timestamp the stage was entered)
}

// EventColumns names the columns of the events file.
type EventColumns struct {
	File        string `yaml:"file" json:"file,omitempty"`                 // events.parquet
	TS          string `yaml:"ts" json:"ts,omitempty"`                     // ts
	Type        string `yaml:"type" json:"type,omitempty"`                 // type
	ContactID   string `yaml:"contact_id" json:"contact_id,omitempty"`     // contact_id
	AnonymousID string `yaml:"anonymous_id" json:"anonymous_id,omitempty"` // anonymous_id
	Email       string `yaml:"email" json:"email,omitempty"`               // email
	Page        string `yaml:"page" json:"page,omitempty"`                 // page
	Channel     string `yaml:"channel" json:"channel,omitempty"`           // channel
	Campaign    string `yaml:"campaign" json:"campaign,omitempty"`         // campaign
	Value       string `yaml:"value" json:"value,omitempty"`               // value
}

// TransactionColumns names the columns of the transactions file.
type TransactionColumns struct {
	File      string `yaml:"file" json:"file,omitempty"`             // transactions.parquet
	ContactID string `yaml:"contact_id" json:"contact_id,omitempty"` // contact_id (the customer)
	TS        string `yaml:"ts" json:"ts,omitempty"`                 // ts
	Amount    string `yaml:"amount" json:"amount,omitempty"`         // amount
	Product   string `yaml:"product" json:"product,omitempty"`       // product
	Quantity  string `yaml:"quantity" json:"quantity,omitempty"`     // quantity
	Category  string `yaml:"category" json:"category,omitempty"`     // category (product category; falls back to product)
}

// IdentityColumns names the columns of the identities file.
type IdentityColumns struct {
	File string `yaml:"file" json:"file,omitempty"` // identities.parquet
	IDA  string `yaml:"id_a" json:"id_a,omitempty"` // id_a
	IDB  string `yaml:"id_b" json:"id_b,omitempty"` // id_b
	TS   string `yaml:"ts" json:"ts,omitempty"`     // ts
}

func def(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// WithDefaults returns m with every empty name set to its docs/contract.md §1 default.
func (m Mapping) WithDefaults() Mapping {
	c := &m.Contacts
	def(&c.File, "contacts.parquet")
	def(&c.ContactID, "contact_id")
	def(&c.CreatedAt, "created_at")
	def(&c.Email, "email")
	def(&c.Stage, "stage")
	def(&c.StageSince, "stage_since")
	e := &m.Events
	def(&e.File, "events.parquet")
	def(&e.TS, "ts")
	def(&e.Type, "type")
	def(&e.ContactID, "contact_id")
	def(&e.AnonymousID, "anonymous_id")
	def(&e.Email, "email")
	def(&e.Page, "page")
	def(&e.Channel, "channel")
	def(&e.Campaign, "campaign")
	def(&e.Value, "value")
	t := &m.Transactions
	def(&t.File, "transactions.parquet")
	def(&t.ContactID, "contact_id")
	def(&t.TS, "ts")
	def(&t.Amount, "amount")
	def(&t.Product, "product")
	def(&t.Quantity, "quantity")
	def(&t.Category, "category")
	i := &m.Identities
	def(&i.File, "identities.parquet")
	def(&i.IDA, "id_a")
	def(&i.IDB, "id_b")
	def(&i.TS, "ts")
	return m
}

// ParseMapping decodes a YAML history config strictly (unknown keys are errors). Missing keys
// keep their defaults. The keys columns and missing belong to the table reader (column type
// overrides and missing-value tokens, docs/tables.md) and are skipped here.
func ParseMapping(data []byte) (Mapping, error) {
	var doc struct {
		Mapping `yaml:",inline"`
		Columns yaml.Node `yaml:"columns"`
		Missing yaml.Node `yaml:"missing"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Mapping{}, fmt.Errorf("%w: %v", ErrBadMapping, err)
	}
	return doc.Mapping.WithDefaults(), nil
}
