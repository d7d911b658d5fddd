// Package edge is the stateless front of the platform: it takes commands
// from applications (and, with the SIP edge, SIP messages), hashes them to a
// partition and hands them to the partition's owner. An edge keeps no call
// state, so any edge can take any message of any call.
package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/schemas"
)

// RouterConfig configures the command router.
type RouterConfig struct {
	// Partitions is the cluster's partition count P.
	Partitions int
	// Timeout bounds how long the owner has to answer a command.
	Timeout time.Duration
	// MaxBytes is the largest command body accepted.
	MaxBytes int
	// MaxInFlight bounds the commands being forwarded at once; beyond it the
	// router answers 503 rather than queueing without limit.
	MaxInFlight int
}

// Router takes every command on sb.cmd.> (one edge of the queue group gets
// each), checks it against its schema, and forwards it to the owner of the
// partition its route key hashes to. Every command gets a reply with a code.
type Router struct {
	cfg RouterConfig
	nc  *nats.Conn
	log *slog.Logger
	met *routerMetrics
	sem chan struct{}

	mu     sync.Mutex // guards closed and wg.Go against Close's wg.Wait
	closed bool
	wg     sync.WaitGroup
}

type routerMetrics struct {
	commands *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRouter builds a router; AddTo attaches it to a micro service.
func NewRouter(nc *nats.Conn, cfg RouterConfig, log *slog.Logger, reg prometheus.Registerer) (*Router, error) {
	if cfg.Partitions < 1 || cfg.Timeout <= 0 || cfg.MaxBytes < 1 || cfg.MaxInFlight < 1 {
		return nil, fmt.Errorf("edge: bad router config %+v", cfg)
	}
	if log == nil {
		log = slog.Default()
	}
	m := &routerMetrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sb_commands_total", Help: "Commands routed by this edge, by verb and reply code.",
		}, []string{"verb", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sb_command_errors_total", Help: "Commands refused or failed at the edge, by reason.",
		}, []string{"reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sb_command_duration_seconds", Help: "Time from a command's arrival at the edge to its reply.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}, []string{"verb"}),
	}
	if reg != nil {
		reg.MustRegister(m.commands, m.errors, m.duration)
	}
	return &Router{cfg: cfg, nc: nc, log: log, met: m, sem: make(chan struct{}, cfg.MaxInFlight)}, nil
}

// AddTo registers the router as endpoint "commands" of svc, on sb.cmd.> in
// queue group sb-edge, so `nats micro stats switchboard` counts commands.
func (r *Router) AddTo(svc micro.Service) error {
	return svc.AddEndpoint("commands", micro.HandlerFunc(r.handle),
		micro.WithEndpointSubject(events.CommandWildcard),
		micro.WithEndpointQueueGroup(events.EdgeQueue))
}

// Close stops forwarding and waits for commands in flight to be answered.
func (r *Router) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Router) handle(req micro.Request) {
	start := time.Now()
	verb := strings.TrimPrefix(req.Subject(), events.CommandPrefix)
	data := req.Data()
	label := verb
	fail := func(code int, reason, why string) {
		r.met.errors.WithLabelValues(why).Inc()
		r.finish(req, label, start, events.Reply{Code: code, Reason: reason})
	}
	if len(data) > r.cfg.MaxBytes {
		fail(events.CodeTooLarge, fmt.Sprintf("command is %d bytes; the limit is %d", len(data), r.cfg.MaxBytes), "oversized")
		return
	}
	cmd := events.NewCommand(verb)
	if cmd == nil {
		label = "unknown" // never a label per junk subject
		fail(events.CodeNotFound, fmt.Sprintf("unknown command %q; known: %s", verb, strings.Join(events.Verbs(), ", ")), "unknown_verb")
		return
	}
	if !json.Valid(data) {
		fail(events.CodeBadRequest, "body is not JSON", "bad_json")
		return
	}
	if err := schemas.ValidateCommand(verb, data); err != nil {
		fail(events.CodeBadRequest, err.Error(), "schema")
		return
	}
	if err := json.Unmarshal(data, cmd); err != nil {
		fail(events.CodeBadRequest, err.Error(), "bad_json")
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		fail(events.CodeServiceUnavailable, "edge is shutting down", "shutting_down")
		return
	}
	select {
	case r.sem <- struct{}{}:
	default:
		fail(events.CodeServiceUnavailable, "edge overloaded: too many commands in flight", "overloaded")
		return
	}
	// Forward without blocking the endpoint's subscription: the owner may
	// take up to Timeout, and other commands must not wait behind it.
	r.wg.Go(func() {
		defer func() { <-r.sem }()
		r.forward(req, cmd, verb, data, start)
	})
}

func (r *Router) forward(req micro.Request, cmd events.Command, verb string, data []byte, start time.Time) {
	key := cmd.RouteKey()
	if key == "" {
		key = nuid.Next() // e.g. a dial with nothing to stay near: any partition
	}
	p := events.Partition(key, r.cfg.Partitions)
	m := nats.NewMsg(events.PartitionCommandSubject(cmd.Role(), p, verb))
	m.Data = data
	for k, v := range req.Headers() {
		m.Header[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	defer cancel()
	resp, err := r.nc.RequestMsgWithContext(ctx, m)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		r.met.errors.WithLabelValues("no_owner").Inc()
		r.finish(req, verb, start, events.Reply{Code: events.CodeServiceUnavailable, Reason: fmt.Sprintf("partition %d has no owner yet", p), RetryAfter: 1, Partition: &p})
	case err != nil:
		r.met.errors.WithLabelValues("timeout").Inc()
		r.finish(req, verb, start, events.Reply{Code: events.CodeTimeout, Reason: fmt.Sprintf("owner of partition %d did not answer: %v", p, err), Partition: &p})
	default:
		var rep events.Reply
		code := events.CodeServerError
		if json.Unmarshal(resp.Data, &rep) == nil && rep.Code != 0 {
			code = rep.Code
		}
		r.met.commands.WithLabelValues(verb, strconv.Itoa(code)).Inc()
		r.met.duration.WithLabelValues(verb).Observe(time.Since(start).Seconds())
		if code >= 300 {
			_ = req.Error(strconv.Itoa(code), rep.Reason, resp.Data)
		} else {
			_ = req.Respond(resp.Data)
		}
	}
}

// finish answers with a reply the router made itself.
func (r *Router) finish(req micro.Request, verb string, start time.Time, rep events.Reply) {
	r.met.commands.WithLabelValues(verb, strconv.Itoa(rep.Code)).Inc()
	r.met.duration.WithLabelValues(verb).Observe(time.Since(start).Seconds())
	b, _ := json.Marshal(rep)
	if err := req.Error(strconv.Itoa(rep.Code), rep.Reason, b); err != nil {
		r.log.Debug("reply not sent", "err", err)
	}
}
