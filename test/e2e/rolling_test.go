package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/test/peers"
	"github.com/switchboard-voip/switchboard/test/rtpcap"
)

// TestRollingRestartKeepsCalls: 100 sipp echo calls spread over three media
// worker processes (the edge, NATS and the other roles run in a fourth).
// Each worker in turn is sent SIGTERM, exits after handing its calls over,
// and is started again; the next one goes once the restarted worker is
// ready and every call of the one that left has moved. Every call must live
// through the three restarts and end by sipp's own BYE (sipp exits 0 with
// 100 successful calls). Each departure moves each of the departing
// worker's calls exactly once (one re-INVITE; a returning worker does not
// take busy partitions back, see rebalance_delay), and no other call. A
// capture of the RTP reaching sipp shows, for every move, the echo coming
// from the new owner's port within a second of the move, and the longest
// silence between the SIGTERM and a second after the move.
//
// Ports: the workers share RTP ports 36000-36479 (a port taken by one is
// skipped by the others); sipp's media uses 36480-36879 (4 per call).
func TestRollingRestartKeepsCalls(t *testing.T) {
	needTools(t, "sipp", "sox", "dumpcap")
	const (
		calls  = 100
		sippMP = 36480
		// A drain moves media without a gap: the longest silence around a
		// move is sipp's packet interval plus scheduling (36-40 ms here),
		// where stopping the old media first cost 140-240 ms. p90 of the
		// moves must stay under gapP90 (a starved machine may delay a few
		// packets), and no move may cost more than gapMax.
		gapP90 = 100 * time.Millisecond
		gapMax = 500 * time.Millisecond
	)
	up := startProc(t, "up", "--node-id", "edge", "--roles", "conference,dtmf", "--data", t.TempDir(), "--nats-port", "-1",
		"--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1")
	natsURL, sipAddr := up.logValue(t, "url"), up.logValue(t, "sip")
	ids := []string{"w1", "w2", "w3"}
	type worker struct {
		p    *proc
		http string
	}
	workers := map[string]worker{}
	var all []*proc // every process started, for the logs kept on failure
	start := func(id string) {
		p := startProc(t, "worker", "--node-id", id, "--nats", natsURL, "--roles", "media", "--http", "127.0.0.1:0",
			"--media-ip", "127.0.0.1", "--rtp-port-min", "36000", "--rtp-port-max", "36479")
		workers[id] = worker{p, strings.TrimPrefix(p.logValue(t, "http"), "http://")}
		all = append(all, p)
	}
	for _, id := range ids {
		start(id)
	}
	natstest.CheckFor(t, 15*time.Second, 100*time.Millisecond, func() error {
		owned := map[string]int{}
		for _, n := range ctlNodes(t, natsURL) {
			owned[n.ID] = len(n.Partitions["media"])
		}
		if owned["w1"] == 0 || owned["w2"] == 0 || owned["w3"] == 0 || owned["w1"]+owned["w2"]+owned["w3"] != 64 {
			return fmt.Errorf("media partitions %v", owned)
		}
		return nil
	})
	nc := connect(t, natsURL)
	ce := watchCalls(t, nc)

	dir := sippDir(t, 1, 1000)
	if err := os.WriteFile(filepath.Join(dir, "uac_rolling.xml"), []byte(peers.MovingCallScenario(20, 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	capture, err := rtpcap.Start(t.TempDir(), sippMP, sippMP+4*calls-1, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = capture.Stop() }) // a no-op once stopped
	done := make(chan sippResult, 1)
	go func() {
		code, out := sipp(t, dir, 80*time.Second, sipAddr, "-sf", "uac_rolling.xml", "-s", "echo", "-trace_err",
			"-m", itoa(calls), "-l", itoa(calls), "-r", "50",
			"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1", "-mp", itoa(sippMP))
		done <- sippResult{code, out}
	}()
	answered := ce.wait(t, typeAnswered, "", calls, 20*time.Second)
	owner := map[string]string{} // call -> the worker that has it now
	local := map[string]string{} // call -> its RTP address there
	for _, e := range answered {
		owner[e.CallID], local[e.CallID] = e.Node, e.Data.(*events.CallAnswered).LocalRTP
	}
	time.Sleep(time.Second) // some echo before the first move

	type move struct {
		call, from, to    string
		signal, at        time.Time
		fromRTP, localRTP string // the old and the new owner's RTP address
	}
	var moves []move
	seen := 0 // call.migrated events accounted for
	begin := time.Now()
	for _, id := range ids {
		var leaving []string
		for c, w := range owner {
			if w == id {
				leaving = append(leaving, c)
			}
		}
		signalled := time.Now()
		workers[id].p.signal(syscall.SIGTERM)
		select {
		case <-workers[id].p.done:
		case <-time.After(15 * time.Second):
			t.Fatalf("%s did not exit 15 s after SIGTERM", id)
		}
		if code := workers[id].p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s exited %d after SIGTERM", id, code)
		}
		exited := time.Since(signalled)
		// Every call it had moved, once each, and no other call moved.
		natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			if n := len(ce.of(typeMigrated, "")); n < seen+len(leaving) {
				return fmt.Errorf("%d of %d calls of %s moved", n-seen, len(leaving), id)
			}
			return nil
		})
		got := ce.of(typeMigrated, "")[seen:]
		seen += len(got)
		moved := map[string]int{}
		for _, e := range got {
			m := e.Data.(*events.CallMigrated)
			moved[e.CallID]++
			if owner[e.CallID] != id || m.FromNode != id || m.ToNode == id || e.Node != m.ToNode {
				t.Errorf("while %s left: call %s (on %s) moved %+v (event from %s)", id, e.CallID, owner[e.CallID], m, e.Node)
			}
			moves = append(moves, move{e.CallID, id, m.ToNode, signalled, e.Time, local[e.CallID], m.LocalRTP})
			owner[e.CallID], local[e.CallID] = m.ToNode, m.LocalRTP
		}
		for _, c := range leaving {
			if moved[c] != 1 {
				t.Errorf("call %s of %s moved %d times when %s left; want once", c, id, moved[c], id)
			}
		}
		start(id)
		natstest.CheckFor(t, 15*time.Second, 100*time.Millisecond, func() error {
			if code, body := healthz(workers[id].http); code != 200 {
				return fmt.Errorf("restarted %s not ready: %d %s", id, code, body)
			}
			return nil
		})
		t.Logf("%s: SIGTERM, exited %v later, its %d calls moved once each, restarted and ready %v into the rolling restart",
			id, exited.Round(time.Millisecond), len(leaving), time.Since(begin).Round(time.Millisecond))
		// A second of echo from the new owners before the next worker goes
		// (what the capture checks below).
		time.Sleep(time.Until(signalled.Add(exited + 1200*time.Millisecond)))
	}

	r := <-done
	pkts, capErr := capture.Stop()
	if d := os.Getenv("SB_E2E_KEEP"); d != "" { // for debugging: logs and sipp's files
		_ = os.MkdirAll(d, 0o755)
		for i, p := range all {
			_ = os.WriteFile(filepath.Join(d, fmt.Sprintf("proc%d.log", i)), []byte(p.out.String()), 0o644)
		}
		_ = os.WriteFile(filepath.Join(d, "up.log"), []byte(up.out.String()), 0o644)
		_ = os.WriteFile(filepath.Join(d, "sipp.out"), []byte(r.out), 0o644)
		if b, err := os.ReadFile(capture.File()); err == nil {
			_ = os.WriteFile(filepath.Join(d, "rtp.pcap"), b, 0o644)
		}
		for _, m := range moves {
			fmt.Fprintf(os.Stderr, "MOVE %s from=%s to=%s signal=%s at=%s local=%s\n", m.call, m.from, m.to,
				m.signal.Format("15:04:05.000"), m.at.Format("15:04:05.000"), m.localRTP)
		}
	}
	if r.code != 0 || sippSuccessful(r.out) != calls {
		errs, _ := filepath.Glob(filepath.Join(dir, "*errors.log"))
		var el []byte
		if len(errs) > 0 {
			el, _ = os.ReadFile(errs[0])
		}
		t.Fatalf("sipp exit %d, %d successful calls of %d (a call was dropped):\n%s\nsipp errors:\n%s",
			r.code, sippSuccessful(r.out), calls, lastLines(r.out, 40), lastLines(string(el), 30))
	}
	if extra := len(ce.of(typeMigrated, "")) - seen; extra != 0 {
		t.Errorf("%d calls moved after the last restart settled; want none", extra)
	}
	completed := ce.wait(t, typeCompleted, "", calls, 10*time.Second)
	for _, e := range completed {
		if cc := e.Data.(*events.CallCompleted); cc.Status != events.StatusCompleted || cc.HangupBy != events.ByRemote {
			t.Errorf("call %s completed %+v: want a normal end by sipp's BYE", e.CallID, cc)
		}
	}
	if len(moves) == 0 {
		t.Fatal("no call was moved: the restarts did not exercise anything")
	}

	// What sipp received: after every move, the echo comes from the new
	// owner's port within a second; the longest silence since the SIGTERM.
	if capErr != nil {
		t.Fatalf("capture: %v", capErr)
	}
	// sipp's rtp_stream sends every call's RTP from one socket, and the
	// platform latches onto it: all echo goes to that one port. A call's
	// packets are told apart by their source, the owner's RTP port (unique
	// at any time: the workers share a port range, and a port bound by one
	// is skipped by the others).
	bySrc := map[uint16][]time.Time{}
	for _, p := range pkts {
		bySrc[p.Src.Port()] = append(bySrc[p.Src.Port()], p.T)
	}
	var gaps []time.Duration
	for _, m := range moves {
		from, err1 := netip.ParseAddrPort(m.fromRTP)
		to, err2 := netip.ParseAddrPort(m.localRTP)
		if err1 != nil || err2 != nil {
			t.Errorf("call %s moved from %s (%q) to %s (%q)", m.call, m.from, m.fromRTP, m.to, m.localRTP)
			continue
		}
		if n := rtpcap.Count(bySrc[to.Port()], m.at, m.at.Add(time.Second)); n < 25 {
			t.Errorf("call %s: %d packets from %s's %s in the second after its move from %s; want ~50 (the echo resumed)", m.call, n, m.to, m.localRTP, m.from)
			continue
		}
		ts := slices.SortedFunc(slices.Values(slices.Concat(bySrc[from.Port()], bySrc[to.Port()])), time.Time.Compare)
		gap := rtpcap.LongestGap(ts, m.signal, m.at.Add(time.Second))
		gaps = append(gaps, gap)
		if gap > gapMax {
			t.Errorf("call %s: no RTP for %v around its move from %s to %s; want at most %v", m.call, gap.Round(time.Millisecond), m.from, m.to, gapMax)
		}
	}
	if len(gaps) == 0 {
		t.FailNow()
	}
	slices.Sort(gaps)
	if p90 := rtpcap.Percentile(gaps, 90); p90 > gapP90 {
		t.Errorf("media gap around the moves p90 %v; want at most %v (the old owner keeps the media until the phone moves)", p90.Round(time.Millisecond), gapP90)
	}
	t.Logf("%d moves of %d calls; media gap seen by sipp p50 %v, p99 %v, max %v (%d RTP packets captured)",
		len(moves), calls, rtpcap.Percentile(gaps, 50).Round(time.Millisecond), rtpcap.Percentile(gaps, 99).Round(time.Millisecond),
		gaps[len(gaps)-1].Round(time.Millisecond), len(pkts))
}

// sippSuccessful is the cumulative "Successful call" count of sipp's final
// statistics screen (-1 if absent).
func sippSuccessful(out string) int {
	m := regexp.MustCompile(`Successful call\s*\|\s*\d+\s*\|\s*(\d+)`).FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return -1
	}
	var n int
	fmt.Sscan(m[len(m)-1][1], &n)
	return n
}
