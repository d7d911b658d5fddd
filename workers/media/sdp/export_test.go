package sdp

// Parse exposes parse to the external tests, which need it to read back
// answers holding m-lines pion/sdp refuses on its own (m=image for T.38).
var Parse = parse
