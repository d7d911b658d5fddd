package main

import (
	"math"
	"strings"
	"testing"
)

func TestParseSippDuration(t *testing.T) {
	for in, want := range map[string]float64{
		"00:00:00:004000": 4,
		"00:00:01:500000": 1500,
		"01:02:03:000250": 3723000.25,
	} {
		if got := parseSippDuration(in); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
	if !math.IsNaN(parseSippDuration("12")) {
		t.Error("a malformed duration is not NaN")
	}
}

func TestParseSippStatsTakesTheLastLine(t *testing.T) {
	csv := "CurrentTime;SuccessfulCall(C);FailedCall(C);FailedTimeoutOnRecv(C);ResponseTime1(C);\n" +
		"x;10;0;0;00:00:00:000000;\n" +
		"y;498;2;2;00:00:00:012000;\n"
	s, err := parseSippStats(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if s.int("SuccessfulCall(C)") != 498 || s.int("FailedCall(C)") != 2 || s.ms("ResponseTime1(C)") != 12 {
		t.Errorf("%v", s.fields)
	}
	if f := s.failures(); f != "TimeoutOnRecv=2" {
		t.Errorf("failures %q", f)
	}
}

func TestParseMetrics(t *testing.T) {
	m := parseMetrics(strings.NewReader(`# HELP sb_calls_active Calls.
# TYPE sb_calls_active gauge
sb_calls_active{direction="inbound"} 3
sb_calls_active{direction="outbound"} 2
process_cpu_seconds_total 1.25
process_resident_memory_bytes 3.9071744e+07
`))
	if m.sum("sb_calls_active") != 5 || m.sum("process_cpu_seconds_total") != 1.25 || m.sum("process_resident_memory_bytes") != 39071744 {
		t.Errorf("%v", m)
	}
	after := metrics{`sb_calls_active{direction="inbound"}`: 4, `sb_calls_active{direction="outbound"}`: 2}
	if d := deltaSeries(m, after, "sb_calls_active"); len(d) != 1 || d[`direction="inbound"`] != 1 {
		t.Errorf("deltaSeries %v", d)
	}
}

func TestParseUDPSockets(t *testing.T) {
	in := `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 4042: 0100007F:6978 00000000:0000 07 00000000:00034000 00:00000000 00000000     0        0 121082 2 000000009c12f6e4 160
 4043: 00000000:22B8 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 121083 2 000000009c12f6e5 0
`
	got := parseUDPSockets(strings.NewReader(in))
	if len(got) != 2 || got[0] != (udpSocket{port: 27000, inode: 121082, drops: 160}) || got[1].port != 8888 {
		t.Errorf("%+v", got)
	}
}

func TestToneIsOneSecondOfMuLaw(t *testing.T) {
	b := tone(1000, 8000)
	if len(b) != 8000 {
		t.Fatalf("%d octets", len(b))
	}
	// 8 samples per period: the first period repeats exactly.
	if string(b[:8]) != string(b[8:16]) || b[0] == b[2] {
		t.Errorf("not a 1 kHz tone: % x", b[:16])
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if p := percentile(v, 50); p != 5 {
		t.Errorf("p50 %v", p)
	}
	if p := percentile(v, 99); p != 10 {
		t.Errorf("p99 %v", p)
	}
}
