// Command testserver runs an embedded FerretDB v1 (SQLite backend) behind a small
// wire-protocol proxy that serialises every command on a database across all client
// connections.
//
// Why the proxy: FerretDB v1 runs findAndModify/update as a read followed by a write
// with no transaction (FerretDB issue #3040), so two clients can both "claim" the same
// document. Forwarding one complete request/response at a time under one lock makes
// each command atomic, at least as strict as MongoDB's single-document atomicity,
// while races between separate commands of the client code still show. The lock is
// per database (the command's $db): each test works in its own database, so one test's
// long command (a deleteMany of 40,000 orders) no longer holds up every other test's
// heartbeats and claims, as it did with one lock for the whole server. Databases are
// separate SQLite files, so commands on different ones never touch the same data.
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
	"strings"
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
	pg := flag.String("postgresql", "", "use FerretDB's PostgreSQL backend at this URL instead of SQLite (for benchmarks whose size SQLite cannot take: its updateMany grows with the square of the documents)")
	flag.Parse()

	if err := run(*port, *data, !*noLock, *stdinEOF, *verbose, *latency, *pg); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}

func run(port int, data string, lock, stdinEOF, verbose bool, latency time.Duration, pg string) error {
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
	config := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{Unix: sock},
		Logger:   logger,
		Handler:  "sqlite",
		// No fsync per commit (~5 ms each on CI's disk, `dd oflag=dsync`, taken under the
		// lock): a test server's data need only outlive its process (the outage tests'
		// stop and restart), not the machine.
		SQLiteURL: "file:" + absData + "/?_pragma=synchronous(OFF)",
	}
	if pg != "" {
		config.Handler, config.SQLiteURL, config.PostgreSQLURL = "postgresql", "", pg
	}
	f, err := ferretdb.New(config)
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
// under the lock of the request's database, shared by all connections.
type proxy struct {
	backend   string
	serialise bool
	latency   time.Duration

	locksMu sync.Mutex
	locks   map[string]*sync.Mutex

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
		mu := p.lockOf(databaseName(req))
		mu.Lock()
		defer mu.Unlock()
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

// lockOf is the lock of one database ("" for a request whose database cannot be told:
// they share one lock, as every request did before).
func (p *proxy) lockOf(db string) *sync.Mutex {
	p.locksMu.Lock()
	defer p.locksMu.Unlock()
	if p.locks == nil {
		p.locks = map[string]*sync.Mutex{}
	}
	mu, ok := p.locks[db]
	if !ok {
		mu = &sync.Mutex{}
		p.locks[db] = mu
	}
	return mu
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

// commandDoc is the command document of an OP_MSG (section 0) or OP_QUERY request
// (nil when it cannot tell), and for OP_QUERY the full collection name ("db.$cmd").
func commandDoc(msg []byte) (doc []byte, collection string) {
	switch binary.LittleEndian.Uint32(msg[12:16]) {
	case opMsg:
		if len(msg) < 21 || msg[20] != 0 {
			return nil, ""
		}
		return msg[21:], ""
	case opQuery:
		rest := msg[20:] // after flags
		i := bytes.IndexByte(rest, 0)
		if i < 0 || len(rest) < i+9 {
			return nil, ""
		}
		return rest[i+9:], string(rest[:i]) // after collection name, numberToSkip, numberToReturn
	default:
		return nil, ""
	}
}

// databaseName is the database a request works in: OP_MSG's top-level "$db" string,
// OP_QUERY's collection name up to its first dot; "" when it cannot tell.
func databaseName(msg []byte) string {
	doc, collection := commandDoc(msg)
	if collection != "" {
		if i := strings.IndexByte(collection, '.'); i >= 0 {
			return collection[:i]
		}
		return collection
	}
	if len(doc) < 5 {
		return ""
	}
	n := int(binary.LittleEndian.Uint32(doc[0:4]))
	if n < 5 || n > len(doc) {
		return ""
	}
	for i := 4; i < n-1; {
		kind := doc[i]
		end := bytes.IndexByte(doc[i+1:n], 0)
		if end < 0 {
			return ""
		}
		key := string(doc[i+1 : i+1+end])
		v := i + 2 + end
		size := bsonValueSize(kind, doc[v:n])
		if size < 0 {
			return ""
		}
		if key == "$db" && kind == 0x02 {
			return string(doc[v+4 : v+size-1])
		}
		i = v + size
	}
	return ""
}

// bsonValueSize is the size in bytes of a BSON value of the given type at the start
// of b, or -1 when it is malformed or of a type a command never carries.
func bsonValueSize(kind byte, b []byte) int {
	lenAt := func(extra int) int {
		if len(b) < 4 {
			return -1
		}
		n := int(int32(binary.LittleEndian.Uint32(b[0:4]))) + extra
		if n < 4 || n > len(b) {
			return -1
		}
		return n
	}
	switch kind {
	case 0x01, 0x09, 0x11, 0x12: // double, date, timestamp, int64
		return 8
	case 0x02, 0x0D, 0x0E: // string, JavaScript, symbol: int32 length, then bytes
		return lenAt(4)
	case 0x03, 0x04, 0x0F: // document, array, code with scope: the int32 counts itself
		return lenAt(0)
	case 0x05: // binary: int32 length, subtype, bytes
		return lenAt(5)
	case 0x06, 0x0A, 0xFF, 0x7F: // undefined, null, min key, max key
		return 0
	case 0x07: // ObjectId
		return 12
	case 0x08: // bool
		return 1
	case 0x10: // int32
		return 4
	case 0x13: // decimal128
		return 16
	case 0x0B: // regex: two C strings
		a := bytes.IndexByte(b, 0)
		if a < 0 {
			return -1
		}
		c := bytes.IndexByte(b[a+1:], 0)
		if c < 0 {
			return -1
		}
		return a + c + 2
	default:
		return -1
	}
}

// commandName is the first key of the command document of an OP_MSG (section 0)
// or OP_QUERY request, or "" when it cannot tell.
func commandName(msg []byte) string {
	doc, _ := commandDoc(msg)
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
