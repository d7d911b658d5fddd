package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voip/switchboard/cmd/app"
	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

// whipApp runs a whole node whose RTP and WebRTC legs stay in 35000-35999.
func whipApp(t *testing.T, token string) *app.App {
	t.Helper()
	return runApp(t, app.Mode{Edge: true, Roles: events.AllRoles}, func(c *config.Config) {
		c.RTPPortMin, c.RTPPortMax = 35000, 35499
		c.WebRTCPortMin, c.WebRTCPortMax = 35500, 35999
		c.HTTPToken = token
	})
}

// pionOffer makes a browser-like offerer on 127.0.0.1 with the given
// audio codecs and returns it with its complete (non-trickle) offer.
func pionOffer(t *testing.T, codecs ...webrtc.RTPCodecParameters) (*webrtc.PeerConnection, string) {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	for _, c := range codecs {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	track, err := webrtc.NewTrackLocalStaticSample(codecs[0].RTPCodecCapability, "audio", "sb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc, pc.LocalDescription().SDP
}

var (
	whipOpus = webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}}
	whipG722 = webrtc.RTPCodecParameters{PayloadType: 9, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeG722, ClockRate: 8000, Channels: 1}}
)

func postOffer(t *testing.T, a *app.App, query, token, offer string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.HTTPAddr()+"/whip"+query, strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestWHIPCall: a browser-like pion peer posts its offer, gets 201 with an
// answer and a resource URL, connects over ICE + DTLS-SRTP, and the call
// has the events of any call; DELETE hangs it up.
func TestWHIPCall(t *testing.T) {
	a := whipApp(t, "s3cret")
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)

	pc, offer := pionOffer(t, whipOpus)
	if res, body := postOffer(t, a, "", "", offer); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d %q", res.StatusCode, body)
	}
	res, answer := postOffer(t, a, "", "s3cret", offer)
	if res.StatusCode != http.StatusCreated || res.Header.Get("Content-Type") != "application/sdp" {
		t.Fatalf("offer: %d %q", res.StatusCode, answer)
	}
	loc := res.Header.Get("Location")
	callID, ok := strings.CutPrefix(loc, "/whip/")
	if !ok || callID == "" {
		t.Fatalf("Location %q", loc)
	}
	whipConnect(t, pc, answer)
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		in, ans := ce.find(callID, "incoming"), ce.find(callID, "answered")
		if in == nil || ans == nil {
			return fmt.Errorf("no incoming/answered for %s yet", callID)
		}
		d := in.Data.(*events.CallIncoming)
		if d.Route != events.RouteWebRTC || d.Transport != events.TransportWebRTC {
			return fmt.Errorf("incoming %+v", d)
		}
		if c := ans.Data.(*events.CallAnswered).Codec; c != "opus/48000" {
			return fmt.Errorf("codec %q", c)
		}
		return nil
	})

	req, _ := http.NewRequest(http.MethodDelete, "http://"+a.HTTPAddr()+loc, nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	dres, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	dres.Body.Close()
	if dres.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", dres.StatusCode)
	}
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		e := ce.find(callID, "completed")
		if e == nil {
			return fmt.Errorf("no completed")
		}
		if by := e.Data.(*events.CallCompleted).HangupBy; by != events.ByApp {
			return fmt.Errorf("hangup_by %q", by)
		}
		return nil
	})
}

// TestWHIPRemoteClose: the browser closing its PeerConnection ends the
// call, by the remote.
func TestWHIPRemoteClose(t *testing.T) {
	a := whipApp(t, "")
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	pc, offer := pionOffer(t, whipOpus)
	res, answer := postOffer(t, a, "", "", offer)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("offer: %d %q", res.StatusCode, answer)
	}
	callID := strings.TrimPrefix(res.Header.Get("Location"), "/whip/")
	whipConnect(t, pc, answer)
	_ = pc.GracefulClose()
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		e := ce.find(callID, "completed")
		if e == nil {
			return fmt.Errorf("no completed")
		}
		if by := e.Data.(*events.CallCompleted).HangupBy; by != events.ByRemote {
			return fmt.Errorf("hangup_by %q", by)
		}
		return nil
	})
}

// TestWHIPBadOffers: malformed offers get 400, offers without a usable
// audio codec 488, each with the reason; the worker answers a good offer
// afterwards.
func TestWHIPBadOffers(t *testing.T) {
	a := whipApp(t, "")
	_, g722 := pionOffer(t, whipG722)
	_, good := pionOffer(t, whipOpus)
	cases := []struct {
		name, query, offer string
		code               int
		reason             string
	}{
		{"garbage", "", "hello, world", 400, "malformed"},
		{"truncated", "", good[:len(good)/3], 400, "malformed"},
		{"no audio", "", strings.ReplaceAll(good, "m=audio", "m=video"), 488, "audio"},
		{"only G722", "", g722, 488, "G722"},
		{"bad room", "?conference=a.b", good, 400, "conference"},
		{"bad SIP URI", "?to=nonsense", good, 400, "SIP URI"},
		{"unknown call", "?call_id=nobody@example.com", good, 404, "no call nobody@example.com"},
		{"room and URI", "?conference=r1&to=sip:bob@127.0.0.1", good, 400, "one of them"},
		{"call and echo", "?call_id=nobody@example.com&echo", good, 400, "one of them"},
	}
	for _, c := range cases {
		res, body := postOffer(t, a, c.query, "", c.offer)
		if res.StatusCode != c.code || !strings.Contains(body, c.reason) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, res.StatusCode, body, c.code, c.reason)
		}
	}
	if res, body := postOffer(t, a, "", "", good); res.StatusCode != http.StatusCreated {
		t.Errorf("good offer after bad ones: %d %q", res.StatusCode, body)
	}
}

// find returns the first event named name ("incoming") of callID, or nil.
func (ce *callEvents) find(callID, name string) *events.Event {
	if evs := ce.of("io.switchboard.call.v1."+name, callID); len(evs) > 0 {
		return &evs[0]
	}
	return nil
}

// whipConnect gives pc the endpoint's answer and waits for ICE + DTLS.
func whipConnect(t *testing.T, pc *webrtc.PeerConnection, answer string) {
	t.Helper()
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("not connected")
	}
}
