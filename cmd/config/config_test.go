package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsAreTheDocumentedOnes(t *testing.T) {
	c, rest, err := Load("up", nil, env(nil))
	if err != nil || len(rest) != 0 {
		t.Fatal(err, rest)
	}
	if c.SIPPort != 5060 || c.HTTPAddr != ":8080" || c.NATSPort != 4222 || c.DataDir != "./data" ||
		c.RTPPortMin != 10000 || c.RTPPortMax != 20000 || c.Partitions != 64 ||
		c.NodeTimeout < 2*time.Second || c.NodeTimeout > 3*time.Second || !slices.Equal(c.Roles, []string{"media", "conference", "dtmf"}) ||
		c.ConferenceRate != 16000 {
		t.Errorf("defaults differ from DESIGN.md: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

// File < environment < flags.
func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sb.yaml")
	os.WriteFile(file, []byte("http_addr: ':9000'\nsip_port: 5070\nlog_level: debug\nnode_timeout: 2s\nroles: [media]\n"), 0o644)
	c, _, err := Load("worker", []string{"--config", file, "--sip-port", "5080", "--roles", "media,dtmf"},
		env(map[string]string{"SB_SIP_PORT": "5090", "SB_LOG_LEVEL": "warn", "SB_NATS_URL": "nats://a:4222,nats://b:4222"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":9000" || c.SIPPort != 5080 || c.LogLevel != "warn" || c.NodeTimeout != 2*time.Second ||
		c.NATSURL != "nats://a:4222,nats://b:4222" || !slices.Equal(c.Roles, []string{"media", "dtmf"}) {
		t.Errorf("precedence wrong: %+v", c)
	}
	// SB_CONFIG names the file too; --nats is the short flag of nats_url.
	c, _, err = Load("edge", []string{"--nats", "nats://x:1"}, env(map[string]string{"SB_CONFIG": file}))
	if err != nil || c.HTTPAddr != ":9000" || c.NATSURL != "nats://x:1" {
		t.Errorf("SB_CONFIG/--nats: %v %+v", err, c)
	}
}

func TestErrorsAreClear(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "u.yaml")
	os.WriteFile(unknown, []byte("sip_prot: 5060\n"), 0o644)
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"unknown file key": {[]string{"--config", unknown}, nil, "sip_prot"},
		"missing file":     {[]string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "nope.yaml"},
		"bad env int":      {nil, map[string]string{"SB_SIP_PORT": "five"}, "SB_SIP_PORT"},
		"bad env duration": {nil, map[string]string{"SB_NODE_TIMEOUT": "soon"}, "SB_NODE_TIMEOUT"},
		"bad flag":         {[]string{"--partitions", "many"}, nil, "partitions"},
	} {
		_, _, err := Load("up", tc.args, env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", name, err, tc.want)
		}
	}
	for _, c := range []Config{
		func() Config { c := Default(); c.Roles = []string{"mixer"}; return c }(),
		func() Config { c := Default(); c.NodeID = "a.b"; return c }(),
		func() Config { c := Default(); c.RTPPortMin = 30000; return c }(),
		func() Config { c := Default(); c.LogFormat = "xml"; return c }(),
		func() Config { c := Default(); c.ConferenceRate = 8000; return c }(),
		func() Config { c := Default(); c.ConferenceRate = 44100; return c }(),
	} {
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}
