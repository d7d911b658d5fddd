// Package e2e tests switchboard as a user runs it: the real binary, real
// processes, the embedded nats-server, signals.
package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

type nodeView struct {
	ID         string           `json:"id"`
	Roles      []string         `json:"roles"`
	Labels     []string         `json:"labels"`
	Draining   bool             `json:"draining"`
	Partitions map[string][]int `json:"partitions"`
}

func ctlNodes(t *testing.T, natsURL string) []nodeView {
	t.Helper()
	var v []nodeView
	if err := json.Unmarshal([]byte(ctl(t, "nodes", "--nats", natsURL, "--json")), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func healthz(addr string) (int, string) {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestUpIsReadyListedAndDrainsOnSIGTERM is the README's first command: one
// process, embedded NATS, every role; /healthz turns ready, `ctl nodes` shows
// it owning every partition, the stock NATS micro protocol finds it, and
// SIGTERM hands everything over and exits 0.
func TestUpIsReadyListedAndDrainsOnSIGTERM(t *testing.T) {
	up := startProc(t, "up", "--node-id", "solo", "--data", t.TempDir(),
		"--nats-port", "-1", "--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0", "--media-ip", "127.0.0.1")
	natsURL := up.logValue(t, "url")
	httpAddr := strings.TrimPrefix(up.logValue(t, "http"), "http://")

	natstest.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if code, body := healthz(httpAddr); code != 200 {
			return fmt.Errorf("healthz %d %s", code, body)
		}
		return nil
	})
	nodes := ctlNodes(t, natsURL)
	if len(nodes) != 1 || nodes[0].ID != "solo" {
		t.Fatalf("ctl nodes: %+v", nodes)
	}
	for _, role := range events.AllRoles {
		if got := len(nodes[0].Partitions[role]); got != events.DefaultPartitions {
			t.Errorf("%s: owns %d partitions, want %d", role, got, events.DefaultPartitions)
		}
	}
	if text := ctl(t, "nodes", "--nats", natsURL); !strings.Contains(text, "media:0-63 (64)") {
		t.Errorf("ctl nodes table:\n%s", text)
	}

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// What `nats micro ls` sends.
	m, err := nc.Request("$SRV.INFO.switchboard", nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Name      string            `json:"name"`
		Metadata  map[string]string `json:"metadata"`
		Endpoints []struct {
			Name, Subject string
		} `json:"endpoints"`
	}
	_ = json.Unmarshal(m.Data, &info)
	if info.Name != "switchboard" || info.Metadata["node"] != "solo" || len(info.Endpoints) != 2 {
		t.Errorf("micro info: %s", m.Data)
	}
	// A command through the edge to the owner and back.
	m, err = nc.Request("sb.cmd.locate", []byte(`{"call_id":"a84b4c76e66710@pc33.atlanta.com"}`), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var rep events.LocateReply
	if err := json.Unmarshal(m.Data, &rep); err != nil || rep.Code != 200 || rep.Node != "solo" ||
		*rep.Partition != events.Partition("a84b4c76e66710@pc33.atlanta.com", 64) {
		t.Errorf("locate: %s", m.Data)
	}
	// Watch the node leave while it drains.
	left, _ := nc.SubscribeSync(events.NodeEventSubject("solo", "left"))
	_ = nc.Flush()

	up.signal(syscall.SIGTERM)
	if code := up.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	if _, err := left.NextMsg(2 * time.Second); err != nil {
		t.Error("no node.left event:", err)
	}
	out := up.out.String()
	for _, want := range []string{"embedded NATS listening", "http=http://" + httpAddr, "reason=drained", "switchboard stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestSIGINTStopsAtOnce: SIGINT does not wait for a drain.
func TestSIGINTStopsAtOnce(t *testing.T) {
	up := startProc(t, "up", "--data", t.TempDir(), "--nats-port", "-1", "--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0", "--media-ip", "127.0.0.1")
	httpAddr := strings.TrimPrefix(up.logValue(t, "http"), "http://")
	natstest.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if code, body := healthz(httpAddr); code != 200 {
			return fmt.Errorf("healthz %d %s", code, body)
		}
		return nil
	})
	up.signal(syscall.SIGINT)
	if code := up.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGINT", code)
	}
	if out := up.out.String(); !strings.Contains(out, "reason=stopped") || strings.Contains(out, "draining") {
		t.Errorf("SIGINT should stop without draining:\n%s", out)
	}
}

// TestSeparateProcessesShareWorkAndSurviveAKill runs the platform as a
// cluster would: `up` (embedded NATS, all roles), a second `worker` process
// for media, and a separate `edge`. Media partitions are split between the
// two workers; after kill -9 of the worker, the survivor owns every media
// partition within 5 s and commands still get answers through the edge.
func TestSeparateProcessesShareWorkAndSurviveAKill(t *testing.T) {
	up := startProc(t, "up", "--node-id", "main", "--data", t.TempDir(), "--nats-port", "-1", "--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0", "--media-ip", "127.0.0.1")
	natsURL := up.logValue(t, "url")
	upHTTP := strings.TrimPrefix(up.logValue(t, "http"), "http://")
	natstest.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if code, _ := healthz(upHTTP); code != 200 {
			return fmt.Errorf("up not ready")
		}
		return nil
	})
	worker := startProc(t, "worker", "--node-id", "w2", "--nats", natsURL, "--roles", "media", "--http", "127.0.0.1:0", "--media-ip", "127.0.0.1")
	wHTTP := strings.TrimPrefix(worker.logValue(t, "http"), "http://")
	edgeP := startProc(t, "edge", "--node-id", "e2", "--nats", natsURL, "--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0")
	eHTTP := strings.TrimPrefix(edgeP.logValue(t, "http"), "http://")

	natstest.CheckFor(t, 15*time.Second, 100*time.Millisecond, func() error {
		nodes := ctlNodes(t, natsURL)
		if len(nodes) != 3 {
			return fmt.Errorf("%d nodes", len(nodes))
		}
		media := map[string]int{}
		total := 0
		for _, n := range nodes {
			media[n.ID] = len(n.Partitions["media"])
			total += media[n.ID]
		}
		if total != 64 || media["main"] == 0 || media["w2"] == 0 || media["e2"] != 0 {
			return fmt.Errorf("media partitions: %v", media)
		}
		if code, _ := healthz(wHTTP); code != 200 {
			return fmt.Errorf("worker not ready")
		}
		if code, _ := healthz(eHTTP); code != 200 {
			return fmt.Errorf("edge not ready")
		}
		return nil
	})

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	owners := func() map[string]bool {
		seen := map[string]bool{}
		for i := 0; i < 200; i++ {
			m, err := nc.Request("sb.cmd.locate", []byte(fmt.Sprintf(`{"call_id":"call-%d@example.com"}`, i)), 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var rep events.LocateReply
			_ = json.Unmarshal(m.Data, &rep)
			if rep.Code != 200 {
				t.Fatalf("locate: %s", m.Data)
			}
			seen[rep.Node] = true
		}
		return seen
	}
	if seen := owners(); !seen["main"] || !seen["w2"] {
		t.Fatalf("200 calls were owned by %v; want both workers", seen)
	}

	killed := time.Now()
	_ = worker.cmd.Process.Kill() // SIGKILL: no goodbye, leases stay in KV
	natstest.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		for _, n := range ctlNodes(t, natsURL) {
			if n.ID == "main" && len(n.Partitions["media"]) == 64 {
				return nil
			}
		}
		return fmt.Errorf("survivor does not own every media partition yet")
	})
	t.Logf("media partitions owned again %v after kill -9", time.Since(killed).Round(time.Millisecond))
	if seen := owners(); len(seen) != 1 || !seen["main"] {
		t.Fatalf("after the kill calls are owned by %v", seen)
	}
}
