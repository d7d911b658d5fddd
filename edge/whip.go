package edge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
)

// WHIPConfig configures the WebRTC offer endpoint.
type WHIPConfig struct {
	// EdgeID names this edge in the offers it forwards.
	EdgeID string
	// Partitions is the cluster's partition count P.
	Partitions int
	// Token, if not empty, is the bearer token every request must carry
	// (RFC 6750 §2.1: Authorization: Bearer <token>); otherwise 401.
	Token string
	// Timeout bounds the owner's answer (ICE gathering included); zero
	// means 15 s.
	Timeout time.Duration
	// MaxOffer is the largest offer read; zero means 64 KiB.
	MaxOffer int64
	// MaxStreams bounds the event streams (GET /events) open at once;
	// zero means 256.
	MaxStreams int
	// Registerer, if not nil, gets the endpoint's metrics.
	Registerer prometheus.Registerer
}

// WHIP is the WHIP-style (RFC 9725) endpoint through which a browser
// calls: POST /whip with an SDP offer creates a call and answers 201 with
// the SDP answer and the call's resource URL; DELETE on that URL hangs it
// up. Like a SIP message, the offer goes to the owner of its call id's
// partition, which terminates WebRTC (workers/media/webrtc.go).
//
// POST /whip                       a call the application drives (route webrtc)
// POST /whip?to=sip:bob@host       dial bob and bridge the browser to him
// POST /whip?conference=room       join conference room
// POST /whip?call_id=<id>          answer or take over call <id> (bridged to it)
// POST /whip?echo                  an echo test
//
// It also serves the demo page (GET /) and the event relay the page reads
// (GET /events, eventstream.go).
type WHIP struct {
	cfg     WHIPConfig
	nc      *nats.Conn
	js      jetstream.JetStream
	log     *slog.Logger
	met     *streamMetrics
	streams chan struct{} // one token per open event stream
	closing context.Context
	close   context.CancelFunc
}

// NewWHIP builds the endpoint; Register adds it to a mux.
func NewWHIP(nc *nats.Conn, cfg WHIPConfig, log *slog.Logger) (*WHIP, error) {
	if cfg.Partitions < 1 {
		return nil, fmt.Errorf("edge: bad WHIP config %+v", cfg)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.MaxOffer <= 0 {
		cfg.MaxOffer = 64 << 10
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 256
	}
	if log == nil {
		log = slog.Default()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &WHIP{
		cfg: cfg, nc: nc, js: js, log: log, met: newStreamMetrics(cfg.Registerer),
		streams: make(chan struct{}, cfg.MaxStreams), closing: ctx, close: cancel,
	}, nil
}

// Close ends the open event streams, so that the HTTP server's Shutdown
// is not held up by them (register it with http.Server.RegisterOnShutdown).
func (w *WHIP) Close() { w.close() }

// WHIPPath is where offers are posted; a call's resource is WHIPPath/<call id>.
const WHIPPath = "/whip"

// Register adds the endpoint's routes to mux.
func (w *WHIP) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+WHIPPath, w.auth(w.post))
	mux.HandleFunc("DELETE "+WHIPPath+"/{call}", w.auth(w.delete))
	mux.HandleFunc("PATCH "+WHIPPath+"/{call}", w.auth(func(rw http.ResponseWriter, _ *http.Request) {
		// RFC 9725 §4.3.1: trickle ICE and ICE restarts are optional.
		http.Error(rw, "trickle ICE and ICE restart are not supported; gather candidates before posting the offer", http.StatusMethodNotAllowed)
	}))
	mux.HandleFunc("OPTIONS "+WHIPPath, w.options)
	mux.HandleFunc("GET "+EventsPath, w.auth(w.events))
	mux.HandleFunc("GET /{$}", demoPage)
}

func (w *WHIP) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if w.cfg.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok && r.Method == http.MethodGet {
				// An EventSource cannot set headers (RFC 6750 §2.3).
				got, ok = r.URL.Query().Get("access_token"), true
			}
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(w.cfg.Token)) != 1 {
				rw.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
				http.Error(rw, "a bearer token is required", http.StatusUnauthorized)
				return
			}
		}
		h(rw, r)
	}
}

func (w *WHIP) options(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Accept-Post", "application/sdp")
	rw.WriteHeader(http.StatusNoContent)
}

func (w *WHIP) post(rw http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		http.Error(rw, "Content-Type must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	offer, err := io.ReadAll(io.LimitReader(r.Body, w.cfg.MaxOffer+1))
	if err != nil {
		http.Error(rw, "offer not read: "+err.Error(), http.StatusBadRequest)
		return
	}
	if int64(len(offer)) > w.cfg.MaxOffer {
		http.Error(rw, fmt.Sprintf("offer larger than %d bytes", w.cfg.MaxOffer), http.StatusRequestEntityTooLarge)
		return
	}
	q := r.URL.Query()
	attach := q.Get("call_id")
	if attach != "" && len(attach) > 256 {
		http.Error(rw, "call_id is an existing call's id, up to 256 characters", http.StatusBadRequest)
		return
	}
	callID := newCallID(attach, w.cfg.Partitions)
	p := events.Partition(callID, w.cfg.Partitions)
	m := nats.NewMsg(events.PartitionSubject(events.RoleMedia, p, events.MediaKindWebRTC))
	m.Data = offer
	m.Header.Set(events.HdrCallID, callID)
	m.Header.Set(events.HdrEdge, w.cfg.EdgeID)
	m.Header.Set(events.HdrSource, r.RemoteAddr)
	m.Header.Set(events.HdrTransport, events.TransportWebRTC)
	if to := q.Get("to"); to != "" {
		m.Header.Set(events.HdrDialTo, to)
	}
	if room := q.Get("conference"); room != "" {
		m.Header.Set(events.HdrConference, room)
	}
	if attach != "" {
		m.Header.Set(events.HdrAttach, attach)
	}
	if q.Has("echo") {
		m.Header.Set(events.HdrRoute, events.RouteEcho)
	}
	res, ok := w.request(rw, m, p)
	if !ok {
		return
	}
	code, _ := strconv.Atoi(res.Header.Get(events.HdrCode))
	if code != events.CodeCreated {
		if code < 400 || code > 599 {
			code = http.StatusBadGateway
		}
		if code == events.CodeServiceUnavailable {
			rw.Header().Set("Retry-After", "1")
		}
		http.Error(rw, res.Header.Get(events.HdrReason), code)
		return
	}
	rw.Header().Set("Content-Type", "application/sdp")
	rw.Header().Set("Location", WHIPPath+"/"+callID)
	rw.Header().Set("Sb-Call-Id", callID)
	if peer := res.Header.Get(events.HdrPeerCallID); peer != "" {
		rw.Header().Set("Sb-Peer-Call-Id", peer)
	}
	rw.WriteHeader(http.StatusCreated)
	_, _ = rw.Write(res.Data)
}

// newCallID names a browser's call. A call attached to another one must
// live in its partition (a bridge's legs share an owner), so the id is
// drawn until it hashes there: about P draws.
func newCallID(attach string, partitions int) string {
	for {
		id := strings.ToLower(nuid.Next()) + "@webrtc"
		if attach == "" || events.Partition(id, partitions) == events.Partition(attach, partitions) {
			return id
		}
	}
}

// delete hangs the call up with the hangup command, as an application would.
func (w *WHIP) delete(rw http.ResponseWriter, r *http.Request) {
	callID := r.PathValue("call")
	p := events.Partition(callID, w.cfg.Partitions)
	body, _ := json.Marshal(&events.Hangup{CallCommand: events.CallCommand{CallID: callID}})
	m := nats.NewMsg(events.PartitionCommandSubject(events.RoleMedia, p, "hangup"))
	m.Data = body
	res, ok := w.request(rw, m, p)
	if !ok {
		return
	}
	var rep events.Reply
	if json.Unmarshal(res.Data, &rep) != nil || rep.Code >= 300 {
		code := rep.Code
		if code < 400 || code > 599 {
			code = http.StatusBadGateway
		}
		http.Error(rw, rep.Reason, code)
		return
	}
	rw.WriteHeader(http.StatusOK)
}

// request asks the owner of partition p; when nobody answers it writes the
// HTTP error (503 with Retry-After, or 504) and reports false.
func (w *WHIP) request(rw http.ResponseWriter, m *nats.Msg, p int) (*nats.Msg, bool) {
	res, err := w.nc.RequestMsg(m, w.cfg.Timeout)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		rw.Header().Set("Retry-After", "1")
		http.Error(rw, fmt.Sprintf("partition %d has no owner yet", p), http.StatusServiceUnavailable)
		return nil, false
	case err != nil:
		http.Error(rw, "the media worker did not answer: "+err.Error(), http.StatusGatewayTimeout)
		return nil, false
	}
	return res, true
}
