package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yml")
	if len(files) == 0 {
		t.Fatal("no testdata/*.good.yml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := LoadFile(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFullFile(t *testing.T) {
	c, err := LoadFile("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9090" || time.Duration(c.RequestTimeout) != 2*time.Second || c.MaxBatchRows != 1000 || c.MaxConcurrentBatches != 2 || len(c.APIKeySHA256) != 1 || !c.AccessLog {
		t.Errorf("unexpected config %+v", c)
	}
}

func TestDefaultsKept(t *testing.T) {
	c, err := LoadFile("testdata/minimal.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig
	want.ModelsDir = "models"
	if c.Addr != want.Addr || c.MaxBodyBytes != want.MaxBodyBytes || c.RequestTimeout != want.RequestTimeout || c.ModelsDir != "models" ||
		c.MaxConcurrentBatches != 4 || time.Duration(c.StoreSyncInterval) != 500*time.Microsecond {
		t.Errorf("got %+v, want defaults with models_dir", c)
	}
}

// TestStoreSyncInterval: 0s turns the wait off, and the bounds are checked.
func TestStoreSyncInterval(t *testing.T) {
	for doc, want := range map[string]time.Duration{"": 500 * time.Microsecond, "store_sync_interval: 0s": 0,
		"store_sync_interval: 2ms": 2 * time.Millisecond, "store_sync_interval: 100ms": 100 * time.Millisecond} {
		c, err := Parse([]byte(doc))
		if err != nil || time.Duration(c.StoreSyncInterval) != want {
			t.Errorf("%q: %v, %v; want %v", doc, c, err, want)
		}
	}
	for _, doc := range []string{"store_sync_interval: -1ms", "store_sync_interval: 101ms"} {
		if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "store_sync_interval") {
			t.Errorf("%q: %v, want an error naming store_sync_interval", doc, err)
		}
	}
}

// TestStoreMemTableBytes: the default is pebble's 4 MiB, and the bounds are checked.
func TestStoreMemTableBytes(t *testing.T) {
	for doc, want := range map[string]int64{"": 4 << 20, "store_memtable_bytes: 1048576": 1 << 20,
		"store_memtable_bytes: 67108864": 64 << 20, "store_memtable_bytes: 1073741824": 1 << 30} {
		c, err := Parse([]byte(doc))
		if err != nil || c.StoreMemTableBytes != want {
			t.Errorf("%q: %v, %v; want %d", doc, c.StoreMemTableBytes, err, want)
		}
	}
	for _, doc := range []string{"store_memtable_bytes: 0", "store_memtable_bytes: 1048575", "store_memtable_bytes: 1073741825"} {
		if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "store_memtable_bytes") {
			t.Errorf("%q: %v, want an error naming store_memtable_bytes", doc, err)
		}
	}
}

func TestBadFiles(t *testing.T) {
	want := map[string][]string{
		"addr.bad.yml":          {"addr:", "HOST:PORT"},
		"cleartext_key.bad.yml": {"api_key_sha256[0]", "SHA-256"},
		"timeout.bad.yml":       {"line 1", `"soon" is not a duration`},
		"unknown_field.bad.yml": {`unknown field "listen"`},
		"several.bad.yml":       {"max_body_bytes: must be positive", "max_batch_rows: must be positive", "idle_timeout: must be positive"},
		"batches.bad.yml":       {"max_concurrent_batches: must be positive"},
		"wrong_type.bad.yml":    {"lots"},
		"sync_interval.bad.yml": {"store_sync_interval: 1s is outside 0s to 100ms"},
	}
	files, _ := filepath.Glob("testdata/*.bad.yml")
	if len(files) != len(want) {
		t.Fatalf("%d bad files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadFile(f)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range want[filepath.Base(f)] {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := LoadFile(filepath.Join(t.TempDir(), "nope.yml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("got %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted an invalid config: %v", err)
			}
		}
	})
}
