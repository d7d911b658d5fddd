// Package media is the media worker role: a back-to-back user agent that
// owns the calls of its partitions. It answers and places SIP calls through
// the edges, negotiates SDP, runs the RTP of each leg (echo, bridging with
// PCMU/PCMA transcoding), publishes call events, executes call commands, and
// writes every fact needed to continue a call to JetStream KV.
//
// Concurrency: every entry point of a partition (SIP message, command,
// timer) runs under that partition's mutex, so a call's state is only ever
// touched by one goroutine at a time. RTP runs on each session's own
// goroutine and only reads the atomically published forwarding target.
package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers"
	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
	"github.com/switchboard-voip/switchboard/workers/media/webrtcpeer"
)

// BucketCalls is the KV bucket of call state; keys are "<partition>.<encoded call-id>".
const BucketCalls = events.BucketCalls

// Config of the media role.
type Config struct {
	// NodeID is the node running the role (for events).
	NodeID string
	// Partitions is P.
	Partitions int
	// MediaIP is the address RTP is bound to and advertised in SDP.
	MediaIP netip.Addr
	// RTPPortMin and RTPPortMax bound the RTP ports.
	RTPPortMin, RTPPortMax int
	// EchoUser is the Request-URI user that gets the echo route ("echo").
	EchoUser string
	// ConferencePrefix is the Request-URI user prefix of conference rooms.
	ConferencePrefix string
	// RingTimeout is how long an inbound call rings waiting for an answer
	// command before it is refused with 480.
	RingTimeout time.Duration
	// MediaTimeout hangs up an answered call that received no RTP or RTCP
	// for this long (calls on hold excepted).
	MediaTimeout time.Duration
	// StatsInterval is how often call.media_stats is published.
	StatsInterval time.Duration
	// Replicas of the calls bucket.
	Replicas int
	// DTMFInband turns in-band DTMF detection on for calls that negotiated
	// no telephone-event (a dtmf_inband command overrides it per call).
	DTMFInband bool
	// Playout is the settings of legs whose audio is decoded (G.711<->Opus
	// bridges): Opus encoder, governor floor, jitter buffer delays. The zero
	// value takes DefaultPlayoutConfig's Opus settings and the jitter
	// buffer's defaults.
	Playout PlayoutConfig
	// WebRTC, if not nil, lets browsers call through the edges' HTTP offer
	// endpoint: one webrtcpeer.Engine per node is built from it (its
	// Counters and Log are the role's). Nil: offers get 503.
	WebRTC *webrtcpeer.Config
}

// Role is the media worker role.
type Role struct {
	workers.BaseRole
	cfg    Config
	nc     *nats.Conn
	kv     jetstream.KeyValue
	idemKV jetstream.KeyValue // command replies by idempotency key (idempotency.go)
	finals *finals            // final responses by edge transaction (finals.go)
	ports  *rtpsession.Ports
	log    *slog.Logger
	met    *metrics
	parser *sip.Parser

	mu    sync.Mutex
	parts map[int]*partition

	wg   sync.WaitGroup  // goroutines sending to edges, partition tickers, dtmf feed and senders, conference joins
	ctx  context.Context // cancelled by Close: ends what the goroutines wait for
	stop context.CancelFunc
	play *playout  // decoded legs' clock and the Opus governor
	feed *dtmfFeed // records for the dtmf role

	engine *webrtcpeer.Engine // WebRTC legs; nil when Config.WebRTC is

	linger     *lingering    // calls of released partitions whose media runs on (handover.go)
	lingerStop chan struct{} // ends the reaper
}

type metrics struct {
	calls    *prometheus.GaugeVec
	started  *prometheus.CounterVec
	ended    *prometheus.CounterVec
	sipBad   prometheus.Counter
	info     *prometheus.CounterVec
	migrated prometheus.Counter
	idemErr  prometheus.Counter
	rtpIn    prometheus.CounterFunc
	rtpOut   prometheus.CounterFunc
	rtpBad   prometheus.CounterFunc
	counters *rtpsession.Counters
	confVec  *prometheus.CounterVec
	conf     *confCounters
}

// New builds the media role. It creates the calls bucket.
func New(ctx context.Context, nc *nats.Conn, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Role, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.EchoUser == "" {
		cfg.EchoUser = "echo"
	}
	if cfg.ConferencePrefix == "" {
		cfg.ConferencePrefix = "conf-"
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 30 * time.Second
	}
	if cfg.MediaTimeout <= 0 {
		cfg.MediaTimeout = 30 * time.Second
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = 5 * time.Second
	}
	if cfg.Replicas < 1 {
		cfg.Replicas = 1
	}
	if cfg.Playout.Opus.Bitrate == 0 {
		cfg.Playout.Opus = DefaultPlayoutConfig().Opus
	}
	if err := cfg.Playout.validate(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	kv, err := events.EnsureKV(ctx, js, jetstream.KeyValueConfig{
		Bucket: BucketCalls, Description: "switchboard calls: everything needed to continue a call",
		History: 1, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketCalls, err)
	}
	idemKV, err := events.EnsureKV(ctx, js, jetstream.KeyValueConfig{
		Bucket: events.BucketIdempotency, Description: "switchboard: replies of commands with an idempotency_key",
		History: 1, TTL: IdempotencyTTL, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", events.BucketIdempotency, err)
	}
	ports, err := rtpsession.NewPorts(cfg.RTPPortMin, cfg.RTPPortMax)
	if err != nil {
		return nil, err
	}
	counters := &rtpsession.Counters{}
	r := &Role{
		BaseRole: workers.BaseRole{RoleName: events.RoleMedia},
		cfg:      cfg, nc: nc, kv: kv, idemKV: idemKV, finals: newFinals(), ports: ports, log: log, parser: sip.NewParser(),
		parts: map[int]*partition{}, feed: newDTMFFeed(nc, cfg.Partitions),
		met: &metrics{
			calls: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Name: "sb_calls_active", Help: "Calls this node owns, by direction.",
			}, []string{"direction"}),
			started: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "sb_calls_started_total", Help: "Calls created on this node, by direction.",
			}, []string{"direction"}),
			ended: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "sb_calls_completed_total", Help: "Calls ended on this node, by status.",
			}, []string{"status"}),
			sipBad: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "sb_media_sip_bad_total", Help: "SIP messages a media worker could not parse or use.",
			}),
			info: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "sb_media_sip_info_total", Help: "In-dialog SIP INFO requests with a body, by result (ok, unsupported_type: 415, bad_body: 400).",
			}, []string{"result"}),
			idemErr: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "sb_media_idempotency_kv_errors_total", Help: "Failed reads and writes of command replies kept for idempotency keys (KV sb_idempotency).",
			}),
			migrated: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "sb_calls_migrated_total", Help: "Calls taken over from another node whose media this node moved to itself (re-INVITE accepted).",
			}),
			counters: counters,
			confVec: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "sb_media_conference_frames_total",
				Help: "Conference audio frames of this node's member calls, by direction (in: phone to mixer, out: mixer to phone) and result (sent; dropped: not published or not sent; bad: malformed; wrong_codec: not in the call's codec).",
			}, []string{"direction", "result"}),
		},
	}
	r.met.conf = newConfCounters(r.met.confVec)
	if cfg.WebRTC != nil {
		wc := *cfg.WebRTC
		wc.Counters = counters
		if wc.Log == nil {
			wc.Log = log
		}
		if r.engine, err = webrtcpeer.New(wc); err != nil {
			return nil, err
		}
	}
	r.ctx, r.stop = context.WithCancel(context.Background())
	r.met.rtpIn = prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sb_rtp_packets_received_total", Help: "RTP packets received by this node's calls."},
		func() float64 { return float64(counters.PacketsIn.Load()) })
	r.met.rtpOut = prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sb_rtp_packets_sent_total", Help: "RTP packets sent by this node's calls."},
		func() float64 { return float64(counters.PacketsOut.Load()) })
	r.met.rtpBad = prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sb_rtp_malformed_total", Help: "Malformed RTP/RTCP datagrams dropped."},
		func() float64 { return float64(counters.Malformed.Load()) })
	late := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sb_media_late_frames_total", Help: "Decoded frames sent more than a frame period after they were due (the CPU could not keep up).",
	})
	r.play = newPlayout(cfg.Playout, late)
	r.play.gov.onChange = func(from, to int, pressure float64, late uint64) {
		log.Info("opus complexity changed", "from", from, "to", to, "cpu_pressure", pressure, "late_frames", late)
	}
	r.linger, r.lingerStop = newLingering(), make(chan struct{})
	gauges := []prometheus.Collector{
		late,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sb_media_opus_complexity", Help: "Opus encoder complexity in use (lowered under CPU pressure)."},
			func() float64 { return float64(r.play.gov.complexity()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sb_media_cpu_pressure", Help: "CPU pressure the Opus governor last measured, 0-1."},
			r.play.gov.lastPressure),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sb_media_decoded_legs", Help: "Call legs whose audio is decoded and re-encoded (G.711<->Opus)."},
			func() float64 { return float64(r.play.legs()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sb_media_handover_lingering", Help: "Calls of partitions this node gave away whose media still runs here until the phone moves to the new owner.",
		}, func() float64 { return float64(r.linger.count()) }),
	}
	if reg != nil {
		reg.MustRegister(r.met.calls, r.met.started, r.met.ended, r.met.sipBad, r.met.migrated, r.met.idemErr, r.met.rtpIn, r.met.rtpOut, r.met.rtpBad)
		reg.MustRegister(gauges...)
		reg.MustRegister(r.met.info, r.feed.dropped, r.feed.records, r.met.confVec)
	}
	r.play.start()
	r.wg.Go(r.feed.run)
	r.wg.Go(func() { r.linger.run(r.lingerStop) })
	return r, nil
}

// Close waits for the goroutines the role started. Partitions should have
// been released (the runtime does it when the node leaves); the members of
// any left stop here.
func (r *Role) Close() {
	r.stop()
	r.mu.Lock()
	for _, pt := range r.parts {
		pt.mu.Lock()
		for _, c := range pt.calls {
			c.stopMember()
		}
		pt.mu.Unlock()
	}
	r.mu.Unlock()
	close(r.lingerStop)
	r.play.close()
	close(r.feed.stop)
	r.wg.Wait()
}

// idemFailed counts and logs a KV failure of the idempotency store.
func (r *Role) idemFailed(err error) {
	r.met.idemErr.Inc()
	r.log.Warn("idempotency reply not read or kept in KV", "bucket", events.BucketIdempotency, "err", err)
}

// partition is the state of one owned partition.
type partition struct {
	p     int
	mu    sync.Mutex
	calls map[string]*Call
	idem  *idemStore
	stop  chan struct{}
	// suspended: the node fenced itself; the calls' media runs on, but
	// nothing of the partition is timed or written until Resume.
	suspended bool
}

func (r *Role) part(p int) *partition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.parts[p]
}

// TakeOver implements workers.Role: it loads the partition's calls from KV,
// so that in-dialog requests of calls set up by a previous owner are
// answered (not 481), and starts the partition's ticker.
func (r *Role) TakeOver(ctx context.Context, p int, _ bool) error {
	pt := &partition{p: p, calls: map[string]*Call{}, idem: newIdemStore(p, r.idemKV, r.idemFailed), stop: make(chan struct{})}
	loaded, err := r.loadCalls(ctx, p)
	if err != nil {
		return err
	}
	for _, c := range loaded {
		c.restored, c.restoredAt, c.fromNode = true, time.Now(), c.Node
		c.pending = map[uint32]*pendingReply{}
		pt.calls[c.ID] = c
		r.met.calls.WithLabelValues(c.Direction).Inc()
	}
	r.mu.Lock()
	r.parts[p] = pt
	r.mu.Unlock()
	r.wg.Go(func() { r.tick(pt) })
	return nil
}

// Release implements workers.Role. Calls stay in KV for the next owner; the
// media of answered SIP calls runs on here until the phone has moved to the
// new owner (handover.go), that of the others stops now.
func (r *Role) Release(_ context.Context, p int, _ bool) error {
	r.mu.Lock()
	pt := r.parts[p]
	delete(r.parts, p)
	r.mu.Unlock()
	if pt == nil {
		return nil
	}
	close(pt.stop)
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for _, c := range pt.calls {
		c.stopTimers()
		if !canLinger(c) || !r.linger.add(c) {
			c.stopMedia()
		} else {
			c.stopDTMF() // no digits sent from here any more
		}
		r.met.calls.WithLabelValues(c.Direction).Dec() // it lives on with the next owner
	}
	return nil
}

// Busy implements workers.Holder: p has answered calls, which a move would
// re-INVITE. A partition whose lock is held (a message in progress) counts
// as busy; the runtime asks again in its next turn.
func (r *Role) Busy(p int) bool {
	pt := r.part(p)
	if pt == nil {
		return false
	}
	if !pt.mu.TryLock() {
		return true
	}
	defer pt.mu.Unlock()
	for _, c := range pt.calls {
		if c.State == StateAnswered {
			return true
		}
	}
	return false
}

// tick runs the partition's periodic work: moving the media of calls
// taken over, media inactivity, stats.
func (r *Role) tick(pt *partition) {
	// The node subscribes to the partition right after TakeOver returns;
	// the responses to our re-INVITEs arrive on that subscription.
	select {
	case <-pt.stop:
		return
	case <-time.After(migrateDelay):
	}
	pt.mu.Lock()
	for _, c := range pt.calls {
		if c.restored && c.State == StateAnswered {
			r.migrate(pt, c)
		}
	}
	pt.mu.Unlock()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-pt.stop:
			return
		case now := <-t.C:
			pt.mu.Lock()
			for _, c := range pt.calls {
				if !pt.suspended {
					r.checkCall(pt, c, now)
				}
			}
			pt.mu.Unlock()
		}
	}
}

// HandleMessage implements workers.Role: SIP from edges, and the
// conference role's MemberAttach requests.
func (r *Role) HandleMessage(p int, kind string, msg *nats.Msg) {
	switch kind {
	case events.MediaKindConference:
		r.onMemberAttach(p, msg)
		return
	case events.MediaKindWebRTC:
		r.onWebRTCOffer(p, msg)
		return
	}
	if kind != "sip" {
		return
	}
	_ = msg.Respond(nil) // the edge waits for this to know the owner is alive
	pt := r.part(p)
	if pt == nil {
		// The node routes a partition's messages here only once TakeOver
		// has run, and stops before Release: a gap is a bug.
		r.log.Warn("SIP for a partition the role does not hold", "partition", p)
		return
	}
	m, err := r.parser.ParseSIP(msg.Data)
	if err != nil {
		r.met.sipBad.Inc()
		r.log.Debug("unparsable SIP from edge", "err", err)
		return
	}
	in := inbound{
		edge: msg.Header.Get(events.HdrEdge), tx: msg.Header.Get(events.HdrTx),
		kind: msg.Header.Get(events.HdrKind), source: msg.Header.Get(events.HdrSource),
		transport: msg.Header.Get(events.HdrTransport),
	}
	m.SetSource(in.source)
	m.SetTransport(in.transport)
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if in.tx != "" && in.kind == events.KindRequest {
		// Under the partition lock: a first copy still being handled
		// has put its final response by now.
		if data, ok := r.finals.get(in.tx); ok {
			r.sendResponse(in, data) // the edge asked again: the first was lost
			return
		}
	}
	switch m := m.(type) {
	case *sip.Request:
		if in.kind == events.KindCancelled {
			r.onCancelled(pt, m)
			return
		}
		r.onRequest(pt, m, in)
	case *sip.Response:
		r.onResponse(pt, m, in)
	}
}

// inbound describes how a SIP message reached the worker.
type inbound struct {
	edge, tx, kind, source, transport string
}

// respond sends a response on the edge's server transaction.
func (r *Role) respond(in inbound, res *sip.Response) {
	if in.tx == "" || in.edge == "" {
		return
	}
	data := []byte(res.String())
	if res.StatusCode >= 200 {
		r.finals.put(in.tx, data)
	}
	r.sendResponse(in, data)
}

func (r *Role) sendResponse(in inbound, data []byte) {
	m := nats.NewMsg(events.EdgeSIPSubject(in.edge))
	m.Header.Set(events.HdrTx, in.tx)
	m.Data = data
	if err := r.nc.PublishMsg(m); err != nil {
		r.log.Warn("response not sent to edge", "edge", in.edge, "err", err)
	}
}

// send hands a request to an edge without blocking the partition: the edge
// it last used for the dialog if it is alive, else any edge. onEdge, if not
// nil, is told which edge took it (under the partition lock).
func (r *Role) send(pt *partition, req *sip.Request, edge, dest string, onEdge func(edge string, err error)) {
	data := []byte(req.String())
	r.wg.Go(func() {
		try := func(subject string) (string, error) {
			m := nats.NewMsg(subject)
			m.Data = data
			if dest != "" {
				m.Header.Set("Sb-Destination", dest)
			}
			if tp := req.Transport(); tp != "" {
				m.Header.Set(events.HdrTransport, tp)
			}
			reply, err := r.nc.RequestMsg(m, 2*time.Second)
			if err != nil {
				return "", err
			}
			if e := reply.Header.Get(events.HdrError); e != "" {
				return reply.Header.Get(events.HdrEdge), errors.New(e)
			}
			return reply.Header.Get(events.HdrEdge), nil
		}
		var took string
		var err error
		if edge != "" {
			took, err = try(events.EdgeOutSubject(edge))
		}
		if edge == "" || errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) {
			took, err = try(events.EdgeAnyOutSubject)
		}
		if err != nil {
			r.log.Warn("request not sent", "method", req.Method, "call_id", req.CallID().Value(), "err", err)
		}
		if onEdge != nil {
			pt.mu.Lock()
			onEdge(took, err)
			pt.mu.Unlock()
		}
	})
}

// publish sends a call event.
func (r *Role) publish(pt *partition, c *Call, p events.Payload) {
	e := events.New(r.cfg.NodeID, p).WithCall(c.ID, pt.p)
	if err := events.Publish(r.nc, events.CallEventSubject(c.ID, p.EventName()), e); err != nil {
		r.log.Debug("event not published", "type", e.Type, "err", err)
	}
}

// userOf returns the user part of a SIP URI string ("" if none).
func userOf(u sip.Uri) string { return strings.ToLower(u.User) }
