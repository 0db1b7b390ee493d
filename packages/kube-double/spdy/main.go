// Command kube-spdy-bridge translates Kubernetes SPDY/3.1 streams to the
// WebSocket channel protocols kube-double serves, so that kubectl's SPDY
// paths (port-forward, and exec/attach/cp with
// KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false) work against the double.
//
// The double starts it once, writes a shared secret as the first line of its
// standard input, and reads "listening HOST:PORT" from its standard output.
// For each SPDY request, after its own authentication and RBAC check, the
// double opens a TCP connection to that port and forwards the client's
// original upgrade request (plus an X-Kube-Double-Upstream header naming the
// double's own address) and then the raw socket. The bridge answers the
// upgrade (raw "Upgrade: SPDY/3.1", or a WebSocket with subprotocol
// "SPDY/3.1+portforward.k8s.io" carrying SPDY frames in binary messages),
// serves SPDY with spdystream as k8s.io/apimachinery's httpstream/spdy does,
// and for each session dials the double's WebSocket endpoint with the
// client's Authorization header, so the double's RBAC applies again.
//
// It exits when its standard input closes (the double exited).
package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

const (
	headerUpstream = "X-Kube-Double-Upstream"
	headerBridge   = "X-Kube-Double-Bridge"
	headerProtocol = "X-Stream-Protocol-Version"
	// tunnelProtocol is the WebSocket subprotocol of SPDY tunnelled in WebSocket (kubectl ≥ 1.31 port-forward).
	tunnelProtocol = "SPDY/3.1+portforward.k8s.io"
	portForwardV1  = "portforward.k8s.io"
	// streamCreationTimeout is how long a session waits for the client to open its streams (the kubelet's default).
	streamCreationTimeout = 30 * time.Second
)

// remoteCommandProtocols are the SPDY remote command versions served, in the server's order of preference.
var remoteCommandProtocols = []string{"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io"}

type bridge struct {
	secret string
	dialer *websocket.Dialer
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	flag.Parse()
	log.SetPrefix("kube-spdy-bridge: ")
	in := bufio.NewReader(os.Stdin)
	secret, err := in.ReadString('\n')
	if err != nil {
		log.Fatalf("reading the secret from standard input: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	go func() {
		// The double holds standard input open for as long as it runs.
		_, _ = io.Copy(io.Discard, in)
		os.Exit(0)
	}()
	b := &bridge{
		secret: strings.TrimSpace(secret),
		dialer: &websocket.Dialer{
			// The upstream is the double itself, reached at the address the client's request arrived on,
			// with the double's throwaway self-signed certificate.
			TLSClientConfig:  &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
			HandshakeTimeout: 10 * time.Second,
			ReadBufferSize:   64 << 10,
			WriteBufferSize:  64 << 10,
		},
	}
	fmt.Printf("listening %s\n", ln.Addr())
	srv := &http.Server{Handler: http.HandlerFunc(b.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

func (b *bridge) serveHTTP(w http.ResponseWriter, r *http.Request) {
	upstream := r.Header.Get(headerUpstream)
	if upstream == "" {
		http.Error(w, "missing "+headerUpstream, http.StatusBadRequest)
		return
	}
	portForward := strings.HasSuffix(r.URL.Path, "/portforward")
	if websocket.IsWebSocketUpgrade(r) {
		if !portForward {
			http.Error(w, "SPDY tunnelled in WebSocket is served for port-forward only", http.StatusBadRequest)
			return
		}
		b.serveTunnel(w, r, upstream)
		return
	}
	if !strings.Contains(strings.ToLower(r.Header.Get("Upgrade")), "spdy/3.1") {
		http.Error(w, "unable to upgrade: missing upgrade headers in request", http.StatusBadRequest)
		return
	}
	served := remoteCommandProtocols
	if portForward {
		served = []string{portForwardV1}
	}
	protocol, ok := negotiate(r.Header.Values(headerProtocol), served)
	if !ok {
		w.Header().Set(headerProtocol, strings.Join(served, ","))
		http.Error(w, fmt.Sprintf("unable to upgrade: unable to negotiate protocol: client supports %v, server supports %v", r.Header.Values(headerProtocol), served), http.StatusForbidden)
		return
	}
	w.Header().Set(headerProtocol, protocol)
	sess := b.session(r, upstream)
	conn := upgradeSPDY(w, r, sess.streams)
	if conn == nil {
		return
	}
	sess.conn = conn
	if portForward {
		sess.servePortForward()
	} else {
		sess.serveRemoteCommand(protocol)
	}
}

// negotiate picks the first protocol the client offers that the server serves, as httpstream.Handshake does.
func negotiate(offered []string, served []string) (string, bool) {
	for _, header := range offered {
		for _, p := range strings.Split(header, ",") {
			p = strings.TrimSpace(p)
			for _, s := range served {
				if p == s {
					return p, true
				}
			}
		}
	}
	return "", false
}

// serveTunnel accepts SPDY tunnelled in a WebSocket: every binary message carries SPDY frame bytes.
func (b *bridge) serveTunnel(w http.ResponseWriter, r *http.Request, upstream string) {
	up := websocket.Upgrader{
		Subprotocols:    []string{tunnelProtocol},
		CheckOrigin:     func(*http.Request) bool { return true },
		ReadBufferSize:  64 << 10,
		WriteBufferSize: 64 << 10,
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	if ws.Subprotocol() != tunnelProtocol {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, "subprotocol "+tunnelProtocol+" required"), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	sess := b.session(r, upstream)
	conn, err := serveSPDY(newWSConn(ws), sess.streams)
	if err != nil {
		_ = ws.Close()
		return
	}
	sess.conn = conn
	sess.servePortForward()
}
