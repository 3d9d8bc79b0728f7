package devserver

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The dev server's own API (/api/*) acts on the developer's machine: it
// adds outbound endpoints, replays events and reads every payload received.
// Any web page the developer opens can send requests to 127.0.0.1, so the
// API refuses what only another site would send:
//
//   - a Host that is not this server (DNS rebinding: a hostile name that
//     resolves to 127.0.0.1 makes the browser treat the API as that site's
//     own): 421. Accepted: localhost, 127.0.0.1, [::1], the address the
//     connection came in on and the --addr host, each with the listener's
//     port;
//   - a state-changing request (POST, PUT, PATCH, DELETE) from another
//     origin (an Origin header that is not this server's, or Sec-Fetch-Site:
//     cross-site): 403;
//   - a state-changing request with a body that is not application/json
//     (an HTML form or a "simple" fetch can send text/plain without asking
//     first): 415.
//
// The CLI sends no Origin, a Host of the URL it was given and
// application/json with every body, and passes. /webhooks/* is not guarded:
// providers post there from anywhere, with their own content types.

// guardAPI wraps the /api/ routes with the checks above.
func (s *Server) guardAPI(w http.ResponseWriter, r *http.Request) bool {
	if !s.hostAllowed(r) {
		writeJSON(w, http.StatusMisdirectedRequest, map[string]string{
			"error": "host " + quoteHost(r.Host) + " is not this dev server: open it as http://127.0.0.1:<port> or http://localhost:<port> (requests for other host names are refused: DNS rebinding)",
		})
		return false
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return true
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" || !sameOrigin(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"error": "cross-site request refused: the dev server's API only acts for the inspector and the CLI",
		})
		return false
	}
	if hasBody(r) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{
				"error": "send the body as Content-Type: application/json",
			})
			return false
		}
	}
	return true
}

// hostAllowed checks the Host header's name against this server's names.
// The port is not compared: a forwarded port (ssh -L 9090:127.0.0.1:8080,
// docker -p, an editor's port forwarding) addresses this server under
// another one, and the name alone stops DNS rebinding (a page cannot make
// the browser send Host: localhost); writes from another origin, another
// local port included, are refused by the Origin check.
func (s *Server) hostAllowed(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host // no port
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	var localIP net.IP
	if tcp, ok := local.(*net.TCPAddr); ok {
		localIP = tcp.IP
	}
	switch host {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	if s.listenHost != "" && host == s.listenHost {
		return true
	}
	// An address literal is no DNS name to rebind: the one the client
	// connected to is this server (e.g. a LAN address with --addr 0.0.0.0:8080).
	if ip := net.ParseIP(host); ip != nil && localIP != nil && ip.Equal(localIP) {
		return true
	}
	return false
}

// sameOrigin reports whether the request's Origin, when it has one, is this
// server as the request addresses it.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not sent by a browser for a cross-origin request
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" && u.Path != "/" {
		return false // includes "null" (sandboxed frames, file: pages)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(withPort(u.Host, scheme), withPort(r.Host, scheme))
}

// withPort adds the scheme's default port to a host without one.
func withPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if scheme == "https" {
		return net.JoinHostPort(strings.Trim(host, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}

// hasBody reports whether the request carries (or may carry) a body.
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || r.ContentLength < 0 || len(r.TransferEncoding) > 0
}

// listenHostOf is the host of --addr when it is a name or address to accept
// (not a wildcard).
func listenHostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return ""
	}
	return host
}

func quoteHost(h string) string {
	if len(h) > 100 {
		h = h[:100] + "…"
	}
	return strconv.Quote(h)
}

// WithAddr names the --addr the server listens on: its host is accepted as
// a Host of the API besides localhost and the loopback addresses.
func (s *Server) WithAddr(addr string) *Server {
	s.listenHost = listenHostOf(addr)
	return s
}
