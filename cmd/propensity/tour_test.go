package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tourMarker is the line of README.md right before the tour's command block.
const tourMarker = "<!-- tour: cmd/propensity/tour_test.go runs this block as written -->"

// tourServeAddr is the address the tour's serve line listens on; the test moves it to a free
// port, the one change it makes to the block, so that a busy 8080 on the machine running the
// tests cannot fail it.
const tourServeAddr = "127.0.0.1:8080"

// readTour returns the command lines of the README tour: the ```sh block after tourMarker.
func readTour(readme []byte) ([]string, error) {
	_, after, ok := bytes.Cut(readme, []byte(tourMarker))
	if !ok {
		return nil, fmt.Errorf("README.md has no line %q", tourMarker)
	}
	sc := bufio.NewScanner(bytes.NewReader(after))
	var lines []string
	state := 0 // 0 before the fence, 1 inside
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case state == 0 && line == "":
		case state == 0 && line == "```sh":
			state = 1
		case state == 0:
			return nil, fmt.Errorf("README.md: the tour marker is not followed by a ```sh block but %q", line)
		case line == "```":
			return lines, nil
		case line != "" && !strings.HasPrefix(line, "#"):
			lines = append(lines, line)
		}
	}
	return nil, errors.New("README.md: the tour block is not closed")
}

// TestReadmeTour runs the README's step-by-step tour as a new user would, from a copy of the
// repository's layout: the install line, then every command, then the service. It checks
// that every command succeeds, that the service answers the sample profile with all five
// blocks, and that nothing is written outside the git-ignored work directory.
func TestReadmeTour(t *testing.T) {
	if testing.Short() {
		t.Skip("the README tour builds the binary and trains every model on 20,000 contacts")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH to run the tour's install line")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash to run the tour's lines")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := readTour(readme)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "go install ./cmd/propensity") {
		t.Fatalf("the tour must start with its install line, got %q", lines)
	}

	// The working directory stands for a fresh clone: every top-level entry of the
	// repository, linked. What the tour writes lands beside the links.
	clone := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var linked []string
	for _, e := range entries {
		if e.Name() == ".git" || e.Name() == "work" {
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(clone, e.Name())); err != nil {
			t.Fatal(err)
		}
		linked = append(linked, e.Name())
	}
	bin := t.TempDir()
	env := append(os.Environ(), "GOBIN="+bin, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var serveLine string
	for _, line := range lines {
		if strings.HasPrefix(line, "propensity serve") {
			serveLine = line
			continue // after every offline step, below
		}
		if serveLine != "" {
			t.Fatalf("tour line after serve: %q (serve runs until stopped: it must be last)", line)
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", line)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = clone, env, &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("tour line failed: %s\n%v\nstdout:\n%s\nstderr:\n%s", line, err, stdout.Bytes(), stderr.Bytes())
		}
		t.Logf("$ %s\n%s", line, tail(stdout.Bytes(), 6))
		if strings.Contains(line, "score") && strings.Contains(line, "--profile") {
			checkFiveBlocks(t, "score --profile", stdout.Bytes())
		}
	}
	if serveLine == "" {
		t.Fatal("the tour has no serve line")
	}

	// The service, on a free port, answering the sample profile.
	addr := freeAddr(t)
	if !strings.Contains(serveLine, tourServeAddr) {
		t.Fatalf("the serve line %q does not listen on %s", serveLine, tourServeAddr)
	}
	line := strings.Replace(serveLine, tourServeAddr, addr, 1)
	srv := exec.Command("bash", "-c", "exec "+line)
	srv.Dir, srv.Env = clone, env
	var srvLog bytes.Buffer
	srv.Stdout, srv.Stderr = &srvLog, &srvLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	}()
	body := waitAndScore(t, ctx, srv, &srvLog, addr, filepath.Join(clone, "data", "profile.json"))
	checkFiveBlocks(t, "POST /v1/score", body)
	// The tour builds every block, the campaign's uplift model included: none may be missing.
	for _, line := range strings.Split(srvLog.String(), "\n") {
		if strings.Contains(line, "block unavailable") {
			t.Errorf("serve logged an unavailable block: %s\n%s", line, srvLog.String())
		}
	}

	// A fresh clone after the tour: the only new entry is the work directory, and git
	// ignores it.
	after, err := os.ReadDir(clone)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range after {
		if !slices.Contains(linked, e.Name()) && e.Name() != "work" {
			t.Errorf("the tour wrote %s outside work/", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err == nil {
		if _, err := exec.LookPath("git"); err == nil {
			cmd := exec.Command("git", "check-ignore", "-q", "--no-index", "work/models/conversion/manifest.json")
			cmd.Dir = root
			if err := cmd.Run(); err != nil {
				t.Errorf("git does not ignore the tour's work/ directory (git check-ignore: %v)", err)
			}
		}
	}
}

// checkFiveBlocks checks a score response has the five blocks of the issue (rules,
// conversion, churn, ltv, persona) and the uplift block of the tour's campaign, none
// unavailable.
func checkFiveBlocks(t *testing.T, what string, body []byte) {
	t.Helper()
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("%s: not a JSON object: %v\n%s", what, err, body)
	}
	for _, b := range []string{"rules", "conversion", "churn", "ltv", "persona", "uplift"} {
		if v, ok := resp[b]; !ok || string(v) == "null" {
			t.Errorf("%s: no %s block in %s", what, b, body)
		}
	}
	var unavailable []string
	if raw, ok := resp["unavailable"]; ok {
		_ = json.Unmarshal(raw, &unavailable)
	}
	if len(unavailable) > 0 {
		t.Errorf("%s: unavailable %v", what, unavailable)
	}
}

// waitAndScore polls /readyz until the server is ready, then posts the profile to /v1/score.
func waitAndScore(t *testing.T, ctx context.Context, srv *exec.Cmd, log *bytes.Buffer, addr, profile string) []byte {
	t.Helper()
	exited := make(chan struct{})
	go func() {
		_, _ = srv.Process.Wait()
		close(exited)
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("serve exited before it was ready:\n%s", log.String())
		case <-ctx.Done():
			t.Fatalf("serve not ready: %v\n%s", ctx.Err(), log.String())
		case <-tick.C:
		}
	}
	f, err := os.Open(profile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, err := client.Post("http://"+addr+"/v1/score", "application/json", f)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/score: %s\n%s", resp.Status, buf.String())
	}
	return buf.Bytes()
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestReadTour(t *testing.T) {
	readme := []byte("# x\n\n" + tourMarker + "\n```sh\ngo install ./cmd/propensity   # note\n# a comment\n\npropensity version\n```\nmore\n")
	got, err := readTour(readme)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"go install ./cmd/propensity   # note", "propensity version"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"no marker", tourMarker + "\ntext\n```sh\nx\n```", tourMarker + "\n```sh\nx\n"} {
		if _, err := readTour([]byte(bad)); err == nil {
			t.Errorf("readTour(%q) accepted", bad)
		}
	}
}
