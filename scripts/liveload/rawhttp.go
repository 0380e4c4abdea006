package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is one keep-alive HTTP/1.1 connection that sends a request and reads its answer
// with no goroutine of its own and no per-request allocation beyond the request line. The
// load generator shares the two cores of the machine it measures with the server, so its
// own cost per request is taken from the server's. net/http's client spent 0.22 ms of CPU
// a request on the 2-core machine (its connection's reader and writer goroutines, the
// request and response objects); this client spends half as much (docs/operations.md,
// "Sizing").
type rawConn struct {
	addr    string
	timeout time.Duration
	c       net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	line    []byte // the response's lines, read one at a time
}

// call is one request: method, path, content type (empty: none) and body.
type call struct {
	method, path, ctype string
	body                []byte
}

// do sends x with the API key (empty: none) and reads the answer, discarding its body; it
// returns the status code. A connection that fails or that the server closes is redialled
// by the next call.
func (rc *rawConn) do(x call, key string) (int, error) {
	if rc.c == nil {
		c, err := net.DialTimeout("tcp", rc.addr, rc.timeout)
		if err != nil {
			return 0, err
		}
		rc.c = c
		if rc.r == nil {
			rc.r = bufio.NewReaderSize(c, 16<<10)
			rc.w = bufio.NewWriterSize(c, 16<<10)
		} else {
			rc.r.Reset(c)
			rc.w.Reset(c)
		}
	}
	status, keep, err := rc.roundTrip(x, key)
	if err != nil || !keep {
		rc.c.Close()
		rc.c = nil
	}
	return status, err
}

func (rc *rawConn) roundTrip(x call, key string) (status int, keep bool, err error) {
	if err := rc.c.SetDeadline(time.Now().Add(rc.timeout)); err != nil {
		return 0, false, err
	}
	w := rc.w
	w.WriteString(x.method)
	w.WriteByte(' ')
	w.WriteString(x.path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(rc.addr)
	w.WriteString("\r\n")
	if key != "" {
		w.WriteString("Authorization: Bearer ")
		w.WriteString(key)
		w.WriteString("\r\n")
	}
	if x.ctype != "" {
		w.WriteString("Content-Type: ")
		w.WriteString(x.ctype)
		w.WriteString("\r\n")
	}
	if x.body != nil || x.method == "POST" {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(x.body)))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(x.body)
	if err := w.Flush(); err != nil {
		return 0, false, err
	}
	// Status line: HTTP/1.1 200 OK
	l, err := rc.readLine()
	if err != nil {
		return 0, false, err
	}
	if len(l) < 12 || !bytes.HasPrefix(l, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", l)
	}
	status, err = strconv.Atoi(string(l[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", l)
	}
	keep = true
	length, chunked := -1, false
	for {
		l, err := rc.readLine()
		if err != nil {
			return status, false, err
		}
		if len(l) == 0 {
			break
		}
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			return status, false, fmt.Errorf("bad header line %q", l)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return status, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = rc.discardChunked()
	case length >= 0:
		_, err = rc.r.Discard(length)
	default: // no length: the body runs to the end of the connection
		_, err = io.Copy(io.Discard, rc.r)
		keep = false
	}
	if err != nil {
		return status, false, err
	}
	return status, keep, nil
}

// readLine returns the next line without its CRLF (valid until the next read).
func (rc *rawConn) readLine() ([]byte, error) {
	rc.line = rc.line[:0]
	for {
		part, err := rc.r.ReadSlice('\n')
		rc.line = append(rc.line, part...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		if len(rc.line) > 64<<10 {
			return nil, errors.New("response line longer than 64 KiB")
		}
	}
	return bytes.TrimRight(rc.line, "\r\n"), nil
}

// discardChunked reads a chunked body and its trailers.
func (rc *rawConn) discardChunked() error {
	for {
		l, err := rc.readLine()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(l, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad chunk size %q", l)
		}
		if n == 0 {
			for { // trailers, up to the empty line
				l, err := rc.readLine()
				if err != nil {
					return err
				}
				if len(l) == 0 {
					return nil
				}
			}
		}
		if _, err := rc.r.Discard(int(n)); err != nil {
			return err
		}
		if l, err := rc.readLine(); err != nil || len(l) != 0 {
			if err == nil {
				err = errors.New("chunk not followed by CRLF")
			}
			return err
		}
	}
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}
