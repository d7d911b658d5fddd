package schemas_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/schemas"
)

type field struct {
	jsonType  string
	omitempty bool
}

// goFields lists the JSON fields of a Go struct type (embedded structs,
// by value or by pointer, flattened) with the JSON type each encodes to.
// As in encoding/json, a field of the outer struct hides a promoted field
// of the same name.
func goFields(t reflect.Type) map[string]field {
	out := map[string]field{}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			for k, v := range goFields(f.Type) {
				if _, hidden := out[k]; !hidden {
					out[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		// omitzero, like omitempty, leaves the field out: it is optional.
		out[name] = field{jsonType: jsonType(f.Type), omitempty: strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")}
	}
	return out
}

func jsonType(t reflect.Type) string {
	if t == reflect.TypeOf(time.Time{}) {
		return "string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonType(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Interface:
		return "object" // the event payload
	default:
		return "object"
	}
}

type schemaObj struct {
	Properties map[string]map[string]any `json:"properties"`
	Required   []string                  `json:"required"`
	AllOf      []map[string]string       `json:"allOf"`
}

func readSchema(t *testing.T, file string) schemaObj {
	t.Helper()
	b, err := fs.ReadFile(schemas.FS(), file)
	if err != nil {
		t.Fatalf("no schema %s: %v", file, err)
	}
	var s schemaObj
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	// Merge properties of schemas referenced by allOf (same directory).
	for _, ref := range s.AllOf {
		if r := ref["$ref"]; r != "" && !strings.Contains(file, "/io.switchboard.") {
			base := readSchema(t, file[:strings.LastIndex(file, "/")+1]+r)
			for k, v := range base.Properties {
				if _, ok := s.Properties[k]; !ok {
					s.Properties[k] = v
				}
			}
			s.Required = append(s.Required, base.Required...)
		}
	}
	return s
}

func schemaType(p map[string]any) string {
	if t, ok := p["type"].(string); ok {
		return t
	}
	if c, ok := p["const"]; ok {
		return jsonType(reflect.TypeOf(c))
	}
	if e, ok := p["enum"].([]any); ok && len(e) > 0 {
		return jsonType(reflect.TypeOf(e[0]))
	}
	return "?"
}

// agree fails when the Go type and the schema object differ in field names,
// JSON types, or which fields are required (required = not omitempty).
func agree(t *testing.T, what string, gt reflect.Type, s schemaObj, skip ...string) {
	t.Helper()
	gf := goFields(gt)
	for _, k := range skip {
		delete(gf, k)
		delete(s.Properties, k)
		s.Required = slices.DeleteFunc(s.Required, func(r string) bool { return r == k })
	}
	for name, f := range gf {
		p, ok := s.Properties[name]
		if !ok {
			t.Errorf("%s: Go field %q missing from schema", what, name)
			continue
		}
		if st := schemaType(p); st != f.jsonType {
			t.Errorf("%s: %q is %s in Go, %s in schema", what, name, f.jsonType, st)
		}
		if req := slices.Contains(s.Required, name); req == f.omitempty {
			t.Errorf("%s: %q required=%v in schema but omitempty=%v in Go", what, name, req, f.omitempty)
		}
	}
	for name := range s.Properties {
		if _, ok := gf[name]; !ok {
			t.Errorf("%s: schema property %q has no Go field", what, name)
		}
	}
}

func TestGoTypesMatchSchemas(t *testing.T) {
	env := readSchema(t, "events/envelope.json")
	agree(t, "envelope", reflect.TypeOf(events.Event{}), env)

	var files []string
	entries, _ := fs.ReadDir(schemas.FS(), "events")
	for _, e := range entries {
		if e.Name() != "envelope.json" {
			files = append(files, strings.TrimSuffix(e.Name(), ".json"))
		}
	}
	if !slices.Equal(files, events.Types()) {
		t.Errorf("event schemas %v != registered types %v", files, events.Types())
	}
	for _, typ := range events.Types() {
		s := readSchema(t, "events/"+typ+".json")
		if c := s.Properties["type"]["const"]; c != typ {
			t.Errorf("%s: schema type const is %v", typ, c)
		}
		data := s.Properties["data"]
		b, _ := json.Marshal(data)
		var ds schemaObj
		_ = json.Unmarshal(b, &ds)
		agree(t, typ, reflect.TypeOf(events.NewPayload(typ)), ds)
	}

	for _, verb := range events.Verbs() {
		agree(t, "command "+verb, reflect.TypeOf(events.NewCommand(verb)), readSchema(t, "commands/"+verb+".json"))
	}
	agree(t, "reply", reflect.TypeOf(events.Reply{}), readSchema(t, "commands/reply.json"))
	agree(t, "locate reply", reflect.TypeOf(events.LocateReply{}), readSchema(t, "commands/locate.reply.json"))
	agree(t, "dial reply", reflect.TypeOf(events.DialReply{}), readSchema(t, "commands/dial.reply.json"))
	agree(t, "conference_list reply", reflect.TypeOf(events.ConferenceListReply{}), readSchema(t, "commands/conference_list.reply.json"))
	var list schemaObj
	b, _ := json.Marshal(readSchema(t, "commands/conference_list.reply.json").Properties["members"]["items"])
	_ = json.Unmarshal(b, &list)
	agree(t, "conference_list reply member", reflect.TypeOf(events.ConferenceMember{}), list)

	// Every schema file is a registered verb (or its reply): no orphans.
	cmdFiles, _ := fs.ReadDir(schemas.FS(), "commands")
	for _, e := range cmdFiles {
		verb := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".json"), ".reply")
		if verb != "reply" && events.NewCommand(verb) == nil {
			t.Errorf("commands/%s: no registered verb %q", e.Name(), verb)
		}
	}
}

// TestGoTypesEmbeddedFields: the call commands embed CallCommand, whose
// methods have pointer receivers; its fields must still be found, and an
// embedded pointer must be followed too.
func TestGoTypesEmbeddedFields(t *testing.T) {
	want := map[string]field{"call_id": {"string", false}, "idempotency_key": {"string", true}, "peer_call_id": {"string", false}}
	if got := goFields(reflect.TypeOf(&events.Bridge{})); !reflect.DeepEqual(got, want) {
		t.Errorf("Bridge: %v, want %v", got, want)
	}
	type viaPointer struct {
		*events.CallCommand
		Code int `json:"code,omitempty"`
	}
	want = map[string]field{"call_id": {"string", false}, "idempotency_key": {"string", true}, "code": {"integer", true}}
	if got := goFields(reflect.TypeOf(viaPointer{})); !reflect.DeepEqual(got, want) {
		t.Errorf("embedded pointer: %v, want %v", got, want)
	}
	type hides struct {
		CallID int `json:"call_id"`
		events.CallCommand
	}
	if got := goFields(reflect.TypeOf(hides{}))["call_id"]; got.jsonType != "integer" {
		t.Errorf("outer field does not hide the promoted one: %v", got)
	}
	// And the JSON the Go type writes is what the schema expects.
	b, _ := json.Marshal(&events.Answer{CallCommand: events.CallCommand{CallID: "a@b"}})
	if string(b) != `{"call_id":"a@b"}` {
		t.Errorf("Answer encodes as %s", b)
	}
	if err := schemas.ValidateCommand("answer", b); err != nil {
		t.Error(err)
	}
}

// TestEventsValidate: what the Go code publishes validates, and what the
// schema forbids is refused.
func TestEventsValidate(t *testing.T) {
	samples := []events.Payload{
		&events.NodeJoined{Roles: []string{"media", "edge"}, Version: "dev", Incarnation: "abc", HTTPAddr: ":8080"},
		&events.NodeLeft{Reason: "drained"},
		&events.NodeDown{Incarnation: "k3J9x", SilentMS: 2512, Roles: []string{"media"}},
		&events.PartitionAcquired{Role: "media", Partition: 3, PreviousOwner: "n1", Takeover: true, TakeoverMS: 1.5},
		&events.PartitionReleased{Role: "media", Partition: 0, Reason: "rebalance"},
		&events.CallIncoming{From: "sip:alice@atlanta.com", To: "sip:bob@biloxi.com", RequestURI: "sip:echo@10.0.0.5:5060",
			Source: "192.0.2.4:5060", Transport: "UDP", Edge: "edge-1", Route: "echo", Offer: true},
		&events.CallRinging{Direction: events.DirectionOutbound, Code: 183},
		&events.CallAnswered{Direction: events.DirectionInbound, Codec: "PCMU/8000", LocalRTP: "10.0.0.5:20000", RemoteRTP: "192.0.2.4:49170"},
		&events.CallBridged{PeerCallID: "b9c8d7e6@10.0.0.5", Transcoding: true},
		&events.CallUnbridged{PeerCallID: "b9c8d7e6@10.0.0.5"},
		&events.CallHeld{Held: true, By: events.ByRemote},
		&events.CallMigrated{FromNode: "w1", ToNode: "w2", LocalRTP: "10.0.0.7:16384", GapMS: 41.7},
		&events.CallCompleted{Direction: events.DirectionInbound, Status: events.StatusBusy, SIPCode: 486, Reason: "Busy Here", Duration: 0, HangupBy: events.ByRemote},
		&events.CallMediaStats{Codec: "PCMA/8000", PacketsSent: 1500, PacketsReceived: 1497, PacketsLost: 3, FractionLost: 0.0078125, JitterMS: 2.4, RTTMS: 38.5, Final: true},
		&events.CallDTMF{Digit: "#", DurationMS: 180, Source: events.DTMFSourceRFC4733, Seq: 3},
		&events.CallDTMFStarted{Digit: "5", Source: events.DTMFSourceInband, Seq: 1},
		&events.CallGatherCompleted{Digits: "1234", Reason: events.GatherFinishKey},
		&events.ConferenceStarted{Rate: 16000},
		&events.ConferenceEnded{Reason: events.EndedEmpty, Duration: 312.5},
		&events.MemberJoined{Codec: "PCMU/8000", Moderator: true, Members: 3},
		&events.MemberLeft{Reason: events.LeftKicked, Members: 2},
		&events.MemberMuted{}, &events.MemberUnmuted{}, &events.MemberDeaf{}, &events.MemberUndeaf{},
		&events.TalkingStarted{Level: -23.4},
		&events.TalkingStopped{Level: -21.9, DurationMS: 2840},
	}
	if len(samples) != len(events.Types()) {
		t.Fatalf("a sample per event type is needed: %d samples, %d types", len(samples), len(events.Types()))
	}
	for _, p := range samples {
		e := events.New("node-1", p).WithCall("a@b", 7)
		if strings.HasPrefix(e.Type, "io.switchboard.conference.") {
			e = e.WithConference("room1", 3)
		}
		b, _ := json.Marshal(e)
		if err := schemas.ValidateEvent(e.Type, b); err != nil {
			t.Errorf("%s: %v\n%s", e.Type, err, b)
		}
		back, err := events.Parse(b)
		if err != nil || !reflect.DeepEqual(back.Data, p) || back.ID != e.ID {
			t.Errorf("%s does not round-trip: %v %+v", e.Type, err, back)
		}
	}
	bad := map[string]string{
		"missing id":      `{"type":"io.switchboard.node.v1.left","time":"2026-01-01T00:00:00Z","data":{"reason":"drained"}}`,
		"bad enum":        `{"type":"io.switchboard.node.v1.left","id":"x","time":"2026-01-01T00:00:00Z","data":{"reason":"bored"}}`,
		"bad time":        `{"type":"io.switchboard.node.v1.left","id":"x","time":"yesterday","data":{"reason":"drained"}}`,
		"extra data prop": `{"type":"io.switchboard.node.v1.left","id":"x","time":"2026-01-01T00:00:00Z","data":{"reason":"drained","x":1}}`,
	}
	for name, doc := range bad {
		if err := schemas.ValidateEvent("io.switchboard.node.v1.left", []byte(doc)); !errors.Is(err, schemas.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}

	// Call events: a good one, then one thing wrong at a time.
	const callType = "io.switchboard.call.v1."
	env := func(name, data string) string {
		return `{"type":"` + callType + name + `","id":"x","time":"2026-01-01T00:00:00Z","node":"w1","call_id":"a84b4c76e66710@pc33.atlanta.com","partition":17,"data":` + data + `}`
	}
	completed := `{"direction":"inbound","status":"busy","sip_code":486,"reason":"Busy Here","duration":0,"hangup_by":"remote"}`
	if err := schemas.ValidateEvent(callType+"completed", []byte(env("completed", completed))); err != nil {
		t.Errorf("good completed: %v", err)
	}
	stats := func(fl string) string {
		return `{"codec":"PCMU/8000","packets_sent":10,"packets_received":10,"packets_lost":0,"fraction_lost":` + fl + `,"jitter_ms":1,"rtt_ms":0,"final":false}`
	}
	callBad := []struct{ name, typ, doc string }{
		{"bad status enum", "completed", env("completed", strings.Replace(completed, `"busy"`, `"hung-up"`, 1))},
		{"bad hangup_by", "completed", env("completed", strings.Replace(completed, `"remote"`, `"callee"`, 1))},
		{"sip_code out of range", "completed", env("completed", strings.Replace(completed, `486`, `999`, 1))},
		{"negative duration", "completed", env("completed", strings.Replace(completed, `"duration":0`, `"duration":-1`, 1))},
		{"missing call_id", "completed", strings.Replace(env("completed", completed), `"call_id":"a84b4c76e66710@pc33.atlanta.com",`, "", 1)},
		{"missing partition", "completed", strings.Replace(env("completed", completed), `"partition":17,`, "", 1)},
		{"missing data field", "completed", env("completed", strings.Replace(completed, `,"hangup_by":"remote"`, "", 1))},
		{"fraction_lost 1.5", "media_stats", env("media_stats", stats("1.5"))},
		{"fraction_lost negative", "media_stats", env("media_stats", stats("-0.1"))},
		{"negative packets", "media_stats", env("media_stats", strings.Replace(stats("0"), `"packets_lost":0`, `"packets_lost":-1`, 1))},
		{"ringing 200", "ringing", env("ringing", `{"direction":"inbound","code":200}`)},
		{"bad direction", "ringing", env("ringing", `{"direction":"sideways","code":180}`)},
		{"held by peer", "held", env("held", `{"held":true,"by":"peer"}`)},
		{"bad route", "incoming", env("incoming", `{"from":"sip:a@b","to":"sip:c@d","request_uri":"sip:c@d","source":"1.2.3.4:5060","transport":"UDP","edge":"e","route":"voicemail","offer":true}`)},
		{"extra data prop", "bridged", env("bridged", `{"peer_call_id":"p@h","transcoding":false,"x":1}`)},
		{"wrong type const", "unbridged", strings.Replace(env("unbridged", `{"peer_call_id":"p@h"}`), callType+"unbridged", callType+"bridged", 1)},
	}
	for _, c := range callBad {
		if err := schemas.ValidateEvent(callType+c.typ, []byte(c.doc)); !errors.Is(err, schemas.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid\n%s", c.name, err, c.doc)
		} else {
			t.Logf("%s -> %v", c.name, err)
		}
	}
	// Conference events: a good one, then one thing wrong at a time.
	const confType = "io.switchboard.conference.v1."
	cenv := func(name, data string) string {
		return `{"type":"` + confType + name + `","id":"x","time":"2026-01-01T00:00:00Z","node":"w1","call_id":"a@b","conference":"room1","partition":3,"data":` + data + `}`
	}
	if err := schemas.ValidateEvent(confType+"member_left", []byte(cenv("member_left", `{"reason":"gone","members":0}`))); err != nil {
		t.Errorf("good member_left: %v", err)
	}
	confBad := []struct{ name, typ, doc string }{
		{"bad left reason", "member_left", cenv("member_left", `{"reason":"bored","members":1}`)},
		{"negative members", "member_left", cenv("member_left", `{"reason":"left","members":-1}`)},
		{"joined with no members", "member_joined", cenv("member_joined", `{"muted":false,"deaf":false,"moderator":false,"codec":"PCMU/8000","members":0}`)},
		{"member event without call_id", "member_muted", strings.Replace(cenv("member_muted", `{}`), `"call_id":"a@b",`, "", 1)},
		{"without conference", "started", strings.Replace(cenv("started", `{"rate":16000}`), `"conference":"room1",`, "", 1)},
		{"bad conference name", "started", strings.Replace(cenv("started", `{"rate":16000}`), `"room1"`, `"room.1"`, 1)},
		{"rate 8000", "started", cenv("started", `{"rate":8000}`)},
		{"bad ended reason", "ended", cenv("ended", `{"reason":"","duration":1}`)},
		{"level above 0", "talking_started", cenv("talking_started", `{"level":3}`)},
		{"muted with data", "member_muted", cenv("member_muted", `{"by":"x"}`)},
	}
	for _, c := range confBad {
		if err := schemas.ValidateEvent(confType+c.typ, []byte(c.doc)); !errors.Is(err, schemas.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid\n%s", c.name, err, c.doc)
		}
	}

	// A call event published without WithCall is refused.
	e := events.New("node-1", &events.CallUnbridged{PeerCallID: "p@h"})
	b, _ := json.Marshal(e)
	if err := schemas.ValidateEvent(e.Type, b); !errors.Is(err, schemas.ErrInvalid) {
		t.Errorf("call event without call_id/partition: got %v, want ErrInvalid", err)
	}
}

func TestCommandsValidate(t *testing.T) {
	if err := schemas.ValidateCommand("locate", []byte(`{"call_id":"a84b4c76e66710@pc33.example.com"}`)); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{`{}`, `{"call_id":""}`, `{"call_id":5}`, `{"call_id":"x","extra":1}`, `[1]`, `{`} {
		err := schemas.ValidateCommand("locate", []byte(doc))
		if !errors.Is(err, schemas.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", doc, err)
		} else {
			t.Logf("%s -> %v", doc, err)
		}
	}
	if err := schemas.ValidateCommand("nope", []byte(`{}`)); !errors.Is(err, schemas.ErrNoSchema) {
		t.Errorf("unknown verb: %v", err)
	}
	p := 3
	r, _ := json.Marshal(events.LocateReply{Reply: events.Reply{Code: 200, Reason: "OK", Node: "n", Partition: &p}, Role: "media"})
	if err := schemas.ValidateReply("locate", r); err != nil {
		t.Error(err)
	}

	// Good and bad bodies for every call verb; what the schema accepts, the
	// Go type decodes, and the Go types' own encodings validate.
	long := strings.Repeat("a", 1025)
	headers := func(n int) string {
		var kv []string
		for i := range n {
			kv = append(kv, `"X-H`+strings.Repeat("i", i)+`":"v"`)
		}
		return `{"to":"sip:bob@b","headers":{` + strings.Join(kv, ",") + `}}`
	}
	cases := []struct {
		verb string
		good []string
		bad  []string
	}{
		{"dial",
			[]string{
				`{"to":"sip:bob@127.0.0.1:5080"}`,
				`{"to":"sips:bob@biloxi.com;transport=tcp","from":"sip:alice@atlanta.com","timeout":30,"headers":{"X-Account":"42","P-Asserted-Identity":"<sip:+15551234@atlanta.com>"},"bridge_to":"a84b4c76e66710@pc33.atlanta.com","idempotency_key":"order-7781"}`,
				`{"to":"sip:bob@b","timeout":1}`, `{"to":"sip:bob@b","timeout":600}`,
				headers(32),
			},
			[]string{
				`{}`, `{"from":"sip:alice@a"}`,
				`{"to":"tel:123"}`, `{"to":"bob@biloxi.com"}`, `{"to":"sip:"}`, `{"to":"sip:bob@b\r\nX-Evil: 1"}`, `{"to":"sip:bob@b","from":"alice"}`, `{"to":"sip:bøb@b"}`,
				`{"to":"sip:bob@b","timeout":0}`, `{"to":"sip:bob@b","timeout":601}`, `{"to":"sip:bob@b","timeout":1.5}`, `{"to":"sip:bob@b","timeout":"30"}`,
				`{"to":"sip:bob@b","headers":{"X Bad":"v"}}`, `{"to":"sip:bob@b","headers":{"X-A:":"v"}}`, `{"to":"sip:bob@b","headers":{"":"v"}}`, `{"to":"sip:bob@b","headers":{"X-` + strings.Repeat("h", 63) + `":"v"}}`,
				`{"to":"sip:bob@b","headers":{"X-A":1}}`, `{"to":"sip:bob@b","headers":{"X-A":"v\r\nVia: evil"}}`, `{"to":"sip:bob@b","headers":["X-A"]}`,
				headers(33),
				`{"to":"sip:bob@b","bridge_to":""}`, `{"to":"sip:bob@b","call_id":"x@y"}`,
				`{"to":"sip:bob@b","idempotency_key":"` + strings.Repeat("k", 257) + `"}`,
				`{"to":"sip:bob@b","ring":5}`,
			}},
		{"answer",
			[]string{`{"call_id":"a84b4c76e66710@pc33.atlanta.com"}`, `{"call_id":"x","idempotency_key":"k1"}`},
			[]string{`{}`, `{"call_id":""}`, `{"call_id":"` + long + `"}`, `{"call_id":"x","codec":"PCMU"}`, `{"call_id":"x","idempotency_key":7}`}},
		{"reject",
			[]string{`{"call_id":"x"}`, `{"call_id":"x","code":486}`, `{"call_id":"x","code":400}`, `{"call_id":"x","code":603}`, `{"call_id":"x","code":699}`},
			[]string{`{"code":486}`, `{"call_id":"x","code":200}`, `{"call_id":"x","code":399}`, `{"call_id":"x","code":700}`, `{"call_id":"x","code":"486"}`, `{"call_id":"x","reason":"no"}`}},
		{"hangup",
			[]string{`{"call_id":"x"}`},
			[]string{`{}`, `{"call_id":null}`, `{"call_id":"x","code":480}`}},
		{"bridge",
			[]string{`{"call_id":"x","peer_call_id":"y"}`, `{"call_id":"x","peer_call_id":"y","idempotency_key":"b-1"}`},
			[]string{`{"call_id":"x"}`, `{"peer_call_id":"y"}`, `{"call_id":"x","peer_call_id":""}`, `{"call_id":"x","peer_call_id":"y","mix":true}`}},
		{"unbridge",
			[]string{`{"call_id":"x"}`},
			[]string{`{}`, `{"call_id":"x","peer_call_id":"y"}`}},
		{"hold",
			[]string{`{"call_id":"x"}`},
			[]string{`{}`, `{"call_id":"x","music":"jazz"}`, `[]`}},
		{"unhold",
			[]string{`{"call_id":"x","idempotency_key":""}`},
			[]string{`{}`, `{"call_id":5}`}},
		{"dtmf_send",
			[]string{`{"call_id":"x","digits":"123*9#"}`, `{"call_id":"x","digits":"abcd","duration_ms":40,"method":"info"}`},
			[]string{`{"call_id":"x"}`, `{"call_id":"x","digits":""}`, `{"call_id":"x","digits":"12e"}`, `{"call_id":"x","digits":"1","duration_ms":10}`, `{"call_id":"x","digits":"1","method":"fax"}`}},
		{"dtmf_inband",
			[]string{`{"call_id":"x","enabled":true}`},
			[]string{`{"call_id":"x"}`, `{"call_id":"x","enabled":"yes"}`}},
		{"gather",
			[]string{`{"call_id":"x"}`, `{"call_id":"x","max_digits":4,"min_digits":1,"finish_on_key":"*","first_timeout_ms":5000,"inter_digit_timeout_ms":2000}`, `{"call_id":"x","finish_on_key":"none"}`},
			[]string{`{}`, `{"call_id":"x","max_digits":65}`, `{"call_id":"x","finish_on_key":"##"}`, `{"call_id":"x","first_timeout_ms":0}`}},
		{"conference_join",
			[]string{`{"conference":"room1","call_id":"a84b4c76e66710@pc33.atlanta.com"}`,
				`{"conference":"Sales_Q3-2026","call_id":"x","muted":true,"deaf":false,"moderator":true,"start_on_enter":false,"end_on_exit":true}`,
				`{"conference":"` + strings.Repeat("r", 64) + `","call_id":"x"}`},
			[]string{`{}`, `{"conference":"room1"}`, `{"call_id":"x"}`, `{"conference":"","call_id":"x"}`, `{"conference":"room.1","call_id":"x"}`,
				`{"conference":"room 1","call_id":"x"}`, `{"conference":"` + strings.Repeat("r", 65) + `","call_id":"x"}`, `{"conference":"r","call_id":""}`,
				`{"conference":"r","call_id":"` + long + `"}`, `{"conference":"r","call_id":"x","muted":"yes"}`, `{"conference":"r","call_id":"x","pin":"1234"}`}},
		{"conference_leave", []string{`{"conference":"room1","call_id":"x"}`}, []string{`{"conference":"room1"}`, `{"conference":"room1","call_id":"x","hangup":true}`}},
		{"conference_kick", []string{`{"conference":"room1","call_id":"x"}`}, []string{`{"call_id":"x"}`, `{"conference":"a*b","call_id":"x"}`}},
		{"conference_mute", []string{`{"conference":"room1","call_id":"x"}`}, []string{`{"conference":"room1","call_id":5}`}},
		{"conference_unmute", []string{`{"conference":"room1","call_id":"x"}`}, []string{`{"conference":"room1","call_id":"x","muted":false}`}},
		{"conference_deaf", []string{`{"conference":"room1","call_id":"x"}`}, []string{`{"conference":"room1"}`}},
		{"conference_undeaf", []string{`{"conference":"room1","call_id":"x"}`}, []string{`{"conference":">","call_id":"x"}`}},
		{"conference_end", []string{`{"conference":"room1"}`}, []string{`{}`, `{"conference":"room1","call_id":"x"}`, `{"conference":"room1","reason":"done"}`}},
		{"conference_list", []string{`{"conference":"room1"}`}, []string{`{}`, `{"conference":""}`, `{"conference":"room1","members":true}`}},
	}
	seen := map[string]bool{"locate": true}
	for _, c := range cases {
		seen[c.verb] = true
		for _, doc := range c.good {
			if err := schemas.ValidateCommand(c.verb, []byte(doc)); err != nil {
				t.Errorf("%s %s: %v", c.verb, doc, err)
			}
			// What the schema accepts, the Go type decodes.
			cmd := events.NewCommand(c.verb)
			d := json.NewDecoder(strings.NewReader(doc))
			d.DisallowUnknownFields()
			if err := d.Decode(cmd); err != nil {
				t.Errorf("%s %s: Go type refuses it: %v", c.verb, doc, err)
			}
		}
		for _, doc := range c.bad {
			if err := schemas.ValidateCommand(c.verb, []byte(doc)); !errors.Is(err, schemas.ErrInvalid) {
				t.Errorf("%s %s: got %v, want ErrInvalid", c.verb, doc, err)
			} else {
				t.Logf("%s %s -> %v", c.verb, doc, err)
			}
		}
	}
	for _, v := range events.Verbs() {
		if !seen[v] {
			t.Errorf("no validation cases for verb %s", v)
		}
	}

	// The Go types' encodings validate.
	cc := events.CallCommand{CallID: "a84b4c76e66710@pc33.atlanta.com", IdempotencyKey: "k"}
	for _, cmd := range []events.Command{
		&events.Dial{To: "sip:bob@biloxi.com", From: "sip:alice@atlanta.com", Timeout: 30, Headers: map[string]string{"X-Tag": "1"}, BridgeTo: cc.CallID, IdempotencyKey: "k"},
		&events.Dial{To: "sip:bob@biloxi.com"},
		&events.Answer{CallCommand: cc}, &events.Reject{CallCommand: cc, Code: 603}, &events.Reject{CallCommand: cc},
		&events.Hangup{CallCommand: cc}, &events.Bridge{CallCommand: cc, PeerCallID: "p@h"}, &events.Unbridge{CallCommand: cc},
		&events.Hold{CallCommand: cc}, &events.Unhold{CallCommand: events.CallCommand{CallID: "x"}},
		&events.DTMFSend{CallCommand: cc, Digits: "123#", DurationMS: 100, Method: events.DTMFMethodRFC4733},
		&events.DTMFInband{CallCommand: cc, Enabled: true},
		&events.Gather{CallID: "x", MaxDigits: 4, FinishOnKey: "#", FirstTimeoutMS: 5000, InterDigitTimeoutMS: 3000},
		&events.ConferenceJoin{MemberCommand: events.MemberCommand{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}, CallID: cc.CallID}},
		&events.ConferenceJoin{MemberCommand: events.MemberCommand{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}, CallID: "x"},
			Muted: true, Deaf: true, Moderator: true, StartOnEnter: new(bool), EndOnExit: true},
		&events.ConferenceLeave{MemberCommand: events.MemberCommand{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}, CallID: "x"}},
		&events.ConferenceKick{MemberCommand: events.MemberCommand{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}, CallID: "x"}},
		&events.ConferenceMute{MemberCommand: events.MemberCommand{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}, CallID: "x"}},
		&events.ConferenceUnmute{MemberCommand: events.MemberCommand{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}, CallID: "x"}},
		&events.ConferenceDeaf{MemberCommand: events.MemberCommand{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}, CallID: "x"}},
		&events.ConferenceUndeaf{MemberCommand: events.MemberCommand{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}, CallID: "x"}},
		&events.ConferenceEnd{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}},
		&events.ConferenceList{ConferenceCommand: events.ConferenceCommand{Conference: "room1"}},
	} {
		b, _ := json.Marshal(cmd)
		if err := schemas.ValidateCommand(cmd.Verb(), b); err != nil {
			t.Errorf("%s %s: %v", cmd.Verb(), b, err)
		}
	}

	// Replies: dial's carries the new call; the others use the generic one.
	p = 5
	for _, r := range []any{
		events.DialReply{Reply: events.Reply{Code: 202, Reason: "dialing", Node: "w1", Partition: &p}, CallID: "3848276298220188511@10.0.0.5"},
		events.DialReply{Reply: events.Reply{Code: 400, Reason: "bad to"}},
	} {
		b, _ := json.Marshal(r)
		if err := schemas.ValidateReply("dial", b); err != nil {
			t.Errorf("dial reply %s: %v", b, err)
		}
	}
	for _, doc := range []string{`{"code":202,"reason":"dialing","call_id":""}`, `{"code":202,"reason":"dialing","call_id":7}`, `{"reason":"dialing","call_id":"x@y"}`} {
		if err := schemas.ValidateReply("dial", []byte(doc)); !errors.Is(err, schemas.ErrInvalid) {
			t.Errorf("dial reply %s: got %v, want ErrInvalid", doc, err)
		}
	}
	// conference_list: the members, or just the common reply on errors.
	now := time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)
	for _, r := range []events.ConferenceListReply{
		{Reply: events.Reply{Code: 200, Reason: "OK", Node: "w1", Partition: &p}, Conference: "room1", Started: true, Created: now, Rate: 16000,
			Members: []events.ConferenceMember{{CallID: "a@b", Moderator: true, StartOnEnter: true, Talking: true, Codec: "PCMU/8000", Joined: now}}},
		{Reply: events.Reply{Code: 404, Reason: "no conference room1", Node: "w1", Partition: &p}},
	} {
		b, _ := json.Marshal(r)
		if err := schemas.ValidateReply("conference_list", b); err != nil {
			t.Errorf("conference_list reply %s: %v", b, err)
		}
	}
	if err := schemas.ValidateReply("conference_list", []byte(`{"code":200,"reason":"OK","started":true,"members":[{"call_id":"a@b"}]}`)); !errors.Is(err, schemas.ErrInvalid) {
		t.Errorf("conference_list reply with a partial member: %v", err)
	}
	for _, v := range []string{"answer", "reject", "hangup", "bridge", "unbridge", "hold", "unhold", "dtmf_send", "dtmf_inband", "gather",
		"conference_join", "conference_leave", "conference_kick", "conference_mute", "conference_unmute", "conference_deaf", "conference_undeaf", "conference_end"} {
		for _, code := range []int{200, 202, 404, 409} {
			b, _ := json.Marshal(events.Reply{Code: code, Reason: "r", Node: "w1", Partition: &p})
			if err := schemas.ValidateReply(v, b); err != nil {
				t.Errorf("%s reply %s: %v", v, b, err)
			}
		}
	}
}
