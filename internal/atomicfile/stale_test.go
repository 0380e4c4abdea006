package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a writer that is killed mid-write (TestMain).
const helperEnv = "ATOMICFILE_TEST_KILLED_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		killedWriter(path)
		return
	}
	os.Exit(m.Run())
}

// killedWriter starts writing path, says "ready" on stdout once part of the new content is
// in its temporary file, and then waits for stdin to close: the parent kills it before.
func killedWriter(path string) {
	err := Write(path, 0o644, func(w io.Writer) error {
		if _, err := io.WriteString(w, "half of the new"); err != nil {
			return err
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		return fmt.Errorf("stdin closed before the kill")
	})
	fmt.Fprintln(os.Stderr, err)
	os.Exit(3)
}

func tempFiles(t *testing.T, dir, base string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if isTemp(e.Name(), base) {
			out = append(out, e.Name())
		}
	}
	return out
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDefect12KilledWriterLeftoverRemoved is issue 17 defect 12 with a real SIGKILL: a
// writer killed mid-write leaves its ".NAME.tmp-N" file and the old output intact; the next
// write of NAME removes the leftover.
func TestDefect12KilledWriterLeftoverRemoved(t *testing.T) {
	if !lockedTemps {
		t.Skipf("no flock on %s: leftovers are removed by age only", runtime.GOOS)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "scores.parquet")
	if err := WriteBytes(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+p)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the killed writer exited cleanly")
	}
	left := tempFiles(t, dir, "scores.parquet")
	if len(left) != 1 {
		t.Fatalf("leftovers after the kill: %v, want one", left)
	}
	if got := readString(t, p); got != "old" {
		t.Fatalf("output after the kill %q, want the old content", got)
	}
	if err := WriteBytes(p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if left := tempFiles(t, dir, "scores.parquet"); len(left) != 0 {
		t.Errorf("the next write left %v behind", left)
	}
	if got := readString(t, p); got != "new" {
		t.Errorf("output %q, want new", got)
	}
}

// TestDefect12OnlyOwnLeftovers: a write removes the leftovers of its own name and nothing
// else: not another target's, not names that only look alike, not directories.
func TestDefect12OnlyOwnLeftovers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	files := map[string]bool{ // name -> removed by a write of out.txt
		".out.txt.tmp-123":        true,
		".out.txt.tmp-4294967295": true,
		".out.txt.tmp-":           false,
		".out.txt.tmp-12a":        false,
		".out.txt.tmp-1.tmp-2":    false,
		"out.txt.tmp-123":         false,
		".out.txt.bak-123":        false,
		".other.txt.tmp-123":      false,
		".out.tmp-123":            false,
		"..out.txt.tmp-123":       false,
	}
	// Old enough to count as leftovers where flock is missing, too.
	old := time.Now().Add(-2 * staleAge)
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".out.txt.tmp-77"), 0o755); err != nil {
		t.Fatal(err)
	}
	files[".out.txt.tmp-77"] = false
	if err := WriteBytes(p, []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, removed := range files {
		_, err := os.Lstat(filepath.Join(dir, name))
		if gone := os.IsNotExist(err); gone != removed {
			t.Errorf("%s: removed %v, want %v", name, gone, removed)
		}
	}
}

// TestLiveWriterKept: a write in progress is never taken for a leftover by a concurrent
// write of the same path; both succeed.
func TestLiveWriterKept(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Write(p, 0o644, func(w io.Writer) error {
			io.WriteString(w, "first")
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	live := tempFiles(t, dir, "out.txt")
	if err := WriteBytes(p, []byte("second"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tempFiles(t, dir, "out.txt"); !slices.Equal(got, live) {
		t.Fatalf("temporary files %v after a concurrent write, want the live one %v", got, live)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the first writer failed: %v", err)
	}
	if got := readString(t, p); got != "first" {
		t.Errorf("content %q, want the last renamed (first)", got)
	}
	if left := tempFiles(t, dir, "out.txt"); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
