package events

import (
	"slices"
	"sync"
)

// Command is a request an application sends to sb.cmd.<verb>. Any edge takes
// it, computes Partition(RouteKey()) and forwards it to that partition's owner.
type Command interface {
	// Verb is the last token of the command subject.
	Verb() string
	// Role is the worker role whose partitions own the command's object.
	Role() string
	// RouteKey is the key hashed to a partition (usually the Call-ID).
	RouteKey() string
}

// Reply codes are SIP-like, so that a telephony engineer reads them at a
// glance; Reason is a human sentence.
const (
	CodeOK                 = 200
	CodeCreated            = 201 // a WebRTC offer answered: a new call
	CodeAccepted           = 202 // started; the outcome arrives as events
	CodeConflict           = 409 // the call is not in a state that allows it
	CodeBadRequest         = 400
	CodeNotFound           = 404
	CodeTooLarge           = 413
	CodeNotAcceptable      = 488 // a WebRTC offer with no audio or no common codec (as SIP 488)
	CodeServerError        = 500
	CodeNotImplemented     = 501
	CodeServiceUnavailable = 503
	CodeTimeout            = 504
)

// Reply is the answer to every command.
type Reply struct {
	// Code is SIP-like: 2xx success, 4xx the request is wrong, 5xx the
	// platform could not do it.
	Code int `json:"code"`
	// Reason says what happened, for humans.
	Reason string `json:"reason"`
	// RetryAfter (seconds) is set on 503 when retrying later makes sense.
	RetryAfter int `json:"retry_after,omitempty"`
	// Node is the node that handled the command.
	Node string `json:"node,omitempty"`
	// Partition is the partition the command was routed to.
	Partition *int `json:"partition,omitempty"`
}

// Locate asks which node owns a call's partition. It is the simplest
// command: it proves the route from any edge to the owner and back.
//
//	nats req sb.cmd.locate '{"call_id":"a84b4c76e66710@pc33.example.com"}'
type Locate struct {
	// CallID is the SIP Call-ID to locate.
	CallID string `json:"call_id"`
}

func (*Locate) Verb() string       { return "locate" }
func (*Locate) Role() string       { return RoleMedia }
func (c *Locate) RouteKey() string { return c.CallID }

// LocateReply is Reply plus the role that owns the partition.
type LocateReply struct {
	Reply
	// Role is the worker role that owns the partition (absent on errors
	// the edge answers itself).
	Role string `json:"role,omitempty"`
}

var (
	cmdMu       sync.RWMutex
	cmdRegistry = map[string]func() Command{}
)

func init() {
	RegisterCommand(func() Command { return &Locate{} })
}

// RegisterCommand makes edges route commands of factory's verb.
func RegisterCommand(factory func() Command) {
	v := factory().Verb()
	cmdMu.Lock()
	defer cmdMu.Unlock()
	if _, dup := cmdRegistry[v]; dup {
		panic("events: command registered twice: " + v)
	}
	cmdRegistry[v] = factory
}

// NewCommand returns a zero command of a registered verb, or nil.
func NewCommand(verb string) Command {
	cmdMu.RLock()
	f := cmdRegistry[verb]
	cmdMu.RUnlock()
	if f == nil {
		return nil
	}
	return f()
}

// Verbs lists every registered command verb, sorted.
func Verbs() []string {
	cmdMu.RLock()
	defer cmdMu.RUnlock()
	out := make([]string, 0, len(cmdRegistry))
	for v := range cmdRegistry {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
