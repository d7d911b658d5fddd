package rfc4733

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/pion/rtp"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit/digittest"
)

// captured is one RTP packet of a capture file.
type captured struct {
	at      time.Time
	srcPort uint16
	pkt     rtp.Packet
}

// packetSource is what pcapgo's Reader and NgReader have in common.
type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// readCapture returns the UDP packets of a pcap or pcapng file that parse
// as RTP of payload type pt.
// sippShare is where Debian's sip-tester installs sipp's DTMF captures.
const sippShare = "/usr/share/sip-tester"

func readCapture(t *testing.T, name string, pt uint8) []captured {
	t.Helper()
	path := filepath.Join("testdata", name)
	if strings.HasPrefix(name, "dtmf_2833_") {
		// sipp's own captures (GPL, shipped by the sip-tester package):
		// read where it installs them rather than copied into this tree.
		path = filepath.Join(sippShare, name)
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(name, "dtmf_2833_") {
		t.Skipf("%s: sipp's captures are not installed (apt-get install sip-tester)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var src packetSource
	if strings.HasSuffix(name, ".pcapng") {
		src, err = pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
	} else {
		src, err = pcapgo.NewReader(bytes.NewReader(raw))
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []captured
	for {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, src.LinkType(), gopacket.Default)
		udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			continue
		}
		var r rtp.Packet
		if r.Unmarshal(udp.Payload) != nil || r.Version != 2 || r.PayloadType != pt {
			continue
		}
		out = append(out, captured{at: ci.Timestamp, srcPort: uint16(udp.SrcPort), pkt: r})
	}
	return out
}

// replay pushes the packets from srcPort through a Receiver, expiring on a
// 20 ms ticker between arrivals as the media worker would.
func replay(t *testing.T, r *Receiver, pkts []captured, srcPort uint16) []digit.Event {
	t.Helper()
	var evs []digit.Event
	var last time.Time
	for _, c := range pkts {
		if c.srcPort != srcPort {
			continue
		}
		for !last.IsZero() && c.at.Sub(last) > 20*time.Millisecond {
			last = last.Add(20 * time.Millisecond)
			evs = r.Expire(evs, last)
		}
		last = c.at
		var err error
		evs, err = r.Push(evs, Packet{
			SSRC: c.pkt.SSRC, SequenceNumber: c.pkt.SequenceNumber, Timestamp: c.pkt.Timestamp,
			Marker: c.pkt.Marker, Payload: c.pkt.Payload,
		}, c.at)
		if err != nil {
			t.Fatalf("push: %v", err)
		}
	}
	return r.Expire(evs, last.Add(time.Second))
}

func TestCaptures(t *testing.T) {
	type tc struct {
		file      string
		srcPort   uint16
		pt        uint8
		sdpRate   uint32 // what the SDP's rtpmap said
		wantRate  uint32 // the units the sender really used
		digits    string
		wantPress time.Duration
	}
	cases := []tc{
		// baresip on an Opus call: telephone-event/8000 in the SDP, 48 kHz
		// units on the wire, the same SSRC as the audio (PT 96).
		{"baresip_opus_dtmf_123s9h.pcapng", 10012, 101, 8000, 48000, "123*9#", 180 * time.Millisecond},
		// sipp rtp_stream over PCMU, captured in both directions (the far
		// end echoes); sipp's event SSRC differs from its audio's.
		{"sipp_pcmu_rtpstream_dtmf_12h.pcapng", 6004, 101, 8000, 8000, "12#", 280 * time.Millisecond},
		{"sipp_pcmu_rtpstream_dtmf_12h.pcapng", 6000, 101, 8000, 8000, "12#", 280 * time.Millisecond},
	}
	for _, k := range "0123456789" {
		cases = append(cases, tc{fmt.Sprintf("dtmf_2833_%c.pcap", k), 49176, 101, 8000, 8000, string(k), 280 * time.Millisecond})
	}
	cases = append(cases,
		tc{"dtmf_2833_star.pcap", 49176, 101, 8000, 8000, "*", 280 * time.Millisecond},
		tc{"dtmf_2833_pound.pcap", 49176, 101, 8000, 8000, "#", 280 * time.Millisecond},
	)
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%d", c.file, c.srcPort), func(t *testing.T) {
			pkts := readCapture(t, c.file, c.pt)
			if len(pkts) == 0 {
				t.Fatal("no telephone-event packets")
			}
			r, err := NewReceiver(ReceiverConfig{ClockRate: c.sdpRate})
			if err != nil {
				t.Fatal(err)
			}
			evs := replay(t, r, pkts, c.srcPort)
			if got := pressed(t, evs); got != c.digits {
				t.Fatalf("digits %q, want %q (events %v)", got, c.digits, evs)
			}
			for _, e := range evs {
				if e.Kind == digit.Ended && e.Duration != c.wantPress {
					t.Errorf("%v: want %s", e, c.wantPress)
				}
			}
			if r.ClockRate() != c.wantRate {
				t.Errorf("clock rate %d, want %d", r.ClockRate(), c.wantRate)
			}
			st := r.Stats()
			if st.LostEnds != 0 || st.Malformed != 0 || st.Presses != uint64(len(c.digits)) {
				t.Errorf("stats %+v", st)
			}
			t.Logf("%d packets: %v; stats %+v", len(pkts), evs, st)
		})
	}
}

// pressed returns the digits of evs, failing the test unless they come as
// Started d, Ended d pairs.
func pressed(t *testing.T, evs []digit.Event) string {
	t.Helper()
	s, _, err := digittest.Presses(evs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
