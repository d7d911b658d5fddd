package events

// Call events, published on sb.evt.call.<encoded call-id>.<name> with the
// envelope's call_id and partition set. Statuses and fields follow what
// telephony APIs (Twilio's call status) made familiar.

func init() {
	Register(func() Payload { return &CallIncoming{} })
	Register(func() Payload { return &CallRinging{} })
	Register(func() Payload { return &CallAnswered{} })
	Register(func() Payload { return &CallBridged{} })
	Register(func() Payload { return &CallUnbridged{} })
	Register(func() Payload { return &CallHeld{} })
	Register(func() Payload { return &CallMigrated{} })
	Register(func() Payload { return &CallCompleted{} })
	Register(func() Payload { return &CallMediaStats{} })
}

// Call directions.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// CallIncoming: a new call arrived (an INVITE outside any dialog).
type CallIncoming struct {
	// From and To are the SIP From and To addresses (URIs).
	From string `json:"from"`
	To   string `json:"to"`
	// RequestURI is the INVITE's Request-URI; its user part selects a route.
	RequestURI string `json:"request_uri"`
	// Source is the ip:port the INVITE came from, Transport its transport.
	Source    string `json:"source"`
	Transport string `json:"transport"`
	// Edge is the edge that received it.
	Edge string `json:"edge"`
	// Route is what the inbound rules decided: "echo", "app" (ring and
	// wait for an answer command) or "conference" (the user part starts
	// with the conference prefix).
	Route string `json:"route"`
	// Offer is false for an INVITE without SDP (the offer goes in our 200).
	Offer bool `json:"offer"`
}

func (*CallIncoming) EventType() string { return "io.switchboard.call.v1.incoming" }
func (*CallIncoming) EventName() string { return "incoming" }

// CallRinging: the called side is alerting (we sent, or received, 180/183).
type CallRinging struct {
	Direction string `json:"direction"`
	// Code is 180 or 183.
	Code int `json:"code"`
}

func (*CallRinging) EventType() string { return "io.switchboard.call.v1.ringing" }
func (*CallRinging) EventName() string { return "ringing" }

// CallAnswered: the call is connected (200 OK sent or received).
type CallAnswered struct {
	Direction string `json:"direction"`
	// Codec is the negotiated audio codec, e.g. "PCMU/8000".
	Codec string `json:"codec"`
	// LocalRTP and RemoteRTP are the media addresses (ip:port).
	LocalRTP  string `json:"local_rtp"`
	RemoteRTP string `json:"remote_rtp"`
}

func (*CallAnswered) EventType() string { return "io.switchboard.call.v1.answered" }
func (*CallAnswered) EventName() string { return "answered" }

// CallBridged: audio now flows between this call and Peer.
type CallBridged struct {
	PeerCallID string `json:"peer_call_id"`
	// Transcoding is true when the legs' codecs differ.
	Transcoding bool `json:"transcoding"`
}

func (*CallBridged) EventType() string { return "io.switchboard.call.v1.bridged" }
func (*CallBridged) EventName() string { return "bridged" }

// CallUnbridged: the bridge with Peer was taken down (command, or the peer ended).
type CallUnbridged struct {
	PeerCallID string `json:"peer_call_id"`
}

func (*CallUnbridged) EventType() string { return "io.switchboard.call.v1.unbridged" }
func (*CallUnbridged) EventName() string { return "unbridged" }

// CallHeld: the call was put on hold, or taken off hold.
type CallHeld struct {
	Held bool `json:"held"`
	// By is "remote" (the far end sent a hold offer) or "app" (a command).
	By string `json:"by"`
}

func (*CallHeld) EventType() string { return "io.switchboard.call.v1.held" }
func (*CallHeld) EventName() string { return "held" }

// CallMigrated: the call's owner changed (its worker died or drained) and
// the new owner moved the media to itself with a re-INVITE, which the far
// end accepted: audio flows again through ToNode.
type CallMigrated struct {
	FromNode string `json:"from_node"`
	ToNode   string `json:"to_node"`
	// LocalRTP is the new RTP address the far end now sends to.
	LocalRTP string `json:"local_rtp"`
	// GapMS is the time from the takeover of the call's partition to the
	// far end's 2xx to the re-INVITE, in milliseconds. It is not the gap
	// the phone hears: after a crash the failure detection comes before it;
	// after a drain the old owner keeps the media running until the phone
	// switches, so the phone hears about one packet interval
	// (docs/cluster.md#rolling-restarts-and-the-gap-a-phone-hears).
	GapMS float64 `json:"gap_ms"`
}

func (*CallMigrated) EventType() string { return "io.switchboard.call.v1.migrated" }
func (*CallMigrated) EventName() string { return "migrated" }

// Call statuses of CallCompleted, as Twilio names them.
const (
	StatusCompleted = "completed"
	StatusBusy      = "busy"
	StatusFailed    = "failed"
	StatusNoAnswer  = "no-answer"
	StatusCanceled  = "canceled"
)

// Who ended a call.
const (
	ByRemote   = "remote"   // the far end of this leg (BYE, CANCEL, error response)
	ByApp      = "app"      // a hangup or reject command
	ByPeer     = "peer"     // the bridged leg ended
	ByPlatform = "platform" // a timeout: no answer, no ACK, no media
)

// CallCompleted: the call is over; nothing more will be published for it.
type CallCompleted struct {
	Direction string `json:"direction"`
	// Status is completed, busy, failed, no-answer or canceled.
	Status string `json:"status"`
	// SIPCode is the final SIP code that ended it (200 for a normal BYE).
	SIPCode int    `json:"sip_code"`
	Reason  string `json:"reason"`
	// Duration is the answered time in seconds (0 if never answered).
	Duration float64 `json:"duration"`
	// HangupBy is remote, app, peer or platform.
	HangupBy string `json:"hangup_by"`
}

func (*CallCompleted) EventType() string { return "io.switchboard.call.v1.completed" }
func (*CallCompleted) EventName() string { return "completed" }

// CallMediaStats: RTP/RTCP figures of the call's media, published every
// few seconds while it is up and once at the end.
type CallMediaStats struct {
	Codec           string  `json:"codec"`
	PacketsSent     uint64  `json:"packets_sent"`
	PacketsReceived uint64  `json:"packets_received"`
	PacketsLost     uint64  `json:"packets_lost"`
	FractionLost    float64 `json:"fraction_lost"`
	JitterMS        float64 `json:"jitter_ms"`
	RTTMS           float64 `json:"rtt_ms"`
	// The jitter buffer's figures, on legs whose audio is decoded (a
	// G.711<->Opus bridge); relayed legs have none (the far end's buffer
	// does that job). JitterBufferMS is the playout delay of the last frame,
	// LatePackets the packets that came after their play time and were
	// dropped, ConcealedFrames the frames made up by FEC or concealment.
	JitterBufferMS  float64 `json:"jitter_buffer_ms,omitempty"`
	LatePackets     uint64  `json:"late_packets,omitempty"`
	ConcealedFrames uint64  `json:"concealed_frames,omitempty"`
	// Final is true for the figures published when the call ended.
	Final bool `json:"final"`
}

func (*CallMediaStats) EventType() string { return "io.switchboard.call.v1.media_stats" }
func (*CallMediaStats) EventName() string { return "media_stats" }
