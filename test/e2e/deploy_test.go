package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-voip/switchboard/cmd/config"
)

// TestDeployConfigsLoad: the config file shipped for Kubernetes and every
// SB_* variable in the compose file are understood by the real loader (which
// refuses unknown keys), so the deployments do not fail at start.
func TestDeployConfigsLoad(t *testing.T) {
	b, err := os.ReadFile("../../deploy/k8s/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(file, []byte(cm.Data["switchboard.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load("worker", []string{"--config", file}, func(string) string { return "" })
	if err != nil {
		t.Fatalf("configmap switchboard.yaml: %v", err)
	}
	if cfg.NATSURL == "" || cfg.Replicas != 3 || cfg.LogFormat != "json" {
		t.Errorf("configmap values not applied: %+v", cfg)
	}

	compose, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(SB_[A-Z_]+):\s*"?([^"\n]*)"?`).FindAllStringSubmatch(string(compose), -1) {
		env[m[1]] = m[2]
	}
	if len(env) < 5 {
		t.Fatalf("found only %v in docker-compose.yml", env)
	}
	known := map[string]bool{}
	for _, k := range config.EnvNames() {
		known[k] = true
	}
	c := config.Default()
	for k := range env {
		if !known[k] {
			t.Errorf("docker-compose.yml sets %s, which switchboard does not read", k)
		}
	}
	got, _, err := config.Load("edge", nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("compose environment: %v", err)
	}
	if got.Replicas != 3 || got.Partitions != c.Partitions || !strings.Contains(got.NATSURL, "nats-1") {
		t.Errorf("compose env not applied: %+v", got)
	}
}
