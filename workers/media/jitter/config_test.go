package jitter

import (
	"errors"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"G.711 defaults", Config{ClockRate: 8000}, true},
		{"Opus defaults", Config{ClockRate: 48000}, true},
		{"only MinDelay raised", Config{ClockRate: 8000, MinDelay: 80 * ms}, true},
		{"MinDelay above default MaxDelay", Config{ClockRate: 8000, MinDelay: 300 * ms}, true},
		{"10 ms frames", Config{ClockRate: 8000, FrameDuration: 10 * ms}, true},
		{"no clock rate", Config{}, false},
		{"clock rate too high", Config{ClockRate: 1 << 20}, false},
		{"negative MinDelay", Config{ClockRate: 8000, MinDelay: -ms}, false},
		{"MinDelay above MaxDelay", Config{ClockRate: 8000, MinDelay: 100 * ms, MaxDelay: 50 * ms}, false},
		{"StartDelay below MinDelay", Config{ClockRate: 8000, StartDelay: 20 * ms}, false},
		{"StartDelay above MaxDelay", Config{ClockRate: 8000, StartDelay: 250 * ms}, false},
		{"MaxDelay above 2 s", Config{ClockRate: 8000, MaxDelay: 3 * time.Second}, false},
		{"frame above 120 ms", Config{ClockRate: 8000, FrameDuration: 200 * ms}, false},
		{"ring too small for MaxDelay", Config{ClockRate: 8000, MaxPackets: 11}, false},
		{"ring just big enough", Config{ClockRate: 8000, MaxPackets: 12}, true},
		{"ring too large", Config{ClockRate: 8000, MaxPackets: MaxMaxPackets + 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			func() {
				defer func() {
					if p := recover(); (p == nil) != tt.ok {
						t.Errorf("New panicked with %v, want ok=%v", p, tt.ok)
					}
				}()
				New(tt.cfg)
			}()
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	st := New(Config{ClockRate: 8000}).Stats()
	if st.Target != DefaultStartDelay || st.FrameDuration != DefaultFrameDuration {
		t.Errorf("fresh buffer: target %v frame %v, want %v and %v", st.Target, st.FrameDuration, DefaultStartDelay, DefaultFrameDuration)
	}
	c := Config{ClockRate: 8000, MinDelay: 300 * ms}.withDefaults()
	if c.StartDelay != 300*ms || c.MaxDelay != 300*ms {
		t.Errorf("defaults around MinDelay 300ms: start %v max %v", c.StartDelay, c.MaxDelay)
	}
}
