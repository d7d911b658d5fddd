// Package peers is what tests share about the real peers they drive
// (sipp, baresip, sox, tshark): whether they are installed.
package peers

import (
	"os"
	"os/exec"
	"testing"
)

// NeedTools skips the test when a peer is missing on a developer's
// machine, and fails it in CI, where `make test` installs every peer.
func NeedTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; test/install-peers.sh installs it", tool)
			}
			t.Skipf("%s is not installed (run test/install-peers.sh)", tool)
		}
	}
}
