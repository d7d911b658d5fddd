package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/test/peers"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
)

// needTools is peers.NeedTools.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	peers.NeedTools(t, tools...)
}

// sippDir prepares a working directory for sipp: the scenarios of
// testdata, a tone of freq Hz for rtp_stream in µ-law (tone.ulaw) and A-law
// (tone.alaw), and sipp's pcap folder.
func sippDir(t *testing.T, toneSeconds float64, freq int) string {
	t.Helper()
	dir := t.TempDir()
	scenarios, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, f := range scenarios {
		f = filepath.Base(f)
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, law := range []string{"ul", "al"} {
		sox := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-t", law, filepath.Join(dir, "tone."+law+"aw"),
			"synth", strconv.FormatFloat(toneSeconds, 'f', -1, 64), "sine", itoa(freq), "vol", "0.5")
		if out, err := sox.CombinedOutput(); err != nil {
			t.Fatalf("sox: %v\n%s", err, out)
		}
	}
	_ = os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap"))
	return dir
}

func itoa(n int) string { return strconv.Itoa(n) }

// sipp runs sipp to completion (bounded by timeout) and returns its exit
// code and output.
func sipp(t *testing.T, dir string, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sipp", append(args, "-nostdin", "-timeout", itoa(int(timeout.Seconds())))...)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// sippResult is how a sipp run ended.
type sippResult struct {
	code int
	out  string
}

// sippEchoCalls runs sipp in the background against edge: calls calls of
// scenario to the echo route at 20 a second, media from mediaPort. The
// channel yields the result when sipp ends (bounded by 60 s).
func sippEchoCalls(t *testing.T, dir, edge, scenario string, calls, mediaPort int) <-chan sippResult {
	t.Helper()
	port := freeUDPPort(t)
	done := make(chan sippResult, 1)
	go func() {
		code, out := sipp(t, dir, 60*time.Second, edge, "-sf", scenario, "-s", "echo",
			"-m", itoa(calls), "-l", itoa(calls), "-r", "20",
			"-i", "127.0.0.1", "-p", itoa(port), "-mi", "127.0.0.1", "-mp", itoa(mediaPort))
		done <- sippResult{code, out}
	}()
	return done
}

// capture records UDP payloads on the loopback interface with tshark.
type capture struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
}

// startCapture begins capturing packets that match a BPF filter and
// returns once tshark is capturing.
func startCapture(t *testing.T, filter string, maxDuration time.Duration) *capture {
	t.Helper()
	c := &capture{done: make(chan struct{})}
	c.cmd = exec.Command("tshark", "-l", "-n", "-i", "lo", "-f", filter, "-a", "duration:"+itoa(int(maxDuration.Seconds())),
		"-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.payload")
	c.cmd.Stdout = &c.out
	stderr, _ := c.cmd.StderrPipe()
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("tshark: %v", err)
	}
	ready := make(chan struct{})
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Capturing on") {
				once.Do(func() { close(ready) })
			}
		}
		once.Do(func() { close(ready) })
	}()
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { c.stop() })
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatal("tshark did not start capturing")
	}
	return c
}

func (c *capture) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

type udpPacket struct {
	src, dst string
	payload  []byte
}

// packets stops the capture and returns what it saw.
func (c *capture) packets() []udpPacket {
	c.stop()
	var out []udpPacket
	for _, line := range strings.Split(c.out.String(), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(f[2], ":", ""))
		if err != nil {
			continue
		}
		out = append(out, udpPacket{src: f[0], dst: f[1], payload: b})
	}
	return out
}

// rtpAudio concatenates the G.711 payloads of packets with RTP payload
// type pt (0 µ-law, 8 A-law), in order.
func rtpAudio(pkts []udpPacket, pt byte) []int16 {
	decode := g711.DecodeUlaw
	if pt == 8 {
		decode = g711.DecodeAlaw
	}
	var pcm []int16
	for _, p := range pkts {
		b := p.payload
		if len(b) < 12 || b[0]>>6 != 2 || b[1]&0x7f != pt {
			continue
		}
		hdr := 12 + 4*int(b[0]&0x0f)
		if len(b) <= hdr {
			continue
		}
		dst := make([]int16, len(b)-hdr)
		decode(dst, b[hdr:])
		pcm = append(pcm, dst...)
	}
	return pcm
}
