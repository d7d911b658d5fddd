// Package leak fails a test that leaves goroutines of this module running,
// in the spirit of pion/transport's test.CheckRoutines.
package leak

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

const module = "github.com/switchboard-voip/switchboard/"

// Check registers a cleanup that waits up to 5 s for every goroutine whose
// stack mentions this module (other than tests themselves) to end, then
// fails the test listing the ones left. Call it first in a test so that its
// cleanup runs last.
func Check(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		var left []string
		deadline := time.Now().Add(5 * time.Second)
		for {
			left = ours()
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("%d goroutines leaked:\n%s", len(left), strings.Join(left, "\n\n"))
	})
}

func ours() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, module) {
			continue
		}
		// The test's own goroutine and this checker are not leaks.
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*common).Cleanup") || strings.Contains(g, module+"test/leak.") {
			continue
		}
		out = append(out, g)
	}
	return out
}
