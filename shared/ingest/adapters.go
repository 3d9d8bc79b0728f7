package ingest

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// RoutePrefix is the path under which providers post.
const RoutePrefix = "/webhooks/"

// ServeHTTP adapts plain HTTP (the dev server) to Handle. Mount it at
// RoutePrefix; the provider is the path segment after it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	provider := r.PathValue("provider")
	if provider == "" {
		provider = strings.Trim(strings.TrimPrefix(r.URL.Path, RoutePrefix), "/")
	}
	req := Request{
		Method:   r.Method,
		Provider: provider,
		Header:   r.Header,
		SourceIP: remoteIP(r.RemoteAddr),
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		req.TooLarge = true
	} else {
		body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBodyBytes+1))
		if err != nil {
			h.log.WarnContext(r.Context(), "read body", "provider", provider, "error", err.Error())
			writeResponse(w, jsonError(http.StatusBadRequest, "could not read the request body"))
			return
		}
		req.Body = body
		req.TooLarge = int64(len(body)) > h.cfg.MaxBodyBytes
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	req.URL = h.publicURL(scheme, r.Host, provider, r.URL.RawQuery)
	writeResponse(w, h.Handle(r.Context(), req))
}

func writeResponse(w http.ResponseWriter, resp Response) {
	if resp.ContentType != "" {
		w.Header().Set("Content-Type", resp.ContentType)
	}
	w.WriteHeader(resp.Status)
	if len(resp.Body) > 0 {
		_, _ = w.Write(resp.Body)
	}
}

// HandleAPIGateway adapts an API Gateway HTTP API (payload v2) event. The
// body is verified as the exact bytes received: base64-decoded when API
// Gateway encoded it, never re-encoded.
func (h *Handler) HandleAPIGateway(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	provider := ev.PathParameters["provider"]
	if provider == "" {
		path := ev.RawPath
		if i := strings.Index(path, RoutePrefix); i >= 0 {
			provider = strings.Trim(path[i+len(RoutePrefix):], "/")
		}
	}
	header := make(http.Header, len(ev.Headers)+1)
	for k, v := range ev.Headers {
		header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if len(ev.Cookies) > 0 {
		header["Cookie"] = []string{strings.Join(ev.Cookies, "; ")}
	}
	req := Request{
		Method:   ev.RequestContext.HTTP.Method,
		Provider: provider,
		Header:   header,
	}
	if a, err := netip.ParseAddr(ev.RequestContext.HTTP.SourceIP); err == nil {
		req.SourceIP = a
	}
	switch {
	case !ev.IsBase64Encoded:
		req.Body = []byte(ev.Body)
		req.TooLarge = int64(len(req.Body)) > h.cfg.MaxBodyBytes
	case base64DecodedLen(ev.Body) > h.cfg.MaxBodyBytes:
		// Too large whatever it decodes to: not decoded at all.
		req.TooLarge = true
	default:
		decoded, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return toAPIGateway(jsonError(http.StatusBadRequest, "body is not valid base64")), nil
		}
		req.Body = decoded
		req.TooLarge = int64(len(decoded)) > h.cfg.MaxBodyBytes
	}
	scheme := header.Get("X-Forwarded-Proto")
	if scheme == "" {
		scheme = "https"
	}
	host := ev.RequestContext.DomainName
	if host == "" {
		host = header.Get("Host")
	}
	req.URL = h.publicURL(scheme, host, provider, ev.RawQueryString)
	return toAPIGateway(h.Handle(ctx, req)), nil
}

// base64DecodedLen is the length padded standard base64 s decodes to
// (exact for valid input, computed without decoding).
func base64DecodedLen(s string) int64 {
	n := int64(base64.StdEncoding.DecodedLen(len(s)))
	for i := len(s) - 1; i >= 0 && i >= len(s)-2 && s[i] == '='; i-- {
		n--
	}
	return n
}

func toAPIGateway(r Response) events.APIGatewayV2HTTPResponse {
	out := events.APIGatewayV2HTTPResponse{StatusCode: r.Status, Body: string(r.Body)}
	if r.ContentType != "" {
		out.Headers = map[string]string{"Content-Type": r.ContentType}
	}
	return out
}

// publicURL is the URL the provider called: HOOKSTACK_PUBLIC_URL when set
// (behind proxies and custom domains), else the request's own host.
func (h *Handler) publicURL(scheme, host, provider, rawQuery string) string {
	base := h.cfg.PublicURL
	if base == "" {
		base = scheme + "://" + host
	}
	u := base + RoutePrefix + provider
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	return u
}

func remoteIP(remoteAddr string) netip.Addr {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
