package webrtcpeer

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// Engine is the WebRTC side of one media worker: one pion API (codecs,
// ICE and DTLS settings, interceptors) shared by every leg it makes. It
// owns no goroutine and no socket; legs do.
type Engine struct {
	cfg    Config
	api    *webrtc.API
	codecs []*webrtc.RTPCodecParameters // Config.Codecs, resolved

	// newPC serializes PeerConnection creation so that the stats getter
	// pion's stats interceptor hands out in NewPeerConnection is the one
	// of the connection being made (pion keys its own registry by a
	// nanosecond timestamp, which two legs can share).
	newPC      sync.Mutex
	lastGetter stats.Getter
}

// New builds the engine: a MediaEngine with the configured audio codecs
// and telephone-event at 8000 and 48000 Hz, a SettingEngine with the
// network restrictions, and the RTCP report and stats interceptors that
// Stats reads.
func New(cfg Config) (*Engine, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg}

	me := &webrtc.MediaEngine{}
	for _, name := range cfg.Codecs {
		c := lookupCodec(name)
		if slices.Contains(e.codecs, c) {
			continue
		}
		e.codecs = append(e.codecs, c)
		if err := me.RegisterCodec(*c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	for _, te := range telephoneEvents {
		if err := me.RegisterCodec(te, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}

	reg := &interceptor.Registry{}
	// The stats interceptor goes first: an interceptor sees only the RTCP
	// written by those after it in the chain, and it must see our sender
	// reports to turn the remote's receiver reports into a round-trip
	// time (RFC 3550 §6.4.1). pion's RegisterDefaultInterceptors adds it
	// last, where it never measures one.
	st, err := stats.NewInterceptor()
	if err != nil {
		return nil, err
	}
	st.OnNewPeerConnection(func(_ string, g stats.Getter) { e.lastGetter = g })
	reg.Add(st)
	// RFC 3550 §6.4 sender and receiver reports, which give the remote
	// its loss and round-trip figures and give us ours.
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, err
	}
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(rr)
	reg.Add(sr)

	se := webrtc.SettingEngine{LoggerFactory: pionLogger{cfg.Log}}
	se.SetIPFilter(func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		return ok && cfg.allowsIP(a)
	})
	if len(cfg.Interfaces) > 0 {
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(cfg.Interfaces, name) })
	}
	se.SetIncludeLoopbackCandidate(cfg.wantsLoopback())
	se.SetICETimeouts(cfg.DisconnectedTimeout, cfg.FailedTimeout, cfg.KeepaliveInterval)
	// Remote mDNS candidates (a browser hiding its LAN address) cannot be
	// resolved from a server anyway, and resolving them means multicast
	// traffic on every interface; the browser's checks reach us and ICE
	// learns its address as peer-reflexive (RFC 8445 §7.3.1.3).
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if cfg.PortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, err
		}
	}
	if len(cfg.PublicIPs) > 0 {
		ext := make([]string, len(cfg.PublicIPs))
		for i, ip := range cfg.PublicIPs {
			ext[i] = ip.String()
		}
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: ext, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, err
		}
	}

	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return e, nil
}

// newPeerConnection creates a PeerConnection and returns it with its stats
// getter.
func (e *Engine) newPeerConnection() (*webrtc.PeerConnection, stats.Getter, error) {
	conf := webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	}
	for _, s := range e.cfg.ICEServers {
		srv := webrtc.ICEServer{URLs: s.URLs}
		if s.Username != "" || s.Credential != "" {
			srv.Username, srv.Credential = s.Username, s.Credential
		}
		conf.ICEServers = append(conf.ICEServers, srv)
	}
	e.newPC.Lock()
	defer e.newPC.Unlock()
	e.lastGetter = nil
	pc, err := e.api.NewPeerConnection(conf)
	if err != nil {
		return nil, nil, err
	}
	return pc, e.lastGetter, nil
}

// pionLogger hands pion's warnings and errors to the engine's logger at
// debug level, tagged with pion's scope (ice, dtls, pc...): pion would
// otherwise print to stderr on its own, and most of what it says (an
// unknown payload type, a read on a closed connection) is routine.
type pionLogger struct{ log *slog.Logger }

func (p pionLogger) NewLogger(scope string) logging.LeveledLogger {
	if p.log == nil {
		return pionLevel{}
	}
	return pionLevel{p.log.With("pion", scope)}
}

type pionLevel struct{ log *slog.Logger }

func (pionLevel) Trace(string)          {}
func (pionLevel) Tracef(string, ...any) {}
func (pionLevel) Debug(string)          {}
func (pionLevel) Debugf(string, ...any) {}
func (pionLevel) Info(string)           {}
func (pionLevel) Infof(string, ...any)  {}
func (l pionLevel) Warn(msg string)     { l.debug(msg) }
func (l pionLevel) Warnf(format string, args ...any) {
	l.debug(fmt.Sprintf(format, args...))
}
func (l pionLevel) Error(msg string) { l.debug(msg) }
func (l pionLevel) Errorf(format string, args ...any) {
	l.debug(fmt.Sprintf(format, args...))
}

func (l pionLevel) debug(msg string) {
	if l.log != nil {
		l.log.Debug(msg)
	}
}
