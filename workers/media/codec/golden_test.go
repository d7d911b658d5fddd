package codec

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	goldenPackets = "opus-8k-speechlike.packets"
	goldenDecoded = "opus-8k-speechlike.golden"
)

// TestOpusGolden decodes a stored stream of Opus packets and compares the
// result with what the libopus of the day the file was made decoded: the
// number of samples, a SHA-256 of the PCM, the total level and the level
// of every 20 ms frame. The stream is 1 s of speechLike at 8 kHz with
// DefaultOpusConfig(8000), 20 ms packets (SILK narrow-band, whose decoder
// is fixed-point even in libopus's float build, so its output is the same
// on every machine). A libopus upgrade that changes decoding shows up here.
// The encoder is not held to the stored packets (its float analysis can
// differ between CPUs); whether it reproduces them is logged.
//
// Regenerate both files, after checking why they changed, with
//
//	go test -tags nolibopusfile ./workers/media/codec -run TestOpusGolden -update
func TestOpusGolden(t *testing.T) {
	sig := speechLike(8000, 8000)
	enc, err := NewOpusEncoder(8000, DefaultOpusConfig(8000))
	if err != nil {
		t.Fatal(err)
	}
	var fresh bytes.Buffer
	buf := make([]byte, MaxPayload)
	for i := 0; i+160 <= len(sig); i += 160 {
		n, err := enc.Encode(sig[i:i+160], buf)
		if err != nil {
			t.Fatal(err)
		}
		fresh.Write(binary.BigEndian.AppendUint16(nil, uint16(n)))
		fresh.Write(buf[:n])
	}
	path := filepath.Join("testdata", goldenPackets)
	if *update {
		if err := os.WriteFile(path, fresh.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	t.Logf("encoder reproduces the stored packets: %v", bytes.Equal(stored, fresh.Bytes()))

	dec := mustOpusDecoder(t, 8000)
	pcm := make([]int16, MaxPacketSamples(8000))
	var out []int16
	var frames []string
	for p := stored; len(p) > 0; {
		if len(p) < 2 || int(binary.BigEndian.Uint16(p)) > len(p)-2 {
			t.Fatal("truncated packet file")
		}
		n := int(binary.BigEndian.Uint16(p))
		m, err := dec.Decode(p[2:2+n], pcm)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pcm[:m]...)
		frames = append(frames, fmt.Sprintf("%.1f", energyDB(pcm[:m])))
		p = p[2+n:]
	}
	raw := make([]byte, 0, 2*len(out))
	for _, v := range out {
		raw = binary.LittleEndian.AppendUint16(raw, uint16(v))
	}
	sum := sha256.Sum256(raw)
	got := fmt.Sprintf("packets %d\nbytes %d\nsamples %d\nsha256 %s\nlevel_db %.2f\nframe_db %s\n",
		len(frames), len(stored), len(out), hex.EncodeToString(sum[:]), energyDB(out), strings.Join(frames, " "))
	gpath := filepath.Join("testdata", goldenDecoded)
	if *update {
		if err := os.WriteFile(gpath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(gpath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) == got {
		return
	}
	// Say what differs, most telling first.
	w, g := goldenFields(string(want)), goldenFields(got)
	for _, k := range []string{"packets", "bytes", "samples", "level_db", "sha256"} {
		if w[k] != g[k] {
			t.Errorf("%s: got %s, want %s", k, g[k], w[k])
		}
	}
	wf, gf := strings.Fields(w["frame_db"]), strings.Fields(g["frame_db"])
	for i := range min(len(wf), len(gf)) {
		a, _ := strconv.ParseFloat(wf[i], 64)
		b, _ := strconv.ParseFloat(gf[i], 64)
		if math.Abs(a-b) > 0.05 {
			t.Errorf("frame %d: %.1f dB, want %.1f dB", i, b, a)
		}
	}
	t.Error("decoded output differs from testdata/" + goldenDecoded + ": libopus decodes differently")
}

func goldenFields(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		k, v, _ := strings.Cut(line, " ")
		m[k] = v
	}
	return m
}
