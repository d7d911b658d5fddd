package media

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers/conference/frame"
	"github.com/switchboard-voip/switchboard/workers/conference/vad"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// The phone's tone (phoneOpts.tone): 1 kHz at half scale, -9 dBFS RMS.
const (
	phoneHz   = 1000
	phoneDBFS = -9.0
)

// answeredCall starts a phone and returns its call once answered.
func (rg *rig) answeredCall(o phoneOpts) (*phone, string) {
	rg.t.Helper()
	ph := rg.startPhone(o)
	ev, _ := waitEvent[*events.CallAnswered](rg.t, rg.calls, "", 10*time.Second)
	return ph, ev.CallID
}

// checkStream checks frames as a mixer relies on them: PCM at rate, 20 ms
// each, sequence numbers +1, timestamps +1 frame but after a marked
// discontinuity (which may also start new sequence numbers: a new stream),
// and a marked frame after a gap only, levels as the samples say. It
// returns how many frames were marked: the first, and one after each gap
// (a starved machine's, or a move to another node).
func checkStream(t *testing.T, hs []heard, rate int) (marked int) {
	t.Helper()
	for i, h := range hs {
		f := h.hdr
		if f.Codec != frame.PCM || f.Rate != rate || f.Samples != rate/50 || len(h.pcm) != rate/50 {
			t.Fatalf("frame %d: %s at %d Hz, %d samples: want PCM at %d Hz, 20 ms", i, f.Codec, f.Rate, f.Samples, rate)
		}
		if want := int(math.Round(max(vad.Level(h.pcm), -127))); f.Level != want {
			t.Errorf("frame %d: level %d dBFS, its samples are at %d", i, f.Level, want)
		}
		if f.Flags&frame.Discontinuity != 0 {
			marked++
		}
		if i == 0 || f.Flags&frame.Discontinuity != 0 && f.Seq != hs[i-1].hdr.Seq+1 {
			continue // a new stream (the member moved to another node)
		}
		p := hs[i-1].hdr
		if f.Seq != p.Seq+1 {
			t.Fatalf("frame %d: seq %d after %d", i, f.Seq, p.Seq)
		}
		if f.Flags&frame.Discontinuity == 0 && f.Timestamp != p.Timestamp+uint64(p.Samples) {
			t.Fatalf("frame %d: timestamp %d after %d (+%d), not marked", i, f.Timestamp, p.Timestamp, p.Samples)
		}
		if f.Timestamp < p.Timestamp+uint64(p.Samples) || f.Flags&frame.Discontinuity != 0 && f.Timestamp == p.Timestamp+uint64(p.Samples) {
			t.Fatalf("frame %d: timestamp %d after %d (+%d), flags %04b: marked without a gap, or going back", i, f.Timestamp, p.Timestamp, p.Samples, f.Flags)
		}
	}
	return marked
}

// maxGaps is how many gaps (frames marked discontinuous) a steady
// stream of a few seconds may show: the first frame's, and what a busy
// machine (the race detector, other tests) causes by starving the playout
// clock.
const maxGaps = 3

// toneWindows measures a tone of hz in pcm over 100 ms windows (whole
// periods of the test tones): the median level of the tone and of the
// whole signal (RMS), and the share of windows within 1 dB of the median.
// Unlike one measure over the whole, a frame inserted or skipped by the
// jitter buffer (a phase jump) does not spoil it.
func toneWindows(pcm []int16, rate int, hz float64) (tone, rms, steady float64) {
	w := rate / 10
	var tones, rmss []float64
	for i := 0; i+w <= len(pcm); i += w {
		tones = append(tones, audio.ToneLevel(pcm[i:i+w], float64(rate), hz))
		rmss = append(rmss, audio.RMS(pcm[i:i+w]))
	}
	if len(tones) == 0 {
		return math.Inf(-1), math.Inf(-1), 0
	}
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	tone, rms = median(tones), median(rmss)
	n := 0
	for _, l := range tones {
		if math.Abs(l-tone) <= 1 {
			n++
		}
	}
	return tone, rms, float64(n) / float64(len(tones))
}

// pace reports the frames' rate per second and the longest wait between
// two, over hs.
func pace(hs []heard) (perSecond float64, longest time.Duration) {
	for i := 1; i < len(hs); i++ {
		longest = max(longest, hs[i].at.Sub(hs[i-1].at))
	}
	return float64(len(hs)-1) / hs[len(hs)-1].at.Sub(hs[0].at).Seconds(), longest
}

// TestConferenceMemberHearsPhone: a G.711 phone (sipp streaming a 1 kHz
// tone) on the echo route is attached to a conference at 16 and 48 kHz:
// its echo stops, the mixer gets 50 frames a second of 20 ms PCM at the
// room's rate, in sequence, with the tone at its frequency and level;
// KV remembers the membership; a detach stops the frames at once and
// leaves the call up, silent; the call ends with a hangup, and no member_gone is
// sent for a call that is no longer a member.
func TestConferenceMemberHearsPhone(t *testing.T) {
	for _, rate := range []int{16000, 48000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			leak.Check(t)
			rg := newRig(t)
			gone := rg.watchGone("room1")
			ph, callID := rg.answeredCall(phoneOpts{user: "echo", tone: true})
			var sent func() uint64
			rg.call(callID, func(c *Call) {
				s := c.sess.Load()
				sent = func() uint64 { return s.Stats().PacketsSent }
			})
			natstest.CheckFor(t, 3*time.Second, 10*time.Millisecond, func() error {
				if n := sent(); n < 10 {
					return fmt.Errorf("echo sent %d packets", n)
				}
				return nil
			})

			in := listenIn(t, rg.nc, "room1", callID)
			rep := rg.attach(events.MemberAttach{Op: events.AttachOp, Conference: "room1", CallID: callID, Rate: rate})
			if rep.Code != 200 || rep.Codec != "PCMU/8000" {
				t.Fatalf("attach: %+v", rep)
			}
			echoed := sent()
			in.waitFor(t, 150, 8*time.Second)
			if n := sent(); n > echoed+1 {
				t.Errorf("the call sent %d packets after the attach: its echo did not stop", n-echoed)
			}
			hs := in.since(0)
			if marked := checkStream(t, hs, rate); marked > maxGaps || hs[0].hdr.Flags&frame.Discontinuity == 0 {
				t.Errorf("%d frames marked discontinuous in a steady tone; want the first (and a gap or two on a busy machine)", marked)
			}
			perSec, longest := pace(hs[25:])
			t.Logf("%d frames at %d Hz: %.2f a second, longest wait %v", len(hs), rate, perSec, longest)
			if perSec < 48 || perSec > 52 || longest > 100*time.Millisecond {
				t.Errorf("%.2f frames a second, longest wait %v: want 50, steady", perSec, longest)
			}
			pcm := pcmOf(hs[10:])
			f, _ := audio.PeakFrequency(pcm, float64(rate), 2)
			tone, rms, steady := toneWindows(pcm, rate, phoneHz)
			t.Logf("the mixer hears %.0f Hz, %.1f dBFS (tone %.1f dBFS), %.0f %% of 100 ms windows within 1 dB", f, rms, tone, 100*steady)
			if math.Abs(f-phoneHz) > 10 || math.Abs(tone-phoneDBFS) > 1.5 || rms-tone > 1 || steady < 0.8 {
				t.Errorf("the mixer hears %.0f Hz at %.1f dBFS (%.1f dBFS RMS, %.0f %% steady); want the phone's %d Hz at %.0f dBFS, clean", f, tone, rms, 100*steady, phoneHz, phoneDBFS)
			}
			for _, h := range hs[10:] {
				if math.Abs(float64(h.hdr.Level)-phoneDBFS) > 1.5 {
					t.Fatalf("frame %d: level %d dBFS, want about %.0f", h.hdr.Seq, h.hdr.Level, phoneDBFS)
				}
			}
			saved := rg.saved(callID)
			if saved.Conference != "room1" || saved.ConferenceRate != rate {
				t.Errorf("KV: conference %q at %d Hz", saved.Conference, saved.ConferenceRate)
			}

			rep = rg.attach(events.MemberAttach{Op: events.DetachOp, Conference: "room1", CallID: callID})
			if rep.Code != 200 {
				t.Fatalf("detach: %+v", rep)
			}
			after, echoedAfter := in.count(), sent()
			time.Sleep(500 * time.Millisecond) // what must not happen takes time to show
			if n := in.count(); n > after+1 {
				t.Errorf("%d frames after the detach", n-after)
			}
			if n := sent(); n > echoedAfter+1 {
				t.Errorf("%d packets sent after the detach: the call is not silent", n-echoedAfter)
			}
			if saved := rg.saved(callID); saved.Conference != "" || saved.ConferenceRate != 0 || saved.State != StateAnswered {
				t.Errorf("KV after detach: conference %q at %d Hz, %s", saved.Conference, saved.ConferenceRate, saved.State)
			}
			if r := rg.command("hangup", map[string]string{"call_id": callID}); r.Code != 200 {
				t.Fatalf("hangup: %+v", r)
			}
			if code, out := ph.wait(t, 10*time.Second); code != 0 {
				t.Errorf("sipp exit %d:\n%s", code, out)
			}
			if g := gone.all(); len(g) != 0 {
				t.Errorf("member_gone for a call that had left: %+v", g)
			}
		})
	}
}

// TestConferenceMixerReachesPhone: the mixer's frames reach the phone in
// its codec. The phone (sipp) echoes every RTP packet it receives, so what
// the mixer sends comes back as the member's audio: a 440 Hz tone sent as
// PCMU to a PCMU phone, as Opus encoded at 48 and at 16 kHz to an Opus
// phone, is heard back at 440 Hz; the packets' RTP timestamps advance 20 ms
// on the codec's clock (the member's jitter buffer learns 20 ms frames);
// frames in another codec and garbage are counted and dropped. A detach
// with hangup ends the call with the conference's reason.
func TestConferenceMixerReachesPhone(t *testing.T) {
	for _, c := range []struct {
		name, codec string
		kind        frame.Codec
		encRate     int // the mixer's encoder
		room        int
		wrong       frame.Codec
	}{
		{"pcmu", "PCMU", frame.PCMU, 8000, 16000, frame.PCMA},
		{"opus48", "opus", frame.Opus, 48000, 48000, frame.PCMU},
		{"opus16", "opus", frame.Opus, 16000, 16000, frame.PCMA},
	} {
		t.Run(c.name, func(t *testing.T) {
			leak.Check(t)
			rg := newRig(t)
			ph, callID := rg.answeredCall(phoneOpts{user: "echo", codec: c.codec})
			in := listenIn(t, rg.nc, "room2", callID)
			rep := rg.attach(events.MemberAttach{Op: events.AttachOp, Conference: "room2", CallID: callID, Rate: c.room})
			want := map[string]string{"PCMU": "PCMU/8000", "opus": "opus/48000"}[c.codec]
			if rep.Code != 200 || rep.Codec != want {
				t.Fatalf("attach: %+v, want 200 and %s", rep, want)
			}

			const n = 100
			mix := newMixerOut(t, c.kind, c.encRate, 440, 8000)
			mix.send(t, rg.nc, "room2", callID, n)
			natstest.CheckFor(t, 3*time.Second, 10*time.Millisecond, func() error {
				if got := rg.frames("out", "sent"); got != n {
					return fmt.Errorf("%v of %d frames sent to the phone", got, n)
				}
				return nil
			})
			in.waitFor(t, n*8/10, 3*time.Second)
			hs := in.since(0)
			checkStream(t, hs, c.room)
			pcm := pcmOf(hs[10:])
			f, _ := audio.PeakFrequency(pcm, float64(c.room), 2)
			tone, _, steady := toneWindows(pcm, c.room, 440)
			t.Logf("%d frames sent as %s, %d came back from the phone: %.0f Hz at %.1f dBFS (sent at %.1f), %.0f %% of 100 ms windows within 1 dB", n, c.kind, len(hs), f, tone, mix.dbfs, 100*steady)
			if math.Abs(f-440) > 440*0.02 || math.Abs(tone-mix.dbfs) > 2 || steady < 0.7 {
				t.Errorf("back from the phone: %.0f Hz at %.1f dBFS (%.0f %% steady); want 440 Hz at %.1f", f, tone, 100*steady, mix.dbfs)
			}
			rg.call(callID, func(c *Call) {
				st := c.leg.Load().jb.Stats()
				t.Logf("member's jitter buffer: frame %v, %d played, %d lost, %d late", st.FrameDuration, st.Played, st.Lost, st.Late)
				if st.FrameDuration != 20*time.Millisecond || st.Lost > 2 {
					t.Errorf("the phone sent back packets %v apart in RTP time (%d lost): want the mixer's 20 ms frames", st.FrameDuration, st.Lost)
				}
			})

			// Another codec, PCM, and garbage: counted, never sent.
			other := newMixerOut(t, c.wrong, 8000, 440, 8000)
			other.send(t, rg.nc, "room2", callID, 5)
			pcmFrame, _ := (&frame.Frame{Codec: frame.PCM, Rate: 16000, Samples: 320, PCM: make([]int16, 320)}).MarshalBinary()
			good := mix.next()
			garbled := func(i int, b byte) []byte {
				g := append([]byte(nil), good...)
				g[i] = b
				return g
			}
			for _, b := range [][]byte{
				pcmFrame,         // PCM: no phone's codec
				{1, 2, 3},        // shorter than a header
				garbled(0, 9),    // a version from the future
				garbled(2, 0x80), // an unknown flag
				garbled(7, 0),    // no samples
			} {
				if err := rg.nc.Publish(events.ConferenceOutSubject("room2", callID), b); err != nil {
					t.Fatal(err)
				}
			}
			natstest.CheckFor(t, 2*time.Second, 10*time.Millisecond, func() error {
				if w, b := rg.frames("out", "wrong_codec"), rg.frames("out", "bad"); w != 6 || b != 4 {
					return fmt.Errorf("%v frames counted in the wrong codec (want 6), %v bad (want 4)", w, b)
				}
				return nil
			})
			if got := rg.frames("out", "sent"); got != n {
				t.Errorf("%v frames sent: a wrong one went out", got)
			}

			rep = rg.attach(events.MemberAttach{Op: events.DetachOp, Conference: "room2", CallID: callID, Hangup: true, Reason: "kicked"})
			if rep.Code != 200 {
				t.Fatalf("detach: %+v", rep)
			}
			_, cc := waitEvent[*events.CallCompleted](t, rg.calls, callID, 5*time.Second)
			if cc.Reason != "kicked" || cc.Status != events.StatusCompleted || cc.HangupBy != events.ByApp {
				t.Errorf("call.completed: %+v", cc)
			}
			if code, out := ph.wait(t, 10*time.Second); code != 0 {
				t.Errorf("sipp exit %d (no BYE?):\n%s", code, out)
			}
		})
	}
}

// TestConferenceMemberGone: a member whose phone hangs up (BYE) is reported
// to its conference's partition as gone (hangup), and its out-subscription
// ends.
func TestConferenceMemberGone(t *testing.T) {
	leak.Check(t)
	rg := newRig(t)
	gone := rg.watchGone("room3")
	ph, callID := rg.answeredCall(phoneOpts{user: "echo", tone: true, byeAfter: 2 * time.Second})
	if rep := rg.attach(events.MemberAttach{Op: events.AttachOp, Conference: "room3", CallID: callID, Rate: 16000}); rep.Code != 200 {
		t.Fatalf("attach: %+v", rep)
	}
	_, cc := waitEvent[*events.CallCompleted](t, rg.calls, callID, 8*time.Second)
	if cc.HangupBy != events.ByRemote {
		t.Errorf("call.completed: %+v", cc)
	}
	natstest.CheckFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if len(gone.all()) == 0 {
			return fmt.Errorf("no member_gone")
		}
		return nil
	})
	if g := gone.all(); len(g) != 1 || g[0] != (events.MemberGone{Conference: "room3", CallID: callID, Reason: events.GoneHangup}) {
		t.Errorf("member_gone: %+v", g)
	}
	if code, out := ph.wait(t, 5*time.Second); code != 0 {
		t.Errorf("sipp exit %d:\n%s", code, out)
	}
	if err := rg.nc.Publish(events.ConferenceOutSubject("room3", callID), newMixerOut(t, frame.PCMU, 8000, 440, 8000).next()); err != nil {
		t.Fatal(err)
	}
	_ = rg.nc.Flush()
	time.Sleep(100 * time.Millisecond) // a frame that must not be taken
	for _, result := range []string{"sent", "dropped", "bad", "wrong_codec"} {
		if n := rg.frames("out", result); n != 0 {
			t.Errorf("out %s: %v after the call ended: its subscription lives on", result, n)
		}
	}
}

// TestConferenceAttachRefusals: every MemberAttach the media role cannot
// do gets its code and a reason that says why; attaching again is a no-op
// (or a change of rate); a member cannot be bridged; a hangup command ends
// a member's call and tells the conference.
func TestConferenceAttachRefusals(t *testing.T) {
	leak.Check(t)
	rg := newRig(t)
	gone := rg.watchGone("room4")
	ph, callID := rg.answeredCall(phoneOpts{user: "echo", tone: true})

	// Calls of the same partition, set up by hand: one ringing, one
	// answered and bridged, one answered and free.
	p := events.Partition(callID, rigPartitions)
	other := func(state, peer string) string {
		id := rg.role.newCallIDIn(p)
		pt := rg.role.part(p)
		pt.mu.Lock()
		defer pt.mu.Unlock()
		c := &Call{ID: id, State: state, Direction: events.DirectionInbound, Peer: peer, pending: map[uint32]*pendingReply{}}
		if err := rg.role.newSession(c, 8000); err != nil {
			t.Fatal(err)
		}
		c.applyRemote(&sdp.Session{Addr: netip.MustParseAddrPort("127.0.0.1:9"), Codec: sdp.PCMU})
		pt.calls[id] = c
		t.Cleanup(func() { c.stopMedia() })
		return id
	}
	ringing, bridged, free := other(StateRinging, ""), other(StateAnswered, "x@y"), other(StateAnswered, "")

	in := listenIn(t, rg.nc, "room4", callID)
	attach := func(op, conf, call string, rate int) events.MemberAttachReply {
		return rg.attach(events.MemberAttach{Op: op, Conference: conf, CallID: call, Rate: rate})
	}
	if rep := attach("attach", "room4", callID, 16000); rep.Code != 200 {
		t.Fatalf("attach: %+v", rep)
	}
	in.waitFor(t, 20, 5*time.Second)
	for _, c := range []struct {
		name             string
		op, conf, callID string
		rate             int
		code             int
		reason           string
	}{
		{"unknown call", "attach", "room4", "nobody@nowhere", 16000, 404, "no call nobody@nowhere"},
		{"unknown call detach", "detach", "room4", "nobody@nowhere", 0, 404, "no call"},
		{"bad op", "join", "room4", callID, 16000, 400, "op must be attach or detach"},
		{"bad conference", "attach", "room.4", callID, 16000, 400, "conference must be"},
		{"bad rate", "attach", "room5", free, 44100, 400, "rate must be"},
		{"not answered", "attach", "room5", ringing, 16000, 409, "not answered"},
		{"bridged", "attach", "room5", bridged, 16000, 409, "call is bridged to x@y; unbridge it first"},
		{"in another conference", "attach", "room5", callID, 16000, 409, "call is in conference room4"},
		{"detach from another conference", "detach", "room5", callID, 0, 409, "call is in conference room4, not room5"},
		{"again", "attach", "room4", callID, 16000, 200, "attached"},
	} {
		rep := attach(c.op, c.conf, c.callID, c.rate)
		if rep.Code != c.code || !strings.Contains(rep.Reason, c.reason) || rep.Node != "m1" || rep.Partition == nil {
			t.Errorf("%s: %d %q, want %d %q", c.name, rep.Code, rep.Reason, c.code, c.reason)
		}
	}
	m, err := rg.nc.Request(events.PartitionSubject(events.RoleMedia, p, events.MediaKindConference), []byte("{"), 2*time.Second)
	if err != nil || !strings.Contains(string(m.Data), `"code":400`) {
		t.Errorf("garbage: %v %s", err, m.Data)
	}
	if r := rg.command("bridge", map[string]string{"call_id": free, "peer_call_id": callID}); r.Code != 409 || !strings.Contains(r.Reason, "is in conference room4") {
		t.Errorf("bridge with a member: %+v", r)
	}

	// Attaching again went unnoticed by the stream; a new rate restarts it.
	mark := in.count()
	checkStream(t, in.since(0), 16000)
	if rep := attach("attach", "room4", callID, 48000); rep.Code != 200 {
		t.Fatalf("attach at 48 kHz: %+v", rep)
	}
	natstest.CheckFor(t, 3*time.Second, 10*time.Millisecond, func() error {
		for _, h := range in.since(mark) {
			if h.hdr.Rate == 48000 {
				return nil
			}
		}
		return fmt.Errorf("no 48 kHz frame")
	})

	if r := rg.command("hangup", map[string]string{"call_id": callID}); r.Code != 200 {
		t.Fatalf("hangup: %+v", r)
	}
	natstest.CheckFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if g := gone.all(); len(g) != 1 || g[0].CallID != callID || g[0].Reason != events.GoneHangup {
			return fmt.Errorf("member_gone: %+v", g)
		}
		return nil
	})
	if code, out := ph.wait(t, 10*time.Second); code != 0 {
		t.Errorf("sipp exit %d:\n%s", code, out)
	}
}

// TestConferenceHold: a member put on hold neither sends nor gets frames;
// they flow again when it is taken off hold.
func TestConferenceHold(t *testing.T) {
	leak.Check(t)
	rg := newRig(t)
	ph, callID := rg.answeredCall(phoneOpts{user: "echo", tone: true, reinvite: 2})
	in := listenIn(t, rg.nc, "room6", callID)
	if rep := rg.attach(events.MemberAttach{Op: events.AttachOp, Conference: "room6", CallID: callID, Rate: 16000}); rep.Code != 200 {
		t.Fatalf("attach: %+v", rep)
	}
	in.waitFor(t, 25, 5*time.Second)
	if r := rg.command("hold", map[string]string{"call_id": callID}); r.Code != 200 {
		t.Fatalf("hold: %+v", r)
	}
	time.Sleep(300 * time.Millisecond) // the buffered audio plays out and its concealment fades
	mark := in.count()
	mix := newMixerOut(t, frame.PCMU, 8000, 440, 8000)
	mix.send(t, rg.nc, "room6", callID, 25)
	if n := in.count() - mark; n != 0 {
		t.Errorf("%d frames from a member on hold", n)
	}
	natstest.CheckFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if d, s := rg.frames("out", "dropped"), rg.frames("out", "sent"); d != 25 || s != 0 {
			return fmt.Errorf("on hold: %v frames dropped, %v sent; want all 25 dropped", d, s)
		}
		return nil
	})
	if r := rg.command("unhold", map[string]string{"call_id": callID}); r.Code != 200 {
		t.Fatalf("unhold: %+v", r)
	}
	in.waitFor(t, mark+25, 5*time.Second)
	mix.send(t, rg.nc, "room6", callID, 5)
	natstest.CheckFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if s := rg.frames("out", "sent"); s != 5 {
			return fmt.Errorf("%v frames sent after unhold", s)
		}
		return nil
	})
	if r := rg.command("hangup", map[string]string{"call_id": callID}); r.Code != 200 {
		t.Fatalf("hangup: %+v", r)
	}
	if code, out := ph.wait(t, 10*time.Second); code != 0 {
		t.Errorf("sipp exit %d:\n%s", code, out)
	}
}

// ---- the conference role's side ----

// goneLog collects member_gone messages of one conference.
type goneLog struct {
	mu  sync.Mutex
	got []events.MemberGone
}

func (rg *rig) watchGone(conf string) *goneLog {
	rg.t.Helper()
	g := &goneLog{}
	subject := events.PartitionSubject(events.RoleConference, events.Partition(conf, rigPartitions), events.ConferenceKindMember)
	sub, err := rg.nc.Subscribe(subject, func(m *nats.Msg) {
		var mg events.MemberGone
		if err := json.Unmarshal(m.Data, &mg); err != nil {
			rg.t.Errorf("member_gone %q: %v", m.Data, err)
		}
		g.mu.Lock()
		g.got = append(g.got, mg)
		g.mu.Unlock()
	})
	if err != nil {
		rg.t.Fatal(err)
	}
	_ = rg.nc.Flush()
	rg.t.Cleanup(func() { _ = sub.Unsubscribe() })
	return g
}

func (g *goneLog) all() []events.MemberGone {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]events.MemberGone(nil), g.got...)
}

// saved reads a call's state from KV.
func (rg *rig) saved(callID string) *Call {
	rg.t.Helper()
	e, err := rg.role.kv.Get(rg.t.Context(), key(events.Partition(callID, rigPartitions), callID))
	if err != nil {
		rg.t.Fatalf("KV: %v", err)
	}
	c := &Call{}
	if err := json.Unmarshal(e.Value(), c); err != nil {
		rg.t.Fatal(err)
	}
	return c
}

// ---- the mixer's side: frames on the out-subject ----

// mixerOut makes a member's out-frames: a tone encoded as the mixer would.
type mixerOut struct {
	kind  frame.Codec
	rate  int
	hz    float64
	amp   float64
	dbfs  float64 // the tone's RMS
	enc   codec.Encoder
	n     int // frames made
	pcm   []int16
	bytes []byte
}

func newMixerOut(t *testing.T, kind frame.Codec, rate int, hz, amp float64) *mixerOut {
	t.Helper()
	m := &mixerOut{kind: kind, rate: rate, hz: hz, amp: amp, dbfs: 20 * math.Log10(amp/math.Sqrt2/32768),
		pcm: make([]int16, rate/50), bytes: make([]byte, codec.MaxPayload)}
	switch kind {
	case frame.Opus:
		enc, err := codec.NewOpusEncoder(rate, codec.DefaultOpusConfig(rate))
		if err != nil {
			t.Fatal(err)
		}
		m.enc = enc
	case frame.PCMU:
		m.enc = codec.NewPCMUEncoder()
	case frame.PCMA:
		m.enc = codec.NewPCMAEncoder()
	}
	return m
}

// next returns the next 20 ms frame.
func (m *mixerOut) next() []byte {
	for i := range m.pcm {
		m.pcm[i] = int16(m.amp * math.Sin(2*math.Pi*m.hz*float64(m.n*len(m.pcm)+i)/float64(m.rate)))
	}
	n, err := m.enc.Encode(m.pcm, m.bytes)
	if err != nil {
		panic(err)
	}
	f := frame.Frame{Codec: m.kind, Rate: m.rate, Samples: len(m.pcm), Seq: uint32(m.n), Timestamp: uint64(m.n * len(m.pcm)), Payload: m.bytes[:n], Level: -127}
	if m.n == 0 {
		f.Flags = frame.Discontinuity
	}
	m.n++
	b, err := f.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}

// send publishes n frames at the mixer's pace, one every 20 ms.
func (m *mixerOut) send(t *testing.T, nc *nats.Conn, conf, callID string, n int) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range n {
		<-tick.C
		if err := nc.Publish(events.ConferenceOutSubject(conf, callID), m.next()); err != nil {
			t.Fatal(err)
		}
	}
	_ = nc.Flush()
}
