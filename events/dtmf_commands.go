package events

func init() {
	RegisterCommand(func() Command { return &DTMFSend{} })
	RegisterCommand(func() Command { return &DTMFInband{} })
	RegisterCommand(func() Command { return &Gather{} })
}

// Methods of DTMFSend.
const (
	DTMFMethodAuto    = "auto"
	DTMFMethodRFC4733 = "rfc4733"
	DTMFMethodInfo    = "info"
	DTMFMethodInband  = "inband"
)

// DTMFSend sends digits on a call leg. It is answered 202 once the digits
// are queued; they go out one after another (duration_ms each, 50 ms apart).
//
//	nats req sb.cmd.dtmf_send '{"call_id":"...","digits":"123#"}'
type DTMFSend struct {
	CallCommand
	// Digits are 0-9 * # A-D (a-d accepted), at most 64.
	Digits string `json:"digits"`
	// DurationMS is each tone's length, 40-2000 (default 100).
	DurationMS int `json:"duration_ms,omitempty"`
	// Method is rfc4733, info, inband or auto (default): rfc4733 when the
	// call negotiated telephone-event, else info.
	Method string `json:"method,omitempty"`
}

func (*DTMFSend) Verb() string { return "dtmf_send" }

// DTMFInband switches in-band tone detection of one call on or off (the
// default is the node's dtmf_inband setting).
//
//	nats req sb.cmd.dtmf_inband '{"call_id":"...","enabled":true}'
type DTMFInband struct {
	CallCommand
	Enabled bool `json:"enabled"`
}

func (*DTMFInband) Verb() string { return "dtmf_inband" }

// Gather collects the digits a caller presses, answered 202 at once; the
// outcome is a gather_completed event. A new gather replaces one in progress.
//
//	nats req sb.cmd.gather '{"call_id":"...","max_digits":4,"finish_on_key":"#"}'
type Gather struct {
	// CallID is the call whose digits are collected.
	CallID string `json:"call_id"`
	// MaxDigits ends the gather when reached (default 0: no limit, but 64 at most).
	MaxDigits int `json:"max_digits,omitempty"`
	// MinDigits is how many digits the finish key needs: pressed earlier,
	// it is ignored and gathering goes on.
	MinDigits int `json:"min_digits,omitempty"`
	// FinishOnKey is one key that ends the gather (default "#"; "" in JSON
	// means the default, "none" means no finish key).
	FinishOnKey string `json:"finish_on_key,omitempty"`
	// FirstTimeoutMS bounds the wait for the first digit (default 5000).
	FirstTimeoutMS int `json:"first_timeout_ms,omitempty"`
	// InterDigitTimeoutMS bounds the wait between digits (default 3000).
	InterDigitTimeoutMS int `json:"inter_digit_timeout_ms,omitempty"`
}

func (*Gather) Verb() string       { return "gather" }
func (*Gather) Role() string       { return RoleDTMF }
func (g *Gather) RouteKey() string { return g.CallID }
