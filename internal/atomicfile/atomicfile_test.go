package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := WriteBytes(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(p, []byte("new content"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "new content" {
		t.Fatalf("content %q", got)
	}
}

func TestWriteFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := WriteBytes(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "old" {
		t.Fatalf("content %q, want old", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary file left behind: %v", entries)
	}
}

func TestWriteMissingDir(t *testing.T) {
	err := WriteBytes(filepath.Join(t.TempDir(), "no", "such", "x"), nil, 0o644)
	if err == nil {
		t.Fatal("want error for a missing directory")
	}
}

// TestAheadWriterSyncs checks the writer that syncs as it goes: what is written arrives
// whole, syncs are started along the way, and a sync's failure is reported by wait (a file
// closed under it makes every sync fail).
func TestAheadWriterSyncs(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "ahead")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	aw := &aheadWriter{f: f, every: 1000}
	var want []byte
	started := 0
	for i := range 50 {
		chunk := bytes.Repeat([]byte{byte(i)}, 300)
		want = append(want, chunk...)
		before := aw.syncing
		if _, err := aw.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if aw.syncing != before {
			started++
		}
	}
	if err := aw.wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if started == 0 {
		t.Fatal("15,000 bytes written 1,000 at a time started no sync")
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, not the %d written", len(got), len(want))
	}

	g, err := os.CreateTemp(t.TempDir(), "ahead")
	if err != nil {
		t.Fatal(err)
	}
	bad := &aheadWriter{f: g, every: 1 << 30}
	if _, err := bad.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	g.Close()
	bad.every = 1
	bad.Write([]byte("x")) // fails (closed), and starts a sync, which fails
	if err := bad.wait(); err == nil {
		t.Fatal("wait after a failed sync returned no error")
	}
}
