// Command testserver runs an embedded FerretDB v1 (SQLite backend) behind a small
// wire-protocol proxy that serialises every command across all client connections.
//
// Why the proxy: FerretDB v1 runs findAndModify/update as a read followed by a write
// with no transaction (FerretDB issue #3040), so two clients can both "claim" the same
// document. Forwarding one complete request/response at a time under one lock makes
// each command atomic, at least as strict as MongoDB's single-document atomicity,
// while races between separate commands of the client code still show.
//
// Output: the first stdout line is `MONGODB_URI=<uri>`. SIGINT/SIGTERM stop it cleanly.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

const (
	opMsg          = 2013
	opQuery        = 2004
	flagMoreToCome = 1 << 1
	maxMessage     = 48 * 1024 * 1024
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 to listen on (0 picks a free one)")
	data := flag.String("data", "", "directory for the SQLite files (default: a temp dir removed on exit)")
	noLock := flag.Bool("no-lock", false, "do not serialise commands (shows FerretDB v1's own, non-atomic behaviour)")
	stdinEOF := flag.Bool("exit-on-stdin-eof", false, "exit when stdin closes (so a killed parent never leaves this running)")
	verbose := flag.Bool("verbose", false, "log FerretDB's messages at info level")
	latency := flag.Duration("latency", 0, "hold each request this long before forwarding it, outside the lock (a network round trip, for benchmarks)")
	flag.Parse()

	if err := run(*port, *data, !*noLock, *stdinEOF, *verbose, *latency); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}

func run(port int, data string, lock, stdinEOF, verbose bool, latency time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if stdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	work, err := os.MkdirTemp("", "waiter-testserver-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	if data == "" {
		data = filepath.Join(work, "data")
	}
	if err = os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	absData, err := filepath.Abs(data)
	if err != nil {
		return err
	}

	level := slog.LevelError
	if verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	sock := filepath.Join(work, "ferretdb.sock")
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: sock},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + absData + "/",
	})
	if err != nil {
		return err
	}

	ferretCtx, stopFerret := context.WithCancel(context.Background())
	ferretDone := make(chan struct{})
	go func() {
		defer close(ferretDone)
		_ = f.Run(ferretCtx)
	}()
	defer func() {
		stopFerret()
		<-ferretDone
	}()

	if err = waitForSocket(sock, 10*time.Second); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}

	p := &proxy{backend: sock, serialise: lock, latency: latency}
	fmt.Printf("MONGODB_URI=mongodb://%s/\n", ln.Addr().String())
	os.Stdout.Sync()

	go func() {
		<-ctx.Done()
		ln.Close()
	}()

	var wg sync.WaitGroup
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.serve(ctx, c)
		}()
	}
	p.closeAll()
	wg.Wait()
	return nil
}

func waitForSocket(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("embedded FerretDB did not start listening on %s", path)
}

// proxy forwards wire-protocol messages from each client connection to its own
// connection to FerretDB. With serialise set, one request and its whole reply pass
// under a single lock shared by all connections.
type proxy struct {
	backend   string
	serialise bool
	latency   time.Duration
	mu        sync.Mutex

	connsMu sync.Mutex
	conns   map[net.Conn]struct{}
}

func (p *proxy) track(c net.Conn, add bool) {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	if p.conns == nil {
		p.conns = map[net.Conn]struct{}{}
	}
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *proxy) closeAll() {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) serve(ctx context.Context, client net.Conn) {
	defer client.Close()
	p.track(client, true)
	defer p.track(client, false)

	back, err := net.Dial("unix", p.backend)
	if err != nil {
		return
	}
	defer back.Close()
	p.track(back, true)
	defer p.track(back, false)

	for ctx.Err() == nil {
		req, err := readMessage(client)
		if err != nil {
			return
		}
		if p.latency > 0 {
			time.Sleep(p.latency) // per connection, so requests on other connections overlap it
		}
		if err = p.exchange(req, client, back); err != nil {
			return
		}
	}
}

// exchange sends one request and relays its reply (several if the server streams
// with moreToCome). A fire-and-forget request (moreToCome set) gets no reply.
func (p *proxy) exchange(req []byte, client, back net.Conn) error {
	if p.serialise && !lockFree(req) {
		p.mu.Lock()
		defer p.mu.Unlock()
	}
	if _, err := back.Write(req); err != nil {
		return err
	}
	if hasMoreToCome(req) {
		return nil
	}
	for {
		res, err := readMessage(back)
		if err != nil {
			return err
		}
		if _, err = client.Write(res); err != nil {
			return err
		}
		if !hasMoreToCome(res) {
			return nil
		}
	}
}

func readMessage(r io.Reader) ([]byte, error) {
	var header [16]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(header[0:4]))
	if n < 16 || n > maxMessage {
		return nil, errors.New("bad message length")
	}
	msg := make([]byte, n)
	copy(msg, header[:])
	if _, err := io.ReadFull(r, msg[16:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// lockFree reports whether a request is a stateless handshake or monitoring command
// (hello, isMaster, ping). They bypass the lock so a long command (an updateMany over
// many documents) cannot starve the driver's server monitor into a timeout, which a
// real MongoDB would never do either.
func lockFree(msg []byte) bool {
	switch name := commandName(msg); name {
	case "hello", "isMaster", "ismaster", "ping":
		return true
	default:
		return false
	}
}

// commandName is the first key of the command document of an OP_MSG (section 0)
// or OP_QUERY request, or "" when it cannot tell.
func commandName(msg []byte) string {
	var doc []byte
	switch binary.LittleEndian.Uint32(msg[12:16]) {
	case opMsg:
		if len(msg) < 21 || msg[20] != 0 {
			return ""
		}
		doc = msg[21:]
	case opQuery:
		rest := msg[20:] // after flags
		i := bytes.IndexByte(rest, 0)
		if i < 0 || len(rest) < i+9 {
			return ""
		}
		doc = rest[i+9:] // after collection name, numberToSkip, numberToReturn
	default:
		return ""
	}
	if len(doc) < 6 {
		return ""
	}
	name := doc[5:] // after int32 length and element type
	if i := bytes.IndexByte(name, 0); i >= 0 {
		return string(name[:i])
	}
	return ""
}

func hasMoreToCome(msg []byte) bool {
	if len(msg) < 20 || binary.LittleEndian.Uint32(msg[12:16]) != opMsg {
		return false
	}
	return binary.LittleEndian.Uint32(msg[16:20])&flagMoreToCome != 0
}
