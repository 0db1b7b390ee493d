package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/spdystream"
)

// session is one upgraded client connection: its SPDY connection and the streams the client opens on it.
type session struct {
	b        *bridge
	req      *http.Request
	upstream string
	conn     *spdystream.Connection
	streams  chan *spdystream.Stream
}

func (b *bridge) session(r *http.Request, upstream string) *session {
	return &session{b: b, req: r, upstream: upstream, streams: make(chan *spdystream.Stream, 64)}
}

// upgradeSPDY answers a raw SPDY/3.1 upgrade as apimachinery's responseUpgrader does: 101, hijack, serve.
func upgradeSPDY(w http.ResponseWriter, r *http.Request, streams chan<- *spdystream.Stream) *spdystream.Connection {
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "unable to upgrade: unable to hijack response", http.StatusInternalServerError)
		return nil
	}
	w.Header().Add("Connection", "Upgrade")
	w.Header().Add("Upgrade", "SPDY/3.1")
	w.WriteHeader(http.StatusSwitchingProtocols)
	conn, bufrw, err := hijacker.Hijack()
	if err != nil {
		return nil
	}
	spdyConn, err := serveSPDY(&connWrapper{Conn: conn, bufReader: bufrw.Reader}, streams)
	if err != nil {
		_ = conn.Close()
		return nil
	}
	return spdyConn
}

// serveSPDY runs the server side of a SPDY connection: every stream the client opens is
// accepted (SYN_REPLY) and handed to the session.
func serveSPDY(conn net.Conn, streams chan<- *spdystream.Stream) (*spdystream.Connection, error) {
	spdyConn, err := spdystream.NewConnection(conn, true)
	if err != nil {
		return nil, err
	}
	go spdyConn.Serve(func(s *spdystream.Stream) {
		if err := s.SendReply(http.Header{}, false); err != nil {
			return
		}
		select {
		case streams <- s:
		case <-spdyConn.CloseChan():
		}
	})
	return spdyConn, nil
}

// connWrapper reads through the bufio.Reader of a hijacked connection, which may hold the first SPDY frames.
type connWrapper struct {
	net.Conn
	closed    int32
	bufReader *bufio.Reader
}

func (w *connWrapper) Read(b []byte) (int, error) {
	if atomic.LoadInt32(&w.closed) == 1 {
		return 0, io.EOF
	}
	return w.bufReader.Read(b)
}

func (w *connWrapper) Close() error {
	err := w.Conn.Close()
	atomic.StoreInt32(&w.closed, 1)
	return err
}

// wsConn presents a WebSocket as a byte stream: reads concatenate binary messages, each write is one binary message.
type wsConn struct {
	*websocket.Conn
	r  io.Reader
	wm sync.Mutex
}

func newWSConn(ws *websocket.Conn) *wsConn { return &wsConn{Conn: ws} }

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			kind, r, err := c.NextReader()
			if err != nil {
				return 0, err
			}
			if kind != websocket.BinaryMessage {
				continue
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wm.Lock()
	defer c.wm.Unlock()
	if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// channelConn is a WebSocket to the double speaking a Kubernetes channel protocol: one channel byte, then data.
type channelConn struct {
	ws *websocket.Conn
	wm sync.Mutex
}

// dial opens the double's WebSocket endpoint for this session's path with the given query and subprotocol,
// passing the client's Authorization so that the double authorizes the session itself.
func (s *session) dial(query url.Values, protocol string) (*channelConn, error) {
	u, err := url.Parse(s.upstream)
	if err != nil {
		return nil, err
	}
	u.Path = s.req.URL.Path
	u.RawPath = s.req.URL.RawPath
	u.RawQuery = query.Encode()
	h := http.Header{}
	if a := s.req.Header.Get("Authorization"); a != "" {
		h.Set("Authorization", a)
	}
	h.Set(headerBridge, s.b.secret)
	h.Set("Sec-WebSocket-Protocol", protocol)
	ws, resp, err := s.b.dialer.Dial(u.String(), h)
	if err != nil {
		if resp != nil && resp.Body != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
			if len(body) > 0 {
				return nil, &upstreamError{status: resp.StatusCode, body: body}
			}
		}
		return nil, err
	}
	return &channelConn{ws: ws}, nil
}

type upstreamError struct {
	status int
	body   []byte
}

func (e *upstreamError) Error() string { return string(e.body) }

func (c *channelConn) send(channel byte, data []byte) error {
	frame := make([]byte, len(data)+1)
	frame[0] = channel
	copy(frame[1:], data)
	c.wm.Lock()
	defer c.wm.Unlock()
	return c.ws.WriteMessage(websocket.BinaryMessage, frame)
}

// next returns the next binary message as (channel, data).
func (c *channelConn) next() (byte, []byte, error) {
	for {
		kind, msg, err := c.ws.ReadMessage()
		if err != nil {
			return 0, nil, err
		}
		if kind == websocket.BinaryMessage && len(msg) > 0 {
			return msg[0], msg[1:], nil
		}
	}
}

func (c *channelConn) close() {
	c.wm.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wm.Unlock()
	_ = c.ws.Close()
}

// pump copies a client stream to a channel until the stream ends; it returns the error that ended it (io.EOF on a half-close).
func pump(src io.Reader, dst *channelConn, channel byte) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if werr := dst.send(channel, buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}
