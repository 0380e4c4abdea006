// Package config reads the YAML configuration file of propensity serve.
//
// Defaults live in DefaultConfig and are applied by UnmarshalYAML before the file's values,
// so a field left out of the file keeps its default. Validate reports every problem at once.
//
// API keys are never stored in clear: the file holds the hex SHA-256 of each key
// (for example `printf %s "$KEY" | sha256sum`).
package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of the scoring service.
type Config struct {
	// Addr is the listen address, HOST:PORT. Default "127.0.0.1:8080".
	Addr string `yaml:"addr"`
	// ModelsDir is the models directory (one artifact subdirectory per kind). The --models
	// flag overrides it.
	ModelsDir string `yaml:"models_dir"`
	// Scorecard is a scorecard YAML file; empty means the embedded default scorecard. The
	// --scorecard flag overrides it.
	Scorecard string `yaml:"scorecard"`
	// ScoresFile is the latest batch score file (Parquet, one row per contact with a
	// contact_id column), answered by GET /v1/contacts/{id}. Empty disables that route (404).
	ScoresFile string `yaml:"scores_file"`

	// APIKeySHA256 holds the hex SHA-256 of each accepted API key. When not empty every /v1
	// route requires one of them (header "Authorization: Bearer KEY" or "X-API-Key: KEY").
	APIKeySHA256 []string `yaml:"api_key_sha256"`
	// AdminKeySHA256 holds the hex SHA-256 of each admin key. When not empty, POST
	// /v1/admin/reload requires one of them (an ordinary API key is not enough).
	AdminKeySHA256 []string `yaml:"admin_key_sha256"`

	// MaxBodyBytes caps a request body; larger bodies are refused with 413 bad_data.
	// Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatchBodyBytes caps the body of POST /v1/score/batch. Default 64 MiB.
	MaxBatchBodyBytes int64 `yaml:"max_batch_body_bytes"`
	// MaxBatchRows caps the number of profiles in one batch request. Default 100000.
	MaxBatchRows int `yaml:"max_batch_rows"`
	// MaxConcurrentBatches caps the batch requests handled at once; one more is answered
	// 503 unavailable with a Retry-After header. Default 4.
	MaxConcurrentBatches int `yaml:"max_concurrent_batches"`
	// RequestTimeout bounds the handling of one request; past it the request is answered
	// 503 unavailable. Default 10s.
	RequestTimeout Duration `yaml:"request_timeout"`
	// BatchTimeout bounds one batch request. Default 5m.
	BatchTimeout Duration `yaml:"batch_timeout"`
	// ReadHeaderTimeout bounds reading request headers (slow clients). Default 5s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes idle keep-alive connections. Default 2m.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ShutdownTimeout bounds the wait for in-flight requests on shutdown. Default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`

	// AccessLog logs one line per request (method, route, status, latency) at info level.
	// Default false: only failures are logged.
	AccessLog bool `yaml:"access_log"`
	// Store is the live store directory (a pebble database, created when absent). Empty
	// disables the live routes. The --store flag overrides it.
	Store string `yaml:"store"`
	// Triggers is the triggers YAML file (documented in docs/triggers.md); empty: no
	// triggers. Needs a store. The --triggers flag overrides it.
	Triggers string `yaml:"triggers"`
	// TriggerSweepInterval is how often every stored person is re-scored for transitions
	// that time alone causes (decay, windows). Default 1h.
	TriggerSweepInterval Duration `yaml:"trigger_sweep_interval"`
	// IngestKeySHA256 holds the hex SHA-256 of each ingest key: it may post records to the
	// ingestion routes and nothing else. Admin keys may post records too; with neither,
	// the API keys may.
	IngestKeySHA256 []string `yaml:"ingest_key_sha256"`
	// MaxIngestBodyBytes caps the body of an ingestion request. Default 16 MiB.
	MaxIngestBodyBytes int64 `yaml:"max_ingest_body_bytes"`
	// StoreCacheBytes is the live store's block cache. Default 256 MiB; scores by id read
	// from it, so size it to the store's working set (docs/operations.md).
	StoreCacheBytes int64 `yaml:"store_cache_bytes"`
	// StoreSyncInterval is the least time between two syncs of the live store's
	// write-ahead log: records acknowledged meanwhile share one sync. Default 500µs; 0s
	// syncs every commit group at once. At most 100ms, since every write may wait for it.
	StoreSyncInterval Duration `yaml:"store_sync_interval"`
	// StoreMemTableBytes is the size of each of the live store's memtables, where writes
	// gather before pebble flushes them to a table. Default 4 MiB (pebble's default), from
	// 1 MiB to 1 GiB. Larger memtables flush and compact less often: live ingestion into a
	// large store gets faster, and resident memory grows by several times the size
	// (docs/operations.md, "Sizing").
	StoreMemTableBytes int64 `yaml:"store_memtable_bytes"`
	// CheckpointDir is where POST /v1/admin/checkpoint writes consistent copies of the
	// store (backups). Empty disables the route.
	CheckpointDir string `yaml:"checkpoint_dir"`

	// LogPersonalData adds request paths, contact ids and client addresses to logs. Default
	// false: logs carry route templates only, never ids or emails.
	LogPersonalData bool `yaml:"log_personal_data"`
}

// Duration is a time.Duration written in YAML as a Go duration string ("10s", "5m").
type Duration time.Duration

// UnmarshalYAML parses a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (want e.g. 10s, 5m)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// DefaultConfig holds the defaults of every field.
var DefaultConfig = Config{
	Addr:                 "127.0.0.1:8080",
	MaxBodyBytes:         1 << 20,
	MaxBatchBodyBytes:    64 << 20,
	MaxBatchRows:         100000,
	MaxConcurrentBatches: 4,
	RequestTimeout:       Duration(10 * time.Second),
	BatchTimeout:         Duration(5 * time.Minute),
	ReadHeaderTimeout:    Duration(5 * time.Second),
	IdleTimeout:          Duration(2 * time.Minute),
	ShutdownTimeout:      Duration(30 * time.Second),

	TriggerSweepInterval: Duration(time.Hour),
	MaxIngestBodyBytes:   16 << 20,
	StoreCacheBytes:      256 << 20,
	StoreSyncInterval:    Duration(500 * time.Microsecond),
	StoreMemTableBytes:   4 << 20,
}

// UnmarshalYAML applies DefaultConfig, then the document, refusing unknown keys.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	*c = DefaultConfig
	if n.Kind == yaml.MappingNode {
		// Node.Decode does not inherit the decoder's KnownFields, so check keys here.
		known := knownKeys()
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !known[k.Value] {
				return fmt.Errorf("line %d: unknown field %q", k.Line, k.Value)
			}
		}
	}
	type plain Config // no UnmarshalYAML: avoids recursion
	return n.Decode((*plain)(c))
}

func knownKeys() map[string]bool {
	t := reflect.TypeFor[Config]()
	out := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		out[name] = true
	}
	return out
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr: %q is not HOST:PORT", c.Addr))
	}
	for _, set := range []struct {
		name string
		v    []string
	}{{"api_key_sha256", c.APIKeySHA256}, {"admin_key_sha256", c.AdminKeySHA256}, {"ingest_key_sha256", c.IngestKeySHA256}} {
		for i, h := range set.v {
			if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
				errs = append(errs, fmt.Errorf("%s[%d]: not a hex SHA-256 (64 hex digits); store the hash of the key, never the key", set.name, i))
			}
		}
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("max_body_bytes: must be positive"))
	}
	if c.MaxBatchBodyBytes <= 0 {
		errs = append(errs, errors.New("max_batch_body_bytes: must be positive"))
	}
	if c.StoreCacheBytes <= 0 {
		errs = append(errs, errors.New("store_cache_bytes: must be positive"))
	}
	if c.StoreSyncInterval < 0 || time.Duration(c.StoreSyncInterval) > 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("store_sync_interval: %s is outside 0s to 100ms", time.Duration(c.StoreSyncInterval)))
	}
	if c.StoreMemTableBytes < 1<<20 || c.StoreMemTableBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("store_memtable_bytes: %d is outside 1 MiB (1048576) to 1 GiB (1073741824)", c.StoreMemTableBytes))
	}
	if c.MaxIngestBodyBytes <= 0 {
		errs = append(errs, errors.New("max_ingest_body_bytes: must be positive"))
	}
	if c.Triggers != "" && c.Store == "" {
		errs = append(errs, errors.New("triggers: needs a store (store or --store)"))
	}
	if c.MaxBatchRows <= 0 {
		errs = append(errs, errors.New("max_batch_rows: must be positive"))
	}
	if c.MaxConcurrentBatches <= 0 {
		errs = append(errs, errors.New("max_concurrent_batches: must be positive"))
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{
		{"request_timeout", c.RequestTimeout}, {"batch_timeout", c.BatchTimeout},
		{"read_header_timeout", c.ReadHeaderTimeout}, {"idle_timeout", c.IdleTimeout},
		{"shutdown_timeout", c.ShutdownTimeout}, {"trigger_sweep_interval", c.TriggerSweepInterval},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", d.name))
		}
	}
	return errors.Join(errs...)
}

// Parse decodes and validates a YAML document. An empty document gives DefaultConfig.
func Parse(b []byte) (*Config, error) {
	c := DefaultConfig
	if strings.TrimSpace(string(b)) != "" {
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// LoadFile reads, decodes and validates the configuration file at path.
func LoadFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
