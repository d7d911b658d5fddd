package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/test/natstest"
)

// baresipOpts describes one baresip instance.
type baresipOpts struct {
	user       string // account user: sip:<user>@127.0.0.1:<port>
	toneHz     int    // ausine frequency it sends
	source     string // audio_source instead of ausine, e.g. "aufile,/x.wav" (48 kHz stereo, long enough for the call)
	autoAnswer bool   // answermode=auto
	rtpPorts   string // "min-max", a range of its own
	// codecs is the account's audio_codecs, e.g. "opus/48000/2" or
	// "PCMU/8000/1"; G.711 both when empty.
	codecs string
}

// baresip is a running baresip (a real SIP phone) controlled over ctrl_tcp.
type baresip struct {
	opts    baresipOpts
	dir     string // config dir
	recDir  string // sndfile's dump-*-{enc,dec}.wav
	sipPort int
	cmd     *exec.Cmd
	out     *syncBuf
	done    chan struct{}

	conn  net.Conn
	mu    sync.Mutex
	evs   []baresipMsg
	resps map[string]chan baresipMsg
	token int
}

// baresipMsg is a ctrl_tcp message: a response to a command or an event.
type baresipMsg struct {
	Response bool   `json:"response"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
	Event    bool   `json:"event"`
	Type     string `json:"type"`
	Class    string `json:"class"`
	PeerURI  string `json:"peeruri"`
	ID       string `json:"id"`
	Param    string `json:"param"`
}

// SIPURI is the instance's own address.
func (b *baresip) SIPURI() string {
	return fmt.Sprintf("sip:%s@127.0.0.1:%d", b.opts.user, b.sipPort)
}

// startBaresip runs `baresip -f DIR` with testdata/baresip/config.tmpl on
// loopback ports of its own and connects to its control port. The process
// is told to quit (then killed if it lingers) when the test ends.
func startBaresip(t *testing.T, o baresipOpts) *baresip {
	t.Helper()
	if o.codecs == "" {
		o.codecs = "PCMU/8000/1,PCMA/8000/1"
	}
	tmpl, err := os.ReadFile(filepath.Join("testdata", "baresip", "config.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	// The ports are free "a moment ago" only, and baresip also listens on
	// SIP port+1 (TLS): retry a start that loses a port race.
	var lastOut string
	for attempt := 0; attempt < 3; attempt++ {
		b, out, err := tryBaresip(t, o, string(tmpl))
		if err == nil {
			return b
		}
		lastOut = fmt.Sprintf("attempt %d: %v\n%s", attempt+1, err, cleanBaresipOut(out))
	}
	t.Fatalf("baresip %s did not start: %s", o.user, lastOut)
	return nil
}

func tryBaresip(t *testing.T, o baresipOpts, tmpl string) (*baresip, string, error) {
	b := &baresip{opts: o, dir: t.TempDir(), recDir: t.TempDir(), sipPort: freeUDPPort(t),
		out: &syncBuf{}, done: make(chan struct{}), resps: map[string]chan baresipMsg{}}
	ctrlPort := freePort(t)
	source := o.source
	if source == "" {
		source = fmt.Sprintf("ausine,%d", o.toneHz)
	}
	cfg := strings.NewReplacer(
		"@SIPADDR@", fmt.Sprintf("127.0.0.1:%d", b.sipPort),
		"@CTRLADDR@", fmt.Sprintf("127.0.0.1:%d", ctrlPort),
		"@RTPPORTS@", o.rtpPorts,
		"@RECDIR@", b.recDir,
		"@AUDIOSOURCE@", source,
	).Replace(tmpl)
	account := fmt.Sprintf("<%s>;regint=0;audio_codecs=%s", b.SIPURI(), o.codecs)
	if o.autoAnswer {
		account += ";answermode=auto"
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "accounts"), []byte(account+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// -s: SIP trace in the output, shown when the test fails.
	b.cmd = exec.Command("baresip", "-f", b.dir, "-s")
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()

	// Poll the control port until baresip listens (or has exited).
	deadline := time.Now().Add(5 * time.Second)
	for b.conn == nil {
		select {
		case <-b.done:
			return nil, b.out.String(), fmt.Errorf("exited with %v", b.cmd.ProcessState)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ctrlPort), time.Second)
		if err == nil {
			b.conn = c
			break
		}
		if time.Now().After(deadline) {
			b.kill()
			return nil, b.out.String(), fmt.Errorf("control port: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	go b.read()
	t.Cleanup(func() {
		b.stop(t)
		if t.Failed() {
			t.Logf("baresip %s output:\n%s", o.user, cleanBaresipOut(b.out.String()))
		}
	})
	return b, "", nil
}

// read parses the control connection's netstrings (`<len>:<json>,`):
// responses go to whoever waits for their token, events are kept.
func (b *baresip) read() {
	r := bufio.NewReader(b.conn)
	for {
		lenStr, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, ":"))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		buf := make([]byte, n+1)
		if _, err := io.ReadFull(r, buf); err != nil || buf[n] != ',' {
			return
		}
		var m baresipMsg
		if json.Unmarshal(buf[:n], &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.Response {
			if ch := b.resps[m.Token]; ch != nil {
				ch <- m
				delete(b.resps, m.Token)
			}
		} else if m.Event {
			b.evs = append(b.evs, m)
		}
		b.mu.Unlock()
	}
}

// command sends a ctrl_tcp command, e.g. ("dial", "sip:..."), ("hangup",
// ""), ("quit", ""), and returns baresip's response.
func (b *baresip) command(command, params string) (baresipMsg, error) {
	b.mu.Lock()
	b.token++
	tok := "t" + strconv.Itoa(b.token)
	ch := make(chan baresipMsg, 1)
	b.resps[tok] = ch
	b.mu.Unlock()
	msg, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": tok})
	_ = b.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(b.conn, "%d:%s,", len(msg), msg); err != nil {
		return baresipMsg{}, err
	}
	select {
	case m := <-ch:
		if !m.OK {
			return m, fmt.Errorf("%s %q: %s", command, params, m.Data)
		}
		return m, nil
	case <-b.done:
		return baresipMsg{}, errors.New("baresip exited")
	case <-time.After(5 * time.Second):
		return baresipMsg{}, fmt.Errorf("%s: no response", command)
	}
}

func (b *baresip) mustCommand(t *testing.T, command, params string) {
	t.Helper()
	if _, err := b.command(command, params); err != nil {
		t.Fatalf("baresip %s: %v", b.opts.user, err)
	}
}

// events returns the events of one type (all if typ is "") received so far.
func (b *baresip) events(typ string) []baresipMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []baresipMsg
	for _, e := range b.evs {
		if typ == "" || e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// waitEvent polls until an event of typ (e.g. CALL_ESTABLISHED, CALL_CLOSED)
// has arrived and returns the first one.
func (b *baresip) waitEvent(t *testing.T, typ string, d time.Duration) baresipMsg {
	t.Helper()
	var got []baresipMsg
	natstest.CheckFor(t, d, 20*time.Millisecond, func() error {
		if got = b.events(typ); len(got) == 0 {
			return fmt.Errorf("baresip %s: no %s event yet", b.opts.user, typ)
		}
		return nil
	})
	return got[0]
}

// stop quits baresip (which hangs up its calls and closes its recordings),
// kills it if it does not exit within 5 s, and waits for it.
func (b *baresip) stop(t *testing.T) {
	select {
	case <-b.done:
		return
	default:
	}
	if _, err := b.command("quit", ""); err != nil {
		t.Logf("baresip %s quit: %v", b.opts.user, err)
	}
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		t.Logf("baresip %s did not quit; killing it", b.opts.user)
		b.kill()
	}
	_ = b.conn.Close()
}

func (b *baresip) kill() {
	_ = b.cmd.Process.Kill()
	<-b.done
}

// recording returns the path of the one sndfile dump of what baresip
// received ("dec") or sent ("enc"), or "" while there is none.
func (b *baresip) recording(t *testing.T, kind string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.recDir, "dump-*-"+kind+".wav"))
	if len(files) > 1 {
		t.Fatalf("baresip %s: several %s recordings: %v", b.opts.user, kind, files)
	}
	if len(files) == 0 {
		return ""
	}
	return files[0]
}

var baresipStatusLine = regexp.MustCompile(`\[\d+:\d\d:\d\d\] audio=\d+/\d+ \(bit/s\)\s*`)

// cleanBaresipOut drops the status line baresip redraws every 100 ms.
func cleanBaresipOut(s string) string { return baresipStatusLine.ReplaceAllString(s, "") }

// wavPCM is 16-bit PCM read from a WAV file, mixed down to mono.
type wavPCM struct {
	rate     int
	channels int
	samples  []int16
}

// readWAV reads a 16-bit PCM WAV file. A recording still being written has
// a provisional data size (0, or more than the file holds): then the data
// chunk is taken to run to the end of the file.
func readWAV(path string) (wavPCM, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return wavPCM{}, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return wavPCM{}, fmt.Errorf("%s: not a RIFF/WAVE file", path)
	}
	var w wavPCM
	var bits int
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(le32(b[p+4:p+8]))
		body := b[p+8:]
		switch id {
		case "fmt ":
			if size < 16 || len(body) < 16 {
				return w, fmt.Errorf("%s: short fmt chunk", path)
			}
			format := le16(body[0:2])
			w.channels = int(le16(body[2:4]))
			w.rate = int(le32(body[4:8]))
			bits = int(le16(body[14:16]))
			if (format != 1 && format != 0xfffe) || bits != 16 || w.channels < 1 {
				return w, fmt.Errorf("%s: format %d, %d bits, %d channels: want 16-bit PCM", path, format, bits, w.channels)
			}
		case "data":
			if w.rate == 0 {
				return w, fmt.Errorf("%s: data before fmt", path)
			}
			if size == 0 || size > len(body) {
				size = len(body)
			}
			frame := 2 * w.channels
			w.samples = make([]int16, size/frame)
			for i := range w.samples {
				var sum int
				for c := 0; c < w.channels; c++ {
					sum += int(int16(le16(body[i*frame+2*c:])))
				}
				w.samples[i] = int16(sum / w.channels)
			}
			return w, nil
		}
		p += 8 + size + size&1
	}
	return w, fmt.Errorf("%s: no data chunk", path)
}

// le16 and le32 read little-endian integers (the package's `binary` is the
// switchboard binary's path, so encoding/binary is not imported here).
func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 { return uint32(le16(b)) | uint32(le16(b[2:]))<<16 }

// eventWithin polls for up to d for an event of typ, without failing.
func (b *baresip) eventWithin(typ string, d time.Duration) (baresipMsg, bool) {
	for end := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if got := b.events(typ); len(got) > 0 {
			return got[0], true
		}
		if time.Now().After(end) {
			return baresipMsg{}, false
		}
	}
}

// sipTrace returns the SIP messages baresip traced (-s), each starting with
// its "UDP src -> dst" line.
func (b *baresip) sipTrace() []string {
	var msgs []string
	for _, part := range strings.Split(b.out.String(), "\x1b[36;1m#\n")[1:] {
		if i := strings.Index(part, "\x1b[;m"); i >= 0 {
			part = part[:i]
		}
		msgs = append(msgs, strings.TrimSpace(strings.ReplaceAll(part, "\r\n", "\n")))
	}
	return msgs
}

// refusedRequests returns each request baresip received and answered with
// a 481 (no such dialog or transaction), followed by that answer.
func (b *baresip) refusedRequests() []string {
	msgs := b.sipTrace()
	var out []string
	for i, m := range msgs {
		lines := strings.Split(m, "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "SIP/2.0 481") {
			continue
		}
		branch := viaBranch.FindString(sipHeader(m, "Via"))
		for j := i - 1; j >= 0 && branch != ""; j-- {
			if req := strings.Split(msgs[j], "\n"); len(req) > 1 && !strings.HasPrefix(req[1], "SIP/2.0") &&
				viaBranch.FindString(sipHeader(msgs[j], "Via")) == branch {
				out = append(out, msgs[j], m)
				break
			}
		}
	}
	return out
}

var viaBranch = regexp.MustCompile(`branch=[^;\s]+`)

// sipHeader returns the first value of a header in a traced message.
func sipHeader(msg, name string) string {
	for _, l := range strings.Split(msg, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
