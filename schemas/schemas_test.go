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

// goFields lists the JSON fields of a Go struct type (embedded structs
// flattened) with the JSON type each encodes to.
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
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = field{jsonType: jsonType(f.Type), omitempty: strings.Contains(opts, "omitempty")}
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
}

// TestEventsValidate: what the Go code publishes validates, and what the
// schema forbids is refused.
func TestEventsValidate(t *testing.T) {
	samples := []events.Payload{
		&events.NodeJoined{Roles: []string{"media", "edge"}, Version: "dev", Incarnation: "abc", HTTPAddr: ":8080"},
		&events.NodeLeft{Reason: "drained"},
		&events.PartitionAcquired{Role: "media", Partition: 3, PreviousOwner: "n1", Takeover: true, TakeoverMS: 1.5},
		&events.PartitionReleased{Role: "media", Partition: 0, Reason: "rebalance"},
	}
	if len(samples) != len(events.Types()) {
		t.Fatalf("a sample per event type is needed: %d samples, %d types", len(samples), len(events.Types()))
	}
	for _, p := range samples {
		e := events.New("node-1", p).WithCall("a@b", 7)
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
}
