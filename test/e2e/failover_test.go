package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

const typeMigrated = "io.switchboard.call.v1.migrated"

// TestWorkerLossMovesMedia: as the issue puts it — three media workers in
// processes of their own, two edges (one in the process that also runs
// NATS and the other roles, one alone), 50 sipp calls to the echo route
// streaming RTP, half through each edge. kill -9 (or SIGTERM: a drain) of
// the worker that answered most of them: every call it owned gets a
// re-INVITE from a survivor, which sipp accepts, and the survivor echoes
// its RTP from then on (final media_stats of those calls, published by the
// survivors, count the packets). Every call then ends normally with sipp's
// BYE, and neither sipp sees a failed call. An application's durable
// JetStream consumer, disconnected from just before the loss to the end,
// then gets every event the live subscriber saw, exactly once.
func TestWorkerLossMovesMedia(t *testing.T) {
	for _, c := range []struct {
		name   string
		sig    syscall.Signal
		within time.Duration
	}{{"kill", syscall.SIGKILL, 6 * time.Second}, {"drain", syscall.SIGTERM, 2 * time.Second}} {
		t.Run(c.name, func(t *testing.T) { workerLoss(t, c.name, c.sig, c.within) })
	}
}

func workerLoss(t *testing.T, how string, sig syscall.Signal, within time.Duration) {
	needTools(t, "sipp", "sox")
	const calls = 50 // 25 through each edge
	up := startProc(t, "up", "--node-id", "core", "--roles", "conference,dtmf", "--data", t.TempDir(), "--nats-port", "-1",
		"--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1")
	natsURL, sipA := up.logValue(t, "url"), up.logValue(t, "sip")
	edgeB := startProc(t, "edge", "--node-id", "edge-b", "--nats", natsURL, "--http", "127.0.0.1:0",
		"--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1")
	sipB := edgeB.logValue(t, "sip")
	workers := map[string]*proc{}
	for i, id := range []string{"w1", "w2", "w3"} {
		lo := 38000 + 130*i
		workers[id] = startProc(t, "worker", "--node-id", id, "--nats", natsURL, "--roles", "media", "--http", "127.0.0.1:0",
			"--media-ip", "127.0.0.1", "--rtp-port-min", itoa(lo), "--rtp-port-max", itoa(lo+129))
	}
	mediaSettled(t, natsURL, "w1", "w2", "w3")
	nc := connect(t, natsURL)
	ce := watchCalls(t, nc)
	downs, err := nc.SubscribeSync("sb.evt.node.*.down")
	if err != nil {
		t.Fatal(err)
	}

	// An application's durable consumer, away from before the loss until
	// the end: it must then get every event, once.
	app := newAppConsumer(t, natsURL, "e2e-app-"+how, "sb.evt.call.>")

	dir := sippDir(t, 1, 1000)
	doneA := sippEchoCalls(t, dir, sipA, "uac_migrate.xml", calls/2, 38450)
	doneB := sippEchoCalls(t, dir, sipB, "uac_migrate.xml", calls/2, 38480)

	// Every call up, then which worker answered each; the victim is the
	// one with the most.
	answered := ce.wait(t, typeAnswered, "", calls, 15*time.Second)
	per := map[string]map[string]bool{}
	for _, e := range answered {
		if per[e.Node] == nil {
			per[e.Node] = map[string]bool{}
		}
		per[e.Node][e.CallID] = true
	}
	victim := ""
	for id, cs := range per {
		if victim == "" || len(cs) > len(per[victim]) {
			victim = id
		}
	}
	onLost := per[victim]
	t.Logf("calls per worker: w1 %d, w2 %d, w3 %d; losing %s", len(per["w1"]), len(per["w2"]), len(per["w3"]), victim)
	if len(per) != 3 {
		t.Fatalf("calls answered by %d workers, want all three", len(per))
	}

	app.catchUp() // then away during the loss
	killed := time.Now()
	workers[victim].signal(sig) // SIGKILL: no goodbye; SIGTERM: hand the partitions over
	migrated := ce.wait(t, typeMigrated, "", len(onLost), 15*time.Second)
	var worst time.Duration
	to := map[string]int{}
	for _, e := range migrated {
		m := e.Data.(*events.CallMigrated)
		if !onLost[e.CallID] || m.FromNode != victim || m.ToNode == victim || m.ToNode != e.Node {
			t.Errorf("call.migrated %s: %+v from node %s", e.CallID, m, e.Node)
		}
		to[m.ToNode]++
		worst = max(worst, e.Time.Sub(killed))
	}
	t.Logf("%d of %d calls were on %s; all migrated (to %v), the last %v after the %s", len(onLost), calls, victim, to, worst.Round(time.Millisecond), how)
	if worst > within {
		t.Errorf("the last call migrated %v after the %s; want within %v", worst, how, within)
	}

	for _, done := range []<-chan sippResult{doneA, doneB} {
		if r := <-done; r.code != 0 {
			t.Fatalf("sipp exit %d (a call failed):\n%s", r.code, lastLines(r.out, 40))
		}
	}
	// node.down: once after a kill (by the survivor with the lowest ID), never after a drain.
	if n, _, _ := downs.Pending(); (sig == syscall.SIGKILL) != (n == 1) {
		t.Errorf("%d node.down events after the %s of %s", n, how, victim)
	}
	completed := ce.wait(t, typeCompleted, "", calls, 10*time.Second)
	for _, e := range completed {
		cc := e.Data.(*events.CallCompleted)
		if cc.Status != events.StatusCompleted || cc.HangupBy != events.ByRemote {
			t.Errorf("call %s completed %+v: want a normal end by sipp's BYE", e.CallID, cc)
		}
	}
	app.catchUp()
	app.check(ce)
	// The survivors echoed the migrated calls' RTP: about 4 s of it each.
	for id := range onLost {
		stats := ce.of(typeStats, id)
		if len(stats) == 0 {
			t.Errorf("call %s: no media_stats", id)
			continue
		}
		last := stats[len(stats)-1]
		st := last.Data.(*events.CallMediaStats)
		if last.Node == victim || !st.Final || st.PacketsReceived < 150 || st.PacketsSent < 150 {
			t.Errorf("call %s: final media_stats from %s %+v: want the survivor to have echoed ~200 packets", id, last.Node, st)
		}
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestBridgeSurvivesWorkerKill: baresip A (440 Hz) calls the app route and
// is bridged to baresip B (1000 Hz), both legs on one of two media worker
// processes; the edge and NATS run in a third. kill -9 of the worker that
// owns the bridge: the other takes both legs over, re-INVITEs both phones,
// rebuilds the bridge, and each phone goes on hearing the other's tone.
func TestBridgeSurvivesWorkerKill(t *testing.T) {
	needTools(t, "baresip")
	up := startProc(t, "up", "--node-id", "edge", "--roles", "conference", "--data", t.TempDir(), "--nats-port", "-1",
		"--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1")
	natsURL, sipAddr := up.logValue(t, "url"), up.logValue(t, "sip")
	workers := map[string]*proc{}
	for i, id := range []string{"w2", "w3"} {
		lo := 38800 + 100*i
		workers[id] = startProc(t, "worker", "--node-id", id, "--nats", natsURL, "--roles", "media", "--http", "127.0.0.1:0",
			"--media-ip", "127.0.0.1", "--rtp-port-min", itoa(lo), "--rtp-port-max", itoa(lo+99))
	}
	mediaSplit(t, natsURL, "w2", "w3")
	nc := connect(t, natsURL)
	ce := watchCalls(t, nc)
	phoneA := startBaresip(t, baresipOpts{user: "a", toneHz: 440, codecs: "PCMU/8000/1", rtpPorts: "38600-38699"})
	phoneB := startBaresip(t, baresipOpts{user: "b", toneHz: 1000, codecs: "PCMU/8000/1", rtpPorts: "38700-38799", autoAnswer: true})
	phoneA.mustCommand(t, "dial", "sip:alice@"+sipAddr)
	legs := answerCaller(t, nc, ce)
	phoneA.waitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
	legs.dialBridged(t, nc, ce, phoneB.SIPURI())
	phoneB.waitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
	waitRecorded(t, time.Second, map[*baresip]int{phoneA: recordedSamples(t, phoneA), phoneB: recordedSamples(t, phoneB)})

	owner := ce.of(typeAnswered, legs.caller)[0].Node
	killed := time.Now()
	_ = workers[owner].cmd.Process.Kill()
	for _, id := range []string{legs.caller, legs.callee} {
		m := ce.wait(t, typeMigrated, id, 1, 10*time.Second)[0]
		t.Logf("leg %s migrated from %s to %s %v after the kill (gap_ms %.0f after the takeover)", id,
			m.Data.(*events.CallMigrated).FromNode, m.Node, m.Time.Sub(killed).Round(time.Millisecond), m.Data.(*events.CallMigrated).GapMS)
	}
	// What each phone records from now on comes through the survivor.
	startA, startB := recordedSamples(t, phoneA), recordedSamples(t, phoneB)
	waitRecorded(t, 2500*time.Millisecond, map[*baresip]int{phoneA: startA, phoneB: startB})
	if len(ce.of(typeCompleted, legs.caller)) != 0 || len(ce.of(typeCompleted, legs.callee)) != 0 {
		t.Errorf("the bridge ended during the failover: %+v", ce.of(typeCompleted, ""))
	}
	phoneA.stop(t)
	phoneB.stop(t)
	for _, c := range []struct {
		b         *baresip
		start     int
		hear, own float64
	}{{phoneA, startA, 1000, 440}, {phoneB, startB, 440, 1000}} {
		w := recordedWAV(t, c.b)
		skip := w.rate / 2 // the re-INVITE lands in the first half second
		pcm := w.samples[c.start+skip:]
		sent := audio.RMS(recordedWAV(t, map[*baresip]*baresip{phoneA: phoneB, phoneB: phoneA}[c.b], "enc").samples)
		checkTone(t, c.b.opts.user+" after the kill", pcm, float64(w.rate), c.hear, c.own, sent)
	}
}

// mediaSplit waits until the two nodes own every media partition
// between them, each some (mediaSettled).
func mediaSplit(t *testing.T, natsURL, x, y string) { mediaSettled(t, natsURL, x, y) }

// mediaSettled waits until the named nodes own every media partition
// between them, each some, and the split has held for a second: the ring
// hands partitions over one at a time, and a sum of 64 can be reached
// while more are still to move.
func mediaSettled(t *testing.T, natsURL string, ids ...string) {
	t.Helper()
	var last string
	var since time.Time
	natstest.CheckFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		owned := map[string]int{}
		for _, n := range ctlNodes(t, natsURL) {
			owned[n.ID] = len(n.Partitions["media"])
		}
		sum := 0
		for _, id := range ids {
			if owned[id] == 0 {
				return fmt.Errorf("media partitions %v", owned)
			}
			sum += owned[id]
		}
		if sum != 64 {
			return fmt.Errorf("media partitions %v", owned)
		}
		if cur := fmt.Sprint(owned); cur != last {
			last, since = cur, time.Now()
		}
		if time.Since(since) < time.Second {
			return fmt.Errorf("media partitions %v for %v only", owned, time.Since(since))
		}
		return nil
	})
}

// TestEdgeLossKeepsCalls: ten sipp calls to the echo route come in through
// edge A, a process of its own; NATS, the media role and edge B run in
// another. kill -9 of edge A: RTP goes straight between sipp and the media
// worker, so the echo goes on; three seconds later the application hangs
// the calls up by command and each BYE reaches sipp through edge B (sipp
// exits 0 only if every call got its BYE and its 200 was taken).
func TestEdgeLossKeepsCalls(t *testing.T) {
	needTools(t, "sipp", "sox")
	const calls = 10
	core := startProc(t, "up", "--node-id", "core", "--data", t.TempDir(), "--nats-port", "-1", "--http", "127.0.0.1:0",
		"--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1", "--media-ip", "127.0.0.1",
		"--rtp-port-min", "37000", "--rtp-port-max", "37199")
	natsURL := core.logValue(t, "url")
	edgeA := startProc(t, "edge", "--node-id", "edge-a", "--nats", natsURL, "--http", "127.0.0.1:0",
		"--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1")
	sipA := edgeA.logValue(t, "sip")
	nc := connect(t, natsURL)
	ce := watchCalls(t, nc)

	dir := sippDir(t, 1, 1000)
	done := sippEchoCalls(t, dir, sipA, "uac_wait_bye.xml", calls, 37300)
	answered := ce.wait(t, typeAnswered, "", calls, 15*time.Second)
	for _, e := range answered {
		if inc := ce.of(typeIncoming, e.CallID); len(inc) != 1 || inc[0].Data.(*events.CallIncoming).Edge != "edge-a" {
			t.Fatalf("call %s did not come in through edge-a: %+v", e.CallID, inc)
		}
	}
	killed := time.Now()
	_ = edgeA.cmd.Process.Kill()
	<-edgeA.done
	// Media needs no edge: give it three seconds, then hang up by command.
	time.Sleep(3 * time.Second)
	hungUp := time.Now()
	for _, e := range answered {
		if r := cmdReq[events.Reply](t, nc, "hangup", map[string]any{"call_id": e.CallID}); r.Code != 200 {
			t.Errorf("hangup %s after edge-a died: %+v", e.CallID, r)
		}
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("sipp exit %d (a call did not get its BYE through edge B):\n%s", r.code, lastLines(r.out, 40))
	}
	for _, e := range answered {
		cc := ce.wait(t, typeCompleted, e.CallID, 1, 5*time.Second)[0].Data.(*events.CallCompleted)
		if cc.Status != events.StatusCompleted || cc.HangupBy != events.ByApp {
			t.Errorf("call %s completed %+v", e.CallID, cc)
		}
		stats := ce.wait(t, typeStats, e.CallID, 1, 5*time.Second)
		st := stats[len(stats)-1].Data.(*events.CallMediaStats)
		// 50 packets a second from the answer to the hangup, 3 s of which
		// after the kill: at least 90 % of them each way.
		want := uint64(hungUp.Sub(e.Time).Seconds() * 50 * 0.9)
		if !st.Final || st.PacketsReceived < want || st.PacketsSent < want {
			t.Errorf("call %s: final media_stats %+v: want at least %d packets each way (the echo went on after the edge died)", e.CallID, st, want)
		}
	}
	t.Logf("edge-a killed; %d calls echoed on and were hung up through edge B %v later", calls, time.Since(killed).Round(time.Millisecond))
}
