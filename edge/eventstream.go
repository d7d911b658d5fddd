package edge

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
)

// The event relay: GET /events streams the events of some calls and rooms
// to a browser as Server-Sent Events (the demo page's live log), read from
// the SB_EVENTS stream, so that events published before the page asked are
// not missed and a reconnecting EventSource resumes where it stopped
// (Last-Event-ID is the stream sequence).
//
//	GET /events?call_id=<id>[&call_id=<id>...][&conference=<room>][&since=<seconds>]
//
// An EventSource cannot send headers: with a token configured, the
// request carries it as Authorization: Bearer or as ?access_token=
// (RFC 6750 §2.3).

const (
	// EventsPath is where the relay answers.
	EventsPath = "/events"
	// maxStreamFilters bounds the call ids and rooms of one stream.
	maxStreamFilters = 8
	// streamKeepalive is how often an idle stream gets a comment, so that
	// proxies keep it open and a dead client is noticed.
	streamKeepalive = 15 * time.Second
	// streamBacklog is how many events may wait for a slow client before
	// its stream is closed (it reconnects with Last-Event-ID).
	streamBacklog = 256
	// defaultSince and maxSince bound how far back a new stream starts.
	defaultSince = 2 * time.Minute
	maxSince     = time.Hour
)

type streamMetrics struct {
	open    prometheus.Gauge
	refused *prometheus.CounterVec
}

func newStreamMetrics(reg prometheus.Registerer) *streamMetrics {
	m := &streamMetrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sb_http_event_streams", Help: "Event streams (GET /events) open on this edge.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sb_http_event_streams_refused_total", Help: "Event streams refused or cut, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.open, m.refused)
	}
	return m
}

// events serves GET /events.
func (w *WHIP) events(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var filters []string
	for _, id := range q["call_id"] {
		if id == "" || len(id) > 256 {
			w.refuse(rw, "bad_request", "bad call_id", http.StatusBadRequest)
			return
		}
		filters = append(filters, events.CallEventSubject(id, ">"))
	}
	for _, room := range q["conference"] {
		if !events.ValidConference(room) {
			w.refuse(rw, "bad_request", "bad conference name "+strconv.Quote(room), http.StatusBadRequest)
			return
		}
		filters = append(filters, events.ConferenceEventSubject(room, ">"))
	}
	if len(filters) == 0 || len(filters) > maxStreamFilters {
		w.refuse(rw, "bad_request", fmt.Sprintf("name 1 to %d call_id or conference parameters", maxStreamFilters), http.StatusBadRequest)
		return
	}
	since := defaultSince
	if s := q.Get("since"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || time.Duration(n)*time.Second > maxSince {
			w.refuse(rw, "bad_request", "since is a number of seconds up to 3600", http.StatusBadRequest)
			return
		}
		since = time.Duration(n) * time.Second
	}
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: filters}
	if last, err := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64); err == nil {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, last+1
	} else {
		start := time.Now().Add(-since)
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	flusher, ok := rw.(http.Flusher)
	if !ok {
		http.Error(rw, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	select {
	case w.streams <- struct{}{}:
		w.met.open.Inc()
		defer func() {
			<-w.streams
			w.met.open.Dec()
		}()
	default:
		w.refuse(rw, "too_many", "too many event streams on this edge", http.StatusServiceUnavailable)
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(w.closing, cancel)
	defer stop()
	cons, err := w.js.OrderedConsumer(ctx, events.EventStream, cc)
	if err != nil {
		w.refuse(rw, "unavailable", "event stream unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	ch := make(chan jetstream.Msg, streamBacklog)
	full := make(chan struct{})
	var once sync.Once
	consume, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case ch <- m:
		default:
			once.Do(func() { close(full) })
		}
	})
	if err != nil {
		w.refuse(rw, "unavailable", "event stream unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer consume.Stop()

	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	rw.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(rw, "retry: 1000\n\n")
	flusher.Flush()
	tick := time.NewTicker(streamKeepalive)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-full:
			w.met.refused.WithLabelValues("slow_client").Inc()
			return
		case <-tick.C:
			_, err = fmt.Fprint(rw, ": keepalive\n\n")
		case m := <-ch:
			seq := uint64(0)
			if md, err := m.Metadata(); err == nil {
				seq = md.Sequence.Stream
			}
			_, err = fmt.Fprintf(rw, "id: %d\ndata: %s\n\n", seq, m.Data())
		}
		if err != nil {
			return
		}
		flusher.Flush()
	}
}

func (w *WHIP) refuse(rw http.ResponseWriter, reason, text string, code int) {
	w.met.refused.WithLabelValues(reason).Inc()
	if code == http.StatusServiceUnavailable {
		rw.Header().Set("Retry-After", "1")
	}
	http.Error(rw, text, code)
}
