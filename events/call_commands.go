package events

// Call commands. All are routed to the media owner of the call's partition.
// A command with an idempotency_key that was already executed gets the
// first execution's reply again instead of being executed twice.

func init() {
	RegisterCommand(func() Command { return &Dial{} })
	RegisterCommand(func() Command { return &Answer{} })
	RegisterCommand(func() Command { return &Reject{} })
	RegisterCommand(func() Command { return &Hangup{} })
	RegisterCommand(func() Command { return &Bridge{} })
	RegisterCommand(func() Command { return &Unbridge{} })
	RegisterCommand(func() Command { return &Hold{} })
	RegisterCommand(func() Command { return &Unhold{} })
}

// CallCommand is the part every call command shares.
type CallCommand struct {
	// CallID is the call the command is about.
	CallID string `json:"call_id"`
	// IdempotencyKey makes a retried command safe.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

func (*CallCommand) Role() string       { return RoleMedia }
func (c *CallCommand) RouteKey() string { return c.CallID }

// Idempotency returns the command's idempotency key ("" if none).
func (c *CallCommand) Idempotency() string { return c.IdempotencyKey }

// Dial places an outbound call. Without bridge_to it lands on a random
// partition; with it, on the partition of the call to bridge to, and the new
// call's Call-ID is chosen to hash there too, so both legs live in one process.
//
//	nats req sb.cmd.dial '{"to":"sip:bob@127.0.0.1:5080","timeout":30}'
type Dial struct {
	// To is the SIP URI to call.
	To string `json:"to"`
	// From is the caller's SIP URI (default sip:switchboard@<edge host>).
	From string `json:"from,omitempty"`
	// Timeout is how long to ring, in seconds (default 30).
	Timeout int `json:"timeout,omitempty"`
	// Headers are extra SIP headers for the INVITE (X- headers and the like).
	Headers map[string]string `json:"headers,omitempty"`
	// BridgeTo is a call to bridge the new call to once it answers.
	BridgeTo string `json:"bridge_to,omitempty"`
	// IdempotencyKey makes a retried dial return the first call.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

func (*Dial) Verb() string { return "dial" }
func (*Dial) Role() string { return RoleMedia }

// Idempotency returns the dial's idempotency key ("" if none).
func (d *Dial) Idempotency() string { return d.IdempotencyKey }

// RouteKey: the call to bridge to, else the idempotency key (so a retry
// lands where the first try went), else nothing (the edge picks a random
// partition).
func (d *Dial) RouteKey() string {
	if d.BridgeTo != "" {
		return d.BridgeTo
	}
	return d.IdempotencyKey
}

// DialReply is Reply plus the new call's Call-ID.
type DialReply struct {
	Reply
	CallID string `json:"call_id,omitempty"`
}

// Answer answers a ringing inbound call.
//
//	nats req sb.cmd.answer '{"call_id":"..."}'
type Answer struct{ CallCommand }

func (*Answer) Verb() string { return "answer" }

// Reject refuses a ringing inbound call with a SIP code (default 486 Busy Here).
type Reject struct {
	CallCommand
	// Code is a 4xx, 5xx or 6xx SIP status.
	Code int `json:"code,omitempty"`
}

func (*Reject) Verb() string { return "reject" }

// Hangup ends a call in any state: BYE when answered, CANCEL while an
// outbound call rings, 480 for an inbound call not yet answered.
type Hangup struct{ CallCommand }

func (*Hangup) Verb() string { return "hangup" }

// Bridge connects the audio of two answered calls in the same partition.
type Bridge struct {
	CallCommand
	// PeerCallID is the other call.
	PeerCallID string `json:"peer_call_id"`
}

func (*Bridge) Verb() string { return "bridge" }

// Unbridge separates a bridged call from its peer; both stay up.
type Unbridge struct{ CallCommand }

func (*Unbridge) Verb() string { return "unbridge" }

// Hold puts the far end on hold (re-INVITE with a=sendonly).
type Hold struct{ CallCommand }

func (*Hold) Verb() string { return "hold" }

// Unhold takes it off hold (re-INVITE with a=sendrecv).
type Unhold struct{ CallCommand }

func (*Unhold) Verb() string { return "unhold" }
