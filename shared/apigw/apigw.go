// Package apigw plays Amazon API Gateway HTTP API in front of a Lambda
// function, for tests and local runs of the deployable binaries: a Gateway is
// an http.Handler that turns each request into the payload format 2.0 event
// (events.APIGatewayV2HTTPRequest) exactly as API Gateway builds it, invokes
// the function with it and writes the function's
// events.APIGatewayV2HTTPResponse back.
//
// What it reproduces (AWS: "Create AWS Lambda proxy integrations for HTTP
// APIs", payload format 2.0, and "Handling Lambda errors with an API Gateway
// API"):
//   - header names lower-cased, repeated headers joined with commas, the
//     Cookie headers moved to cookies (one entry per cookie), host,
//     content-length and the x-forwarded-for/-port/-proto headers added;
//   - rawPath and rawQueryString as received, queryStringParameters with
//     repeated names joined with commas, pathParameters from the matched
//     route ("ANY /webhooks/{provider}", greedy "{proxy+}", or "$default");
//   - requestContext: accountId, apiId, domainName (the Host header),
//     domainPrefix, http {method, path, protocol, sourceIp, userAgent},
//     requestId, routeKey, stage "$default", time, timeEpoch;
//   - the body as a string, base64-encoded with isBase64Encoded unless the
//     content type is text (text/*, JSON, XML) and the bytes are UTF-8;
//   - the response: statusCode, headers, multiValueHeaders, cookies (one
//     Set-Cookie each), body (base64-decoded when isBase64Encoded); a
//     response without statusCode is a 200 application/json whose body is
//     the function's output;
//   - errors: no route → 404 {"message":"Not Found"}, a body over the 10 MB
//     payload quota → 413, a function error or a malformed response → 502
//     {"message":"Internal Server Error"}.
//
// Differences from AWS, on purpose: domainName keeps the Host's port (a
// local server has one; API Gateway never does), x-forwarded-proto is the
// scheme actually used (http for a plain local server), only the $default
// stage exists, and there are no authorizers, throttling or 30 s
// integration timeout.
package apigw

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Invoker calls the integrated function with an event (JSON) and returns its
// response payload. An error means the invocation or the function failed
// (e.g. *rie.FunctionError): the client gets a 502.
type Invoker func(ctx context.Context, payload []byte) ([]byte, error)

// MaxBodyBytes is API Gateway HTTP API's payload quota (10 MB).
const MaxBodyBytes = 10 << 20

// DefaultRoute is the route key of the catch-all route.
const DefaultRoute = "$default"

// Errors.
var (
	// ErrRoute: a route key that is not "$default" or "METHOD /path".
	ErrRoute = errors.New("invalid route key")
	// ErrNoRoute: no route matches the request (API Gateway answers 404).
	ErrNoRoute = errors.New("no route matches")
	// ErrTooLarge: the body exceeds the payload quota (413).
	ErrTooLarge = errors.New("request body too large")
	// ErrResponse: the function's response is not one API Gateway accepts (502).
	ErrResponse = errors.New("malformed function response")
)

// Route is one route of the API: a method (or ANY) and a path template with
// {name} segments and an optional last greedy {name+} segment.
type Route struct {
	Key      string
	method   string
	segments []string
}

// ParseRoute parses a route key: "$default", or "METHOD /path/{param}/{rest+}"
// with METHOD one of ANY, GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS.
func ParseRoute(key string) (Route, error) {
	if key == DefaultRoute {
		return Route{Key: key}, nil
	}
	method, path, ok := strings.Cut(key, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		return Route{}, fmt.Errorf("%w %q: want \"$default\" or \"METHOD /path\"", ErrRoute, key)
	}
	switch method {
	case "ANY", http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
	default:
		return Route{}, fmt.Errorf("%w %q: method %q", ErrRoute, key, method)
	}
	r := Route{Key: key, method: method}
	if path != "/" {
		r.segments = strings.Split(strings.TrimPrefix(path, "/"), "/")
	}
	for i, s := range r.segments {
		name, isParam := paramName(s)
		switch {
		case s == "":
			return Route{}, fmt.Errorf("%w %q: empty path segment", ErrRoute, key)
		case isParam && name == "":
			return Route{}, fmt.Errorf("%w %q: empty parameter name", ErrRoute, key)
		case isParam && strings.HasSuffix(name, "+") && i != len(r.segments)-1:
			return Route{}, fmt.Errorf("%w %q: a greedy parameter must be last", ErrRoute, key)
		case !isParam && strings.ContainsAny(s, "{}"):
			return Route{}, fmt.Errorf("%w %q: segment %q", ErrRoute, key, s)
		}
	}
	return r, nil
}

func paramName(seg string) (string, bool) {
	if len(seg) >= 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

// match reports whether the route takes method and the escaped path, with
// the path parameters (unescaped) and a rank: higher is more specific.
func (r Route) match(method, rawPath string) (params map[string]string, rank []int, ok bool) {
	if r.Key == DefaultRoute {
		return nil, nil, true
	}
	if r.method != "ANY" && r.method != method {
		return nil, nil, false
	}
	var parts []string
	if p := strings.TrimPrefix(rawPath, "/"); p != "" {
		parts = strings.Split(p, "/")
	}
	for i, seg := range r.segments {
		name, isParam := paramName(seg)
		if isParam && strings.HasSuffix(name, "+") {
			rest := strings.Join(parts[min(i, len(parts)):], "/")
			if rest == "" {
				return nil, nil, false
			}
			v, err := url.PathUnescape(rest)
			if err != nil {
				return nil, nil, false
			}
			params = setParam(params, strings.TrimSuffix(name, "+"), v)
			rank = append(rank, 0)
			return params, append(rank, methodRank(r.method)), true
		}
		if i >= len(parts) || parts[i] == "" {
			return nil, nil, false
		}
		if !isParam {
			if parts[i] != seg {
				return nil, nil, false
			}
			rank = append(rank, 2)
			continue
		}
		v, err := url.PathUnescape(parts[i])
		if err != nil {
			return nil, nil, false
		}
		params = setParam(params, name, v)
		rank = append(rank, 1)
	}
	if len(parts) != len(r.segments) {
		return nil, nil, false
	}
	return params, append(rank, methodRank(r.method)), true
}

func setParam(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func methodRank(m string) int {
	if m == "ANY" {
		return 0
	}
	return 1
}

// moreSpecific compares ranks segment by segment (literal > parameter >
// greedy), then the method (exact > ANY).
func moreSpecific(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return len(a) > len(b)
}

// Gateway is an HTTP API with one Lambda integration behind all its routes.
type Gateway struct {
	// Invoke calls the function.
	Invoke Invoker
	// Routes are the API's routes; none means only $default.
	Routes []Route
	// AccountID and APIID fill requestContext (defaults "000000000000",
	// "local").
	AccountID, APIID string
	// MaxBodyBytes bounds request bodies (default MaxBodyBytes).
	MaxBodyBytes int64
	// Now is the clock of requestContext.time (default time.Now).
	Now func() time.Time
	// Log gets one line per failed invocation (default slog.Default()).
	Log *slog.Logger
}

// New returns a Gateway with the given route keys (see ParseRoute).
func New(invoke Invoker, routeKeys ...string) (*Gateway, error) {
	g := &Gateway{Invoke: invoke}
	for _, k := range routeKeys {
		r, err := ParseRoute(k)
		if err != nil {
			return nil, err
		}
		g.Routes = append(g.Routes, r)
	}
	return g, nil
}

func (g *Gateway) now() time.Time {
	if g.Now == nil {
		return time.Now()
	}
	return g.Now()
}

func (g *Gateway) log() *slog.Logger {
	if g.Log == nil {
		return slog.Default()
	}
	return g.Log
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// route picks the most specific route for the request.
func (g *Gateway) route(method, rawPath string) (Route, map[string]string, error) {
	routes := g.Routes
	if len(routes) == 0 {
		routes = []Route{{Key: DefaultRoute}}
	}
	var (
		best       Route
		bestParams map[string]string
		bestRank   []int
		found      bool
	)
	for _, r := range routes {
		params, rank, ok := r.match(method, rawPath)
		if !ok {
			continue
		}
		if r.Key == DefaultRoute {
			if !found {
				best, found = r, true
			}
			continue
		}
		if !found || best.Key == DefaultRoute || moreSpecific(rank, bestRank) {
			best, bestParams, bestRank, found = r, params, rank, true
		}
	}
	if !found {
		return Route{}, nil, fmt.Errorf("%w: %s %s", ErrNoRoute, method, rawPath)
	}
	return best, bestParams, nil
}

// Event reads r (its body up to the payload quota) and returns the event
// API Gateway would send the function: ErrNoRoute or ErrTooLarge when API
// Gateway would answer itself.
func (g *Gateway) Event(r *http.Request) (events.APIGatewayV2HTTPRequest, error) {
	rawPath := r.URL.EscapedPath()
	if rawPath == "" {
		rawPath = "/"
	}
	route, params, err := g.route(r.Method, rawPath)
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	limit := g.MaxBodyBytes
	if limit <= 0 {
		limit = MaxBodyBytes
	}
	var body []byte
	if r.Body != nil {
		if r.ContentLength > limit {
			return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, r.ContentLength, limit)
		}
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("read request body: %w", err)
		}
		if int64(len(body)) > limit {
			return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
	}

	now := g.now().UTC()
	sourceIP := clientIP(r.RemoteAddr)
	headers, cookies := headersOf(r, body, sourceIP)
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key,
		RawPath:               rawPath,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: queryOf(r.URL.RawQuery),
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key,
			AccountID:    orDefault(g.AccountID, "000000000000"),
			Stage:        DefaultRoute,
			RequestID:    requestID(),
			APIID:        orDefault(g.APIID, "local"),
			DomainName:   r.Host,
			DomainPrefix: domainPrefix(r.Host),
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      rawPath,
				Protocol:  orDefault(r.Proto, "HTTP/1.1"),
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if Textual(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev, nil
}

// Textual reports whether API Gateway passes a body of this content type as
// text rather than base64: text/*, JSON and XML media types (with +json and
// +xml suffixes). A form (application/x-www-form-urlencoded) or a missing
// content type is not text.
func Textual(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	typ, sub, _ := strings.Cut(mt, "/")
	switch {
	case typ == "text":
		return true
	case typ != "application":
		return false
	case sub == "json" || sub == "xml" || strings.HasSuffix(sub, "+json") || strings.HasSuffix(sub, "+xml"):
		return true
	}
	return false
}

// headersOf returns the event's headers and cookies.
func headersOf(r *http.Request, body []byte, sourceIP string) (map[string]string, []string) {
	h := make(map[string]string, len(r.Header)+5)
	var cookies []string
	for k, vs := range r.Header {
		name := strings.ToLower(k)
		if name == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		h[name] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		h["host"] = r.Host
	}
	if len(body) > 0 || r.Header.Get("Content-Length") != "" {
		h["content-length"] = strconv.Itoa(len(body))
	} else {
		delete(h, "content-length")
	}
	if sourceIP != "" {
		if prev := h["x-forwarded-for"]; prev != "" {
			h["x-forwarded-for"] = prev + ", " + sourceIP
		} else {
			h["x-forwarded-for"] = sourceIP
		}
	}
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil && p != "" {
		port = p
	}
	h["x-forwarded-proto"] = proto
	h["x-forwarded-port"] = port
	if h["x-amzn-trace-id"] == "" {
		h["x-amzn-trace-id"] = traceID()
	}
	return h, cookies
}

// queryOf parses the query as API Gateway does: repeated names joined with
// commas; nil when there is none. Malformed pairs are skipped.
func queryOf(raw string) map[string]string {
	if raw == "" {
		return nil
	}
	var out map[string]string
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || key == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		if prev, ok := out[key]; ok {
			out[key] = prev + "," + val
		} else {
			out[key] = val
		}
	}
	return out
}

func clientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	if ip := net.ParseIP(host); ip != nil {
		if v4 := ip.To4(); v4 != nil {
			return v4.String()
		}
		return ip.String()
	}
	return ""
}

func domainPrefix(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return host
	}
	p, _, _ := strings.Cut(host, ".")
	return p
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// requestID looks like API Gateway's ("JKJaXmPLvHcESHA=").
func requestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func traceID() string {
	return fmt.Sprintf("Root=1-%08x-%s", time.Now().Unix(), randomHex(12))
}

// ParseResponse reads a function's response as API Gateway does for payload
// format 2.0: a JSON object with statusCode is the structured response; any
// other JSON is a 200 application/json response whose body is the output.
// The body is returned decoded (isBase64Encoded cleared). Anything else
// (not JSON, a status outside 100..599, bad base64) is ErrResponse.
func ParseResponse(out []byte) (events.APIGatewayV2HTTPResponse, error) {
	trimmed := bytes.TrimSpace(out)
	if !json.Valid(trimmed) {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("%w: not JSON", ErrResponse)
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(trimmed, &probe) != nil || probe["statusCode"] == nil {
		return events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusOK,
			Headers:    map[string]string{"content-type": "application/json"},
			Body:       string(trimmed),
		}, nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(trimmed, &resp); err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("%w: %v", ErrResponse, err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("%w: statusCode %d", ErrResponse, resp.StatusCode)
	}
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("%w: body is not base64: %v", ErrResponse, err)
		}
		resp.Body, resp.IsBase64Encoded = string(b), false
	}
	return resp, nil
}

// ServeHTTP plays the API: route, build the event, invoke, answer.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev, err := g.Event(r)
	switch {
	case errors.Is(err, ErrNoRoute):
		writeMessage(w, http.StatusNotFound, "Not Found", "")
		return
	case errors.Is(err, ErrTooLarge):
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large", "")
		return
	case err != nil:
		writeMessage(w, http.StatusBadRequest, "Bad Request", "")
		return
	}
	id := ev.RequestContext.RequestID
	payload, err := json.Marshal(ev)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error", id)
		return
	}
	out, err := g.Invoke(r.Context(), payload)
	if err != nil {
		g.log().WarnContext(r.Context(), "function error", "route", ev.RouteKey, "request_id", id, "error", err.Error())
		writeMessage(w, http.StatusBadGateway, "Internal Server Error", id)
		return
	}
	resp, err := ParseResponse(out)
	if err != nil {
		g.log().WarnContext(r.Context(), "malformed function response", "route", ev.RouteKey, "request_id", id, "error", err.Error())
		writeMessage(w, http.StatusBadGateway, "Internal Server Error", id)
		return
	}
	h := w.Header()
	// No sniffed Content-Type: API Gateway sends the function's headers only.
	h["Content-Type"] = nil
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("Apigw-Requestid", id)
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, resp.Body)
	}
}

func writeMessage(w http.ResponseWriter, status int, msg, requestID string) {
	w.Header().Set("Content-Type", "application/json")
	if requestID != "" {
		w.Header().Set("Apigw-Requestid", requestID)
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	_, _ = w.Write(b)
}
