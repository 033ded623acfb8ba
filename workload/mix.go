package workload

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Template is one kind of request in the mix. URL, header values and Body
// may hold placeholders, expanded per request:
//
//	{seq}          the request id (distinct across the run and its shards)
//	{rand:LO-HI}   a uniform random integer in [LO, HI]
//	{tenant}       the request's tenant ("" without tenants)
//	{data:NAME.COL} column COL of the request's row of Config.Data NAME:
//	               each request takes the next row (in order, wrapping),
//	               one row for all its placeholders
//
// Template is a plain value, safe to copy; New compiles and validates it.
// Its zero value is invalid (it has no URL).
type Template struct {
	Name     string      // route label in results; "" gives the method and path
	Weight   float64     // relative share of requests, > 0; 0 means 1
	Method   string      // "" means GET
	URL      string      // absolute, or a path joined to Config.BaseURL
	Header   http.Header // extra headers (values may hold placeholders)
	Body     []byte      // request body (may hold placeholders)
	BodySize int         // when Body is nil: a generated body of this many bytes
	Priority string      // X-Priority: "critical" (default) or "sheddable"
	// Literal sends URL, header values and body as written, with no
	// placeholders: the requests of a targets file, as vegeta sends them.
	Literal bool
}

// Tenants describes the simulated customers (a plain value; the zero value
// means no tenants): Count of them, chosen uniformly or, with Zipf > 0,
// with probability ∝ 1/(k+1)^Zipf for tenant k (tenant 0 the hottest). Tenant names are "t0", "t1", ….
type Tenants struct {
	Count int
	Zipf  float64
}

// ParseTenantDist parses uniform or zipf:S (S > 0) and returns the Zipf
// exponent (0 for uniform).
func ParseTenantDist(s string) (float64, error) {
	if s == "uniform" {
		return 0, nil
	}
	v, ok := strings.CutPrefix(s, "zipf:")
	f, err := strconv.ParseFloat(v, 64)
	if !ok || err != nil || !(f > 0) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("tenant distribution %q: valid are uniform, zipf:S with S > 0 (e.g. zipf:1.1)", s)
	}
	return f, nil
}

type segKind uint8

const (
	segLit segKind = iota
	segSeq
	segRand
	segTenant
	segData
)

type segment struct {
	kind   segKind
	lit    string
	lo, hi int64
	cur    *cursor // segData: the data, and the request's row
	col    int     // segData: the column
}

// text is a string with placeholders, compiled.
type text struct {
	segs   []segment
	static bool // no placeholders: segs[0].lit (or "") is the value
}

// cursors appends the data cursors t uses that are not in list yet.
func (t *text) cursors(list []*cursor) []*cursor {
	for _, sg := range t.segs {
		if sg.kind == segData && !slices.Contains(list, sg.cur) {
			list = append(list, sg.cur)
		}
	}
	return list
}

// literalText is s as it is, placeholders or not.
func literalText(s string) (text, error) {
	return text{segs: []segment{{lit: s}}, static: true}, nil
}

func compileText(s string) (text, error) { return compileTextData(s, nil) }

// compileTextData compiles s, whose {data:…} placeholders name data of ds.
func compileTextData(s string, ds *dataSet) (text, error) {
	var t text
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			t.segs = append(t.segs, segment{lit: s})
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			t.segs = append(t.segs, segment{lit: s})
			break
		}
		if i > 0 {
			t.segs = append(t.segs, segment{lit: s[:i]})
		}
		name := s[i+1 : i+j]
		switch {
		case name == "seq":
			t.segs = append(t.segs, segment{kind: segSeq})
		case name == "tenant":
			t.segs = append(t.segs, segment{kind: segTenant})
		case strings.HasPrefix(name, "data:"):
			cur, col, err := ds.lookup(name[5:])
			if err != nil {
				return text{}, err
			}
			t.segs = append(t.segs, segment{kind: segData, cur: cur, col: col})
		case strings.HasPrefix(name, "rand:"):
			lo, hi, ok := strings.Cut(name[5:], "-")
			l, err1 := strconv.ParseInt(lo, 10, 64)
			h, err2 := strconv.ParseInt(hi, 10, 64)
			if !ok || err1 != nil || err2 != nil || h < l || h-l < 0 || h-l == math.MaxInt64 {
				return text{}, fmt.Errorf("placeholder {%s}: want {rand:LO-HI} with integers LO ≤ HI (a range that fits in 63 bits)", name)
			}
			t.segs = append(t.segs, segment{kind: segRand, lo: l, hi: h})
		default:
			// Not ours (e.g. JSON braces): keep the brace and look further.
			t.segs = append(t.segs, segment{lit: "{"})
			s = s[i+1:]
			continue
		}
		s = s[i+j+1:]
	}
	t.static = true
	for _, sg := range t.segs {
		t.static = t.static && sg.kind == segLit
	}
	if t.static {
		var b strings.Builder
		for _, sg := range t.segs {
			b.WriteString(sg.lit)
		}
		t.segs = []segment{{lit: b.String()}}
	}
	return t, nil
}

func (t *text) value() string {
	if len(t.segs) == 0 {
		return ""
	}
	return t.segs[0].lit
}

// appendTo expands t into dst.
func (t *text) appendTo(dst []byte, id uint64, tenant string, rng *rand.Rand) []byte {
	for _, sg := range t.segs {
		switch sg.kind {
		case segLit:
			dst = append(dst, sg.lit...)
		case segSeq:
			dst = strconv.AppendUint(dst, id, 10)
		case segTenant:
			dst = append(dst, tenant...)
		case segRand:
			dst = strconv.AppendInt(dst, sg.lo+rng.Int64N(sg.hi-sg.lo+1), 10)
		case segData:
			dst = append(dst, sg.cur.d.cells[sg.cur.row+sg.col]...)
		}
	}
	return dst
}

// UserAgent is the User-Agent of requests whose template sets none, over
// HTTP/1.1 and HTTP/2 alike.
const UserAgent = "goodput-loadgen"

type compiledHeader struct {
	name  string
	value text
}

// compiled is a Template ready to fire.
type compiled struct {
	name     string
	method   string
	url      text
	staticU  *url.URL // parsed once when url is static
	header   []compiledHeader
	body     text
	bodyLen  int // static body length
	priority string
	// cursors: the data the placeholders use; each request advances each
	// once, before it expands them.
	cursors []*cursor
	// idempotent: the service may see the request twice with the effect
	// of once (RFC 9110 §9.2.2), so a connection the server closed while
	// idle may have carried it and it is sent again on a new one.
	idempotent bool
}

// idempotent reports whether a request with this method and these
// (canonical) header names is idempotent: by its method (RFC 9110
// §9.2.2), or by an Idempotency-Key header (X-Idempotency-Key too, as
// net/http's Transport counts it).
func idempotent(method string, header []compiledHeader) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	for _, h := range header {
		if h.name == "Idempotency-Key" || h.name == "X-Idempotency-Key" {
			return true
		}
	}
	return false
}

func compileTemplate(t Template, base string, ds *dataSet) (compiled, error) {
	c := compiled{name: t.Name, method: t.Method, priority: t.Priority}
	if c.method == "" {
		c.method = http.MethodGet
	}
	if c.priority == "" {
		c.priority = "critical"
	}
	if !(t.Weight >= 0) || math.IsInf(t.Weight, 0) {
		return c, fmt.Errorf("weight %v: must be ≥ 0", t.Weight)
	}
	compile := func(s string) (text, error) { return compileTextData(s, ds) }
	if t.Literal {
		compile = literalText
	}
	raw := t.URL
	if !strings.Contains(raw, "://") {
		if base == "" {
			return c, fmt.Errorf("url %q: relative, and no base URL", raw)
		}
		raw = strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(raw, "/")
	}
	var err error
	if c.url, err = compile(raw); err != nil {
		return c, fmt.Errorf("url %q: %w", raw, err)
	}
	probe := string(c.url.appendTo(nil, 0, "t0", rand.New(rand.NewPCG(0, 0))))
	u, err := url.Parse(probe)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("url %q: want http:// or https:// with a host", raw)
	}
	if c.url.static {
		c.staticU = u
	}
	if c.name == "" {
		c.name = c.method + " " + u.Path
	}
	keys := make([]string, 0, len(t.Header))
	for k := range t.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range t.Header[k] {
			ct, err := compile(v)
			if err != nil {
				return c, fmt.Errorf("header %s: %w", k, err)
			}
			c.header = append(c.header, compiledHeader{name: http.CanonicalHeaderKey(k), value: ct})
		}
	}
	if !slices.ContainsFunc(c.header, func(h compiledHeader) bool { return h.name == "User-Agent" }) {
		ua, _ := literalText(UserAgent)
		c.header = append(c.header, compiledHeader{name: "User-Agent", value: ua})
	}
	c.idempotent = idempotent(c.method, c.header)
	body := t.Body
	if body == nil && t.BodySize > 0 {
		body = []byte(strings.Repeat("x", t.BodySize))
	}
	if t.BodySize < 0 {
		return c, fmt.Errorf("body size %d: must be ≥ 0", t.BodySize)
	}
	if c.body, err = compile(string(body)); err != nil {
		return c, fmt.Errorf("body: %w", err)
	}
	c.bodyLen = len(body)
	c.cursors = c.url.cursors(c.cursors)
	for i := range c.header {
		c.cursors = c.header[i].value.cursors(c.cursors)
	}
	c.cursors = c.body.cursors(c.cursors)
	return c, nil
}

// Order is how requests pick their template from a Config's Mix.
type Order uint8

// Orders.
const (
	OrderWeighted   Order = iota // at random, each template with probability ∝ its weight
	OrderRoundRobin              // in turn, in the Mix's order (weights are ignored)
)

// ParseOrder reads an order as flags write it: random or roundrobin.
func ParseOrder(s string) (Order, error) {
	switch s {
	case "random":
		return OrderWeighted, nil
	case "roundrobin":
		return OrderRoundRobin, nil
	}
	return 0, fmt.Errorf("order %q: want roundrobin or random", s)
}

// mix picks templates and tenants. Not safe for concurrent use: the
// scheduling goroutine owns it.
type mix struct {
	templates []compiled
	order     Order
	next      int       // OrderRoundRobin: the template the next request takes
	cum       []float64 // cumulative weights
	tenants   []string
	tenantCum []float64 // nil: uniform
}

func newMix(ts []Template, base string, tn Tenants, order Order, data []*Data, shard Shard) (*mix, error) {
	if len(ts) == 0 {
		return nil, errors.New("request mix: no templates")
	}
	if order != OrderWeighted && order != OrderRoundRobin {
		return nil, fmt.Errorf("request mix: order %d: want OrderWeighted or OrderRoundRobin", order)
	}
	ds, err := newDataSet(data, shard)
	if err != nil {
		return nil, fmt.Errorf("request mix: %w", err)
	}
	m := &mix{order: order}
	total := 0.0
	for i, t := range ts {
		c, err := compileTemplate(t, base, ds)
		if err != nil {
			return nil, fmt.Errorf("request template %d (%s): %w", i+1, t.Name, err)
		}
		w := t.Weight
		if w == 0 {
			w = 1
		}
		total += w
		m.templates = append(m.templates, c)
		m.cum = append(m.cum, total)
	}
	if tn.Count < 0 || tn.Zipf < 0 || math.IsNaN(tn.Zipf) {
		return nil, fmt.Errorf("tenants %d, zipf %v: must be ≥ 0", tn.Count, tn.Zipf)
	}
	for k := range tn.Count {
		m.tenants = append(m.tenants, "t"+strconv.Itoa(k))
	}
	if tn.Zipf > 0 && tn.Count > 1 {
		acc := 0.0
		for k := range tn.Count {
			acc += math.Pow(float64(k+1), -tn.Zipf)
			m.tenantCum = append(m.tenantCum, acc)
		}
	}
	return m, nil
}

// pickTemplate returns the next request's template index: the next in
// turn, or one drawn from rng.
func (m *mix) pickTemplate(rng *rand.Rand) int {
	switch {
	case len(m.templates) == 1:
		return 0
	case m.order == OrderRoundRobin:
		i := m.next
		m.next = (m.next + 1) % len(m.templates)
		return i
	}
	return pickCum(m.cum, rng.Float64())
}

// pickTenant draws a tenant name ("" without tenants).
func (m *mix) pickTenant(rng *rand.Rand) string {
	switch {
	case len(m.tenants) == 0:
		return ""
	case m.tenantCum == nil:
		return m.tenants[rng.IntN(len(m.tenants))]
	}
	return m.tenants[pickCum(m.tenantCum, rng.Float64())]
}

// pickCum returns the first index whose cumulative weight exceeds u·total.
func pickCum(cum []float64, u float64) int {
	x := u * cum[len(cum)-1]
	i, _ := slices.BinarySearch(cum, x)
	if i < len(cum) && cum[i] == x {
		i++
	}
	return min(i, len(cum)-1)
}

// origins returns the distinct origins ("scheme://host[:port]") of the
// templates' URLs, for opening connections ahead of a run; a URL whose
// host has a placeholder has none.
func (m *mix) origins() []string {
	var out []string
	seen := map[string]bool{}
	for i := range m.templates {
		u := &m.templates[i].url
		if len(u.segs) == 0 || u.segs[0].kind != segLit {
			continue
		}
		lit := u.segs[0].lit
		_, rest, ok := strings.Cut(lit, "://")
		if !ok {
			continue
		}
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			if !u.static {
				continue // the host goes on in a placeholder
			}
			end = len(rest)
		}
		origin := lit[:len(lit)-len(rest)+end]
		if !seen[origin] {
			seen[origin] = true
			out = append(out, origin)
		}
	}
	return out
}
