package edge

import (
	_ "embed"
	"net/http"
)

// demoHTML is the demo phone: plain HTML and JavaScript, no build step. It
// calls through POST /whip and shows GET /events.
//
//go:embed web/index.html
var demoHTML []byte

func demoPage(rw http.ResponseWriter, _ *http.Request) {
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = rw.Write(demoHTML)
}
