package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
)

// TestEveryCommandAndEventIsDocumented: each verb has a `nats req` example
// in docs/commands.md and each event type a section with a `nats` example in
// docs/events.md.
func TestEveryCommandAndEventIsDocumented(t *testing.T) {
	cmds, err := os.ReadFile("../../docs/commands.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range events.Verbs() {
		if !strings.Contains(string(cmds), "nats req sb.cmd."+v+" ") {
			t.Errorf("docs/commands.md has no `nats req sb.cmd.%s` example", v)
		}
	}
	evs, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range events.Types() {
		i := strings.Index(string(evs), "### `"+typ+"`")
		if i < 0 {
			t.Errorf("docs/events.md has no section for %s", typ)
			continue
		}
		section := string(evs[i:])
		if j := strings.Index(section[4:], "\n### "); j > 0 {
			section = section[:j+4]
		}
		if !strings.Contains(section, "nats sub") {
			t.Errorf("docs/events.md: %s has no nats example", typ)
		}
	}
}

// TestEverySettingIsDocumented: docs/configuration.md lists every setting.
func TestEverySettingIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range config.EnvNames() {
		if !strings.Contains(string(b), "`"+env+"`") {
			t.Errorf("docs/configuration.md does not document %s", env)
		}
	}
}
