package conference

import "github.com/prometheus/client_golang/prometheus"

// Reasons of sb_conference_errors_total.
const (
	errMalformedFrame = "malformed_frame"  // frame.Unmarshal refused it
	errNotMember      = "not_member"       // a frame for a call that is not a member
	errWrongCodec     = "wrong_codec"      // an in-frame that is not PCM
	errWrongRate      = "wrong_rate"       // an in-frame not at the room's rate
	errWrongSize      = "wrong_size"       // an in-frame that is not 20 ms
	errBadCommand     = "bad_command"      // a command body that is not the verb's JSON
	errBadGone        = "bad_member_gone"  // a MemberGone that is not JSON or names nothing
	errUnknownKind    = "unknown_kind"     // a partition message of a kind we do not take
	errDetach         = "detach_failed"    // a detach request failed (the member left anyway)
	errAttachReply    = "bad_attach_reply" // a media worker's attach reply we could not use
	errEncode         = "encode"           // an encoder failed on a frame
	errState          = "state"            // KV state not written or not readable
	errLiveness       = "liveness_unknown" // a silent member's call could not be looked up
)

// Results of sb_conference_frames_total.
const (
	frameMixed   = "mixed"   // taken by a tick (mixed if it passed the gate)
	frameLate    = "late"    // dropped: older than one already taken, or more than 2 queued at a tick
	frameMissing = "missing" // a member had no frame at a tick (heard as silence)
	frameDropped = "dropped" // dropped on arrival: the member's queue was full
)

type metrics struct {
	conferences prometheus.Gauge
	members     prometheus.Gauge
	frames      *prometheus.CounterVec
	tick        prometheus.Histogram
	errors      *prometheus.CounterVec

	// Resolved once: the tick adds to these without a label lookup.
	mixed, late, missing, dropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		conferences: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sb_conference_conferences", Help: "Conferences this node mixes.",
		}),
		members: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sb_conference_members", Help: "Members of the conferences this node mixes.",
		}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sb_conference_frames_total",
			Help: "Members' frames by what became of them: mixed (taken by a tick), late (dropped to keep latency down), missing (none at a tick: silence), dropped (queue full on arrival).",
		}, []string{"result"}),
		tick: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sb_conference_tick_seconds",
			Help:    "One conference's 20 ms tick: take the frames, mix, encode, publish.",
			Buckets: prometheus.ExponentialBuckets(0.00002, 2, 14),
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sb_conference_errors_total", Help: "Input the conference role could not use, and requests that failed, by reason.",
		}, []string{"reason"}),
	}
	m.mixed = m.frames.WithLabelValues(frameMixed)
	m.late = m.frames.WithLabelValues(frameLate)
	m.missing = m.frames.WithLabelValues(frameMissing)
	m.dropped = m.frames.WithLabelValues(frameDropped)
	for _, r := range []string{errMalformedFrame, errNotMember, errWrongRate, errWrongSize} {
		m.errors.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.conferences, m.members, m.frames, m.tick, m.errors)
	}
	return m
}
