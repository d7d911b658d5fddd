package info

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

func TestParse(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		ct, body string
		want     Signal
		err      error
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", Signal{'5', 160 * ms}, nil},
		{"application/dtmf-relay", "Signal=5\nDuration=160\n", Signal{'5', 160 * ms}, nil},
		{"Application/DTMF-Relay; charset=utf-8", "signal = #\r\nduration= 250", Signal{'#', 250 * ms}, nil},
		{"application/dtmf-relay", "Signal= *\r\n", Signal{'*', 0}, nil},
		{"application/dtmf-relay", "\r\nSIGNAL=a\r\n\r\nDuration=100\r\nVolume=10\r\n", Signal{'A', 100 * ms}, nil},
		{"application/dtmf-relay", "Signal=11\r\nDuration=100\r\n", Signal{'#', 100 * ms}, nil},
		{"application/dtmf-relay", "Signal=10", Signal{'*', 0}, nil},
		{"application/dtmf-relay", "Duration=160\r\nSignal=0\r\n", Signal{'0', 160 * ms}, nil},
		{"application/dtmf-relay", "Signal=1\r\nSignal=2\r\n", Signal{'1', 0}, nil},
		{"application/dtmf", "5", Signal{'5', 0}, nil},
		{"application/dtmf", " 9\r\n", Signal{'9', 0}, nil},
		{"application/dtmf", "d", Signal{'D', 0}, nil},
		{"application/dtmf", "11", Signal{'#', 0}, nil},

		{"application/dtmf-relay", "", Signal{}, ErrSyntax},
		{"application/dtmf-relay", "Duration=160\r\n", Signal{}, ErrSyntax},
		{"application/dtmf-relay", "Signal=\r\n", Signal{}, ErrSyntax},
		{"application/dtmf-relay", "Signal=E\r\n", Signal{}, digit.ErrInvalid},
		{"application/dtmf-relay", "Signal=16\r\n", Signal{}, digit.ErrInvalid},
		{"application/dtmf-relay", "Signal=!\r\n", Signal{}, ErrSyntax},
		{"application/dtmf-relay", "Signal=55\r\n", Signal{}, ErrSyntax},
		{"application/dtmf-relay", "Signal=5\r\nDuration=-1\r\n", Signal{}, ErrSyntax},
		{"application/dtmf-relay", "Signal=5\r\nDuration=abc\r\n", Signal{}, ErrSyntax},
		{"application/dtmf-relay", "hello\r\n", Signal{}, ErrSyntax},
		{"application/dtmf", "", Signal{}, ErrSyntax},
		{"application/dtmf", "12", Signal{'A', 0}, nil},
		{"application/dtmf", "123", Signal{}, ErrSyntax},
		{"application/dtmf", "1 2", Signal{}, ErrSyntax},
		{"application/dtmf", "Signal=5", Signal{}, ErrSyntax},
		{"application/sdp", "v=0", Signal{}, ErrContentType},
		{"", "5", Signal{}, ErrContentType},
	} {
		got, err := Parse(tc.ct, []byte(tc.body))
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("Parse(%q, %q) = %+v, %v; want %+v, %v", tc.ct, tc.body, got, err, tc.want, tc.err)
		}
	}
}

func TestRelayBody(t *testing.T) {
	b, err := RelayBody('#', 160*time.Millisecond+500*time.Microsecond)
	if err != nil || string(b) != "Signal=#\r\nDuration=160\r\n" {
		t.Fatalf("RelayBody = %q, %v", b, err)
	}
	for k := range uint8(16) {
		d, _ := digit.FromEvent(k)
		b, err := RelayBody(d, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := Parse(ContentTypeRelay, b); err != nil || s != (Signal{d, 100 * time.Millisecond}) {
			t.Errorf("round trip %q: %+v, %v", d, s, err)
		}
	}
	if _, err := RelayBody('x', 0); !errors.Is(err, digit.ErrInvalid) {
		t.Errorf("invalid digit: %v", err)
	}
	if _, err := RelayBody('1', -time.Second); !errors.Is(err, ErrSyntax) {
		t.Errorf("negative duration: %v", err)
	}
}
