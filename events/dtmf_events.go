package events

// DTMF events, published by the dtmf role on sb.evt.call.<encoded call-id>.<name>
// with the envelope's call_id and partition set. One key press gives exactly
// one dtmf_started (as soon as the detector is sure) and then one dtmf.

func init() {
	Register(func() Payload { return &CallDTMF{} })
	Register(func() Payload { return &CallDTMFStarted{} })
	Register(func() Payload { return &CallGatherCompleted{} })
}

// Where a digit came from.
const (
	DTMFSourceRFC4733 = "rfc4733"  // RTP telephone-event (RFC 4733)
	DTMFSourceSIPInfo = "sip_info" // SIP INFO, application/dtmf-relay or application/dtmf
	DTMFSourceInband  = "inband"   // tones in the audio (Goertzel)
)

// CallDTMF: a key was pressed and released.
type CallDTMF struct {
	// Digit is 0-9, *, #, A-D.
	Digit string `json:"digit"`
	// DurationMS is how long the key was held (0 when a SIP INFO did not say).
	DurationMS int `json:"duration_ms"`
	// Source is rfc4733, sip_info or inband.
	Source string `json:"source"`
	// Seq numbers the call's key presses from 1; dtmf_started and dtmf of
	// one press carry the same seq.
	Seq uint64 `json:"seq"`
}

func (*CallDTMF) EventType() string { return "io.switchboard.call.v1.dtmf" }
func (*CallDTMF) EventName() string { return "dtmf" }

// CallDTMFStarted: a key press began (the first packet of an RFC 4733
// event, the first tone blocks in-band); for applications that react
// before the key is released. SIP INFO gives only dtmf.
type CallDTMFStarted struct {
	Digit  string `json:"digit"`
	Source string `json:"source"`
	Seq    uint64 `json:"seq"`
}

func (*CallDTMFStarted) EventType() string { return "io.switchboard.call.v1.dtmf_started" }
func (*CallDTMFStarted) EventName() string { return "dtmf_started" }

// Why a gather ended.
const (
	GatherMaxDigits = "max_digits"
	GatherFinishKey = "finish_key"
	GatherTimeout   = "timeout"
	GatherHangup    = "hangup"
)

// CallGatherCompleted: a gather command finished.
type CallGatherCompleted struct {
	// Digits collected, without the finish key.
	Digits string `json:"digits"`
	// Reason is max_digits, finish_key, timeout or hangup.
	Reason string `json:"reason"`
}

func (*CallGatherCompleted) EventType() string { return "io.switchboard.call.v1.gather_completed" }
func (*CallGatherCompleted) EventName() string { return "gather_completed" }
