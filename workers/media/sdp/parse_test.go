package sdp

import (
	"errors"
	"testing"

	psdp "github.com/pion/sdp/v3"
)

// TestParserPanic checks that a panic inside pion/sdp becomes ErrMalformed:
// fuzzing found no input that makes it panic, so one is simulated.
func TestParserPanic(t *testing.T) {
	saved := pionUnmarshal
	defer func() { pionUnmarshal = saved }()
	pionUnmarshal = func(*psdp.SessionDescription, string) error { panic("index out of range") }

	s, err := ParseOffer([]byte("v=0\r\n"), []Codec{PCMU})
	if !errors.Is(err, ErrMalformed) || s != nil {
		t.Fatalf("ParseOffer = %v, %v; want ErrMalformed", s, err)
	}
	if s, err = ParseAnswer([]byte("v=0\r\n"), []Codec{PCMU}); !errors.Is(err, ErrMalformed) || s != nil {
		t.Fatalf("ParseAnswer = %v, %v; want ErrMalformed", s, err)
	}
}
