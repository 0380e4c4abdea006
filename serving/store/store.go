package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// FormatVersion is the version of the key layout and record encoding that new stores get
// (see the package doc). Stores of version 1 are read and written too, without the
// components' record flags.
const FormatVersion = 2

// MaxIDBytes is the longest identifier (contact id, anonymous id, email, event id) the store
// accepts.
const MaxIDBytes = 256

// Errors.
var (
	// ErrFormat: the directory holds a store of another format version.
	ErrFormat = errors.New("store: unsupported store format")
	// ErrNotFound: no person has that identifier.
	ErrNotFound = errors.New("store: no such contact")
	// ErrBadRecord: a record the store cannot hold (an identifier that is empty, too long or
	// contains a NUL byte).
	ErrBadRecord = errors.New("store: bad record")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("store: closed")
)

// Options configure a store. The zero value means the defaults in the comments.
type Options struct {
	// FS is the filesystem (default: the operating system's). Tests pass vfs.NewCrashableMem.
	FS vfs.FS
	// NoSync commits without waiting for the WAL sync: for bulk loads, which must call Flush
	// before they report success. Default false: every write is synced before it returns.
	NoSync bool
	// CacheBytes is pebble's block cache size (default 64 MiB).
	CacheBytes int64
	// SyncInterval is the least time between two syncs of the write-ahead log (pebble's
	// WALMinSyncInterval). A commit that finds the last sync younger than this waits for
	// the rest of it, so the commits arriving meanwhile share one sync: fewer syncs, at
	// the price of that wait. A commit still returns only once synced. Default 0: every
	// commit group syncs at once.
	SyncInterval time.Duration
	// MemTableBytes is the size of each memtable (pebble's MemTableSize; default 4 MiB).
	MemTableBytes int64
	// Logger receives pebble's own messages at debug level (nil: discarded).
	Logger *slog.Logger
}

// Store is an open live store. It is safe for concurrent use.
type Store struct {
	db   *pebble.DB
	po   *pebble.Options
	dir  string
	opts Options
	wo   *pebble.WriteOptions

	mu       sync.Mutex // serialises writers while they read and stage their batch
	nextComp uint64
	closed   bool
	// flags: the store keeps the components' record flags (component.Has) and the record
	// marks: format 2.
	flags bool
	// marked caches the record marks of identifiers that batches applied by this process
	// wrote (guarded by mu), so that an identifier's next records do not write its mark
	// again. Erase, the only writer that deletes marks, drops its identifiers from it.
	marked map[string]byte
}

// markedMax bounds the identifiers in Store.marked (19 MiB of heap for identifiers of 18
// bytes, measured); past it the cache starts again empty.
const markedMax = 1 << 18

// markEntry is a record mark (flag bit bit of identifier id) that a Txn wrote.
type markEntry struct {
	id  string
	bit byte
}

// Key prefixes (see the package doc).
const (
	formatKey = "0format"
	// indexedKey marks a store created with the outbox-by-person index (pOutboxP); stores
	// created before it erase deliveries by scanning the outbox.
	indexedKey = "0outbox-by-person"
	// stateIndexKey marks a store whose outbox-by-state index (pOutboxS) is complete; Open
	// builds the index of a store created before it.
	stateIndexKey = "0outbox-by-state"
	nextKey       = "1m/next"
	pContact      = "1c/"
	pNode         = "1n/"
	pComp         = "1g/"
	pEvent        = "1e/"
	pEventID      = "1x/"
	pTx           = "1t/"
	pIdentity     = "1l/"
	pIdentityR    = "1r/"
	pOutbox       = "1o/"
	pDue          = "1q/"
	pOutboxP      = "1p/"
	pOutboxS      = "1s/"
	pMarkE        = "1E/" // record marks (format 2), see component.Has
	pMarkT        = "1T/"
)

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Warn(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}

// Open opens (creating it when absent) the store in dir. A directory holding a store of
// another format version is refused with an error wrapping ErrFormat.
func Open(dir string, opts Options) (*Store, error) {
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cache := pebble.NewCache(opts.CacheBytes)
	defer cache.Unref()
	po := &pebble.Options{Cache: cache, FS: opts.FS, Logger: pebbleLogger{opts.Logger}}
	// Most lookups miss (a new event's dedup key, a new identifier): in levels 0 to 5,
	// bloom filters answer those without reading data blocks. Pebble's point reads skip
	// the filters of level 6 (only iterators opened with UseL6Filters read them), so in a
	// bulk-loaded store, all of it in level 6, a miss reads the data block where the key
	// would be (docs/operations.md, "Sizing").
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	if opts.MemTableBytes > 0 {
		po.MemTableSize = uint64(opts.MemTableBytes)
	}
	if d := opts.SyncInterval; d > 0 {
		po.WALMinSyncInterval = func() time.Duration { return d }
	}
	po.EnsureDefaults() // the bulk loader writes tables with these options
	db, err := pebble.Open(dir, po)
	if errors.Is(err, syscall.EAGAIN) {
		return nil, fmt.Errorf("opening store %s: in use by another process (stop propensity serve first): %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", dir, err)
	}
	s := &Store{db: db, po: po, dir: dir, opts: opts, wo: pebble.Sync}
	if opts.NoSync {
		s.wo = pebble.NoSync
	}
	if err := s.checkFormat(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.indexStates(); err != nil {
		db.Close()
		return nil, err
	}
	v, err := s.get(db, []byte(nextKey))
	if err != nil {
		db.Close()
		return nil, err
	}
	s.nextComp = 1
	if len(v) == 8 {
		s.nextComp = binary.BigEndian.Uint64(v)
	}
	return s, nil
}

func (s *Store) checkFormat() error {
	v, err := s.get(s.db, []byte(formatKey))
	if err != nil {
		return err
	}
	if v == nil {
		// A new store, or a pebble directory that is not ours: refuse the latter.
		it, err := s.db.NewIter(nil)
		if err != nil {
			return err
		}
		nonEmpty := it.First()
		it.Close()
		if nonEmpty {
			return fmt.Errorf("%w: %s holds data without a propensity format record", ErrFormat, s.dir)
		}
		b := s.db.NewBatch()
		defer b.Close()
		if err := errors.Join(b.Set([]byte(formatKey), []byte(strconv.Itoa(FormatVersion)), nil),
			b.Set([]byte(indexedKey), nil, nil), b.Set([]byte(stateIndexKey), nil, nil)); err != nil {
			return err
		}
		s.flags = true
		return b.Commit(pebble.Sync)
	}
	switch string(v) {
	case strconv.Itoa(FormatVersion):
		s.flags = true
		return nil
	case "1":
		// Version 1 lacks the record flags: every identifier of a person is read.
		return nil
	default:
		return fmt.Errorf("%w: %s is a store of format version %s; this propensity reads versions 1 and %d (export it with the propensity that wrote it, then ingest the export)",
			ErrFormat, s.dir, v, FormatVersion)
	}
}

// Close closes the store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

// Flush makes every write so far durable (after writes with Options.NoSync).
func (s *Store) Flush() error {
	return s.db.LogData(nil, pebble.Sync)
}

// Checkpoint writes a consistent copy of the store into dir, which must not exist (a backup
// that Open can read).
func (s *Store) Checkpoint(dir string) error {
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return nil
}

// DiskBytes returns the store's size on disk (sstables and WAL).
func (s *Store) DiskBytes() uint64 {
	m := s.db.Metrics()
	return m.DiskSpaceUsage()
}

func (s *Store) get(r pebble.Reader, key []byte) ([]byte, error) {
	v, c, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(v)
	c.Close()
	return out, nil
}

func key(prefix string, parts ...string) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// prefixEnd returns the smallest key after every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// checkID validates an identifier the store keys by.
func checkID(field, id string) error {
	switch {
	case len(id) > MaxIDBytes:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrBadRecord, field, MaxIDBytes)
	case strings.IndexByte(id, 0) >= 0:
		return fmt.Errorf("%w: %s contains a NUL byte", ErrBadRecord, field)
	}
	return nil
}

// component is a connected part of the identity graph.
type component struct {
	Members  []string        `json:"m"`
	Contacts []compContact   `json:"c,omitempty"`
	State    json.RawMessage `json:"s,omitempty"` // last trigger state of the person
	// Has holds, for each member (in the order of Members), which tables held records
	// under it when the component was written: hasEvents, hasTx. A person's history is
	// read by one scan per member and table, and most of those scans would find nothing
	// (an email rarely has events under it, an anonymous id never has transactions), yet
	// each costs a block read. A record stored later under a member whose flag is not set
	// also writes the member's mark ("1E/" or "1T/" id, an empty value), without reading
	// anything: a reader scans a member whose flag is set or who has a mark, and skips the
	// others. A mark that is absent costs a reader little: often no table's key range
	// holds it (a bulk-loaded store has no marks), or a bloom filter says so (levels 0 to
	// 5; in level 6 the point read reads the data block where it would be). Writing the
	// flag instead would cost each ingested event a read of its component. Nil, or not
	// one flag per member, means unknown: every member is read. Stores of format 1 keep
	// neither flags nor marks.
	Has []byte `json:"h,omitempty"`
}

// Record flags of component.Has.
const (
	hasEvents = 1 << iota
	hasTx
)

// flagged reports whether member i's flag bit is set, or the component has no flags.
func (c *component) flagged(i int, bit byte) bool {
	return len(c.Has) != len(c.Members) || c.Has[i]&bit != 0
}

// markKey returns the key of id's mark for the table of flag bit.
func markKey(bit byte, id string) []byte {
	if bit == hasEvents {
		return key(pMarkE, id)
	}
	return key(pMarkT, id)
}

type compContact struct {
	ID      string `json:"id"`
	Created int64  `json:"t,omitempty"` // unix ns; 0 when unknown
	Known   bool   `json:"k,omitempty"` // Created is set
}

// personKey returns the component's surviving contact: the earliest created (unknown last),
// ties by the smallest id; "" when the component has no contact.
func (c *component) personKey() string {
	best := -1
	for i, x := range c.Contacts {
		if best < 0 {
			best = i
			continue
		}
		b := c.Contacts[best]
		switch {
		case x.Known != b.Known:
			if x.Known {
				best = i
			}
		case x.Known && x.Created != b.Created:
			if x.Created < b.Created {
				best = i
			}
		case x.ID < b.ID:
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return c.Contacts[best].ID
}

func compKey(n uint64) []byte {
	b := make([]byte, len(pComp)+8)
	copy(b, pComp)
	binary.BigEndian.PutUint64(b[len(pComp):], n)
	return b
}

// Txn is one logical change being staged: reads see the store plus what the change has
// written so far. It is valid only during the write call that hands it out.
type Txn struct {
	s     *Store
	b     *pebble.Batch
	comps map[uint64]*component // components read or staged (nil: deleted)
	dirty map[uint64]bool       // components to write back
	g     *Group                // nil: commit waits for its own sync
	added bool                  // deliveries were staged
	marks []markEntry           // record marks written, for Store.marked once applied
	nodes map[string]uint64     // staged identifier index
	next  uint64
	now   time.Time
}

func (s *Store) begin() (*Txn, error) { return s.beginIn(nil) }

func (s *Store) beginIn(g *Group) (*Txn, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	return &Txn{s: s, b: s.db.NewIndexedBatch(), comps: map[uint64]*component{}, dirty: map[uint64]bool{},
		nodes: map[string]uint64{}, next: s.nextComp, g: g}, nil
}

// commit writes the staged components and applies the batch, then (outside the writers'
// mutex) waits for its sync (unless the store is opened with NoSync).
func (t *Txn) commit() error { return t.commitWith(!t.s.opts.NoSync) }

// commitSynced is commit with a sync whatever the store's options.
func (t *Txn) commitSynced() error { return t.commitWith(true) }

func (t *Txn) commitWith(sync bool) error {
	s := t.s
	for n := range t.dirty {
		c := t.comps[n]
		if c == nil {
			if err := t.b.Delete(compKey(n), nil); err != nil {
				return t.abort(err)
			}
			continue
		}
		if err := t.b.Set(compKey(n), marshal(c), nil); err != nil {
			return t.abort(err)
		}
	}
	if t.next != s.nextComp {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], t.next)
		if err := t.b.Set([]byte(nextKey), v[:], nil); err != nil {
			return t.abort(err)
		}
	}
	if !sync {
		err := s.db.Apply(t.b, pebble.NoSync)
		if err == nil {
			s.nextComp = t.next
			s.learnMarks(t.marks)
		}
		s.mu.Unlock()
		t.b.Close()
		return err
	}
	if err := s.db.ApplyNoSyncWait(t.b, pebble.Sync); err != nil {
		s.mu.Unlock()
		t.b.Close()
		return err
	}
	s.nextComp = t.next
	s.learnMarks(t.marks)
	s.mu.Unlock()
	if t.g != nil {
		t.g.pending = append(t.g.pending, t.b)
		t.g.notified = t.g.notified || t.added
		return nil
	}
	err := t.b.SyncWait()
	t.b.Close()
	return err
}

// learnMarks adds the marks of an applied batch to Store.marked (with s.mu held).
func (s *Store) learnMarks(ms []markEntry) {
	if len(ms) == 0 {
		return
	}
	if s.marked == nil || len(s.marked) >= markedMax {
		s.marked = make(map[string]byte)
	}
	for _, m := range ms {
		s.marked[m.id] |= m.bit
	}
}

func (t *Txn) abort(err error) error {
	t.s.mu.Unlock()
	t.b.Close()
	return err
}

// node returns the component of identifier id (0 when it has none).
func (t *Txn) node(id string) (uint64, error) {
	if n, ok := t.nodes[id]; ok {
		return n, nil
	}
	v, err := t.s.get(t.b, key(pNode, id))
	if err != nil || len(v) != 8 {
		return 0, err
	}
	return binary.BigEndian.Uint64(v), nil
}

func (t *Txn) setNode(id string, n uint64) error {
	t.nodes[id] = n
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], n)
	return t.b.Set(key(pNode, id), v[:], nil)
}

func (t *Txn) comp(n uint64) (*component, error) {
	if c, ok := t.comps[n]; ok {
		return c, nil
	}
	v, err := t.s.get(t.b, compKey(n))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("store: identifier index points to missing component %d", n)
	}
	c := new(component)
	if err := json.Unmarshal(v, c); err != nil {
		return nil, fmt.Errorf("store: component %d: %w", n, err)
	}
	t.comps[n] = c
	return c, nil
}

// ensure returns id's component, creating a component of its own when it has none.
func (t *Txn) ensure(id string) (uint64, error) {
	n, err := t.node(id)
	if err != nil || n != 0 {
		return n, err
	}
	c := &component{Members: []string{id}}
	if t.s.flags {
		// Records may be stored under id already (an anonymous id's events before it met
		// another identifier).
		has, err := t.recordFlags(id)
		if err != nil {
			return 0, err
		}
		c.Has = []byte{has}
	}
	n = t.next
	t.next++
	t.comps[n] = c
	t.dirty[n] = true
	return n, t.setNode(id, n)
}

// recordFlags returns the flags (hasEvents, hasTx) of the tables that hold records under id,
// as staged.
func (t *Txn) recordFlags(id string) (byte, error) {
	var has byte
	for _, x := range [...]struct {
		prefix string
		bit    byte
	}{{pEvent, hasEvents}, {pTx, hasTx}} {
		lo := key(x.prefix, id, "")
		it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
		if err != nil {
			return 0, err
		}
		if it.First() {
			has |= x.bit
		}
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return 0, err
		}
	}
	return has, nil
}

// mark writes id's mark for the table of flag bit (hasEvents, hasTx), when the store keeps
// flags: a record was just staged under id (see component.Has).
func (t *Txn) mark(id string, bit byte) error {
	if !t.s.flags || t.s.marked[id]&bit != 0 {
		return nil
	}
	t.marks = append(t.marks, markEntry{id, bit})
	return t.b.Set(markKey(bit, id), nil, nil)
}

// union links identifiers a and b and returns their component.
func (t *Txn) union(a, b string) (uint64, error) {
	na, err := t.ensure(a)
	if err != nil {
		return 0, err
	}
	nb, err := t.ensure(b)
	if err != nil || na == nb {
		return na, err
	}
	ca, err := t.comp(na)
	if err != nil {
		return 0, err
	}
	cb, err := t.comp(nb)
	if err != nil {
		return 0, err
	}
	// The smaller component's identifiers move (each identifier moves O(log n) times).
	if len(ca.Members) < len(cb.Members) {
		na, nb, ca, cb = nb, na, cb, ca
	}
	keyA, keyB := ca.personKey(), cb.personKey()
	for _, m := range cb.Members {
		if err := t.setNode(m, na); err != nil {
			return 0, err
		}
	}
	if len(ca.Has) == len(ca.Members) && len(cb.Has) == len(cb.Members) {
		ca.Has = append(ca.Has, cb.Has...)
	} else {
		ca.Has = nil // unknown
	}
	ca.Members = append(ca.Members, cb.Members...)
	ca.Contacts = append(ca.Contacts, cb.Contacts...)
	// The merged person keeps the trigger state of the person whose key survives.
	if k := ca.personKey(); k != keyA && k == keyB {
		ca.State = cb.State
	} else if keyA == "" {
		ca.State = cb.State
	}
	t.comps[nb] = nil
	t.dirty[na], t.dirty[nb] = true, true
	return na, nil
}

// Person returns the key of the person that identifier id belongs to, as staged ("" when
// it belongs to none).
func (t *Txn) Person(id string) (string, error) {
	n, err := t.node(id)
	if err != nil || n == 0 {
		return "", err
	}
	c, err := t.comp(n)
	if err != nil {
		return "", err
	}
	return c.personKey(), nil
}

// History reads the person of identifier id as staged, as Store.ScoreHistory does (what
// scoring reads).
func (t *Txn) History(id string) (*History, error) {
	n, err := t.node(id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, ErrNotFound
	}
	c, err := t.comp(n)
	if err != nil {
		return nil, err
	}
	return readHistory(t.b, c, false)
}

// State returns the stored trigger state of id's person (nil when none).
func (t *Txn) State(id string) (json.RawMessage, error) {
	n, err := t.node(id)
	if err != nil || n == 0 {
		return nil, err
	}
	c, err := t.comp(n)
	if err != nil {
		return nil, err
	}
	return c.State, nil
}

// SetState stores the trigger state of id's person.
func (t *Txn) SetState(id string, state json.RawMessage) error {
	n, err := t.node(id)
	if err != nil || n == 0 {
		return err
	}
	c, err := t.comp(n)
	if err != nil {
		return err
	}
	c.State = slices.Clone(state)
	t.dirty[n] = true
	return nil
}

// Hook is called inside a write, after the record is staged, with the identifier the record
// belongs to; what it writes through the Txn commits in the same batch. A hook error aborts
// the write.
type Hook func(t *Txn, id string) error

// Result says what a write did.
type Result struct {
	// Duplicate: the record was already stored; nothing changed.
	Duplicate bool
}

// write runs one logical change: stage, then hook, then commit.
func (s *Store) write(g *Group, stage func(t *Txn) (id string, dup bool, err error), hook Hook) (Result, error) {
	if g != nil && g.bulk > 0 {
		return g.bulkWrite(stage, hook)
	}
	if g != nil && g.one {
		return g.oneWrite(stage)
	}
	t, err := s.beginIn(g)
	if err != nil {
		return Result{}, err
	}
	id, dup, err := stage(t)
	if err != nil {
		return Result{}, t.abort(err)
	}
	if dup {
		return Result{Duplicate: true}, t.abort(nil)
	}
	if hook != nil && id != "" {
		if err := hook(t, id); err != nil {
			return Result{}, t.abort(err)
		}
	}
	return Result{}, t.commit()
}

// PutContact inserts or updates a contact: the fields it sets replace the stored ones, and
// attributes set to nil are removed. A contact's email links it with that email's events.
// Links are never undone but by erasure: when an upsert changes the email, the old one stays
// linked to the contact, and the store records that link as an identity row (id_a the
// contact, id_b the old email, no time) that exports carry.
func (s *Store) PutContact(c Contact, hook Hook) (Result, error) {
	return s.putContact(c, hook, nil)
}

// checkContact checks a contact's identifiers.
func checkContact(c *Contact) error {
	if c.ContactID == "" {
		return fmt.Errorf("%w: contact_id is required", ErrBadRecord)
	}
	return errors.Join(checkID("contact_id", c.ContactID), checkID("email", c.Email))
}

// newContact is the stored row of a contact seen for the first time: attributes set to nil
// are left out.
func newContact(c Contact) Contact {
	attrs := map[string]any{}
	for k, a := range c.Attributes {
		if a != nil {
			attrs[k] = a
		}
	}
	c.Attributes = attrs
	return c
}

func (s *Store) putContact(c Contact, hook Hook, g *Group) (Result, error) {
	if err := checkContact(&c); err != nil {
		return Result{}, err
	}
	return s.write(g, func(t *Txn) (string, bool, error) {
		var old Contact
		v, err := s.get(t.b, key(pContact, c.ContactID))
		if err != nil {
			return "", false, err
		}
		merged := c
		if v != nil {
			if err := json.Unmarshal(v, &old); err != nil {
				return "", false, fmt.Errorf("store: contact record: %w", err)
			}
			merged = mergeContact(old, c)
		} else {
			merged = newContact(c)
		}
		if v != nil && bytes.Equal(v, marshal(merged)) {
			return "", true, nil
		}
		if err := t.b.Set(key(pContact, c.ContactID), marshal(merged), nil); err != nil {
			return "", false, err
		}
		if r, ok := retainedLink(old, merged); ok {
			// The old email stays linked; an identity row records the link, so that exports
			// (and batch jobs on them) see the person the store sees, and erasure finds it.
			k, rk, err := identityKeys(&r)
			if err == nil {
				err = errors.Join(t.b.Set(k, marshal(r), nil), t.b.Set(rk, nil, nil))
			}
			if err != nil {
				return "", false, err
			}
		}
		n, err := t.ensure(c.ContactID)
		if err != nil {
			return "", false, err
		}
		if merged.Email != "" {
			if n, err = t.union(c.ContactID, merged.Email); err != nil {
				return "", false, err
			}
		}
		comp, err := t.comp(n)
		if err != nil {
			return "", false, err
		}
		cc := compContact{ID: c.ContactID}
		if !merged.CreatedAt.IsZero() {
			cc.Created, cc.Known = merged.CreatedAt.UnixNano(), true
		}
		t.dirty[n] = true
		i := slices.IndexFunc(comp.Contacts, func(x compContact) bool { return x.ID == c.ContactID })
		if i < 0 {
			comp.Contacts = append(comp.Contacts, cc)
		} else {
			comp.Contacts[i] = cc
		}
		return c.ContactID, false, nil
	}, hook)
}

// retainedLink returns the identity row that keeps a contact's old email linked when an
// upsert changes it (see PutContact).
func retainedLink(old, merged Contact) (Identity, bool) {
	if old.Email == "" || merged.Email == old.Email {
		return Identity{}, false
	}
	return Identity{IDA: merged.ContactID, IDB: old.Email}, true
}

// mergeContact applies an upsert to a stored contact.
func mergeContact(old, c Contact) Contact {
	out := old
	if !c.CreatedAt.IsZero() {
		out.CreatedAt = c.CreatedAt
	}
	if c.Email != "" {
		out.Email = c.Email
	}
	if c.Stage != "" {
		out.Stage = c.Stage
	}
	if !c.StageSince.IsZero() {
		out.StageSince = c.StageSince
	}
	attrs := make(map[string]any, len(old.Attributes)+len(c.Attributes))
	for k, v := range old.Attributes {
		attrs[k] = v
	}
	for k, v := range c.Attributes {
		if v == nil {
			delete(attrs, k)
		} else {
			attrs[k] = v
		}
	}
	out.Attributes = attrs
	return out
}

// PutEvent stores an event, once: an event whose event_id (or, without one, whose content)
// is already stored is a duplicate. An event carrying two or more of contact_id,
// anonymous_id and email links them.
func (s *Store) PutEvent(e Event, hook Hook) (Result, error) {
	return s.putEvent(e, hook, nil)
}

// eventKey checks an event's identifiers (and puts its time in UTC); it returns the event's
// attribution key and its store key.
func eventKey(e *Event) (string, []byte, error) {
	k := e.Key()
	if k == "" {
		return "", nil, fmt.Errorf("%w: an event needs contact_id, anonymous_id or email", ErrBadRecord)
	}
	if err := errors.Join(checkID("event_id", e.EventID), checkID("contact_id", e.ContactID),
		checkID("anonymous_id", e.AnonymousID), checkID("email", e.Email)); err != nil {
		return "", nil, err
	}
	e.TS = e.TS.UTC()
	h := e.hash()
	tk := timeKey(e.TS)
	return k, key(pEvent, k, string(tk[:])+string(h[:])), nil
}

// eventIDs returns the non-empty identifiers of an event, in link order.
func (e *Event) ids() []string {
	ids := make([]string, 0, 3)
	for _, id := range [...]string{e.ContactID, e.AnonymousID, e.Email} {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

func (s *Store) putEvent(e Event, hook Hook, g *Group) (Result, error) {
	k, ek, err := eventKey(&e)
	if err != nil {
		return Result{}, err
	}
	return s.write(g, func(t *Txn) (string, bool, error) {
		dupKey := ek
		if e.EventID != "" {
			dupKey = key(pEventID, e.EventID)
		}
		v, err := s.get(t.b, dupKey)
		if err != nil {
			return "", false, err
		}
		if v != nil {
			return "", true, nil
		}
		if err := t.b.Set(ek, encodeEvent(&e), nil); err != nil {
			return "", false, err
		}
		if e.EventID != "" {
			if err := t.b.Set(dupKey, ek, nil); err != nil {
				return "", false, err
			}
		}
		ids := e.ids()
		for i := 1; i < len(ids); i++ {
			if _, err := t.union(ids[0], ids[i]); err != nil {
				return "", false, err
			}
		}
		return k, false, t.mark(k, hasEvents)
	}, hook)
}

// PutTransaction stores a transaction, once (a row equal in every column is a duplicate).
func (s *Store) PutTransaction(x Transaction, hook Hook) (Result, error) {
	return s.putTransaction(x, hook, nil)
}

// txKey checks a transaction (and puts its time in UTC); it returns its store key.
func txKey(x *Transaction) ([]byte, error) {
	if x.ContactID == "" {
		return nil, fmt.Errorf("%w: contact_id is required", ErrBadRecord)
	}
	if err := checkID("contact_id", x.ContactID); err != nil {
		return nil, err
	}
	x.TS = x.TS.UTC()
	h := x.hash()
	tk := timeKey(x.TS)
	return key(pTx, x.ContactID, string(tk[:])+string(h[:])), nil
}

func (s *Store) putTransaction(x Transaction, hook Hook, g *Group) (Result, error) {
	k, err := txKey(&x)
	if err != nil {
		return Result{}, err
	}
	return s.write(g, func(t *Txn) (string, bool, error) {
		v, err := s.get(t.b, k)
		if err != nil || v != nil {
			return "", v != nil, err
		}
		if err := t.b.Set(k, encodeTransaction(&x), nil); err != nil {
			return "", false, err
		}
		return x.ContactID, false, t.mark(x.ContactID, hasTx)
	}, hook)
}

// PutIdentity stores an identity row and links its two identifiers.
func (s *Store) PutIdentity(r Identity, hook Hook) (Result, error) {
	return s.putIdentity(r, hook, nil)
}

// identityKeys checks an identity row (and puts its time in UTC); it returns its store key
// and the key of its reverse index entry.
func identityKeys(r *Identity) (k, rk []byte, err error) {
	if r.IDA == "" || r.IDB == "" {
		return nil, nil, fmt.Errorf("%w: id_a and id_b are required", ErrBadRecord)
	}
	if err := errors.Join(checkID("id_a", r.IDA), checkID("id_b", r.IDB)); err != nil {
		return nil, nil, err
	}
	r.TS = r.TS.UTC()
	tk := ""
	if !r.TS.IsZero() {
		b := timeKey(r.TS)
		tk = string(b[:])
	}
	return key(pIdentity, r.IDA, r.IDB, tk), key(pIdentityR, r.IDB, r.IDA, tk), nil
}

func (s *Store) putIdentity(r Identity, hook Hook, g *Group) (Result, error) {
	k, rk, err := identityKeys(&r)
	if err != nil {
		return Result{}, err
	}
	return s.write(g, func(t *Txn) (string, bool, error) {
		v, err := s.get(t.b, k)
		if err != nil || v != nil {
			return "", v != nil, err
		}
		if err := t.b.Set(k, marshal(r), nil); err != nil {
			return "", false, err
		}
		if err := t.b.Set(rk, nil, nil); err != nil {
			return "", false, err
		}
		_, err = t.union(r.IDA, r.IDB)
		return r.IDA, false, err
	}, hook)
}

// Group commits several logical changes, each its own batch, and waits for their syncs
// together (Wait): one request's records share one fsync. Not safe for concurrent use.
type Group struct {
	s        *Store
	pending  []*pebble.Batch
	notified bool

	bulk int  // > 0: a bulk group, changes staged in one batch of up to bulk records
	t    *Txn // the open bulk batch, or the batch of a Batch group
	n    int  // records in it

	one  bool            // a Batch group: every change in one batch, hook per person at Wait
	hook Hook            // the Batch group's hook
	ids  []string        // identifiers the Batch group's changes belong to, in order
	seen map[string]bool // ids, as a set
	// quiet: the change being staged does not queue its person for the hook
	// (PutEventUnscored).
	quiet bool
}

// PutEventUnscored is PutEvent in a Batch group without running the group's hook for the
// event's person (unless another change of the group queues it): for an event that cannot
// change what the hook looks at.
func (g *Group) PutEventUnscored(e Event) (Result, error) {
	g.quiet = true
	defer func() { g.quiet = false }()
	return g.s.putEvent(e, nil, g)
}

// Batch returns a group whose changes share one batch, committed and synced by Wait. hook,
// when not nil, runs once per person that the changes touched, after every change is
// staged and before the commit: a request carrying several records of one person re-scores
// it once, and whatever the hook stages (a transition's outbox records) commits in the batch
// of the records that caused it. The hooks passed to the group's Put methods are ignored.
// The group holds the writers' mutex from its first change to Wait, so callers decode their
// records before they stage them. A change that fails aborts the batch: none of the group's
// changes is then applied. Not safe for concurrent use.
func (s *Store) Batch(hook Hook) *Group {
	return &Group{s: s, one: true, hook: hook, seen: map[string]bool{}}
}

// begin opens the group's transaction when none is open.
func (g *Group) begin() error {
	if g.t != nil {
		return nil
	}
	t, err := g.s.begin()
	if err != nil {
		return err
	}
	g.t = t
	return nil
}

func (g *Group) oneWrite(stage func(t *Txn) (id string, dup bool, err error)) (Result, error) {
	if err := g.begin(); err != nil {
		return Result{}, err
	}
	id, dup, err := stage(g.t)
	if err != nil {
		t := g.t
		g.t, g.ids, g.seen = nil, nil, map[string]bool{}
		return Result{}, t.abort(err)
	}
	if dup {
		return Result{Duplicate: true}, nil
	}
	if id != "" && !g.quiet && !g.seen[id] {
		g.seen[id] = true
		g.ids = append(g.ids, id)
	}
	return Result{}, nil
}

// waitOne runs the Batch group's hook once per person and commits its batch.
func (g *Group) waitOne() error {
	t := g.t
	ids := g.ids
	g.t, g.ids, g.seen = nil, nil, map[string]bool{}
	if t == nil {
		return nil
	}
	if g.hook != nil {
		done := map[uint64]bool{}
		for _, id := range ids {
			n, err := t.node(id)
			if err != nil {
				return t.abort(err)
			}
			if n == 0 || done[n] {
				continue
			}
			done[n] = true
			if err := g.hook(t, id); err != nil {
				return t.abort(err)
			}
		}
	}
	g.notified = g.notified || t.added
	return t.commit()
}

// BulkGroup returns a group for bulk loads: up to n records share one batch, committed
// without a sync; Wait commits the last one and syncs. The group holds the writers' mutex
// while a batch is open, so other writers wait: use it alone (propensity ingest).
func (s *Store) BulkGroup(n int) *Group { return &Group{s: s, bulk: max(1, n)} }

func (g *Group) bulkWrite(stage func(t *Txn) (id string, dup bool, err error), hook Hook) (Result, error) {
	if err := g.begin(); err != nil {
		return Result{}, err
	}
	id, dup, err := stage(g.t)
	if err == nil && !dup && hook != nil && id != "" {
		err = hook(g.t, id)
	}
	if err != nil {
		t := g.t
		g.t, g.n = nil, 0
		return Result{}, t.abort(err)
	}
	if dup {
		return Result{Duplicate: true}, nil
	}
	if g.n++; g.n >= g.bulk {
		t := g.t
		g.t, g.n = nil, 0
		return Result{}, t.commitWith(false)
	}
	return Result{}, nil
}

// Group returns an empty group of writes.
func (s *Store) Group() *Group { return &Group{s: s} }

// PutContact is Store.PutContact without waiting for the sync.
func (g *Group) PutContact(c Contact, hook Hook) (Result, error) { return g.s.putContact(c, hook, g) }

// PutEvent is Store.PutEvent without waiting for the sync.
func (g *Group) PutEvent(e Event, hook Hook) (Result, error) { return g.s.putEvent(e, hook, g) }

// PutTransaction is Store.PutTransaction without waiting for the sync.
func (g *Group) PutTransaction(x Transaction, hook Hook) (Result, error) {
	return g.s.putTransaction(x, hook, g)
}

// PutIdentity is Store.PutIdentity without waiting for the sync.
func (g *Group) PutIdentity(r Identity, hook Hook) (Result, error) {
	return g.s.putIdentity(r, hook, g)
}

// Wait returns once every change of the group is synced (the first sync error, if any).
func (g *Group) Wait() error {
	if g.one {
		return g.waitOne()
	}
	if g.bulk > 0 {
		if g.t != nil {
			t := g.t
			g.t, g.n = nil, 0
			if err := t.commitWith(false); err != nil {
				return err
			}
		}
		return g.s.Flush()
	}
	var first error
	for _, b := range g.pending {
		if err := b.SyncWait(); err != nil && first == nil {
			first = err
		}
		b.Close()
	}
	g.pending = g.pending[:0]
	return first
}

// Notified reports whether a change of the group staged deliveries.
func (g *Group) Notified() bool { return g.notified }

// Recheck runs hook on the person of identifier id without a record (the trigger sweep) and
// commits what it staged, synced; wrote reports whether it staged deliveries.
// ErrNotFound when id is unknown.
func (s *Store) Recheck(id string, hook Hook) (wrote bool, err error) {
	t, err := s.begin()
	if err != nil {
		return false, err
	}
	n, err := t.node(id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err == nil {
		err = hook(t, id)
	}
	if err != nil {
		return false, t.abort(err)
	}
	if t.b.Empty() && len(t.dirty) == 0 {
		return false, t.abort(nil)
	}
	return t.added, t.commit()
}
