package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
)

// SIPConfig configures the SIP edge.
type SIPConfig struct {
	// EdgeID names this edge; workers address it on sb.edge.<id>.*.
	EdgeID string
	// Host and Port are where UDP and TCP are served (Port 0: any free port).
	Host string
	Port int
	// Advertise is the host put in Via and Contact headers (the address
	// phones reach this edge at). Default: Host, or the primary address
	// when Host is unspecified.
	Advertise string
	// Partitions is the cluster's partition count P.
	Partitions int
	// InviteTimeout bounds how long an INVITE waits for a final response
	// from its call's owner before the edge answers 408 itself.
	InviteTimeout time.Duration
	// RequestTimeout does the same for other requests (RFC 3261 Timer F).
	RequestTimeout time.Duration
	// MaxMessageBytes bounds a message: larger datagrams are dropped
	// before parsing, larger TCP messages close their connection.
	MaxMessageBytes int
	// TLSPort, WSPort and WSSPort enable those transports (0: off) on Host.
	TLSPort, WSPort, WSSPort int
	// TLS is the server certificate for TLS and WSS.
	TLS *tls.Config
}

func init() {
	// sipgo refuses to write any UDP message over UDPMTUSize-200 bytes,
	// responses included. RFC 3261 §18.1.1 asks a client to move large
	// *requests* to TCP (ours stay far below 1,300 bytes), but a response
	// goes back over the transport its request came on (§18.2.2), however
	// large: a long Via or Record-Route chain must not make a call fail
	// silently (RFC 4475 §3.1.1.7 longreq).
	sip.UDPMTUSize = 65535
}

// handoffTimeout bounds the wait for a partition owner to acknowledge a
// message. No owner at all is known at once (no responders); this only
// fires for an owner that is alive but starved, and a UAC waits 32 s
// (Timer B) anyway.
const handoffTimeout = 5 * time.Second

// noOwnerWait is how long a request whose partition has no owner is held
// before the edge gives up with 503: a partition moving between nodes
// (a node joining, a drain, a takeover) has none for a moment, and a
// request arriving then is better delayed than refused.
const noOwnerWait = time.Second

// inDialogWait is how long a request within a dialog (its To has a tag) is
// held while its partition has no owner. Its call exists and its owner is
// coming back: a node that fenced itself while JetStream elected a new
// leader for the lease bucket (a NATS server died) resumes its partitions
// when the bucket answers again, which at nats-server's election timeouts
// (4-9 s, more on a loaded machine) can take over 10 s; a partition
// suspended longer than that is lost and taken over by another node. A BYE
// refused with 503 meanwhile would leave the call up on the platform. The
// phone retransmits (Timer E) for 32 s (Timer F, B), sipgo absorbs the
// retransmissions, and the owner answers when it is back.
const inDialogWait = 16 * time.Second

func (e *SIPEdge) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// maxHeld bounds the requests an edge holds at once while their partitions
// have no owner; beyond it a request is refused at once (a flood of
// requests for calls nobody owns must not pile up for inDialogWait each).
var maxHeld int64 = 4096

// handoff gives m to its partition's owner and waits for the receipt,
// trying again for wait while nobody owns the partition.
func (e *SIPEdge) handoff(m *nats.Msg, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	held := false
	defer func() {
		if held {
			e.held.Add(-1)
			e.heldWG.Done()
		}
	}()
	for {
		_, err := e.nc.RequestMsg(m, handoffTimeout)
		if !errors.Is(err, nats.ErrNoResponders) || time.Now().After(deadline) {
			return err
		}
		if !held {
			if held = e.hold(); !held {
				return err
			}
		}
		select {
		case <-e.closing:
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// hold counts a request as held, unless the edge is closing or holds
// maxHeld already. Under e.mu, so that Run, which sets closed under it
// before it waits, never misses one.
func (e *SIPEdge) hold() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.held.Load() >= maxHeld {
		return false
	}
	e.held.Add(1)
	e.heldWG.Add(1)
	return true
}

// RFC 3261 §17.1.1.1 timer values.
const (
	t1 = 500 * time.Millisecond
	t2 = 4 * time.Second
)

// SIPEdge is the stateless SIP front: it keeps transactions (sipgo absorbs
// retransmissions) but no call state. Every request it receives goes to the
// owner of its Call-ID's partition; what the owner asks it to send, it sends.
type SIPEdge struct {
	cfg    SIPConfig
	nc     *nats.Conn
	log    *slog.Logger
	met    *sipMetrics
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	parser *sip.Parser

	udp     net.PacketConn
	tcp     net.Listener
	extra   []extraListener // TLS, WS, WSS
	udpAddr *net.UDPAddr
	// advertise is the host of our Via and Contact headers.
	advertise string

	txSeq   atomic.Uint64
	held    atomic.Int64   // requests waiting for their partition to get an owner
	heldWG  sync.WaitGroup // those requests, for Run to wait for
	closing chan struct{}  // closed when Run ends: held requests give up
	mu      sync.Mutex
	pending map[string]*pendingTx    // server transactions awaiting the owner's responses
	invites map[string]*sip.Request  // our INVITE client transactions, for CANCEL (key callID/cseq)
	acks    map[string]chan struct{} // 2xx retransmissions waiting for an ACK (key callID/cseq)
	closed  bool

	wg sync.WaitGroup
}

type pendingTx struct {
	tx    sip.ServerTransaction
	req   *sip.Request
	dest  string // where responses go (replyTo)
	final chan struct{}
	once  sync.Once
}

type sipMetrics struct {
	in     *prometheus.CounterVec
	out    *prometheus.CounterVec
	errors *prometheus.CounterVec
}

// NewSIPEdge binds the UDP and TCP sockets (so that their ports are known
// before Run) and prepares sipgo.
func NewSIPEdge(nc *nats.Conn, cfg SIPConfig, log *slog.Logger, reg prometheus.Registerer) (*SIPEdge, error) {
	if cfg.InviteTimeout <= 0 {
		cfg.InviteTimeout = 3 * time.Minute
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 64 * t1
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 16 << 10
	}
	if log == nil {
		log = slog.Default()
	}
	e := &SIPEdge{
		cfg: cfg, nc: nc, log: log,
		pending: map[string]*pendingTx{}, invites: map[string]*sip.Request{}, acks: map[string]chan struct{}{},
		closing: make(chan struct{}),
		parser:  sip.NewParser(),
		met: &sipMetrics{
			in: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "sb_sip_requests_received_total", Help: "SIP requests received by this edge, by method.",
			}, []string{"method"}),
			out: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "sb_sip_requests_sent_total", Help: "SIP requests sent by this edge for workers, by method.",
			}, []string{"method"}),
			errors: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "sb_sip_errors_total", Help: "SIP messages refused, dropped or failed at the edge, by reason.",
			}, []string{"reason"}),
		},
	}
	for _, r := range []string{"parse", "malformed", "oversized", "unsupported", "no_owner", "owner_timeout", "late_response", "send_failed"} {
		e.met.errors.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(e.met.in, e.met.out, e.met.errors)
	}

	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	var err error
	// TCP on the same port as UDP, as phones expect. With port 0 the port
	// UDP got may be taken for TCP: try another, a bounded number of times.
	for attempt := 0; ; attempt++ {
		if e.udp, err = net.ListenPacket("udp", addr); err != nil {
			return nil, fmt.Errorf("SIP UDP %s: %w", addr, err)
		}
		e.udpAddr = e.udp.LocalAddr().(*net.UDPAddr)
		if e.tcp, err = net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(e.udpAddr.Port))); err == nil {
			break
		}
		e.udp.Close()
		if cfg.Port != 0 || attempt == 9 {
			return nil, fmt.Errorf("SIP TCP: %w", err)
		}
	}

	for _, x := range []struct {
		network string
		port    int
		secure  bool
	}{{"tls", cfg.TLSPort, true}, {"ws", cfg.WSPort, false}, {"wss", cfg.WSSPort, true}} {
		if x.port == 0 {
			continue
		}
		if x.secure && cfg.TLS == nil {
			e.closeSockets()
			return nil, fmt.Errorf("SIP %s needs a certificate (sip_tls_cert, sip_tls_key)", x.network)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(x.port)))
		if err != nil {
			e.closeSockets()
			return nil, fmt.Errorf("SIP %s: %w", x.network, err)
		}
		if x.secure {
			l = tls.NewListener(l, cfg.TLS) // sipgo's TLS and WSS transports serve accepted connections as they come
		}
		e.extra = append(e.extra, extraListener{network: x.network, l: l})
	}

	sipLog := slog.New(&countingHandler{next: log.Handler(), errors: e.met.errors})
	// The read filter bounds datagrams; the parser bounds each message of a
	// TCP stream (a read of a stream can hold part of one message, or many).
	parser := sip.NewParser()
	parser.MaxMessageLength = cfg.MaxMessageBytes
	e.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent("switchboard"),
		sipgo.WithUserAgenTLSConfig(cfg.TLS),
		sipgo.WithUserAgentParser(parser),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(sipLog),
			sip.WithTransportLayerReadFilter(e.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(sipLog),
			// Responses matching no transaction (retransmissions, junk):
			// sipgo's default logs each at INFO on slog.Default.
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				log.Debug("response to no transaction", "status", r.StatusCode, "source", r.Source())
			}),
		),
	)
	if err != nil {
		e.closeSockets()
		return nil, err
	}
	e.srv, err = sipgo.NewServer(e.ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		e.closeSockets()
		return nil, err
	}
	host := cfg.Advertise
	if host == "" {
		host = cfg.Host
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = PrimaryIP().String()
		}
	}
	e.advertise = host
	e.client, err = sipgo.NewClient(e.ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(e.udpAddr.Port), sipgo.WithClientLogger(sipLog))
	if err != nil {
		e.closeSockets()
		return nil, err
	}
	for _, m := range servedMethods {
		e.srv.OnRequest(m, e.checked(e.onRequest))
	}
	e.srv.OnOptions(e.checked(e.onOptions))
	e.srv.OnNoRoute(e.checked(nil))
	return e, nil
}

// UDPAddr is the address SIP is served on (UDP, and TCP on the same port).
func (e *SIPEdge) UDPAddr() *net.UDPAddr { return e.udpAddr }

func (e *SIPEdge) closeSockets() {
	if e.udp != nil {
		e.udp.Close()
	}
	if e.tcp != nil {
		e.tcp.Close()
	}
	for _, x := range e.extra {
		x.l.Close()
	}
}

// extraListener is a stream listener of a transport that is off by default.
type extraListener struct {
	network string
	l       net.Listener
}

// Addr returns the address a transport ("udp", "tcp", "tls", "ws", "wss")
// is served on, or "" if it is off.
func (e *SIPEdge) Addr(network string) string {
	switch network {
	case "udp", "tcp":
		return e.udpAddr.String()
	}
	for _, x := range e.extra {
		if x.network == network {
			return x.l.Addr().String()
		}
	}
	return ""
}

// readFilter runs on every datagram or stream read before parsing: it drops
// oversized datagrams. A stream read is no message (it may hold several),
// so streams pass: the parser bounds their messages. It never returns an
// error (that would stop the reader).
func (e *SIPEdge) readFilter(props sip.TransportReadProps, data []byte) ([]byte, error) {
	if strings.EqualFold(props.Transport, "udp") && len(data) > e.cfg.MaxMessageBytes {
		e.met.errors.WithLabelValues("oversized").Inc()
		return nil, nil
	}
	return data, nil
}

// Run serves SIP until ctx is cancelled, then closes the sockets and waits
// for every transaction and goroutine it started.
func (e *SIPEdge) Run(ctx context.Context) error {
	subs := []struct {
		subject, queue string
		h              nats.MsgHandler
	}{
		{events.EdgeSIPSubject(e.cfg.EdgeID), "", e.onOwnerResponse},
		{events.EdgeOutSubject(e.cfg.EdgeID), "", e.onSend},
		{events.EdgeAnyOutSubject, events.EdgeOutQueue, e.onSend},
	}
	var nsubs []*nats.Subscription
	for _, s := range subs {
		sub, err := e.nc.QueueSubscribe(s.subject, s.queue, s.h)
		if err != nil {
			return err
		}
		nsubs = append(nsubs, sub)
	}
	e.wg.Go(func() { _ = e.srv.ServeUDP(e.udp) })
	e.wg.Go(func() { _ = e.srv.ServeTCP(e.tcp) })
	attrs := []any{"udp", e.udpAddr.String(), "tcp", e.tcp.Addr().String()}
	for _, x := range e.extra {
		switch x.network {
		case "tls":
			e.wg.Go(func() { _ = e.srv.ServeTLS(x.l) })
		case "ws":
			e.wg.Go(func() { _ = e.srv.ServeWS(x.l) })
		case "wss":
			e.wg.Go(func() { _ = e.srv.ServeWSS(x.l) })
		}
		attrs = append(attrs, x.network, x.l.Addr().String())
	}
	e.log.Info("SIP listening", attrs...)

	<-ctx.Done()
	for _, s := range nsubs {
		_ = s.Unsubscribe()
	}
	e.mu.Lock()
	e.closed = true
	close(e.closing)
	for _, p := range e.pending {
		p.once.Do(func() { close(p.final) })
	}
	for k, ch := range e.acks {
		close(ch)
		delete(e.acks, k)
	}
	e.mu.Unlock()
	e.closeSockets()
	_ = e.ua.Close()
	e.wg.Wait()
	e.heldWG.Wait()
	return nil
}

func (e *SIPEdge) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowHeader))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	e.respond(tx, res)
}

// respond sends a response on a server transaction and counts a failure
// as send_failed: sipgo refuses, for one, a UDP message over 1300 bytes.
// A transaction a CANCEL ended has nothing left to send: not a failure.
func (e *SIPEdge) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		if !errors.Is(err, sip.ErrTransactionCanceled) {
			e.met.errors.WithLabelValues("send_failed").Inc()
		}
		e.log.Debug("response not sent", "err", err, "status", res.StatusCode)
	}
}

// servedMethods are the methods the edge hands to workers (OPTIONS it
// answers itself); allowHeader lists them all.
var servedMethods = []sip.RequestMethod{sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.UPDATE, sip.INFO, sip.PRACK, sip.NOTIFY, sip.REFER, sip.MESSAGE}

const allowHeader = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO, PRACK, NOTIFY, REFER, MESSAGE"

// knownMethods are methods the edge recognises but does not serve: they
// get 405, other methods 501 (RFC 3261 §8.2.1, §21.5.2).
var knownMethods = map[sip.RequestMethod]bool{sip.REGISTER: true, sip.SUBSCRIBE: true, sip.PUBLISH: true}

// supportedOptionTags are the extensions a Require header field may ask
// for (RFC 3261 §8.2.2.3): session timers, which the media role honours.
var supportedOptionTags = map[string]bool{"timer": true}

// maxCallIDBytes is the longest Call-ID accepted, as in the commands'
// call_id (schemas/commands).
const maxCallIDBytes = 1024

// singleHeaders may appear once in a request (RFC 3261 §7.3.1: only
// comma-separated lists may repeat); the first four must.
var singleHeaders = []string{"Call-ID", "CSeq", "From", "To", "Max-Forwards", "Content-Length", "Content-Type"}

// checked wraps a request handler (nil: a method the edge does not serve)
// with the request validation of RFC 3261 §8.2 that sipgo leaves to its
// user, in the RFC's order: a request that fails is answered here (an ACK
// is dropped) and counted, as "malformed" when it breaks the grammar and
// "unsupported" when it asks for something the platform does not do.
func (e *SIPEdge) checked(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		label := string(req.Method)
		if h == nil && !knownMethods[req.Method] {
			label = "other" // any token is a method: keep the label set bounded
		}
		e.met.in.WithLabelValues(label).Inc()
		res, reason := checkRequest(req, h != nil)
		if res == nil {
			h(req, tx)
			return
		}
		e.met.errors.WithLabelValues(reason).Inc()
		if tx != nil && !req.IsAck() {
			e.respond(tx, res)
		}
	}
}

// checkRequest returns the response refusing req and the error reason, or
// nil when req may go on. served says whether the edge serves the method.
func checkRequest(req *sip.Request, served bool) (*sip.Response, string) {
	bad := func(why string) (*sip.Response, string) {
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request: "+why, nil), "malformed"
	}
	// §8.1.1: every request has these, once (RFC 4475 §3.3.1, §3.3.8, §3.3.9).
	if cid := req.CallID(); cid == nil || cid.Value() == "" || req.CSeq() == nil || req.From() == nil || req.To() == nil {
		return bad("missing Call-ID, CSeq, From or To")
	}
	// The Call-ID names the call's NATS subjects and KV key (base64url, 4/3
	// longer): a long one would exceed the NATS control line (4 KB) and the
	// server would drop the node's connection. Commands take 1 024 bytes.
	if len(req.CallID().Value()) > maxCallIDBytes {
		return bad("Call-ID longer than " + strconv.Itoa(maxCallIDBytes) + " bytes")
	}
	for _, name := range singleHeaders {
		if len(req.GetHeaders(name)) > 1 {
			return bad("more than one " + name)
		}
	}
	// §8.1.1.5; sipgo upper-cases the start line's method, not CSeq's
	// (RFC 4475 §3.1.2.17, §3.1.2.18).
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		return bad("CSeq method does not match the request method")
	}
	// §19.1.1: no headers component in a Request-URI (RFC 4475 §3.1.2.11).
	if len(req.Recipient.Headers) > 0 {
		return bad("headers in the Request-URI")
	}
	// §21.5.6 (RFC 4475 §3.1.2.16).
	if !strings.EqualFold(req.SipVersion, "SIP/2.0") {
		res := sip.NewResponseFromRequest(req, sip.StatusVersionNotSupported, "Version Not Supported", nil)
		res.SipVersion = "SIP/2.0"
		return res, "unsupported"
	}
	// §8.2.1.
	if !served {
		code, reason := sip.StatusNotImplemented, "Not Implemented"
		if knownMethods[req.Method] {
			code, reason = sip.StatusMethodNotAllowed, "Method Not Allowed"
		}
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		res.AppendHeader(sip.NewHeader("Allow", allowHeader))
		return res, "unsupported"
	}
	// §8.2.2.1 (RFC 4475 §3.3.2).
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips", "tel":
	default:
		return sip.NewResponseFromRequest(req, 416, "Unsupported URI Scheme", nil), "unsupported"
	}
	// §8.2.2.3: Require, but never on CANCEL or ACK (RFC 4475 §3.3.5).
	// Proxy-Require is for proxies; the edge is a UAS.
	if !req.IsAck() && !req.IsCancel() {
		var unsupported []string
		for _, h := range req.GetHeaders("Require") {
			for tag := range strings.SplitSeq(h.Value(), ",") {
				if tag = strings.TrimSpace(tag); tag != "" && !supportedOptionTags[strings.ToLower(tag)] {
					unsupported = append(unsupported, tag)
				}
			}
		}
		if len(unsupported) > 0 {
			res := sip.NewResponseFromRequest(req, sip.StatusBadExtension, "Bad Extension", nil)
			res.AppendHeader(sip.NewHeader("Unsupported", strings.Join(unsupported, ", ")))
			return res, "unsupported"
		}
	}
	// §8.2.3: the body of an offer is SDP (RFC 4475 §3.3.6). Other
	// methods carry other bodies (INFO, MESSAGE, NOTIFY) and go on.
	if (req.IsInvite() || req.Method == sip.UPDATE) && len(req.Body()) > 0 {
		if ct := req.ContentType(); ct != nil {
			mt, _, _ := strings.Cut(ct.Value(), ";")
			if !strings.EqualFold(strings.TrimSpace(mt), "application/sdp") {
				res := sip.NewResponseFromRequest(req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", nil)
				res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
				return res, "unsupported"
			}
		}
	}
	return nil, ""
}

// onRequest hands a request to its call's owner and, for requests with a
// server transaction, relays the owner's responses until the final one.
// The request has passed checkRequest.
func (e *SIPEdge) onRequest(req *sip.Request, tx sip.ServerTransaction) {
	cid := req.CallID()
	if req.IsInvite() {
		e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusTrying, "Trying", nil))
	}
	callID := cid.Value()
	p := events.Partition(callID, e.cfg.Partitions)

	var pt *pendingTx
	txID := ""
	if tx != nil && !req.IsAck() {
		txID = e.cfg.EdgeID + "-" + strconv.FormatUint(e.txSeq.Add(1), 36)
		pt = &pendingTx{tx: tx, req: req, dest: replyTo(req), final: make(chan struct{})}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			e.respond(tx, serviceUnavailable(req, "edge shutting down"))
			return
		}
		e.pending[txID] = pt
		e.mu.Unlock()
		defer func() {
			e.mu.Lock()
			delete(e.pending, txID)
			e.mu.Unlock()
		}()
	}

	m := nats.NewMsg(events.PartitionSubject(events.RoleMedia, p, "sip"))
	m.Data = []byte(req.String())
	m.Header.Set(events.HdrEdge, e.cfg.EdgeID)
	m.Header.Set(events.HdrTransport, req.Transport())
	m.Header.Set(events.HdrSource, req.Source())
	m.Header.Set(events.HdrKind, events.KindRequest)
	if txID != "" {
		m.Header.Set(events.HdrTx, txID)
	}
	wait := noOwnerWait
	if to := req.To(); to != nil && to.Params.Has("tag") {
		wait = inDialogWait
	}
	if err := e.handoff(m, wait); err != nil {
		reason := "owner_timeout"
		if errors.Is(err, nats.ErrNoResponders) {
			reason = "no_owner"
		}
		e.met.errors.WithLabelValues(reason).Inc()
		if pt != nil {
			// RFC 3261 §21.5.4: 503 with Retry-After, never a hang.
			e.respond(tx, serviceUnavailable(req, fmt.Sprintf("partition %d: %s", p, reason)))
		}
		return
	}
	if req.IsAck() {
		e.stopRetransmit(callID, req.CSeq().SeqNo)
		return
	}
	if req.IsInvite() {
		// sipgo answers a matching CANCEL itself (200, then 487 on the
		// INVITE); tell the owner the call was cancelled.
		tx.OnCancel(func(cancel *sip.Request) {
			c := nats.NewMsg(m.Subject)
			c.Data = []byte(cancel.String())
			c.Header = m.Header
			c.Header.Set(events.HdrKind, events.KindCancelled)
			_ = e.nc.PublishMsg(c)
		})
	}
	timeout := e.cfg.RequestTimeout
	if req.IsInvite() {
		timeout = e.cfg.InviteTimeout
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	// A non-INVITE request is answered at once; without a final response
	// after reaskInterval the owner's response was lost (a NATS server
	// died with it in flight): hand the request over again, and the owner
	// sends the same final response again (workers/media/finals.go) or,
	// if the first copy never reached it, handles it. An INVITE may ring
	// for long, and its phone retransmits until the 100 anyway.
	var reask <-chan time.Time
	if !req.IsInvite() {
		tk := time.NewTicker(reaskInterval)
		defer tk.Stop()
		reask = tk.C
	}
	for {
		select {
		case <-pt.final:
			return
		case <-tx.Done():
			return
		case <-t.C:
			e.met.errors.WithLabelValues("owner_timeout").Inc()
			e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusRequestTimeout, "Request Timeout", nil))
			return
		case <-reask:
			e.met.errors.WithLabelValues("owner_reasked").Inc()
			again := nats.NewMsg(m.Subject)
			again.Header, again.Data = m.Header, m.Data
			_ = e.nc.PublishMsg(again)
		}
	}
}

// reaskInterval is how long the edge waits for the final response to a
// non-INVITE request before it hands the request over again.
const reaskInterval = time.Second

// replyTo is where sipgo sends its own responses to req: over UDP the
// source address with the Via's port (RFC 3261 §18.2.2), or the source port
// when the Via asks for rport (RFC 3581 §4). A response parsed from a
// worker's bytes has no destination, and sipgo would fall back to the Via's
// sent-by: a host the sender chose, unreachable behind NAT and anyone's in a
// forged Via.
func replyTo(req *sip.Request) string {
	return sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil).Destination()
}

func serviceUnavailable(req *sip.Request, why string) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable", nil)
	res.AppendHeader(sip.NewHeader("Retry-After", "1"))
	res.AppendHeader(sip.NewHeader("Warning", `399 switchboard "`+why+`"`))
	return res
}

// onOwnerResponse sends a response the owner made on the server
// transaction it belongs to.
func (e *SIPEdge) onOwnerResponse(m *nats.Msg) {
	e.mu.Lock()
	pt := e.pending[m.Header.Get(events.HdrTx)]
	e.mu.Unlock()
	if pt == nil {
		e.met.errors.WithLabelValues("late_response").Inc()
		return
	}
	msg, err := e.parser.ParseSIP(m.Data)
	res, ok := msg.(*sip.Response)
	if err != nil || !ok {
		e.log.Warn("owner sent an unparsable response", "err", err)
		return
	}
	e.fixContact(res, pt.req.Transport())
	// Wait for the ACK before the 2xx leaves, or a quick ACK could arrive
	// before anyone listens for it and the 2xx would be resent for 32 s.
	var acked chan struct{}
	if res.IsSuccess() && pt.req.IsInvite() && !sip.IsReliable(pt.req.Transport()) {
		acked = e.awaitAck(res)
	}
	res.SetDestination(pt.dest)
	e.respond(pt.tx, res)
	if res.StatusCode < 200 {
		return
	}
	if acked != nil {
		e.retransmit2xx(res, acked)
	}
	pt.once.Do(func() { close(pt.final) })
}

// awaitAck registers interest in the ACK of a 2xx; stopRetransmit closes
// the channel when the ACK arrives. Nil if one is already registered.
func (e *SIPEdge) awaitAck(res *sip.Response) chan struct{} {
	key := ackKey(res.CallID().Value(), res.CSeq().SeqNo)
	ch := make(chan struct{})
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.acks[key] != nil {
		return nil
	}
	e.acks[key] = ch
	return ch
}

func ackKey(callID string, cseq uint32) string {
	return callID + "/" + strconv.FormatUint(uint64(cseq), 10)
}

// retransmit2xx resends a 2xx to INVITE over UDP until the ACK arrives
// (RFC 3261 §13.3.1.4, RFC 6026: the transaction layer does not do it).
func (e *SIPEdge) retransmit2xx(res *sip.Response, acked chan struct{}) {
	key := ackKey(res.CallID().Value(), res.CSeq().SeqNo)
	e.wg.Go(func() {
		defer func() {
			e.mu.Lock()
			if e.acks[key] == acked {
				delete(e.acks, key)
			}
			e.mu.Unlock()
		}()
		interval, deadline := t1, time.Now().Add(64*t1)
		t := time.NewTimer(interval)
		defer t.Stop()
		for {
			select {
			case <-acked:
				return
			case <-t.C:
			}
			if time.Now().After(deadline) {
				return
			}
			_ = e.srv.WriteResponse(res)
			interval = min(2*interval, t2)
			t.Reset(interval)
		}
	})
}

func (e *SIPEdge) stopRetransmit(callID string, cseq uint32) {
	key := ackKey(callID, cseq)
	e.mu.Lock()
	if ch := e.acks[key]; ch != nil {
		close(ch)
		delete(e.acks, key)
	}
	e.mu.Unlock()
}

// onSend takes a request from a worker, sends it, and publishes every
// response to the call's partition. The worker gets a reply naming this edge
// (or an error) as soon as the request has been handed to the transport.
func (e *SIPEdge) onSend(m *nats.Msg) {
	if m.Header.Get(events.HdrProbe) != "" {
		if e.isClosed() {
			e.replySend(m, errors.New("edge shutting down"))
		} else if m.Reply != "" {
			r := nats.NewMsg(m.Reply)
			r.Header.Set(events.HdrEdge, e.cfg.EdgeID)
			_ = e.nc.PublishMsg(r)
		}
		return
	}
	msg, err := e.parser.ParseSIP(m.Data)
	req, ok := msg.(*sip.Request)
	if err != nil || !ok {
		e.replySend(m, fmt.Errorf("not a SIP request: %v", err))
		return
	}
	if d := m.Header.Get("Sb-Destination"); d != "" {
		req.SetDestination(d)
	}
	if t := m.Header.Get(events.HdrTransport); t != "" {
		req.SetTransport(t)
	}
	if req.Transport() == "UDP" || req.Transport() == "" {
		req.Laddr = sip.Addr{IP: e.udpAddr.IP, Port: e.udpAddr.Port}
	}
	e.fixContact(req, req.Transport())
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		e.replySend(m, errors.New("edge shutting down"))
		return
	}
	e.wg.Go(func() { e.send(m, req) })
}

func (e *SIPEdge) replySend(m *nats.Msg, err error) {
	r := nats.NewMsg(m.Reply)
	r.Header.Set(events.HdrEdge, e.cfg.EdgeID)
	if err != nil {
		e.met.errors.WithLabelValues("send_failed").Inc()
		r.Header.Set(events.HdrError, err.Error())
	}
	if m.Reply != "" {
		_ = e.nc.PublishMsg(r)
	}
}

func (e *SIPEdge) send(m *nats.Msg, req *sip.Request) {
	e.met.out.WithLabelValues(string(req.Method)).Inc()
	callID := req.CallID().Value()
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.InviteTimeout+time.Minute)
	defer cancel()
	switch {
	case req.IsAck():
		e.replySend(m, e.client.WriteRequest(req, sipgo.ClientRequestAddVia))
		return
	case req.IsCancel():
		e.mu.Lock()
		inv := e.invites[ackKey(callID, req.CSeq().SeqNo)]
		e.mu.Unlock()
		if inv == nil {
			e.replySend(m, errors.New("no INVITE transaction to cancel on this edge"))
			return
		}
		// RFC 3261 §9.1: CANCEL copies the INVITE's Via, so it matches.
		req = cancelFor(inv)
		tx, err := e.client.TransactionRequest(ctx, req, func(*sipgo.Client, *sip.Request) error { return nil })
		e.replySend(m, err)
		if err == nil {
			select {
			case <-tx.Done():
			case <-ctx.Done():
			}
			tx.Terminate()
		}
		return
	}
	tx, err := e.client.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	e.replySend(m, err)
	if err != nil {
		return
	}
	defer tx.Terminate()
	key := ackKey(callID, req.CSeq().SeqNo)
	if req.IsInvite() {
		e.mu.Lock()
		e.invites[key] = req
		e.mu.Unlock()
		defer func() {
			e.mu.Lock()
			delete(e.invites, key)
			e.mu.Unlock()
		}()
	}
	p := events.Partition(callID, e.cfg.Partitions)
	publish := func(res *sip.Response) {
		out := nats.NewMsg(events.PartitionSubject(events.RoleMedia, p, "sip"))
		out.Data = []byte(res.String())
		out.Header.Set(events.HdrEdge, e.cfg.EdgeID)
		out.Header.Set(events.HdrKind, events.KindResponse)
		out.Header.Set(events.HdrTransport, req.Transport())
		if err := e.nc.PublishMsg(out); err != nil {
			e.log.Debug("response not relayed", "err", err)
		}
	}
	for {
		select {
		case res := <-tx.Responses():
			publish(res)
			if res.StatusCode >= 200 {
				return
			}
		case <-tx.Done():
			// Timer B/F fired or the transport failed: tell the worker with a
			// 408 as RFC 3261 §8.1.3.1 says a UAC should treat it.
			res := sip.NewResponseFromRequest(req, sip.StatusRequestTimeout, "Request Timeout", nil)
			publish(res)
			return
		case <-ctx.Done():
			return
		}
	}
}

// countingHandler counts sipgo's parse and validation failures (which it
// only logs) and logs them at debug level, so junk from the network cannot
// flood the log.
type countingHandler struct {
	next   slog.Handler
	errors *prometheus.CounterVec
}

func (h *countingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.next.Enabled(ctx, l)
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		switch r.Message {
		case "failed to parse":
			reason := "parse"
			r.Attrs(func(a slog.Attr) bool {
				if err, ok := a.Value.Any().(error); ok && errors.Is(err, sip.ErrMessageTooLarge) {
					reason = "oversized" // a TCP message over MaxMessageBytes
				}
				return true
			})
			h.errors.WithLabelValues(reason).Inc()
		case "Server tx failed to handle request":
			h.errors.WithLabelValues("malformed").Inc()
		}
		r = slog.NewRecord(r.Time, slog.LevelDebug, r.Message, r.PC)
		if !h.next.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return &countingHandler{next: h.next.WithAttrs(a), errors: h.errors}
}

func (h *countingHandler) WithGroup(g string) slog.Handler {
	return &countingHandler{next: h.next.WithGroup(g), errors: h.errors}
}

// cancelFor builds the CANCEL of an INVITE (RFC 3261 §9.1): same
// Request-URI, Call-ID, From, To and CSeq number, and only the INVITE's top
// Via, so that the server matches it to the INVITE's transaction.
func cancelFor(inv *sip.Request) *sip.Request {
	c := sip.NewRequest(sip.CANCEL, inv.Recipient)
	c.AppendHeader(sip.HeaderClone(inv.Via()))
	sip.CopyHeaders("Route", inv, c)
	c.AppendHeader(sip.HeaderClone(inv.From()))
	c.AppendHeader(sip.HeaderClone(inv.To()))
	c.AppendHeader(sip.HeaderClone(inv.CallID()))
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	c.SetBody(nil)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	c.Laddr = inv.Laddr
	return c
}

func (e *SIPEdge) fixContact(m interface{ Contact() *sip.ContactHeader }, transport string) {
	h := m.Contact()
	if h == nil || h.Address.Host != events.ContactPlaceholder {
		return
	}
	h.Address.Host = e.advertise
	h.Address.Port = e.udpAddr.Port
	if _, p, err := net.SplitHostPort(e.Addr(strings.ToLower(transport))); err == nil {
		h.Address.Port, _ = strconv.Atoi(p) // the port of the transport the message goes out on
	}
	if t := strings.ToLower(transport); t != "" && t != "udp" {
		h.Address.UriParams = sip.NewParams()
		h.Address.UriParams.Add("transport", t)
	}
}

// PrimaryIP is the address this host uses to reach the outside (found with a
// route lookup; nothing is sent), or 127.0.0.1 when there is no route.
func PrimaryIP() net.IP {
	c, err := net.Dial("udp", "192.0.2.1:9") // TEST-NET-1: only routed, never sent to
	if err != nil {
		return net.IPv4(127, 0, 0, 1)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP
}
