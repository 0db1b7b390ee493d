package main

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/moby/spdystream"
)

// upstreamPortForward is the double's WebSocket port-forward protocol: data on channel 0, errors on
// channel 1, each starting with the port as 2 bytes little-endian.
const upstreamPortForward = "v4.channel.k8s.io"

type streamPair struct {
	data, errs *spdystream.Stream
	created    time.Time
}

// requestID pairs a data stream with its error stream: the requestID header, or for clients that
// send none, the error stream's id (the data stream follows it, 2 ids later), as the kubelet does.
func requestID(st *spdystream.Stream) string {
	if id := st.Headers().Get("requestID"); id != "" {
		return id
	}
	if st.Headers().Get("streamType") == "data" {
		return strconv.FormatUint(uint64(st.Identifier())-2, 10)
	}
	return strconv.FormatUint(uint64(st.Identifier()), 10)
}

// servePortForward forwards each (error, data) stream pair the client opens, one TCP connection each,
// over its own WebSocket to the double's port-forward endpoint for that port.
func (s *session) servePortForward() {
	defer s.conn.Close()
	pairs := map[string]*streamPair{}
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	for {
		select {
		case st := <-s.streams:
			id := requestID(st)
			p := pairs[id]
			if p == nil {
				p = &streamPair{created: time.Now()}
				pairs[id] = p
			}
			switch st.Headers().Get("streamType") {
			case "data":
				p.data = st
			case "error":
				p.errs = st
			default:
				_ = st.Reset()
				continue
			}
			if p.data != nil && p.errs != nil {
				delete(pairs, id)
				go s.forward(p)
			}
		case now := <-sweep.C:
			for id, p := range pairs {
				if now.Sub(p.created) > streamCreationTimeout {
					delete(pairs, id)
					for _, st := range []*spdystream.Stream{p.data, p.errs} {
						if st != nil {
							_ = st.Reset()
						}
					}
				}
			}
		case <-s.conn.CloseChan():
			return
		}
	}
}

func (s *session) forward(p *streamPair) {
	defer func() {
		_ = p.data.Close()
		_ = p.errs.Close()
	}()
	port, err := strconv.ParseUint(p.data.Headers().Get("port"), 10, 16)
	if err != nil || port == 0 {
		_, _ = fmt.Fprintf(p.errs, "invalid port %q", p.data.Headers().Get("port"))
		return
	}
	cc, err := s.dial(url.Values{"ports": {strconv.FormatUint(port, 10)}}, upstreamPortForward)
	if err != nil {
		_, _ = fmt.Fprintf(p.errs, "error forwarding port %d: %v", port, err)
		return
	}
	defer cc.close()
	go func() {
		// The client's half-close means its local connection ended: end the upstream connection too.
		_ = pump(p.data, cc, 0)
		cc.close()
	}()
	go func() {
		<-s.conn.CloseChan()
		cc.close()
	}()
	prefix := [2]int{2, 2}
	for {
		channel, data, err := cc.next()
		if err != nil {
			return
		}
		if channel > 1 {
			continue
		}
		skip := prefix[channel]
		if skip > len(data) {
			skip = len(data)
		}
		prefix[channel] -= skip
		data = data[skip:]
		if len(data) == 0 {
			continue
		}
		dst := p.data
		if channel == 1 {
			dst = p.errs
		}
		if _, err := dst.Write(data); err != nil {
			return
		}
	}
}
