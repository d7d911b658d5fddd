package events

import (
	"strconv"
	"time"
)

// Conferences. A conference is owned by the conference role's partition
// Partition(conference name); its members are calls owned by any media
// worker. Audio crosses between them as frames (workers/conference/frame)
// on subjects named by conference and member, never by host, so either
// side can move to another node without re-signalling the other:
//
//	sb.conf.<conference>.in.<member>   media worker -> mixer: 20 ms PCM at the room's rate
//	sb.conf.<conference>.out.<member>  mixer -> media worker: 20 ms encoded in the member's codec
//
// <member> is MemberToken(call id). Commands are routed like any other by
// an edge; the conference role attaches and detaches a call's media with
// MemberAttach requests on the call's media partition (kind "conf"), and a
// media worker tells the conference of a member's call ending with a
// MemberGone message on the conference's partition (kind "member").

func init() {
	RegisterCommand(func() Command { return &ConferenceJoin{} })
	RegisterCommand(func() Command { return &ConferenceLeave{} })
	RegisterCommand(func() Command { return &ConferenceMute{} })
	RegisterCommand(func() Command { return &ConferenceUnmute{} })
	RegisterCommand(func() Command { return &ConferenceDeaf{} })
	RegisterCommand(func() Command { return &ConferenceUndeaf{} })
	RegisterCommand(func() Command { return &ConferenceKick{} })
	RegisterCommand(func() Command { return &ConferenceEnd{} })
	RegisterCommand(func() Command { return &ConferenceList{} })

	Register(func() Payload { return &ConferenceStarted{} })
	Register(func() Payload { return &ConferenceEnded{} })
	Register(func() Payload { return &MemberJoined{} })
	Register(func() Payload { return &MemberLeft{} })
	Register(func() Payload { return &MemberMuted{} })
	Register(func() Payload { return &MemberUnmuted{} })
	Register(func() Payload { return &MemberDeaf{} })
	Register(func() Payload { return &MemberUndeaf{} })
	Register(func() Payload { return &TalkingStarted{} })
	Register(func() Payload { return &TalkingStopped{} })
}

// BucketConferences holds the conference role's live conferences, keys
// ConferenceKey(partition, name): the members and their flags, everything a
// new owner needs to go on mixing.
const BucketConferences = "sb_conferences"

// MediaKindConference is the kind (last subject token) of the MemberAttach
// requests on a media partition: sb.p.<p>.conf.
const MediaKindConference = "conf"

// ConferenceKindMember is the kind of the MemberGone messages on a
// conference partition: sb.conference.p.<p>.member.
const ConferenceKindMember = "member"

// ValidConference reports whether name can name a conference: it is used
// as is in subjects and KV keys, so it is a ValidToken (1-64 bytes of
// [A-Za-z0-9_-]).
func ValidConference(name string) bool { return ValidToken(name) }

// MemberToken is the subject token of a member: its encoded Call-ID.
func MemberToken(callID string) string { return EncodeCallID(callID) }

// ConferenceInSubject is where a member's media worker publishes its audio.
func ConferenceInSubject(conference, callID string) string {
	return "sb.conf." + conference + ".in." + MemberToken(callID)
}

// ConferenceInWildcard matches every member's audio of a conference.
func ConferenceInWildcard(conference string) string { return "sb.conf." + conference + ".in.*" }

// ConferenceOutSubject is where the mixer publishes what a member hears.
func ConferenceOutSubject(conference, callID string) string {
	return "sb.conf." + conference + ".out." + MemberToken(callID)
}

// ConferenceEventSubject is sb.evt.conf.<conference>.<name>.
func ConferenceEventSubject(conference, name string) string {
	return "sb.evt.conf." + conference + "." + name
}

// ConferenceKey is the BucketConferences key of a conference of partition p.
func ConferenceKey(p int, conference string) string { return strconv.Itoa(p) + "." + conference }

// WithConference sets the conference and its partition on the event.
func (e Event) WithConference(conference string, partition int) Event {
	e.Conference = conference
	e.Partition = &partition
	return e
}

// ---- commands ----

// ConferenceCommand is the part every conference command shares.
type ConferenceCommand struct {
	// Conference names the room: 1-64 of [A-Za-z0-9_-].
	Conference string `json:"conference"`
}

func (*ConferenceCommand) Role() string       { return RoleConference }
func (c *ConferenceCommand) RouteKey() string { return c.Conference }

// MemberCommand is a conference command about one member.
type MemberCommand struct {
	ConferenceCommand
	// CallID is the member's call.
	CallID string `json:"call_id"`
}

// ConferenceJoin puts an answered call into a conference, creating the
// conference if it does not exist. The call stops hearing whatever it heard
// (echo); a bridged call must be unbridged first (409).
//
//	nats req sb.cmd.conference_join '{"conference":"room1","call_id":"..."}'
type ConferenceJoin struct {
	MemberCommand
	// Muted: the others do not hear the member.
	Muted bool `json:"muted,omitempty"`
	// Deaf: the member hears nothing.
	Deaf bool `json:"deaf,omitempty"`
	// Moderator is reported in list and member_joined.
	Moderator bool `json:"moderator,omitempty"`
	// StartOnEnter (default true): the conference starts mixing once a
	// member with it set is in; members who join before wait in silence.
	StartOnEnter *bool `json:"start_on_enter,omitempty"`
	// EndOnExit: when this member leaves, the conference ends.
	EndOnExit bool `json:"end_on_exit,omitempty"`
}

func (*ConferenceJoin) Verb() string { return "conference_join" }

// StartsConference is StartOnEnter with its default.
func (c *ConferenceJoin) StartsConference() bool { return c.StartOnEnter == nil || *c.StartOnEnter }

// ConferenceLeave takes a member out of the conference; its call stays up
// (silent) for the application to use.
//
//	nats req sb.cmd.conference_leave '{"conference":"room1","call_id":"..."}'
type ConferenceLeave struct{ MemberCommand }

func (*ConferenceLeave) Verb() string { return "conference_leave" }

// ConferenceMute: the others stop hearing the member.
//
//	nats req sb.cmd.conference_mute '{"conference":"room1","call_id":"..."}'
type ConferenceMute struct{ MemberCommand }

func (*ConferenceMute) Verb() string { return "conference_mute" }

// ConferenceUnmute: the others hear the member again.
type ConferenceUnmute struct{ MemberCommand }

func (*ConferenceUnmute) Verb() string { return "conference_unmute" }

// ConferenceDeaf: the member stops hearing the conference.
type ConferenceDeaf struct{ MemberCommand }

func (*ConferenceDeaf) Verb() string { return "conference_deaf" }

// ConferenceUndeaf: the member hears the conference again.
type ConferenceUndeaf struct{ MemberCommand }

func (*ConferenceUndeaf) Verb() string { return "conference_undeaf" }

// ConferenceKick takes a member out and hangs its call up.
//
//	nats req sb.cmd.conference_kick '{"conference":"room1","call_id":"..."}'
type ConferenceKick struct{ MemberCommand }

func (*ConferenceKick) Verb() string { return "conference_kick" }

// ConferenceEnd ends the conference: every member leaves (reason
// conference_ended) and its call is hung up.
//
//	nats req sb.cmd.conference_end '{"conference":"room1"}'
type ConferenceEnd struct{ ConferenceCommand }

func (*ConferenceEnd) Verb() string { return "conference_end" }

// ConferenceList asks for the conference's members and their state; the
// reply is a ConferenceListReply.
//
//	nats req sb.cmd.conference_list '{"conference":"room1"}'
type ConferenceList struct{ ConferenceCommand }

func (*ConferenceList) Verb() string { return "conference_list" }

// ConferenceListReply is Reply plus the conference's state (404 when there
// is no such conference).
type ConferenceListReply struct {
	Reply
	Conference string             `json:"conference,omitempty"`
	Started    bool               `json:"started"`
	Created    time.Time          `json:"created,omitzero"`
	Rate       int                `json:"rate,omitempty"`
	Members    []ConferenceMember `json:"members,omitempty"`
}

// ConferenceMember is one member's state.
type ConferenceMember struct {
	CallID       string    `json:"call_id"`
	Muted        bool      `json:"muted"`
	Deaf         bool      `json:"deaf"`
	Moderator    bool      `json:"moderator"`
	StartOnEnter bool      `json:"start_on_enter"`
	EndOnExit    bool      `json:"end_on_exit"`
	Talking      bool      `json:"talking"`
	Codec        string    `json:"codec"`
	Joined       time.Time `json:"joined"`
}

// ---- internal messages between the conference and media roles ----

// MemberAttach ops.
const (
	AttachOp = "attach"
	DetachOp = "detach"
)

// MemberAttach is the conference role's request to the media owner of a
// call (sb.p.<p>.conf, p = Partition(call id)): attach starts publishing
// the call's audio on ConferenceInSubject as 20 ms PCM frames at Rate and
// sending what arrives on ConferenceOutSubject to the call; detach stops
// both and, with Hangup, hangs the call up. The reply is a
// MemberAttachReply.
type MemberAttach struct {
	Op         string `json:"op"`
	Conference string `json:"conference"`
	CallID     string `json:"call_id"`
	// Rate of the PCM frames the mixer wants (16000 or 48000).
	Rate int `json:"rate,omitempty"`
	// Hangup (detach): end the call too, with Reason.
	Hangup bool   `json:"hangup,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// MemberAttachReply answers MemberAttach: 200, 404 (no such call), 409
// (not answered, bridged, in another conference).
type MemberAttachReply struct {
	Reply
	// Codec is the call's codec as in CallAnswered ("PCMU/8000",
	// "PCMA/8000", "opus/48000"): what the mixer encodes the member's
	// audio in.
	Codec string `json:"codec,omitempty"`
}

// Why a member's media worker says a member is gone.
const (
	GoneHangup   = "hangup"   // the call ended
	GoneDetached = "detached" // the call left the conference's media (e.g. bridged elsewhere)
)

// MemberGone is published by a media worker on the conference's partition
// (sb.conference.p.<p>.member) when a member's call ends or stops being a
// member on its own.
type MemberGone struct {
	Conference string `json:"conference"`
	CallID     string `json:"call_id"`
	Reason     string `json:"reason"`
}

// ---- events: sb.evt.conf.<conference>.<name>, envelope conference (and
// call_id for member events) set ----

// Why a member left.
const (
	LeftLeft            = "left"             // conference_leave
	LeftKicked          = "kicked"           // conference_kick
	LeftHangup          = "hangup"           // the call ended
	LeftConferenceEnded = "conference_ended" // conference_end or an end_on_exit member left
	LeftGone            = "gone"             // the call no longer exists (lost without a word)
)

// Why a conference ended.
const (
	EndedEmpty     = "empty"       // the last member left
	EndedCommand   = "command"     // conference_end
	EndedEndOnExit = "end_on_exit" // a member with end_on_exit left
)

// ConferenceStarted: mixing began (a member with start_on_enter is in).
type ConferenceStarted struct {
	// Rate is the mixing rate, Hz.
	Rate int `json:"rate"`
}

func (*ConferenceStarted) EventType() string { return "io.switchboard.conference.v1.started" }
func (*ConferenceStarted) EventName() string { return "started" }

// ConferenceEnded: the conference is over; every member has left.
type ConferenceEnded struct {
	// Reason is empty, command or end_on_exit.
	Reason string `json:"reason"`
	// Duration in seconds since it was created.
	Duration float64 `json:"duration"`
}

func (*ConferenceEnded) EventType() string { return "io.switchboard.conference.v1.ended" }
func (*ConferenceEnded) EventName() string { return "ended" }

// MemberJoined: a call became a member.
type MemberJoined struct {
	Muted     bool   `json:"muted"`
	Deaf      bool   `json:"deaf"`
	Moderator bool   `json:"moderator"`
	Codec     string `json:"codec"`
	// Members is how many members the conference has now.
	Members int `json:"members"`
}

func (*MemberJoined) EventType() string { return "io.switchboard.conference.v1.member_joined" }
func (*MemberJoined) EventName() string { return "member_joined" }

// MemberLeft: a member left.
type MemberLeft struct {
	// Reason is left, kicked, hangup, conference_ended or gone.
	Reason  string `json:"reason"`
	Members int    `json:"members"`
}

func (*MemberLeft) EventType() string { return "io.switchboard.conference.v1.member_left" }
func (*MemberLeft) EventName() string { return "member_left" }

// MemberMuted: the others stopped hearing the member.
type MemberMuted struct{}

func (*MemberMuted) EventType() string { return "io.switchboard.conference.v1.member_muted" }
func (*MemberMuted) EventName() string { return "member_muted" }

// MemberUnmuted: the others hear the member again.
type MemberUnmuted struct{}

func (*MemberUnmuted) EventType() string { return "io.switchboard.conference.v1.member_unmuted" }
func (*MemberUnmuted) EventName() string { return "member_unmuted" }

// MemberDeaf: the member stopped hearing the conference.
type MemberDeaf struct{}

func (*MemberDeaf) EventType() string { return "io.switchboard.conference.v1.member_deaf" }
func (*MemberDeaf) EventName() string { return "member_deaf" }

// MemberUndeaf: the member hears the conference again.
type MemberUndeaf struct{}

func (*MemberUndeaf) EventType() string { return "io.switchboard.conference.v1.member_undeaf" }
func (*MemberUndeaf) EventName() string { return "member_undeaf" }

// TalkingStarted: the member's voice activity detector found speech.
type TalkingStarted struct {
	// Level is the level of the frame that started it, dBFS.
	Level float64 `json:"level"`
}

func (*TalkingStarted) EventType() string { return "io.switchboard.conference.v1.talking_started" }
func (*TalkingStarted) EventName() string { return "talking_started" }

// TalkingStopped: the member fell silent (after the detector's hangover).
type TalkingStopped struct {
	// Level is the talkspurt's mean level, dBFS.
	Level float64 `json:"level"`
	// DurationMS is how long the talkspurt lasted.
	DurationMS int `json:"duration_ms"`
}

func (*TalkingStopped) EventType() string { return "io.switchboard.conference.v1.talking_stopped" }
func (*TalkingStopped) EventName() string { return "talking_stopped" }
