package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns
// the file names and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "switchboard test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	kb, _ := x509.MarshalECPrivateKey(key)
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestStreamTransports: over TCP, TLS, WebSocket and secure WebSocket a call to echo is
// answered, and the BYE the platform sends (hangup command) reaches the
// caller over the connection it called on.
func TestStreamTransports(t *testing.T) {
	leak.Check(t)
	certFile, keyFile, pool := selfSigned(t)
	a := sipApp(t, 42400, func(c *config.Config) {
		c.SIPTLSPort, c.SIPWSPort, c.SIPWSSPort = freePort(t), freePort(t), freePort(t)
		c.SIPTLSCert, c.SIPTLSKey = certFile, keyFile
	})
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	for _, transport := range []string{"tcp", "tls", "ws", "wss"} {
		t.Run(transport, func(t *testing.T) {
			ua, err := sipgo.NewUA(sipgo.WithUserAgent("e2e-"+transport), sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool}))
			if err != nil {
				t.Fatal(err)
			}
			defer ua.Close()
			srv, _ := sipgo.NewServer(ua)
			byes := make(chan *sip.Request, 1)
			srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
				byes <- req
			})
			cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
			u := &uac{t: t, cli: cli}
			host, port := splitHostPort(t, a.SIPTransportAddr(transport))
			target := sip.Uri{Scheme: "sip", User: "echo", Host: host, Port: port, UriParams: sip.NewParams()}
			target.UriParams.Add("transport", transport)
			inv := sip.NewRequest(sip.INVITE, target)
			inv.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uac", Host: "uac.invalid"}})
			inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			inv.SetBody([]byte(pcmuOffer))
			res, err := cli.Do(t.Context(), inv)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("INVITE over %s: %v %v", transport, err, res)
			}
			if ct := res.Contact(); ct == nil || !strings.EqualFold(ct.Address.UriParams.GetOr("transport", ""), transport) {
				t.Errorf("Contact %v does not say transport=%s", res.Contact(), transport)
			}
			u.ack(inv, res, "")
			callID := inv.CallID().Value()
			ce.wait(t, typeAnswered, callID, 1, 5*time.Second)
			if r := cmdReq[events.Reply](t, nc, "hangup", map[string]any{"call_id": callID}); r.Code != 200 {
				t.Fatalf("hangup: %+v", r)
			}
			select {
			case bye := <-byes:
				if bye.CallID().Value() != callID || !strings.EqualFold(bye.Transport(), transport) {
					t.Errorf("BYE %s over %s", bye.CallID().Value(), bye.Transport())
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no BYE over %s (the caller's Contact is unreachable: it must reuse the connection)", transport)
			}
		})
	}
}
