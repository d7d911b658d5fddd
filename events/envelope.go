package events

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nuid"
)

// TypePrefix starts every event type string.
const TypePrefix = "io.switchboard."

// Payload is the type-specific body of an event. EventType returns the full
// versioned type string, e.g. "io.switchboard.node.v1.joined"; EventName the
// last segment, used as the last subject token.
type Payload interface {
	EventType() string
	EventName() string
}

// Header is the envelope every event carries, whatever its type.
type Header struct {
	// Type is the versioned type string of Data.
	Type string `json:"type"`
	// ID is unique per event (a NUID); consumers de-duplicate on it.
	ID string `json:"id"`
	// Time is when the fact happened, UTC.
	Time time.Time `json:"time"`
	// Node is the node that published the event.
	Node string `json:"node,omitempty"`
	// CallID is the SIP Call-ID the event is about, unencoded.
	CallID string `json:"call_id,omitempty"`
	// Conference is the conference the event is about.
	Conference string `json:"conference,omitempty"`
	// Partition is the partition of the call or object, when there is one.
	Partition *int `json:"partition,omitempty"`
}

// Event is a header plus a typed payload.
type Event struct {
	Header
	Data Payload `json:"data"`
}

// New builds an event of p's type with a fresh id and the current time.
func New(node string, p Payload) Event {
	return Event{
		Header: Header{Type: p.EventType(), ID: nuid.Next(), Time: time.Now().UTC(), Node: node},
		Data:   p,
	}
}

// WithCall sets the call and its partition on the event.
func (e Event) WithCall(callID string, partition int) Event {
	e.CallID = callID
	e.Partition = &partition
	return e
}

var (
	regMu    sync.RWMutex
	registry = map[string]func() Payload{}
)

// Register makes Parse understand the type that factory's payloads have.
// Registering one type twice panics: it is a programming error.
func Register(factory func() Payload) {
	t := factory().EventType()
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[t]; dup {
		panic("events: type registered twice: " + t)
	}
	registry[t] = factory
}

// Types lists every registered event type, sorted.
func Types() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// NewPayload returns a zero payload of a registered type, or nil.
func NewPayload(eventType string) Payload {
	regMu.RLock()
	f := registry[eventType]
	regMu.RUnlock()
	if f == nil {
		return nil
	}
	return f()
}

// Parse decodes any registered event. Unknown types return
// ErrUnknownEventType together with the header, so a consumer can skip
// events newer than itself.
func Parse(b []byte) (Event, error) {
	var raw struct {
		Header
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
	}
	if raw.Type == "" || raw.ID == "" {
		return Event{}, fmt.Errorf("%w: type and id are required", ErrBadEnvelope)
	}
	p := NewPayload(raw.Type)
	if p == nil {
		return Event{Header: raw.Header}, fmt.Errorf("%w: %q", ErrUnknownEventType, raw.Type)
	}
	if len(raw.Data) > 0 {
		if err := json.Unmarshal(raw.Data, p); err != nil {
			return Event{Header: raw.Header}, fmt.Errorf("%w: data of %s: %v", ErrBadEnvelope, raw.Type, err)
		}
	}
	return Event{Header: raw.Header, Data: p}, nil
}
