package info

import "testing"

func FuzzParse(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf-relay", []byte("signal = #\nduration=0"))
	f.Add("application/dtmf", []byte(" 9\r\n"))
	f.Add("application/dtmf; x=y", []byte("11"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		s, err := Parse(ct, body)
		if err != nil {
			return
		}
		if !s.Digit.Valid() || s.Duration < 0 {
			t.Fatalf("Parse(%q, %q) = %+v", ct, body, s)
		}
		// What parses writes back and parses to the same.
		b, err := RelayBody(s.Digit, s.Duration)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParseRelay(b); err != nil || back != s {
			t.Fatalf("round trip %+v -> %q -> %+v, %v", s, b, back, err)
		}
	})
}
