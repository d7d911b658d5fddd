// Package app assembles a switchboard process from its config: the embedded
// nats-server (or a connection to a cluster), the node runtime with its
// worker roles, the edge's command router, the micro service that makes the
// node visible to `nats micro ls`, and the HTTP server for /metrics and
// /healthz. main builds exactly this, and so do the whole-system tests.
package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/edge"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers"
	"github.com/switchboard-voip/switchboard/workers/conference"
	"github.com/switchboard-voip/switchboard/workers/dtmf"
	"github.com/switchboard-voip/switchboard/workers/media"
	"github.com/switchboard-voip/switchboard/workers/media/webrtcpeer"
)

// Version is the binary's version (semver, as micro requires); set with
// -ldflags "-X github.com/switchboard-voip/switchboard/cmd/app.Version=...".
var Version = "0.1.0-dev"

// Mode says which parts a process runs.
type Mode struct {
	// Edge runs the command router (and, later, the SIP and web edges).
	Edge bool
	// Roles are the worker roles to run.
	Roles []string
}

// App is one running switchboard process.
type App struct {
	cfg  config.Config
	mode Mode
	log  *slog.Logger
	reg  *prometheus.Registry

	srv     *server.Server // embedded nats-server, if any
	nc      *nats.Conn
	pub     *events.Publisher // confirms every event this process publishes
	node    *workers.Node
	router  *edge.Router
	sipEdge *edge.SIPEdge
	media   *media.Role
	conf    *conference.Role
	dtmf    *dtmf.Role
	svc     micro.Service
	httpLn  net.Listener
	httpSrv *http.Server
	whip    *edge.WHIP

	natsUp    prometheus.Gauge
	readyGaug prometheus.Gauge
	closing   atomic.Bool // our own shutdown: a disconnect is expected
}

// New starts what a process needs before it can run: the embedded server
// (when no NATS URL is configured), the connection, the buckets and stream,
// and the HTTP listener. Run starts serving.
func New(ctx context.Context, cfg config.Config, mode Mode, log *slog.Logger) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.NodeID == "" {
		cfg.NodeID = defaultNodeID()
	}
	if log == nil {
		log = slog.Default()
	}
	a := &App{cfg: cfg, mode: mode, log: log.With("node", cfg.NodeID), reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sb_build_info", Help: "Always 1; the version label says which build runs."}, []string{"version"})
	a.natsUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "sb_nats_connected", Help: "1 while the NATS connection is up."})
	a.readyGaug = prometheus.NewGauge(prometheus.GaugeOpts{Name: "sb_ready", Help: "1 while /healthz reports ready."})
	a.reg.MustRegister(buildInfo, a.natsUp, a.readyGaug)
	buildInfo.WithLabelValues(Version).Set(1)

	url := cfg.NATSURL
	if url == "" {
		if a.srv, err = startEmbedded(cfg); err != nil {
			return nil, err
		}
		url = a.srv.ClientURL()
	}
	a.nc, err = nats.Connect(url,
		nats.Name("switchboard "+cfg.NodeID),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		// Notice a dead or hung server within 2 s (nats.go's default pings
		// every 2 minutes): after the 4th unanswered ping, 500 ms apart, the
		// connection is stale and the client moves to another server. A
		// server that crashes outright is noticed at once (the socket
		// closes).
		nats.PingInterval(500*time.Millisecond), nats.MaxPingsOutstanding(3),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if !a.closing.Load() {
				a.log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { a.log.Info("NATS reconnected", "url", nc.ConnectedUrl()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	if a.pub, err = events.NewPublisher(a.nc, 30*time.Second); err != nil {
		return nil, err
	}
	a.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sb_events_confirmed_total", Help: "Events the event stream acknowledged."},
			func() float64 { return float64(a.pub.Confirmed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sb_events_retried_total", Help: "Event publications repeated because the stream did not acknowledge them (leader election, reconnect)."},
			func() float64 { return float64(a.pub.Retried.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sb_events_unconfirmed_total", Help: "Events given up on after 30 s of retries, or sent unconfirmed because the queue was full."},
			func() float64 { return float64(a.pub.Unconfirmed.Load()) }),
	)

	var labels []string
	if mode.Edge {
		labels = append(labels, "edge")
	}
	advertise := cfg.SIPAdvertise
	if advertise == "" {
		advertise = cfg.SIPHost
		if ip := net.ParseIP(advertise); ip == nil || ip.IsUnspecified() {
			advertise = edge.PrimaryIP().String()
		}
	}
	var roles []workers.Role
	if slices.Contains(mode.Roles, events.RoleMedia) {
		mediaIP := cfg.MediaIP
		if mediaIP == "" {
			mediaIP = advertise
		}
		ip, err := netip.ParseAddr(mediaIP)
		if err != nil {
			return nil, fmt.Errorf("media_ip %q is not an IP address", mediaIP)
		}
		webrtcConfig, err := webrtcConfigOf(cfg, ip)
		if err != nil {
			return nil, err
		}
		a.media, err = media.New(ctx, a.nc, media.Config{
			NodeID: cfg.NodeID, Partitions: cfg.Partitions, MediaIP: ip,
			RTPPortMin: cfg.RTPPortMin, RTPPortMax: cfg.RTPPortMax,
			EchoUser: cfg.EchoUser, ConferencePrefix: cfg.ConferencePrefix,
			RingTimeout: cfg.RingTimeout, MediaTimeout: cfg.MediaTimeout, Replicas: cfg.Replicas,
			DTMFInband: cfg.DTMFInband,
			Playout:    playoutConfig(cfg),
			WebRTC:     webrtcConfig,
		}, a.log, a.reg)
		if err != nil {
			return nil, err
		}
		roles = append(roles, a.media)
	}
	if slices.Contains(mode.Roles, events.RoleConference) {
		if a.conf, err = conference.New(ctx, a.nc, conference.Config{
			NodeID: cfg.NodeID, Partitions: cfg.Partitions, Rate: cfg.ConferenceRate, Replicas: cfg.Replicas,
		}, a.log, a.reg); err != nil {
			return nil, err
		}
		roles = append(roles, a.conf)
	}
	if slices.Contains(mode.Roles, events.RoleDTMF) {
		if a.dtmf, err = dtmf.New(a.nc, dtmf.Config{NodeID: cfg.NodeID}, a.log, a.reg); err != nil {
			return nil, err
		}
		roles = append(roles, a.dtmf)
	}
	a.node, err = workers.New(ctx, a.nc, workers.Config{
		NodeID: cfg.NodeID, Roles: mode.Roles, Labels: labels, Partitions: cfg.Partitions,
		VNodes: cfg.VNodes, Probes: cfg.Probes, HeartbeatInterval: cfg.HeartbeatInterval,
		NodeTimeout: cfg.NodeTimeout, DrainTimeout: cfg.DrainTimeout, RebalanceDelay: cfg.RebalanceDelay, Replicas: cfg.Replicas,
		EventRetention: cfg.EventRetention, Version: Version, HTTPAddr: cfg.HTTPAddr,
	}, roles, workers.WithLogger(a.log), workers.WithRegisterer(a.reg))
	if err != nil {
		return nil, err
	}

	a.svc, err = micro.AddService(a.nc, micro.Config{
		Name: events.ServiceName, Version: Version,
		Description: "switchboard voice platform node",
		Metadata: map[string]string{
			"node": cfg.NodeID, "roles": strings.Join(append(append([]string{}, labels...), mode.Roles...), ","),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("micro service: %w", err)
	}
	if err := a.svc.AddEndpoint("status", micro.HandlerFunc(a.status),
		micro.WithEndpointSubject("sb.node."+cfg.NodeID+".status")); err != nil {
		return nil, err
	}
	if mode.Edge {
		a.router, err = edge.NewRouter(a.nc, edge.RouterConfig{
			Partitions: cfg.Partitions, Timeout: cfg.CommandTimeout,
			MaxBytes: cfg.MaxCommandBytes, MaxInFlight: 4096,
		}, a.log, a.reg)
		if err != nil {
			return nil, err
		}
		if err := a.router.AddTo(a.svc); err != nil {
			return nil, err
		}
		var tlsConf *tls.Config
		if cfg.SIPTLSCert != "" || cfg.SIPTLSKey != "" {
			cert, err := tls.LoadX509KeyPair(cfg.SIPTLSCert, cfg.SIPTLSKey)
			if err != nil {
				return nil, fmt.Errorf("SIP TLS certificate: %w", err)
			}
			tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		a.sipEdge, err = edge.NewSIPEdge(a.nc, edge.SIPConfig{
			EdgeID: cfg.NodeID, Host: cfg.SIPHost, Port: cfg.SIPPort, Advertise: advertise, Partitions: cfg.Partitions,
			TLSPort: cfg.SIPTLSPort, WSPort: cfg.SIPWSPort, WSSPort: cfg.SIPWSSPort, TLS: tlsConf,
		}, a.log, a.reg)
		if err != nil {
			return nil, err
		}
	}

	if a.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("HTTP: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
	mux.HandleFunc("GET /healthz", a.healthz)
	if mode.Edge {
		whip, err := edge.NewWHIP(a.nc, edge.WHIPConfig{
			EdgeID: cfg.NodeID, Partitions: cfg.Partitions, Token: cfg.HTTPToken, Registerer: a.reg,
		}, a.log)
		if err != nil {
			return nil, err
		}
		whip.Register(mux)
		a.whip = whip
	}
	a.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if a.whip != nil {
		a.httpSrv.RegisterOnShutdown(a.whip.Close)
	}
	return a, nil
}

// demoHost is addr as a browser on this machine can open it: browsers
// allow the microphone on http:// only for localhost.
func demoHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func defaultNodeID() string {
	h, _ := os.Hostname()
	h = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, h)
	if len(h) > 40 {
		h = h[:40]
	}
	if h == "" {
		h = "node"
	}
	return h + "-" + strings.ToLower(nuid.Next()[16:])
}

// startEmbedded runs nats-server in this process with JetStream in
// DataDir/nats, listening where the stock `nats` CLI looks by default.
func startEmbedded(cfg config.Config) (*server.Server, error) {
	dir := filepath.Join(cfg.DataDir, "nats")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s, err := server.NewServer(&server.Options{
		ServerName: cfg.NodeID, Host: cfg.NATSHost, Port: cfg.NATSPort,
		JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
		MaxPayload: 1 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded NATS did not start on %s:%d (port in use?)", cfg.NATSHost, cfg.NATSPort)
	}
	return s, nil
}

// NATSURL is the URL clients use to reach this process's NATS.
func (a *App) NATSURL() string {
	if a.srv != nil {
		return a.srv.ClientURL()
	}
	return a.cfg.NATSURL
}

// SIPAddr is the address SIP is served on (UDP and TCP), if this process
// runs an edge.
func (a *App) SIPAddr() string {
	if a.sipEdge == nil {
		return ""
	}
	return a.sipEdge.UDPAddr().String()
}

// SIPTransportAddr is where one SIP transport (udp, tcp, tls, ws, wss) is
// served, or "" if it is off or this process runs no edge.
func (a *App) SIPTransportAddr(network string) string {
	if a.sipEdge == nil {
		return ""
	}
	return a.sipEdge.Addr(network)
}

// HTTPAddr is the address the HTTP server listens on.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// Node is the runtime (for tests and ctl-like introspection).
func (a *App) Node() *workers.Node { return a.node }

// Ready reports what /healthz reports.
func (a *App) Ready() bool { return a.nc.IsConnected() && a.node.Ready() }

// Run serves until ctx is cancelled, then stops everything it started and
// returns when all of it has ended. Call Drain first to hand partitions over.
func (a *App) Run(ctx context.Context) error {
	a.log.Info("switchboard running",
		"version", Version, "nats", a.NATSURL(), "embedded_nats", a.srv != nil,
		"http", "http://"+a.HTTPAddr(), "sip", a.SIPAddr(), "roles", strings.Join(a.mode.Roles, ","), "edge", a.mode.Edge,
		"partitions", a.cfg.Partitions)
	if a.whip != nil {
		a.log.Info("demo phone for a browser: open it and press 'Call the echo'", "demo", "http://"+demoHost(a.HTTPAddr())+"/")
	}
	if a.srv != nil {
		a.log.Info("embedded NATS listening; try: nats micro ls", "url", a.srv.ClientURL(), "jetstream_dir", filepath.Join(a.cfg.DataDir, "nats"))
	}
	var wg sync.WaitGroup
	nodeCtx, stopNode := context.WithCancel(context.WithoutCancel(ctx))
	var nodeErr error
	wg.Go(func() { nodeErr = a.node.Run(nodeCtx) })
	httpErr := make(chan error, 1)
	wg.Go(func() {
		if err := a.httpSrv.Serve(a.httpLn); !errors.Is(err, http.ErrServerClosed) {
			httpErr <- err
		}
	})
	wg.Go(func() { a.watchGauges(nodeCtx) })
	sipCtx, stopSIP := context.WithCancel(context.WithoutCancel(ctx))
	var sipWG sync.WaitGroup
	if a.sipEdge != nil {
		sipWG.Go(func() { _ = a.sipEdge.Run(sipCtx) })
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-httpErr:
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_ = a.httpSrv.Shutdown(shutCtx)
	cancel()
	_ = a.svc.Stop() // no new commands
	if a.router != nil {
		a.router.Close()
	}
	stopNode()
	wg.Wait()
	stopSIP()
	sipWG.Wait()
	if a.media != nil {
		a.media.Close()
	}
	if a.conf != nil {
		a.conf.Close()
	}
	if a.dtmf != nil {
		a.dtmf.Close()
	}
	a.close()
	if err == nil {
		err = nodeErr
	}
	a.log.Info("switchboard stopped")
	return err
}

// Drain hands every partition to other nodes (SIGTERM), then waits (within
// the drain timeout) until the phones of the media role's calls have moved
// their media to the new owners, so that exiting cuts no audio. Cancel
// Run's context afterwards.
func (a *App) Drain(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.DrainTimeout)
	defer cancel()
	if err := a.node.Drain(ctx); err != nil {
		return err
	}
	if a.media == nil || a.node.Others(events.RoleMedia) == 0 {
		return nil // nobody takes the calls over: nothing to wait for
	}
	start := time.Now()
	if err := a.media.WaitHandovers(ctx); err != nil {
		return fmt.Errorf("calls still moving to their new owners: %w", err)
	}
	a.log.Info("drained: every call's media moved to its new owner", "waited", time.Since(start).Round(time.Millisecond))
	return nil
}

func (a *App) watchGauges(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		a.natsUp.Set(b2f(a.nc.IsConnected()))
		a.readyGaug.Set(b2f(a.Ready()))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// close releases what New acquired, in reverse order.
func (a *App) close() {
	a.closing.Store(true)
	if a.conf != nil {
		a.conf.Close() // idempotent: Run closed it already
	}
	if a.dtmf != nil {
		a.dtmf.Close() // idempotent: Run closed it already
	}
	if a.svc != nil {
		_ = a.svc.Stop()
	}
	if a.httpLn != nil {
		_ = a.httpLn.Close()
	}
	if a.pub != nil {
		a.pub.Close(2 * time.Second) // what is queued, unless the stream stays away
	}
	if a.nc != nil {
		_ = a.nc.Drain()
		for i := 0; i < 100 && !a.nc.IsClosed(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		a.nc.Close()
	}
	if a.srv != nil {
		a.srv.Shutdown()
		a.srv.WaitForShutdown()
	}
}

// Status is what /healthz and the micro "status" endpoint report.
type Status struct {
	Node    string           `json:"node"`
	Version string           `json:"version"`
	Ready   bool             `json:"ready"`
	NATS    string           `json:"nats"`
	Edge    bool             `json:"edge"`
	Roles   []string         `json:"roles"`
	Owned   map[string][]int `json:"owned"`
}

func (a *App) statusNow() Status {
	st := Status{Node: a.cfg.NodeID, Version: Version, Ready: a.Ready(), NATS: a.nc.Status().String(),
		Edge: a.mode.Edge, Roles: a.mode.Roles, Owned: map[string][]int{}}
	for _, r := range a.mode.Roles {
		st.Owned[r] = a.node.Owned(r)
	}
	return st
}

func (a *App) healthz(w http.ResponseWriter, _ *http.Request) {
	st := a.statusNow()
	w.Header().Set("Content-Type", "application/json")
	if !st.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(st)
}

func (a *App) status(req micro.Request) {
	_ = req.RespondJSON(a.statusNow())
}

// playoutConfig is the media role's settings of transcoded legs.
func playoutConfig(cfg config.Config) media.PlayoutConfig {
	p := media.DefaultPlayoutConfig()
	p.Opus.Bitrate, p.Opus.Complexity = cfg.OpusBitrate, cfg.OpusComplexity
	p.MinComplexity = cfg.OpusMinComplexity
	p.Jitter.MinDelay, p.Jitter.MaxDelay = cfg.JitterMinDelay, cfg.JitterMaxDelay
	return p
}

// webrtcConfigOf is the media role's WebRTC engine config: ICE on
// webrtc_ips (default: the media address), its own port range, 1:1 NAT
// addresses and STUN/TURN servers.
func webrtcConfigOf(cfg config.Config, mediaIP netip.Addr) (*webrtcpeer.Config, error) {
	parse := func(key string, in []string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, s := range in {
			ip, err := netip.ParseAddr(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not an IP address", key, s)
			}
			out = append(out, ip)
		}
		return out, nil
	}
	ips, err := parse("webrtc_ips", cfg.WebRTCIPs)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 && !mediaIP.IsUnspecified() {
		ips = []netip.Addr{mediaIP}
	}
	public, err := parse("webrtc_public_ips", cfg.WebRTCPublicIPs)
	if err != nil {
		return nil, err
	}
	wc := &webrtcpeer.Config{IPs: ips, PublicIPs: public, PortMin: uint16(cfg.WebRTCPortMin), PortMax: uint16(cfg.WebRTCPortMax)}
	if len(cfg.ICEServers) > 0 {
		wc.ICEServers = []webrtcpeer.ICEServer{{URLs: cfg.ICEServers, Username: cfg.TURNUsername, Credential: cfg.TURNPassword}}
	}
	return wc, nil
}
