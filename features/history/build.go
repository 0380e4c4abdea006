package history

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/progress"
)

// history is the state shared by the batch passes: the identity graph, the contacts and the
// people they form. Its size grows with identifiers and people, not with events.
type history struct {
	dir      string
	opts     features.Options
	asOf     int64
	hEnd     int64
	halfLife float64
	rep      *Report
	quiet    bool // do not report files (a pass that re-reads them)
	workers  int  // goroutines decoding row groups (and folding people)

	ids    *idTable // identifier → node
	parent []int32  // union-find forest over nodes

	// contacts, by row (first row of each contact_id); a contact's id is its node's key
	cNode       []int32
	cCreated    []int64
	cStage      codes
	cStageSince []int64
	cEmail      []int32     // node of the email, -1 for none; only with keepEmail
	keepEmail   bool        // the people walk hands the email to scorecards as an attribute
	attrNum     [][]float64 // [attribute][contact], numeric attributes (nil for categorical ones)
	attrCat     []codes     // [attribute], categorical attributes (empty for numeric ones)

	// people
	nodePerson []int32  // node → person, -1 when not a person's
	pContact   []int32  // person → surviving contact row
	mergedOff  []int32  // person p's other contact ids are merged[mergedOff[p]:mergedOff[p+1]]
	merged     []string // sorted within each person
}

func newHistory(dir string, opts features.Options, rep *Report) *history {
	return &history{dir: dir, opts: opts, asOf: features.Nanos(opts.AsOf), hEnd: features.Nanos(opts.AsOf.Add(opts.Horizon)),
		halfLife: float64(opts.HalfLife), rep: rep, ids: newIDTable(), workers: runtime.GOMAXPROCS(0)}
}

// reserveParents makes room for n nodes in the union-find forest, read at random by the
// links and the numbering, in memory advised to huge pages (adviseHuge).
func (h *history) reserveParents(n int) {
	if n <= cap(h.parent) {
		return
	}
	p := make([]int32, len(h.parent), n)
	adviseHuge(p[:n])
	copy(p, h.parent)
	h.parent = p
}

func (h *history) node(id []byte) int32 {
	n := h.ids.add(id)
	if int(n) == len(h.parent) {
		h.parent = append(h.parent, n)
	}
	return n
}

// cid is contact row c's contact_id.
func (h *history) cid(c int32) string { return h.ids.key(h.cNode[c]) }

// attr is attribute a of contact row c: a number (NaN for none) or a category ("" for none).
func (h *history) attr(a int, c int32) (float64, string) {
	if h.opts.Attributes[a].Categorical {
		return math.NaN(), h.attrCat[a].at(c)
	}
	return h.attrNum[a][c], ""
}

// email is contact row c's email, "" for none; only with keepEmail.
func (h *history) email(c int32) string {
	if h.cEmail[c] < 0 {
		return ""
	}
	return h.ids.key(h.cEmail[c])
}

// mergedIDs are the contact ids of person p other than its surviving one, sorted.
func (h *history) mergedIDs(p int) []string {
	m := h.merged[h.mergedOff[p]:h.mergedOff[p+1]]
	if len(m) == 0 {
		return nil
	}
	return m[:len(m):len(m)]
}

func (h *history) find(x int32) int32 {
	p := h.parent
	for p[x] != x {
		p[x] = p[p[x]]
		x = p[x]
	}
	return x
}

func (h *history) union(a, b int32) {
	ra, rb := h.find(a), h.find(b)
	if ra == rb {
		return
	}
	if ra < rb {
		h.parent[rb] = ra
	} else {
		h.parent[ra] = rb
	}
}

// person returns the person an identifier belongs to, or -1.
func (h *history) person(id []byte) int32 {
	n, ok := h.ids.lookup(id)
	if !ok {
		return -1
	}
	return h.nodePerson[n]
}

// fileStats accumulates a FileReport.
type fileStats struct {
	FileReport
}

func (f *fileStats) bad(reason string) {
	if f.Bad == nil {
		f.Bad = map[string]int64{}
	}
	f.Bad[reason]++
}

func (h *history) done(f *fileStats) {
	h.rep.Files = append(h.rep.Files, f.FileReport)
	for _, n := range f.Bad {
		h.rep.BadRows += n
	}
}

// scan opens every part file of a history file, checks the columns of check, and calls fn for
// each run of rows of the columns of read. A missing history file is not an error unless
// required.
func (h *history) scan(ctx context.Context, name string, required bool, check, read []colSpec, fn func(p *pqFile, st *fileStats, views []vec, n int) error) error {
	return h.scanFile(ctx, name, required, false, check, read, fn)
}

// scanFile is scan, with each column's pages read ahead of fn when ahead is set (pagesAhead).
func (h *history) scanFile(ctx context.Context, name string, required, ahead bool, check, read []colSpec, fn func(p *pqFile, st *fileStats, views []vec, n int) error) error {
	path := filepath.Join(h.dir, name)
	parts, ok, err := partFiles(path)
	if err != nil {
		return err
	}
	if !ok {
		if required {
			return &FileError{File: path, Err: fmt.Errorf("%w: required history file is missing", ErrEmptyDir)}
		}
		return nil
	}
	bar := progress.Start(ctx, "reading "+name, -1, "rows")
	defer bar.Done()
	for _, part := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if check != nil {
			p, err := openParquet(part, check)
			if err != nil {
				return err
			}
			p.Close()
		}
		p, err := openParquet(part, read)
		if err != nil {
			return err
		}
		st := &fileStats{FileReport{File: part}}
		it := newRowIter(p)
		it.ahead = ahead
		for {
			n, err := it.next()
			if err != nil {
				it.close()
				p.Close()
				return err
			}
			if n == 0 {
				break
			}
			st.Rows += int64(n)
			bar.Add(int64(n))
			if n = dropRejected(p.cols, st, it.views, n); n == 0 {
				continue
			}
			if err := fn(p, st, it.views, n); err != nil {
				it.close()
				p.Close()
				return err
			}
			if err := ctx.Err(); err != nil {
				it.close()
				p.Close()
				return err
			}
		}
		it.close()
		p.Close()
		if !h.quiet {
			h.done(st)
		}
	}
	return nil
}

// str returns the i-th value of a string vec, nil for null, empty or absent.
func str(v *vec, i int) []byte {
	if v.str == nil || !v.valid[i] {
		return nil
	}
	return v.str[i]
}

// contactSpecs are the columns of the contacts file that are not attributes.
func contactSpecs(m features.ContactColumns) []colSpec {
	return []colSpec{
		{m.ContactID, wantString, true},
		{m.CreatedAt, wantTime, false},
		{m.Email, wantString, false},
		{m.Stage, wantString, false},
		{m.StageSince, wantTime, false},
	}
}

// contactAttributes discovers the attributes of the contacts file from its first part file:
// every other column Build can read as a number or a string. Timestamps, nested (LIST,
// STRUCT, MAP), decimal, interval and other fixed-size columns are not attributes; they come
// back as ignored, for the report to say so rather than drop them unseen. attrs is not nil.
func (h *history) contactAttributes(base []colSpec) (attrs []features.Attribute, ignored []IgnoredColumn, err error) {
	file := filepath.Join(h.dir, h.opts.Mapping.Contacts.File)
	parts, ok, err := partFiles(file)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, &FileError{File: file, Err: fmt.Errorf("%w: required history file is missing", ErrEmptyDir)}
	}
	p, err := openParquet(parts[0], base)
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	attrs = []features.Attribute{}
	for _, fld := range p.other {
		if fld.Leaf() && !fld.Repeated() {
			if c, _, ok := chooseConv(fld.Type(), wantAny); ok {
				attrs = append(attrs, features.Attribute{Name: fld.Name(), Categorical: c.isStr()})
				continue
			}
		}
		ignored = append(ignored, IgnoredColumn{File: parts[0], Column: fld.Name(),
			Found: describeField(fld), Expected: wantAny.String()})
	}
	return attrs, ignored, nil
}

// contactID returns the contact_id of row i of a contacts batch read with contactSpecs. A null
// id, or one in seen, is counted in st and gives ok false; the caller adds the ids it keeps
// to seen.
func (h *history) contactID(v []vec, i int, st *fileStats, seen map[string]bool) (id []byte, ok bool) {
	m := &h.opts.Mapping.Contacts
	id = str(&v[0], i)
	if len(id) == 0 {
		st.bad("null " + m.ContactID)
		return nil, false
	}
	if seen[string(id)] {
		st.bad("duplicate " + m.ContactID)
		return nil, false
	}
	return id, true
}

// contactNode is contactID for readContacts, which keeps the ids it has seen as identifier
// nodes rather than in a set: it returns the id's node, numbering it if it is new, and
// refuses the id of a contact row kept before (isContact, by node). A set beside the
// identifier map cost a second map insert and lookup per contact, on one goroutine: 1 s of
// the 5 s that reading a million contacts takes. One add, not a lookup and then an add,
// finds or numbers the id: a row refused afterwards (a non-finite attribute) leaves a node
// no contact has, which is no one's person, as an event's or an identity's id would.
func (h *history) contactNode(v []vec, i int, st *fileStats, isContact []bool) (node int32, ok bool) {
	id, ok := h.contactID(v, i, st, nil)
	if !ok {
		return -1, false
	}
	n := h.node(id)
	if int(n) < len(isContact) && isContact[n] {
		st.bad("duplicate " + h.opts.Mapping.Contacts.ContactID)
		return -1, false
	}
	return n, true
}

// readContacts reads the contacts file: ids, created_at, email links, stage, attributes.
func (h *history) readContacts(ctx context.Context) error {
	m := h.opts.Mapping.Contacts
	base := contactSpecs(m)
	if h.opts.Attributes == nil {
		attrs, ignored, err := h.contactAttributes(base)
		if err != nil {
			return err
		}
		h.rep.IgnoredColumns = append(h.rep.IgnoredColumns, ignored...)
		h.opts.Attributes = attrs
	}
	specs := base
	for _, a := range h.opts.Attributes {
		specs = append(specs, colSpec{a.Name, wantAny, false})
	}
	h.attrNum = make([][]float64, len(h.opts.Attributes))
	h.attrCat = make([]codes, len(h.opts.Attributes))
	h.cStage = newCodes(0)
	for a, at := range h.opts.Attributes {
		if at.Categorical {
			h.attrCat[a] = newCodes(0)
		}
	}
	var isContact []bool // by identifier node: the id of a contact row kept (contactNode)
	var sized *pqFile
	var keep []bool // the batch's rows kept
	var wm warmer   // reads the numbering's slots ahead
	// The pages are read ahead of the numbering (pagesAhead): on its goroutine, reading them
	// was part of the longest stretch of the read. (1M contacts on two cores: 1.78 s without,
	// 1.54 s with, medians of five alternating runs; docs/operations.md.)
	err := h.scanFile(ctx, m.File, true, true, nil, specs, func(p *pqFile, st *fileStats, v []vec, n int) error {
		grow := 0 // the rows of a new part file, to make room for at once
		if p != sized {
			sized = p
			grow = int(p.pf.NumRows())
			h.ids.reserve(h.ids.len() + 2*grow) // a contact_id and an email a row
			h.reserveParents(h.ids.len() + 2*grow)
			h.cNode = slices.Grow(h.cNode, grow)
			if h.keepEmail {
				h.cEmail = slices.Grow(h.cEmail, grow)
			}
		}
		// The rows are read in two passes that run side by side: this goroutine numbers the
		// identifiers (the contact_id and email nodes, whose numbering follows the file's
		// order) and settles which rows are kept, while others store the kept rows' times,
		// stages and attributes, a chunk of rows behind it. On one goroutine, this was 2.5 s
		// of a 16 s feature run at a million contacts on two cores, with the other core idle.
		keep = slices.Grow(keep[:0], n)[:n]
		// The values are stored by valueParts goroutines, each its own attributes (the first
		// also the times and stages): at ten million contacts one goroutine storing them
		// all (12.7 s of CPU, against the numbering's 15.6 s) held up the read.
		chunks := make([]chan int, valueParts)
		var wg sync.WaitGroup
		for part := range chunks {
			chunks[part] = make(chan int, n/contactChunk+1)
			// Each part appends to copies of the slices (their headers side by side would
			// share cache lines between the goroutines), put back when it ends.
			c := &contactCols{part: part, cat: slices.Clone(h.attrCat), num: slices.Clone(h.attrNum)}
			if part == 0 {
				c.created, c.stage, c.since = h.cCreated, h.cStage, h.cStageSince
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if grow > 0 {
					// The values' room is made here, beside the numbering: on the numbering's
					// goroutine it held up the whole read, 2.9 s at ten million contacts
					// (the new memory's first touch).
					c.grow(h.opts.Attributes, grow)
				}
				lo := 0
				for hi := range chunks[part] {
					for i := lo; i < hi; i++ {
						if keep[i] {
							c.add(h.opts.Attributes, p, v, len(base), i)
						}
					}
					lo = hi
				}
				for a := range h.opts.Attributes {
					if a%valueParts == part {
						h.attrCat[a], h.attrNum[a] = c.cat[a], c.num[a]
					}
				}
				if part == 0 {
					h.cCreated, h.cStage, h.cStageSince = c.created, c.stage, c.since
				}
			}()
		}
		for i := range n {
			if i%warmWindow == 0 {
				// Each row's contact id and email are new identifiers, placed at random
				// slots of the table: reading a window's slots ahead lets their cache
				// misses overlap (idTable.warm). With the values off this goroutine, the
				// numbering is the read's longest stretch.
				h.warmRows(&wm, i, n, &v[0], &v[2])
			}
			keep[i] = false
			if nd, ok := h.contactNode(v, i, st, isContact); ok {
				if a := nonFiniteAttribute(h.opts.Attributes, p.cols[len(base):], v[len(base):], i); a != "" {
					st.bad("non-finite " + a) // a text column of a numeric attribute saying "Infinity"
				} else {
					if grow := len(h.parent) - len(isContact); grow > 0 { // nodes made since the last row
						isContact = append(isContact, make([]bool, grow)...)
					}
					isContact[nd] = true
					h.cNode = append(h.cNode, nd)
					if e := str(&v[2], i); len(e) > 0 {
						en := h.node(e)
						h.union(nd, en)
						if h.keepEmail {
							h.cEmail = append(h.cEmail, en)
						}
					} else if h.keepEmail {
						h.cEmail = append(h.cEmail, -1)
					}
					keep[i] = true
				}
			}
			if (i+1)%contactChunk == 0 || i == n-1 {
				for _, ch := range chunks {
					ch <- i + 1
				}
			}
		}
		for _, ch := range chunks {
			close(ch)
		}
		wg.Wait()
		h.rep.Contacts += int64(n)
		return nil
	})
	h.cStage.done()
	for a := range h.attrCat {
		h.attrCat[a].done()
	}
	return err
}

// sortParallel sorts s by cmp, which orders no two elements equal, on up to workers
// goroutines: runs sorted side by side, then merged pairwise, the merges of a round side by
// side. It returns the sorted slice, s or a new one. Sorting ten million contact ids on one
// goroutine took 6.8 s of identity stitching (CPU profile), with the other cores idle.
func sortParallel[T any](s []T, cmp func(a, b T) int, workers int) []T {
	const minRun = 1 << 14
	k := max(1, min(workers, len(s)/minRun))
	if k == 1 {
		slices.SortFunc(s, cmp)
		return s
	}
	runs := make([][]T, k)
	var wg sync.WaitGroup
	for i := range k {
		runs[i] = s[len(s)*i/k : len(s)*(i+1)/k]
		wg.Add(1)
		go func() {
			defer wg.Done()
			slices.SortFunc(runs[i], cmp)
		}()
	}
	wg.Wait()
	buf := make([]T, len(s))
	for len(runs) > 1 {
		// runs are consecutive in src; merged pairs go to the same places in dst
		src, next := runs, make([][]T, 0, (len(runs)+1)/2)
		off := 0
		for i := 0; i < len(src); i += 2 {
			n := len(src[i])
			if i+1 < len(src) {
				n += len(src[i+1])
			}
			next = append(next, buf[off:off+n])
			off += n
		}
		for i := 0; i < len(src); i += 2 {
			dst := next[i/2]
			if i+1 == len(src) {
				copy(dst, src[i])
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				mergeRuns(dst, src[i], src[i+1], cmp)
			}()
		}
		wg.Wait()
		runs = next
		// the next round reads what this one wrote and writes over what it read
		buf = s[:len(s):len(s)]
		s = runs[0][:len(s):len(s)]
	}
	return runs[0]
}

// mergeRuns merges the sorted runs a and b into dst (len(a)+len(b) long).
func mergeRuns[T any](dst, a, b []T, cmp func(a, b T) int) {
	i, j := 0, 0
	for k := range dst {
		if j == len(b) || i < len(a) && cmp(a[i], b[j]) < 0 {
			dst[k] = a[i]
			i++
		} else {
			dst[k] = b[j]
			j++
		}
	}
}

// contactChunk is the number of contact rows the pass storing their values follows the pass
// numbering their identifiers by.
const contactChunk = 512

// valueParts is the number of goroutines storing the contacts' values beside the numbering:
// part 0 stores the created time, the stage, the stage time and the attributes a with
// a%valueParts == 0; part k the attributes with a%valueParts == k.
const valueParts = 2

// contactCols are the columns one part of the values' pass (valueParts) appends to: its
// attributes of cat and num, and for part 0 the created times, stages and stage times.
type contactCols struct {
	part           int
	created, since []int64
	stage          codes
	cat            []codes
	num            [][]float64
	buf            []byte // a number of a categorical attribute, as text
}

// grow makes room for n more rows in the part's columns.
func (c *contactCols) grow(attrs []features.Attribute, n int) {
	if c.part == 0 {
		c.created = slices.Grow(c.created, n)
		c.stage.rows = slices.Grow(c.stage.rows, n)
		c.since = slices.Grow(c.since, n)
	}
	for a, at := range attrs {
		switch {
		case a%valueParts != c.part:
		case at.Categorical:
			c.cat[a].rows = slices.Grow(c.cat[a].rows, n)
		default:
			c.num[a] = slices.Grow(c.num[a], n)
		}
	}
}

// add appends kept contact row i's values of the part (the attributes' views from nBase on).
func (c *contactCols) add(attrs []features.Attribute, p *pqFile, v []vec, nBase, i int) {
	if c.part == 0 {
		created := int64(features.NoTS)
		if v[1].i64 != nil && v[1].valid[i] {
			created = v[1].i64[i]
		}
		c.created = append(c.created, created)
		c.stage.add(str(&v[3], i))
		since := int64(features.NoTS)
		if v[4].i64 != nil && v[4].valid[i] {
			since = v[4].i64[i]
		}
		c.since = append(c.since, since)
	}
	for a, attr := range attrs {
		if a%valueParts != c.part {
			continue
		}
		col := &v[nBase+a]
		null := p.cols[nBase+a] == nil || !col.valid[i]
		switch {
		case attr.Categorical && (null || col.f64 == nil && col.str == nil):
			c.cat[a].add(nil)
		case attr.Categorical && col.f64 != nil:
			c.buf = strconv.AppendFloat(c.buf[:0], col.f64[i], 'g', -1, 64)
			c.cat[a].add(c.buf)
		case attr.Categorical:
			c.cat[a].add(col.str[i])
		case null:
			c.num[a] = append(c.num[a], math.NaN())
		case col.f64 != nil:
			c.num[a] = append(c.num[a], col.f64[i])
		default:
			x := math.NaN()
			if col.str != nil {
				if y, err := strconv.ParseFloat(string(col.str[i]), 64); err == nil {
					x = y
				}
			}
			c.num[a] = append(c.num[a], x)
		}
	}
}

// nonFiniteAttribute returns the name of the first numeric attribute of row i read from a
// text column whose text parses as a number that is not finite ("NaN", "-inf"), or "".
func nonFiniteAttribute(attrs []features.Attribute, cols []*colRef, v []vec, i int) string {
	for a, attr := range attrs {
		if attr.Categorical || cols[a] == nil || v[a].str == nil || !v[a].valid[i] {
			continue
		}
		if features.ParsesNonFinite(string(v[a].str[i])) {
			return attr.Name
		}
	}
	return ""
}

// readIdentities links id_a with id_b.
func (h *history) readIdentities(ctx context.Context) error {
	m := h.opts.Mapping.Identities
	specs := []colSpec{{m.IDA, wantString, true}, {m.IDB, wantString, true}, {m.TS, wantTime, false}}
	// As for the contacts, the pages are read ahead and the identifiers' table slots a
	// window of rows ahead: the identities are read on one goroutine, with the others idle
	// (ten million contacts: 2.9-3.0 s before, 2.0-2.3 s after; docs/operations.md).
	var wm warmer
	return h.scanFile(ctx, m.File, false, true, nil, specs, func(p *pqFile, st *fileStats, v []vec, n int) error {
		for i := range n {
			if i%warmWindow == 0 {
				h.warmRows(&wm, i, n, &v[0], &v[1])
			}
			a, b := str(&v[0], i), str(&v[1], i)
			switch {
			case len(a) == 0:
				st.bad("null " + m.IDA)
				continue
			case len(b) == 0:
				st.bad("null " + m.IDB)
				continue
			}
			if h.opts.StrictIdentity && v[2].i64 != nil && v[2].valid[i] && v[2].i64[i] >= h.asOf {
				continue
			}
			h.union(h.node(a), h.node(b))
		}
		h.rep.Identities += int64(n)
		return nil
	})
}

func (h *history) eventSpecs() []colSpec {
	m := h.opts.Mapping.Events
	return []colSpec{
		{m.ContactID, wantString, true},
		{m.AnonymousID, wantString, false},
		{m.Email, wantString, false},
		{m.TS, wantTime, true},
		{m.Type, wantString, true},
		{m.Page, wantString, false},
		{m.Value, wantFloat, false},
		{m.Channel, wantString, false},
		{m.Campaign, wantString, false},
	}
}

// linkEvents links the identifiers an event carries together (contact_id, anonymous_id, email).
func (h *history) linkEvents(ctx context.Context) error {
	all := h.eventSpecs()
	read := all[:3]
	if h.opts.StrictIdentity {
		read = all[:4]
	}
	h.quiet = true
	defer func() { h.quiet = false }()
	return h.scan(ctx, h.opts.Mapping.Events.File, false, all, read, func(p *pqFile, st *fileStats, v []vec, n int) error {
		for i := range n {
			c, a, e := str(&v[0], i), str(&v[1], i), str(&v[2], i)
			k := 0
			if len(c) > 0 {
				k++
			}
			if len(a) > 0 {
				k++
			}
			if len(e) > 0 {
				k++
			}
			if k < 2 {
				continue
			}
			if h.opts.StrictIdentity && (!v[3].valid[i] || v[3].i64[i] >= h.asOf) {
				continue
			}
			var first int32 = -1
			for _, id := range [3][]byte{c, a, e} {
				if len(id) == 0 {
					continue
				}
				nd := h.node(id)
				if first < 0 {
					first = nd
				} else {
					h.union(first, nd)
				}
			}
		}
		return nil
	})
}

// resolve picks each component's surviving contact (earliest created_at, null last, then the
// smallest id) and numbers the people in contact_id order.
func (h *history) resolve() {
	nn := len(h.parent)
	best := make([]int32, nn)
	for i := range best {
		best[i] = -1
	}
	better := func(a, b int32) bool { // is contact a before contact b?
		ca, cb := h.cCreated[a], h.cCreated[b]
		if ca != cb {
			if ca == features.NoTS {
				return false
			}
			if cb == features.NoTS {
				return true
			}
			return ca < cb
		}
		return h.cid(a) < h.cid(b)
	}
	for c := range h.cNode {
		r := h.find(h.cNode[c])
		if best[r] < 0 || better(int32(c), best[r]) {
			best[r] = int32(c)
		}
	}
	var roots []int32
	for r, c := range best {
		if c >= 0 {
			roots = append(roots, int32(r))
		}
	}
	// People are numbered in the order of their contact ids. The ids are taken out of the
	// identifier table once, not at each comparison, and a contacts file in id order (the
	// usual export) is not sorted again. Each id also carries the 8 bytes that follow the
	// prefix all ids share, as a number, which orders two ids as their bytes do unless it is
	// equal (the ids' text is compared then): most comparisons touch no string memory. Sorting
	// ten million random hex ids by their text was 6.7 s of a 213 s feature run on two cores.
	byID := make([]root, len(roots))
	for i, r := range roots {
		byID[i] = root{id: h.cid(best[r]), r: r, c: best[r]}
	}
	if !slices.IsSortedFunc(byID, cmpRootID) {
		common := commonPrefix(byID)
		for i := range byID {
			byID[i].key = prefixKey(byID[i].id, common)
		}
		byID = sortParallel(byID, cmpRoot, h.workers)
	}
	rootPerson := make([]int32, nn)
	adviseHuge(rootPerson)
	for i := range rootPerson {
		rootPerson[i] = -1
	}
	// The people's contacts come with their roots (root.c), and each contact says whether
	// it names its person (named), so that the loops below read at random only for the
	// contacts merged into another. At ten million people, three loops that read at random
	// for every contact were about half of the 2.5 s of CPU this function took, with the
	// other core idle (a CPU profile); numbering the people went from 5.3-6.1 s to 3.5-3.8 s
	// (docs/operations.md).
	h.pContact = make([]int32, len(roots))
	named := make([]bool, len(h.cNode))
	for p := range byID {
		rootPerson[byID[p].r] = int32(p)
		h.pContact[p] = byID[p].c
		named[byID[p].c] = true
	}
	h.nodePerson = make([]int32, nn)
	adviseHuge(h.nodePerson) // read at random by every lookup of an event's person
	for n := range h.nodePerson {
		h.nodePerson[n] = rootPerson[h.find(int32(n))]
	}
	// the other contacts of each person, as one flat list cut by person
	h.mergedOff = make([]int32, len(roots)+1)
	for c := range h.cNode {
		if !named[c] {
			h.mergedOff[h.nodePerson[h.cNode[c]]+1]++
		}
	}
	for p := range roots {
		h.mergedOff[p+1] += h.mergedOff[p]
	}
	h.merged = make([]string, h.mergedOff[len(roots)])
	at := slices.Clone(h.mergedOff[:len(roots)])
	for c := range h.cNode {
		if !named[c] {
			p := h.nodePerson[h.cNode[c]]
			h.merged[at[p]] = h.cid(int32(c))
			at[p]++
		}
	}
	for p := range roots {
		if h.mergedOff[p+1]-h.mergedOff[p] > 1 {
			slices.Sort(h.merged[h.mergedOff[p]:h.mergedOff[p+1]])
		}
	}
	h.rep.People = int64(len(roots))
}

// root is a person's root node with the contact id that names them, for numbering people.
type root struct {
	key uint64 // id's bytes after the prefix all share (prefixKey)
	id  string
	r   int32
	c   int32 // the contact that names the person
}

func cmpRootID(a, b root) int { return strings.Compare(a.id, b.id) }

func cmpRoot(a, b root) int {
	if a.key != b.key {
		return cmp.Compare(a.key, b.key)
	}
	return strings.Compare(a.id, b.id)
}

// commonPrefix is the length of the prefix all the ids of rs share.
func commonPrefix(rs []root) int {
	if len(rs) == 0 {
		return 0
	}
	first := rs[0].id
	n := len(first)
	for _, r := range rs[1:] {
		id := r.id
		if len(id) < n {
			n = len(id)
		}
		i := 0
		for i < n && id[i] == first[i] {
			i++
		}
		n = i
	}
	return n
}

// prefixKey is the 8 bytes of id after its first skip, big-endian, zero-padded: for ids of
// the same first skip bytes, a smaller key means a smaller id (by bytes), and equal keys
// decide nothing.
func prefixKey(id string, skip int) uint64 {
	var k uint64
	for i := range 8 {
		k <<= 8
		if j := skip + i; j < len(id) {
			k |= uint64(id[j])
		}
	}
	return k
}

// stitch runs the identity passes.
func (h *history) stitch(ctx context.Context) error {
	st, err := os.Stat(h.dir)
	if err != nil {
		return &FileError{File: h.dir, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	if !st.IsDir() {
		return &FileError{File: h.dir, Err: fmt.Errorf("%w: not a directory", ErrUnreadable)}
	}
	ents, err := os.ReadDir(h.dir)
	if err != nil {
		return &FileError{File: h.dir, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	if len(ents) == 0 {
		return &FileError{File: h.dir, Err: ErrEmptyDir}
	}
	if err := h.readContacts(ctx); err != nil {
		return err
	}
	if err := h.readIdentities(ctx); err != nil {
		return err
	}
	if err := h.linkEventsParallel(ctx); err != nil {
		return err
	}
	h.resolve()
	return nil
}

// eventKey checks row i of an events batch read with eventSpecs and returns the identifier
// it is attributed to: the first non-empty of contact_id, anonymous_id and email
// (docs/contract.md §6). Rows that cannot be used (null time, null type, no identifier) are counted
// in st and give ok false. Safe for concurrent use.
func (h *history) eventKey(v []vec, i int, st *fileStats) (key []byte, ok bool) {
	m := h.opts.Mapping.Events
	if !v[3].valid[i] {
		st.bad("null " + m.TS)
		return nil, false
	}
	if !v[4].valid[i] {
		st.bad("null " + m.Type)
		return nil, false
	}
	key = firstID(v, i)
	if len(key) == 0 {
		st.bad("no identifier")
		return nil, false
	}
	return key, true
}

// firstID is the identifier row i of an events batch is attributed by: its contact id, else
// its anonymous id, else its email; nil for none.
func firstID(v []vec, i int) []byte {
	if id := str(&v[0], i); len(id) > 0 {
		return id
	}
	if id := str(&v[1], i); len(id) > 0 {
		return id
	}
	return str(&v[2], i)
}

// eventPerson checks row i of an events batch as eventKey does and returns the person it is
// attributed to, or -1 for an identifier no person has. Safe for concurrent use.
func (h *history) eventPerson(v []vec, i int, st *fileStats, last *lastPerson) (p int32, ok bool) {
	key, ok := h.eventKey(v, i, st)
	if !ok {
		return -1, false
	}
	return last.person(h, key), true
}

// lastPerson is the identifier an event (or transaction) was last attributed by, and its
// person. A history's events tend to come person by person, and the lookup this saves (a
// hash, and reading the identifier table where the processor's caches no longer hold it) was
// the largest cost of attributing an event at ten million people. One per goroutine.
type lastPerson struct {
	key []byte
	p   int32
}

// warmer is one goroutine's buffers for reading ahead what attributing a window of rows
// will read (history.warm).
type warmer struct {
	ids     [][]byte
	scratch []uint64
}

// warmWindow is the number of rows whose identifiers are read ahead at a time: enough
// distinct identifiers for their cache misses to overlap, few enough that what is read is
// still in the caches when the rows are attributed.
const warmWindow = 512

// add notes id, to be read ahead, unless it is the last one noted.
func (wm *warmer) add(id []byte) {
	if len(id) > 0 && (len(wm.ids) == 0 || !bytes.Equal(id, wm.ids[len(wm.ids)-1])) {
		wm.ids = append(wm.ids, id)
	}
}

// warm reads ahead what looking up the identifiers wm noted will read (idTable.warm), and
// each one's person, and forgets them.
func (h *history) warm(wm *warmer) {
	wm.scratch = h.ids.warm(wm.ids, wm.scratch)
	if np := h.nodePerson; np != nil {
		var sink int32
		for _, n := range wm.scratch {
			if n > 0 && int(n) <= len(np) {
				sink += np[n-1]
			}
		}
		h.ids.sink.Add(uint64(sink))
	}
	clear(wm.ids) // no references into the batch's buffers beyond it
	wm.ids = wm.ids[:0]
}

// warmEvents reads ahead for rows i to i+warmWindow-1 of an events batch of n rows (v),
// each attributed by its firstID.
func (h *history) warmEvents(wm *warmer, v []vec, i, n int) {
	for j := i; j < min(n, i+warmWindow); j++ {
		wm.add(firstID(v, j))
	}
	h.warm(wm)
}

// warmRows reads ahead for rows i to i+warmWindow-1 of a batch of n rows, the identifiers
// of each row in the columns ids.
func (h *history) warmRows(wm *warmer, i, n int, ids ...*vec) {
	for j := i; j < min(n, i+warmWindow); j++ {
		for _, c := range ids {
			wm.add(str(c, j))
		}
	}
	h.warm(wm)
}

// person is h.person(id), remembered.
func (last *lastPerson) person(h *history, id []byte) int32 {
	if len(last.key) > 0 && bytes.Equal(id, last.key) {
		return last.p
	}
	last.key, last.p = append(last.key[:0], id...), h.person(id)
	return last.p
}

// txRec is one usable transaction of a person.
type txRec struct {
	person int32
	prod   int32 // product name code (names only)
	key    int32 // category (or product) code, for spend per category
	ts     int64
	amount float64
	qty    int64
}

// readTransactions reads every usable transaction, sorted by person and time.
func (h *history) readTransactions(ctx context.Context, keys, prods *features.Products) ([]txRec, error) {
	// Rows are collected in fixed-size chunks, not one growing slice, whose copies (and the
	// page faults of each new copy) took 4 s of 30 on a million contacts' 6 million rows.
	var chunks [][]txRec
	var out []txRec
	err := h.scanTransactions(ctx, keys, prods, func(r *txRec) error {
		if len(out) == cap(out) {
			out = make([]txRec, 0, txChunk)
			chunks = append(chunks, out)
		}
		out = append(out, *r)
		chunks[len(chunks)-1] = out
		return nil
	})
	return sortTransactions(chunks, 0, len(h.pContact)), err
}

// scanTransactions hands every usable, attributed transaction to sink, in file order.
func (h *history) scanTransactions(ctx context.Context, keys, prods *features.Products, sink func(*txRec) error) error {
	m := h.opts.Mapping.Transactions
	specs := transactionSpecs(m)
	span := newSpan()
	defer func() { h.rep.span(span.lo, span.hi) }()
	var last lastPerson
	var wm warmer
	return h.scan(ctx, m.File, false, nil, specs, func(p *pqFile, st *fileStats, v []vec, n int) error {
		h.rep.Transactions += int64(n)
		for i := range n {
			if i%warmWindow == 0 {
				h.warmRows(&wm, i, n, &v[0])
			}
			id, ok := h.transactionRow(v, i, st)
			if !ok {
				continue
			}
			pp := last.person(h, id)
			if pp < 0 {
				h.rep.Unattributed++
				continue
			}
			var q int64
			if v[4].i64 != nil && v[4].valid[i] {
				q = v[4].i64[i]
			}
			prod := str(&v[3], i)
			key := str(&v[5], i)
			if len(key) == 0 {
				key = prod
			}
			span.add(v[1].i64[i])
			r := txRec{person: pp, prod: prods.Code(prod), key: keys.Code(key), ts: v[1].i64[i], amount: v[2].f64[i], qty: q}
			if err := sink(&r); err != nil {
				return err
			}
		}
		return nil
	})
}

// txChunk is the number of transaction rows readTransactions collects per chunk.
const txChunk = 1 << 16

// sortTransactions orders the rows of chunks (in file order, chunk after chunk), all of people
// lo to hi-1, by person and time, stably (file order among equal times), into one slice: a
// counting sort by person, then an insertion sort of each person's few rows by time. It is
// linear where a comparison sort of millions of rows is not.
func sortTransactions(chunks [][]txRec, lo, hi int) []txRec {
	people := hi - lo
	off := make([]int, people+1)
	total := 0
	for _, c := range chunks {
		total += len(c)
		for _, x := range c {
			off[int(x.person)-lo+1]++
		}
	}
	for p := range people {
		off[p+1] += off[p]
	}
	out := make([]txRec, total)
	at := slices.Clone(off[:people])
	for _, c := range chunks {
		for _, x := range c {
			out[at[int(x.person)-lo]] = x
			at[int(x.person)-lo]++
		}
	}
	sortByTime(out, off, 0, people)
	return out
}

// sortByTime sorts the rows of people p0 to p1-1 (relative; out[off[p]:off[p+1]] are
// person p's) by time, stably.
func sortByTime(out []txRec, off []int, p0, p1 int) {
	for p := p0; p < p1; p++ {
		run := out[off[p]:off[p+1]]
		if len(run) > 64 {
			slices.SortStableFunc(run, func(a, b txRec) int { return cmp.Compare(a.ts, b.ts) })
			continue
		}
		for i := 1; i < len(run); i++ {
			for j := i; j > 0 && run[j].ts < run[j-1].ts; j-- {
				run[j], run[j-1] = run[j-1], run[j]
			}
		}
	}
}

// transactionRow checks row i of a transactions batch read with transactionSpecs and returns
// its contact id. Rows that cannot be used (null id or time, null or non-finite amount) are
// counted in st and give ok false. Safe for concurrent use.
func (h *history) transactionRow(v []vec, i int, st *fileStats) (id []byte, ok bool) {
	m := h.opts.Mapping.Transactions
	id = str(&v[0], i)
	switch {
	case len(id) == 0:
		st.bad("null " + m.ContactID)
	case !v[1].valid[i]:
		st.bad("null " + m.TS)
	case !v[2].valid[i] || math.IsNaN(v[2].f64[i]) || math.IsInf(v[2].f64[i], 0):
		st.bad("null or NaN " + m.Amount)
	default:
		return id, true
	}
	return nil, false
}

func transactionSpecs(m features.TransactionColumns) []colSpec {
	return []colSpec{{m.ContactID, wantString, true}, {m.TS, wantTime, true}, {m.Amount, wantFloat, true},
		{m.Product, wantString, false}, {m.Quantity, wantInt, false}, {m.Category, wantString, false}}
}

// openHistory checks opts, reads the contacts and identities of dir and stitches people;
// with keepEmail the contacts' emails are kept (for the people walk's attributes).
func openHistory(ctx context.Context, dir string, opts features.Options, rep *Report, keepEmail bool, workers int) (*history, error) {
	opts = opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	h := newHistory(dir, opts, rep)
	h.keepEmail = keepEmail
	h.workers = workers
	if err := h.stitch(ctx); err != nil {
		return nil, err
	}
	return h, nil
}
