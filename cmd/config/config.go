// Package config is switchboard's one configuration struct, its defaults,
// and the three places a value can come from: an optional YAML file, the
// environment (SB_<KEY>), and command-line flags (--<key-with-dashes>), each
// overriding the one before. Only cmd/ reads flags and the environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/ring"
)

// Config is everything a switchboard process can be told. The yaml tag is
// the file key; the environment variable is SB_ plus the key in upper case;
// the flag is the key with dashes (or the flag tag).
type Config struct {
	// NodeID names this process in the cluster (subject-token characters).
	// Default: the host name plus a short random suffix.
	NodeID string `yaml:"node_id" help:"node name in the cluster (default: host name + random suffix)"`
	// Roles are the worker roles to run (media, conference, dtmf).
	Roles []string `yaml:"roles" help:"worker roles to run: media,conference,dtmf"`
	// DataDir holds the embedded NATS server's JetStream store.
	DataDir string `yaml:"data_dir" flag:"data" help:"directory of the embedded NATS JetStream store"`
	// NATSURL is the NATS cluster to join (comma-separated URLs). Empty
	// means: run an embedded nats-server.
	NATSURL string `yaml:"nats_url" flag:"nats" help:"NATS cluster URL(s), comma-separated; empty runs an embedded nats-server (up only)"`
	// NATSHost and NATSPort are where the embedded server listens for
	// clients (the stock `nats` CLI connects to 127.0.0.1:4222 by default).
	NATSHost string `yaml:"nats_host" help:"embedded NATS: client listen host"`
	NATSPort int    `yaml:"nats_port" help:"embedded NATS: client listen port (-1 = random)"`
	// HTTPAddr serves /metrics, /healthz and, with the edge, the web front.
	HTTPAddr string `yaml:"http_addr" flag:"http" help:"HTTP listen address for /metrics and /healthz"`
	// SIPHost and SIPPort are where the SIP edge listens (UDP and TCP).
	SIPHost string `yaml:"sip_host" help:"SIP listen host (UDP and TCP)"`
	SIPPort int    `yaml:"sip_port" help:"SIP listen port (UDP and TCP)"`
	// SIPTLSPort, SIPWSPort and SIPWSSPort enable SIP over TLS, WebSocket
	// (RFC 7118) and secure WebSocket on those ports (0: off). TLS and WSS
	// need SIPTLSCert and SIPTLSKey (PEM files).
	SIPTLSPort int    `yaml:"sip_tls_port" help:"SIP over TLS port (0: off; needs sip_tls_cert and sip_tls_key)"`
	SIPWSPort  int    `yaml:"sip_ws_port" help:"SIP over WebSocket port (0: off)"`
	SIPWSSPort int    `yaml:"sip_wss_port" help:"SIP over secure WebSocket port (0: off; needs sip_tls_cert and sip_tls_key)"`
	SIPTLSCert string `yaml:"sip_tls_cert" help:"PEM certificate file for SIP TLS and WSS"`
	SIPTLSKey  string `yaml:"sip_tls_key" help:"PEM private key file for SIP TLS and WSS"`
	// SIPAdvertise is the host phones reach this edge at, written in Via
	// and Contact headers.
	SIPAdvertise string `yaml:"sip_advertise" help:"host written in Via/Contact (default: sip_host, or this host's primary address)"`
	// MediaIP is where RTP is bound and what SDP advertises.
	MediaIP string `yaml:"media_ip" help:"address RTP binds to and SDP advertises (default: the SIP advertised address)"`
	// EchoUser is the Request-URI user answered with an audio echo.
	EchoUser string `yaml:"echo_user" help:"Request-URI user that gets the echo route"`
	// ConferencePrefix is the Request-URI user prefix of conference rooms.
	ConferencePrefix string `yaml:"conference_prefix" help:"Request-URI user prefix that joins conference <rest>"`
	// RingTimeout is how long an inbound call waits for an answer command.
	RingTimeout time.Duration `yaml:"ring_timeout" help:"how long an unrouted inbound call rings waiting for an answer command before 480"`
	// MediaTimeout hangs up answered calls without RTP for this long.
	MediaTimeout time.Duration `yaml:"media_timeout" help:"hang up an answered call that received no RTP/RTCP for this long"`
	// DTMFInband turns in-band DTMF detection on for calls without
	// telephone-event (the dtmf_inband command switches it per call).
	DTMFInband bool `yaml:"dtmf_inband" help:"detect in-band DTMF tones on calls that negotiated no telephone-event"`
	// ConferenceRate is the mixing rate of new conferences: 16000
	// (wideband: enough for G.711 and SILK, a third of the cost) or 48000
	// (fullband, for Opus and WebRTC rooms).
	ConferenceRate int `yaml:"conference_rate" help:"mixing rate of new conferences, Hz: 16000 or 48000"`
	// RTPPortMin and RTPPortMax bound the UDP ports media workers use.
	RTPPortMin int `yaml:"rtp_port_min" help:"lowest RTP port"`
	RTPPortMax int `yaml:"rtp_port_max" help:"highest RTP port"`
	// WebRTC legs (browsers through the edge's /whip endpoint).
	WebRTCIPs       []string `yaml:"webrtc_ips" help:"local addresses WebRTC ICE host candidates use (default: media_ip)"`
	WebRTCPortMin   int      `yaml:"webrtc_port_min" help:"lowest UDP port of WebRTC legs (keep apart from the RTP range)"`
	WebRTCPortMax   int      `yaml:"webrtc_port_max" help:"highest UDP port of WebRTC legs"`
	WebRTCPublicIPs []string `yaml:"webrtc_public_ips" help:"1:1 NAT public addresses advertised in place of webrtc_ips (cloud VM)"`
	ICEServers      []string `yaml:"ice_servers" help:"STUN/TURN server URLs for WebRTC legs, e.g. stun:stun.example.org:3478"`
	TURNUsername    string   `yaml:"turn_username" help:"username for the TURN servers in ice_servers"`
	TURNPassword    string   `yaml:"turn_password" help:"password for the TURN servers in ice_servers"`
	// HTTPToken, if set, is the bearer token the WebRTC endpoint wants.
	HTTPToken string `yaml:"http_token" help:"bearer token required by /whip (empty: no auth)"`
	// Opus encoder settings of transcoded legs (G.711<->Opus).
	OpusBitrate       int `yaml:"opus_bitrate" help:"Opus encoder bitrate of transcoded legs, bits/s (6000-510000)"`
	OpusComplexity    int `yaml:"opus_complexity" help:"Opus encoder complexity of transcoded legs (0-10); the ceiling the CPU governor returns to"`
	OpusMinComplexity int `yaml:"opus_min_complexity" help:"lowest Opus complexity the CPU governor may turn down to under CPU pressure"`
	// Jitter buffer of legs whose audio is decoded.
	JitterMinDelay time.Duration `yaml:"jitter_min_delay" help:"least playout delay of the jitter buffer on transcoded legs"`
	JitterMaxDelay time.Duration `yaml:"jitter_max_delay" help:"most playout delay of the jitter buffer; later packets are dropped"`
	// Partitions is P, fixed for the life of a cluster (stored in KV).
	Partitions int `yaml:"partitions" help:"partitions per role (P); fixed for the life of a cluster"`
	// VNodes and Probes shape the consistent-hash ring.
	VNodes int `yaml:"vnodes" help:"virtual nodes per node on the consistent-hash ring"`
	Probes int `yaml:"probes" help:"ring lookup probes (multi-probe consistent hashing)"`
	// HeartbeatInterval is how often a node renews its membership.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval" help:"how often a node renews its membership"`
	// NodeTimeout is how long a silent node stays a member (2-3 s).
	NodeTimeout time.Duration `yaml:"node_timeout" help:"silence after which a node is gone and its partitions are taken over"`
	// DrainTimeout bounds the hand-over of partitions on SIGTERM.
	DrainTimeout time.Duration `yaml:"drain_timeout" help:"longest SIGTERM waits for partitions to be handed over"`
	// RebalanceDelay: how long a returning or new worker waits for busy partitions.
	RebalanceDelay time.Duration `yaml:"rebalance_delay" help:"how long an owner keeps a partition with calls that the ring gives to a node that joined (0: at once)"`
	// Replicas of KV buckets and the event stream (3 on a NATS cluster).
	Replicas int `yaml:"replicas" help:"replicas of the KV buckets and event stream (3 on a NATS cluster)"`
	// EventRetention is how long events stay replayable.
	EventRetention time.Duration `yaml:"event_retention" help:"how long events stay replayable"`
	// CommandTimeout bounds how long an owner has to answer a command.
	CommandTimeout time.Duration `yaml:"command_timeout" help:"how long a partition owner has to answer a command"`
	// MaxCommandBytes is the largest command body an edge accepts.
	MaxCommandBytes int `yaml:"max_command_bytes" help:"largest command body accepted"`
	// LogFormat is text or json; LogLevel debug, info, warn or error.
	LogFormat string `yaml:"log_format" help:"text or json"`
	LogLevel  string `yaml:"log_level" help:"debug, info, warn or error"`
}

// Default returns the defaults a new user can count on (DESIGN.md).
func Default() Config {
	return Config{
		Roles:             append([]string(nil), events.AllRoles...),
		DataDir:           "./data",
		NATSHost:          "127.0.0.1",
		NATSPort:          4222,
		HTTPAddr:          ":8080",
		SIPHost:           "0.0.0.0",
		SIPPort:           5060,
		EchoUser:          "echo",
		ConferencePrefix:  "conf-",
		ConferenceRate:    16000,
		RingTimeout:       30 * time.Second,
		MediaTimeout:      30 * time.Second,
		RTPPortMin:        10000,
		RTPPortMax:        20000,
		WebRTCPortMin:     20001,
		WebRTCPortMax:     30000,
		OpusBitrate:       24000,
		OpusComplexity:    5,
		OpusMinComplexity: 0,
		JitterMinDelay:    40 * time.Millisecond,
		JitterMaxDelay:    200 * time.Millisecond,
		Partitions:        events.DefaultPartitions,
		VNodes:            ring.DefaultVNodes,
		Probes:            ring.DefaultProbes,
		HeartbeatInterval: 500 * time.Millisecond,
		NodeTimeout:       2500 * time.Millisecond,
		DrainTimeout:      30 * time.Second,
		RebalanceDelay:    60 * time.Second,
		Replicas:          1,
		EventRetention:    72 * time.Hour,
		CommandTimeout:    5 * time.Second,
		MaxCommandBytes:   64 << 10,
		LogFormat:         "text",
		LogLevel:          "info",
	}
}

// ErrHelp is returned by Load when -h or --help was given.
var ErrHelp = flag.ErrHelp

// Load builds the config of a subcommand: defaults, then the YAML file named
// by --config or SB_CONFIG, then SB_* variables, then flags. It returns the
// arguments left after the flags.
func Load(name string, args []string, getenv func(string) string) (Config, []string, error) {
	cfg := Default()
	file := getenv("SB_CONFIG")
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			file = v
		} else if (a == "--config" || a == "-config") && i+1 < len(args) {
			file = args[i+1]
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return cfg, nil, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, nil, fmt.Errorf("config file %s: %w", file, err)
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, nil, err
	}
	fs := flag.NewFlagSet("switchboard "+name, flag.ContinueOnError)
	fs.String("config", file, "YAML config file (env SB_CONFIG)")
	bindFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	return cfg, fs.Args(), nil
}

// Validate checks what can be checked without a network.
func (c *Config) Validate() error {
	switch {
	case c.NodeID != "" && !events.ValidToken(c.NodeID):
		return fmt.Errorf("node_id %q: use 1-64 characters of [A-Za-z0-9_-]", c.NodeID)
	case c.RTPPortMin < 1 || c.RTPPortMax > 65535 || c.RTPPortMin >= c.RTPPortMax:
		return fmt.Errorf("rtp ports %d-%d are not a range", c.RTPPortMin, c.RTPPortMax)
	case c.WebRTCPortMin < 1 || c.WebRTCPortMax > 65535 || c.WebRTCPortMin >= c.WebRTCPortMax:
		return fmt.Errorf("webrtc ports %d-%d are not a range", c.WebRTCPortMin, c.WebRTCPortMax)
	case c.OpusBitrate < 6000 || c.OpusBitrate > 510000:
		return fmt.Errorf("opus_bitrate %d outside 6000-510000", c.OpusBitrate)
	case c.OpusComplexity < 0 || c.OpusComplexity > 10:
		return fmt.Errorf("opus_complexity %d outside 0-10", c.OpusComplexity)
	case c.OpusMinComplexity < 0 || c.OpusMinComplexity > c.OpusComplexity:
		return fmt.Errorf("opus_min_complexity %d outside 0-%d (opus_complexity)", c.OpusMinComplexity, c.OpusComplexity)
	case c.JitterMinDelay <= 0 || c.JitterMaxDelay > 2*time.Second || c.JitterMinDelay > c.JitterMaxDelay:
		return fmt.Errorf("jitter delays %v-%v: need 0 < jitter_min_delay <= jitter_max_delay <= 2s", c.JitterMinDelay, c.JitterMaxDelay)
	case c.ConferenceRate != 16000 && c.ConferenceRate != 48000:
		return fmt.Errorf("conference_rate %d: use 16000 or 48000", c.ConferenceRate)
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("log_format %q: use text or json", c.LogFormat)
	}
	for _, r := range c.Roles {
		if r != events.RoleMedia && r != events.RoleConference && r != events.RoleDTMF {
			return fmt.Errorf("unknown role %q: roles are %s", r, strings.Join(events.AllRoles, ", "))
		}
	}
	return nil
}

// fields walks the config's fields with their keys.
func fields(cfg *Config, f func(key, flagName, help string, v reflect.Value)) {
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key := sf.Tag.Get("yaml")
		fl := sf.Tag.Get("flag")
		if fl == "" {
			fl = strings.ReplaceAll(key, "_", "-")
		}
		f(key, fl, sf.Tag.Get("help")+" (env SB_"+strings.ToUpper(key)+")", v.Field(i))
	}
}

func applyEnv(cfg *Config, getenv func(string) string) error {
	var err error
	fields(cfg, func(key, _, _ string, v reflect.Value) {
		s := getenv("SB_" + strings.ToUpper(key))
		if s == "" || err != nil {
			return
		}
		if e := setValue(v, s); e != nil {
			err = fmt.Errorf("SB_%s: %w", strings.ToUpper(key), e)
		}
	})
	return err
}

func setValue(v reflect.Value, s string) error {
	switch v.Interface().(type) {
	case string:
		v.SetString(s)
	case int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(n))
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case []string:
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		v.Set(reflect.ValueOf(out))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// value adapts a config field to flag.Value.
type value struct{ v reflect.Value }

func (f value) String() string {
	if !f.v.IsValid() {
		return ""
	}
	if s, ok := f.v.Interface().([]string); ok {
		return strings.Join(s, ",")
	}
	return fmt.Sprint(f.v.Interface())
}
func (f value) Set(s string) error { return setValue(f.v, s) }

// IsBoolFlag lets a bool field be given as a bare flag (--dtmf-inband).
func (f value) IsBoolFlag() bool { return f.v.IsValid() && f.v.Kind() == reflect.Bool }

func bindFlags(fs *flag.FlagSet, cfg *Config) {
	fields(cfg, func(_, name, help string, v reflect.Value) {
		fs.Var(value{v}, name, help)
	})
}

// EnvNames lists every environment variable Load reads, SB_CONFIG included.
func EnvNames() []string {
	out := []string{"SB_CONFIG"}
	var c Config
	fields(&c, func(key, _, _ string, _ reflect.Value) { out = append(out, "SB_"+strings.ToUpper(key)) })
	return out
}
