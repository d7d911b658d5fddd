package resample

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/quality.golden")

// checkGolden compares got with testdata/name, or rewrites it with
// -update. The file records each ratio's taps, delay and measured figures
// (rounded to whole dB) so that a change to the filter design shows up in
// review as a diff of its quality. Taps and delays must match exactly;
// measured dB figures within 1.5 dB and the ripple within 0.01 dB, since
// floating-point rounding differs between architectures (arm64 fuses
// multiply-adds).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !sameFigures(string(want), got) {
		t.Errorf("%s differs (go test -run TestQuality -update to accept):\n--- want\n%s--- got\n%s", path, want, got)
	}
}

// sameFigures compares two golden tables field by field with the
// tolerances above.
func sameFigures(want, got string) bool {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wl) != len(gl) {
		return false
	}
	for i := range wl {
		wf, gf := strings.Fields(wl[i]), strings.Fields(gl[i])
		if len(wf) != len(gf) {
			return false
		}
		for j := range wf {
			wk, wv, _ := strings.Cut(wf[j], "=")
			gk, gv, _ := strings.Cut(gf[j], "=")
			if wk != gk {
				return false
			}
			a, errA := strconv.ParseFloat(wv, 64)
			b, errB := strconv.ParseFloat(gv, 64)
			if errA != nil || errB != nil {
				if wv != gv {
					return false
				}
				continue
			}
			tol := 0.0
			switch {
			case strings.HasSuffix(wk, "ripple_db"):
				tol = 0.01
			case strings.HasSuffix(wk, "_db"):
				tol = 1.5
			}
			if math.Abs(a-b) > tol {
				return false
			}
		}
	}
	return true
}
