package events_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/events"
)

// fill sets every exported field of v (a pointer) to a non-zero value derived
// from seed, so that a round trip proves each field survives. A field of a
// kind it does not know fails the test: extend fill when a payload grows one.
func fill(t testing.TB, v reflect.Value, seed int) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(t, v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2025, 3, 14, 15, 9, 26, 535897000+seed, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), seed+i+1)
			}
		}
	case reflect.String:
		v.SetString("value-" + strings.Repeat("x", seed%5) + "-" + v.Type().Name() + "-é☎")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(seed + 7))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(seed + 7))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(seed) + 0.125)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), seed+i)
		}
		v.Set(s)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			t.Fatalf("fill: map key kind %s", v.Type().Key().Kind())
		}
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fill(t, e, seed)
		m.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), e)
		v.Set(m)
	default:
		t.Fatalf("fill: unsupported kind %s (%s)", v.Kind(), v.Type())
	}
}

func sameHeader(a, b events.Header) bool {
	if !a.Time.Equal(b.Time) {
		return false
	}
	if (a.Partition == nil) != (b.Partition == nil) || a.Partition != nil && *a.Partition != *b.Partition {
		return false
	}
	a.Time, b.Time, a.Partition, b.Partition = time.Time{}, time.Time{}, nil, nil
	return a == b
}

func TestRegisteredTypesAreWellFormed(t *testing.T) {
	types := events.Types()
	if len(types) == 0 {
		t.Fatal("no event type registered")
	}
	for _, typ := range types {
		p := events.NewPayload(typ)
		if p == nil {
			t.Fatalf("Types lists %q but NewPayload returns nil", typ)
		}
		if p.EventType() != typ {
			t.Errorf("%q: payload says its type is %q", typ, p.EventType())
		}
		if reflect.TypeOf(p).Kind() != reflect.Pointer {
			t.Errorf("%q: factory returns a %T; Parse needs a pointer to decode into", typ, p)
		}
		// io.switchboard.<source>.v<N>.<name>, name being the last subject token.
		parts := strings.Split(strings.TrimPrefix(typ, events.TypePrefix), ".")
		if !strings.HasPrefix(typ, events.TypePrefix) || len(parts) != 3 || len(parts[1]) < 2 || parts[1][0] != 'v' {
			t.Errorf("%q is not io.switchboard.<source>.v<N>.<name>", typ)
		}
		if name := p.EventName(); name != parts[len(parts)-1] || !events.ValidToken(name) {
			t.Errorf("%q: event name %q must be its last segment and a valid subject token", typ, name)
		}
	}
	if !reflectSorted(types) {
		t.Errorf("Types() not sorted: %v", types)
	}
}

func reflectSorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

func TestParseRoundTripEveryType(t *testing.T) {
	for i, typ := range events.Types() {
		for _, withCall := range []bool{false, true} {
			p := events.NewPayload(typ)
			fill(t, reflect.ValueOf(p), i)
			e := events.New("node-a", p)
			if withCall {
				e = e.WithCall("a84b4c76e66710@pc33.atlanta.com", 38)
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatalf("%s: marshal: %v", typ, err)
			}
			got, err := events.Parse(b)
			if err != nil {
				t.Fatalf("%s: Parse(%s): %v", typ, b, err)
			}
			if !sameHeader(got.Header, e.Header) {
				t.Errorf("%s: header %+v, want %+v", typ, got.Header, e.Header)
			}
			if !reflect.DeepEqual(got.Data, e.Data) {
				t.Errorf("%s: data %+v, want %+v\n%s", typ, got.Data, e.Data, b)
			}
			// The wire form has the documented top-level keys.
			var top map[string]json.RawMessage
			if err := json.Unmarshal(b, &top); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"type", "id", "time", "node", "data"} {
				if _, ok := top[k]; !ok {
					t.Errorf("%s: wire form lacks %q: %s", typ, k, b)
				}
			}
			if _, ok := top["call_id"]; ok != withCall {
				t.Errorf("%s: call_id present=%v, want %v: %s", typ, ok, withCall, b)
			}
		}
	}
}

func TestNewFillsTheHeader(t *testing.T) {
	before := time.Now()
	a, b := events.New("node-a", &events.NodeLeft{Reason: "drained"}), events.New("node-a", &events.NodeLeft{})
	if a.Type != "io.switchboard.node.v1.left" || a.Node != "node-a" || a.ID == "" || a.ID == b.ID {
		t.Fatalf("header %+v / %+v", a.Header, b.Header)
	}
	if a.Time.Location() != time.UTC || a.Time.Before(before.Add(-time.Second)) || a.Time.After(time.Now()) {
		t.Fatalf("time %v", a.Time)
	}
	c := a.WithCall("x", 3)
	if a.CallID != "" || a.Partition != nil || c.CallID != "x" || *c.Partition != 3 {
		t.Fatalf("WithCall changed its receiver or did not set the call: %+v %+v", a.Header, c.Header)
	}
}

const validHeader = `"type":"io.switchboard.node.v1.left","id":"ev1","time":"2025-03-14T15:09:26Z","node":"node-a"`

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     error
		header   bool // the header comes back with the error
	}{
		{"empty input", ``, events.ErrBadEnvelope, false},
		{"truncated", `{"type":"io.switchboard.node.v1.left","id":"e`, events.ErrBadEnvelope, false},
		{"not an object", `[1,2,3]`, events.ErrBadEnvelope, false},
		{"string", `"io.switchboard.node.v1.left"`, events.ErrBadEnvelope, false},
		{"null", `null`, events.ErrBadEnvelope, false},
		{"empty object", `{}`, events.ErrBadEnvelope, false},
		{"missing type", `{"id":"ev1","data":{}}`, events.ErrBadEnvelope, false},
		{"empty type", `{"type":"","id":"ev1"}`, events.ErrBadEnvelope, false},
		{"missing id", `{"type":"io.switchboard.node.v1.left","data":{}}`, events.ErrBadEnvelope, false},
		{"type not a string", `{"type":7,"id":"ev1"}`, events.ErrBadEnvelope, false},
		{"bad time", `{"type":"io.switchboard.node.v1.left","id":"ev1","time":"yesterday"}`, events.ErrBadEnvelope, false},
		{"partition not a number", `{` + validHeader + `,"partition":"7"}`, events.ErrBadEnvelope, false},
		{"trailing garbage", `{` + validHeader + `} {}`, events.ErrBadEnvelope, false},
		{"data is a number", `{` + validHeader + `,"data":5}`, events.ErrBadEnvelope, true},
		{"data is a string", `{` + validHeader + `,"data":"drained"}`, events.ErrBadEnvelope, true},
		{"data is an array", `{` + validHeader + `,"data":[]}`, events.ErrBadEnvelope, true},
		{"data field of wrong type", `{` + validHeader + `,"data":{"reason":42}}`, events.ErrBadEnvelope, true},
		{"nested field of wrong type", `{"type":"io.switchboard.node.v1.joined","id":"ev1","data":{"roles":"media"}}`, events.ErrBadEnvelope, true},
		{"unknown type", `{"type":"io.switchboard.node.v9.exploded","id":"ev1","time":"2025-03-14T15:09:26Z","node":"node-a","data":{"x":1}}`, events.ErrUnknownEventType, true},
		{"unknown type without data", `{"type":"com.example.other","id":"ev1"}`, events.ErrUnknownEventType, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := events.Parse([]byte(c.in))
			if !errors.Is(err, c.want) {
				t.Fatalf("Parse(%s) error %v, want %v", c.in, err, c.want)
			}
			other := events.ErrBadEnvelope
			if c.want == events.ErrBadEnvelope {
				other = events.ErrUnknownEventType
			}
			if errors.Is(err, other) {
				t.Fatalf("error %v is both kinds", err)
			}
			if e.Data != nil {
				t.Fatalf("Parse returned data %+v with an error", e.Data)
			}
			if c.header {
				if e.ID != "ev1" || e.Type == "" {
					t.Fatalf("header not returned with %v: %+v", err, e.Header)
				}
			} else if e.Header != (events.Header{}) {
				t.Fatalf("header %+v returned with %v", e.Header, err)
			}
		})
	}
}

// TestParseUnknownTypeKeepsHeader: a consumer older than the producer gets
// the whole header of an event it cannot decode, so it can log and skip it.
func TestParseUnknownTypeKeepsHeader(t *testing.T) {
	in := `{"type":"io.switchboard.call.v2.transferred","id":"ev9","time":"2025-03-14T15:09:26Z","node":"node-b","call_id":"a84b4c76e66710@pc33.atlanta.com","partition":38,"data":{"to":"sip:bob@biloxi.example.com"}}`
	e, err := events.Parse([]byte(in))
	if !errors.Is(err, events.ErrUnknownEventType) {
		t.Fatalf("err %v", err)
	}
	want := events.Header{Type: "io.switchboard.call.v2.transferred", ID: "ev9", Node: "node-b",
		CallID: "a84b4c76e66710@pc33.atlanta.com", Time: time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)}
	want.Partition = new(int)
	*want.Partition = 38
	if !sameHeader(e.Header, want) {
		t.Fatalf("header %+v, want %+v", e.Header, want)
	}
}

// TestParseLenient documents what Parse accepts: missing or null data
// decodes to the type's zero payload, and unknown fields are ignored (a
// version is add-only, so older consumers read newer events of a known type).
func TestParseLenient(t *testing.T) {
	for _, in := range []string{
		`{` + validHeader + `}`,
		`{` + validHeader + `,"data":null}`,
		`{` + validHeader + `,"data":{}}`,
		`{` + validHeader + `,"data":{"added_in_a_later_release":true},"extra":1}`,
		`{"type":"io.switchboard.node.v1.left","id":"ev1"}`,
	} {
		e, err := events.Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%s): %v", in, err)
		}
		if l, ok := e.Data.(*events.NodeLeft); !ok || *l != (events.NodeLeft{}) {
			t.Fatalf("Parse(%s) data %#v, want a zero *NodeLeft", in, e.Data)
		}
	}
}

func FuzzParse(f *testing.F) {
	for i, typ := range events.Types() {
		p := events.NewPayload(typ)
		fill(f, reflect.ValueOf(p), i)
		b, err := json.Marshal(events.New("node-a", p).WithCall("a84b4c76e66710@pc33.atlanta.com", 38))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `{`, `}`, `null`, `[]`, `{}`, `0`, `"x"`, `{"type":null,"id":null}`,
		`{` + validHeader + `}`,
		`{` + validHeader + `,"data":null}`,
		`{` + validHeader + `,"data":[{"reason":1}]}`,
		`{"type":"io.switchboard.node.v1.joined","id":"e","data":{"roles":[1,{}],"version":{}}}`,
		`{"type":"io.switchboard.node.v1.partition_acquired","id":"e","partition":-1,"data":{"partition":1e400}}`,
		`{"type":"io.switchboard.node.v9.unknown","id":"e","data":"\ud800"}`,
		`{"TYPE":"io.switchboard.node.v1.left","Id":"e","Data":{"Reason":"x"}}`,
		"{\"type\":\"io.switchboard.node.v1.left\",\"id\":\"\xff\xfe\"}",
		`{"type":"io.switchboard.node.v1.left","id":"e","time":"0000-01-01T00:00:00+23:59"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := events.Parse(b)
		if err != nil {
			if !errors.Is(err, events.ErrBadEnvelope) && !errors.Is(err, events.ErrUnknownEventType) {
				t.Fatalf("Parse error %v is neither ErrBadEnvelope nor ErrUnknownEventType", err)
			}
			if e.Data != nil {
				t.Fatalf("data %+v returned with error %v", e.Data, err)
			}
			return
		}
		if e.Data == nil || e.Type == "" || e.ID == "" || e.Data.EventType() != e.Type {
			t.Fatalf("Parse accepted %q as %+v", b, e)
		}
		// What Parse accepted survives a second trip unchanged.
		again, err := json.Marshal(e)
		if err != nil {
			return // e.g. a time Go parses but will not print; not ours to fix
		}
		e2, err := events.Parse(again)
		if err != nil {
			t.Fatalf("re-encoded %s does not parse: %v", again, err)
		}
		if !sameHeader(e.Header, e2.Header) || !reflect.DeepEqual(e.Data, e2.Data) {
			t.Fatalf("second trip changed the event:\n%+v\n%+v", e, e2)
		}
	})
}
