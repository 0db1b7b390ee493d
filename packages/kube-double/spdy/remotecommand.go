package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"time"

	"github.com/moby/spdystream"
)

// Kubernetes channel numbers (k8s.io/apimachinery remotecommand over WebSocket).
const (
	chStdin       = 0
	chStdout      = 1
	chStderr      = 2
	chError       = 3
	chResize      = 4
	chCloseSignal = 255
	// upstreamRemoteCommand is the protocol spoken to the double: v5 is the one with a stdin close signal,
	// which SPDY expresses by half-closing the stdin stream.
	upstreamRemoteCommand = "v5.channel.k8s.io"
)

func flagSet(q url.Values, name string) bool {
	v := q.Get(name)
	return v == "true" || v == "1"
}

// serveRemoteCommand runs one exec or attach session: it waits for the streams the request's options
// call for (as the kubelet does), then relays them to and from the double's WebSocket endpoint.
func (s *session) serveRemoteCommand(protocol string) {
	defer s.conn.Close()
	q := s.req.URL.Query()
	tty := flagSet(q, "tty")
	want := map[string]bool{"error": true}
	for _, name := range []string{"stdin", "stdout", "stderr"} {
		if flagSet(q, name) {
			want[name] = true
		}
	}
	if tty && protocol != "v2.channel.k8s.io" {
		want["resize"] = true
	}
	got := map[string]*spdystream.Stream{}
	timeout := time.NewTimer(streamCreationTimeout)
	defer timeout.Stop()
	for len(got) < len(want) {
		select {
		case st := <-s.streams:
			kind := st.Headers().Get("streamType")
			if !want[kind] || got[kind] != nil {
				_ = st.Reset()
				continue
			}
			got[kind] = st
		case <-timeout.C:
			return
		case <-s.conn.CloseChan():
			return
		}
	}
	errStream := got["error"]
	v4 := protocol == "v4.channel.k8s.io"
	cc, err := s.dial(q, upstreamRemoteCommand)
	if err != nil {
		writeFailure(errStream, err, v4)
		closeAll(got)
		return
	}
	go func() {
		<-s.conn.CloseChan()
		cc.close()
	}()
	if in := got["stdin"]; in != nil {
		go func() {
			if pump(in, cc, chStdin) == io.EOF {
				_ = cc.send(chCloseSignal, []byte{chStdin})
			}
		}()
	}
	if rs := got["resize"]; rs != nil {
		go relayResize(rs, cc)
	}
	for {
		channel, data, err := cc.next()
		if err != nil {
			break
		}
		var dst *spdystream.Stream
		switch channel {
		case chStdout:
			dst = got["stdout"]
		case chStderr:
			dst = got["stderr"]
		case chError:
			if !v4 {
				data = statusText(data)
			}
			dst = errStream
		}
		if dst != nil && len(data) > 0 {
			if _, err := dst.Write(data); err != nil {
				break
			}
		}
	}
	cc.close()
	closeAll(got)
}

// relayResize forwards each terminal size the client sends ({"Width":…,"Height":…}) as one resize message.
func relayResize(rs io.Reader, cc *channelConn) {
	dec := json.NewDecoder(rs)
	for {
		var size json.RawMessage
		if err := dec.Decode(&size); err != nil {
			return
		}
		if err := cc.send(chResize, size); err != nil {
			return
		}
	}
}

// statusText turns a Status from the error channel into the plain message v2 and v3 clients expect
// (nothing for Success).
func statusText(data []byte) []byte {
	var st struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &st) != nil {
		return data
	}
	if st.Status == "Success" {
		return nil
	}
	return []byte(st.Message)
}

// writeFailure reports a refused upstream session on the error stream: the double's Status as is for v4,
// its message for older versions.
func writeFailure(errStream *spdystream.Stream, err error, v4 bool) {
	var ue *upstreamError
	msg := []byte(err.Error())
	if errors.As(err, &ue) && !v4 {
		msg = statusText(ue.body)
	} else if !errors.As(err, &ue) && v4 {
		msg, _ = json.Marshal(map[string]any{"metadata": map[string]any{}, "status": "Failure", "message": err.Error(), "reason": "InternalError", "code": 500})
	}
	_, _ = errStream.Write(msg)
}

func closeAll(streams map[string]*spdystream.Stream) {
	for _, st := range streams {
		_ = st.Close()
	}
}
