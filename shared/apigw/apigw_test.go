package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

const webhookRoute = "ANY /webhooks/{provider}"

func gateway(t *testing.T, invoke Invoker, routes ...string) *Gateway {
	t.Helper()
	g, err := New(invoke, routes...)
	if err != nil {
		t.Fatal(err)
	}
	g.Now = func() time.Time { return time.Date(2026, 3, 12, 19, 3, 58, 0, time.UTC) }
	g.Log = slog.New(slog.DiscardHandler)
	return g
}

func decodedBody(t *testing.T, ev events.APIGatewayV2HTTPRequest) []byte {
	t.Helper()
	if !ev.IsBase64Encoded {
		return []byte(ev.Body)
	}
	b, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		t.Fatalf("body %q: %v", ev.Body, err)
	}
	return b
}

func TestEvent(t *testing.T) {
	g := gateway(t, nil, webhookRoute)
	tests := []struct {
		name    string
		method  string
		target  string
		header  [][2]string
		body    string
		base64  bool
		check   func(t *testing.T, ev events.APIGatewayV2HTTPRequest)
		wantErr error
	}{
		{
			name: "json webhook", method: http.MethodPost,
			target: "http://abc123.execute-api.us-east-1.amazonaws.com/webhooks/stripe?b=2&a=1&b=3&c=x%20y",
			header: [][2]string{
				{"Content-Type", "application/json"}, {"Stripe-Signature", "t=1,v1=ab"},
				{"X-Multi", "one"}, {"X-Multi", "two"},
				{"Cookie", "a=1; b=2"}, {"Cookie", "c=3"}, {"User-Agent", "Stripe/1.0"},
				{"X-Forwarded-For", "203.0.113.9"},
			},
			body: `{"id":"evt_1"}`,
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				want := map[string]string{
					"content-type": "application/json", "stripe-signature": "t=1,v1=ab", "x-multi": "one,two",
					"user-agent": "Stripe/1.0", "host": "abc123.execute-api.us-east-1.amazonaws.com",
					"content-length": "14", "x-forwarded-for": "203.0.113.9, 192.0.2.1",
					"x-forwarded-proto": "http", "x-forwarded-port": "80",
				}
				trace := ev.Headers["x-amzn-trace-id"]
				if !strings.HasPrefix(trace, "Root=1-") {
					t.Errorf("x-amzn-trace-id = %q", trace)
				}
				got := maps.Clone(ev.Headers)
				delete(got, "x-amzn-trace-id")
				if !maps.Equal(got, want) {
					t.Errorf("headers = %v\nwant %v", got, want)
				}
				if !slices.Equal(ev.Cookies, []string{"a=1", "b=2", "c=3"}) {
					t.Errorf("cookies = %q", ev.Cookies)
				}
				if ev.RawQueryString != "b=2&a=1&b=3&c=x%20y" {
					t.Errorf("rawQueryString = %q", ev.RawQueryString)
				}
				if q := ev.QueryStringParameters; !maps.Equal(q, map[string]string{"a": "1", "b": "2,3", "c": "x y"}) {
					t.Errorf("queryStringParameters = %v", q)
				}
				if !maps.Equal(ev.PathParameters, map[string]string{"provider": "stripe"}) || ev.RouteKey != webhookRoute {
					t.Errorf("route %q params %v", ev.RouteKey, ev.PathParameters)
				}
				rc := ev.RequestContext
				if ev.Version != "2.0" || ev.RawPath != "/webhooks/stripe" || rc.HTTP.Path != "/webhooks/stripe" ||
					rc.HTTP.Method != "POST" || rc.HTTP.SourceIP != "192.0.2.1" || rc.HTTP.Protocol != "HTTP/1.1" ||
					rc.HTTP.UserAgent != "Stripe/1.0" || rc.DomainName != "abc123.execute-api.us-east-1.amazonaws.com" ||
					rc.DomainPrefix != "abc123" || rc.Stage != "$default" || rc.RouteKey != webhookRoute ||
					rc.AccountID != "000000000000" || rc.APIID != "local" || rc.RequestID == "" ||
					rc.Time != "12/Mar/2026:19:03:58 +0000" || rc.TimeEpoch != 1773342238000 {
					t.Errorf("event = %+v", ev)
				}
			},
		},
		{
			name: "form is base64", method: http.MethodPost, target: "http://h.example/webhooks/twilio",
			header: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}},
			body:   "MessageSid=SM1&MessageStatus=delivered", base64: true,
		},
		{
			name: "xml is text", method: http.MethodPost, target: "http://h.example/webhooks/salesforce",
			header: [][2]string{{"Content-Type", "text/xml; charset=utf-8"}},
			body:   `<?xml version="1.0"?><a/>`,
		},
		{
			name: "vendor json is text", method: http.MethodPost, target: "http://h.example/webhooks/x",
			header: [][2]string{{"Content-Type", "application/vnd.api+json"}}, body: `[]`,
		},
		{
			name: "json that is not UTF-8 is base64", method: http.MethodPost, target: "http://h.example/webhooks/x",
			header: [][2]string{{"Content-Type", "application/json"}}, body: "{\"a\":\"\xff\xfe\"}", base64: true,
		},
		{
			name: "no content type is base64", method: http.MethodPost, target: "http://h.example/webhooks/x",
			body: "plain", base64: true,
		},
		{
			name: "no body", method: http.MethodHead, target: "http://h.example:8080/webhooks/trello",
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				if ev.Body != "" || ev.IsBase64Encoded {
					t.Errorf("body %q base64 %v", ev.Body, ev.IsBase64Encoded)
				}
				if _, ok := ev.Headers["content-length"]; ok {
					t.Errorf("content-length without a body: %v", ev.Headers)
				}
				if ev.Headers["x-forwarded-port"] != "8080" || ev.RequestContext.DomainName != "h.example:8080" || ev.RequestContext.DomainPrefix != "h" {
					t.Errorf("port/domain: %v %+v", ev.Headers, ev.RequestContext)
				}
				if ev.QueryStringParameters != nil || ev.Cookies != nil {
					t.Errorf("query %v cookies %v", ev.QueryStringParameters, ev.Cookies)
				}
			},
		},
		{
			name: "escaped parameter", method: http.MethodPost, target: "http://h.example/webhooks/a%2Fb",
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				if ev.RawPath != "/webhooks/a%2Fb" || ev.PathParameters["provider"] != "a/b" {
					t.Errorf("rawPath %q params %v", ev.RawPath, ev.PathParameters)
				}
			},
		},
		{name: "no route", method: http.MethodPost, target: "http://h.example/other", wantErr: ErrNoRoute},
		{name: "trailing slash", method: http.MethodPost, target: "http://h.example/webhooks/stripe/", wantErr: ErrNoRoute},
		{name: "too deep", method: http.MethodPost, target: "http://h.example/webhooks/stripe/x", wantErr: ErrNoRoute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			r := httptest.NewRequest(tc.method, tc.target, body)
			for _, kv := range tc.header {
				r.Header.Add(kv[0], kv[1])
			}
			ev, err := g.Event(r)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.IsBase64Encoded != tc.base64 {
				t.Errorf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tc.base64)
			}
			if got := decodedBody(t, ev); string(got) != tc.body {
				t.Errorf("body = %q, want %q", got, tc.body)
			}
			// The event survives the JSON trip to the function unchanged.
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var back events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &back); err != nil || string(decodedBody(t, back)) != tc.body {
				t.Fatalf("after JSON: body %q, err %v", decodedBody(t, back), err)
			}
			if tc.check != nil {
				tc.check(t, ev)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	g := gateway(t, nil, "ANY /webhooks/{provider}", "HEAD /webhooks/trello", "GET /files/{path+}", "POST /{a}/{b}", "$default")
	tests := []struct {
		method, path, route string
		params              map[string]string
	}{
		{"POST", "/webhooks/stripe", "ANY /webhooks/{provider}", map[string]string{"provider": "stripe"}},
		{"HEAD", "/webhooks/trello", "HEAD /webhooks/trello", nil},
		{"GET", "/webhooks/trello", "ANY /webhooks/{provider}", map[string]string{"provider": "trello"}},
		{"GET", "/files/a/b%20c/d", "GET /files/{path+}", map[string]string{"path": "a/b c/d"}},
		{"GET", "/files", "$default", nil},
		{"POST", "/x/y", "POST /{a}/{b}", map[string]string{"a": "x", "b": "y"}},
		{"DELETE", "/x/y", "$default", nil},
		{"GET", "/", "$default", nil},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			ev, err := g.Event(httptest.NewRequest(tc.method, tc.path, nil))
			if err != nil {
				t.Fatal(err)
			}
			if ev.RouteKey != tc.route || !maps.Equal(ev.PathParameters, tc.params) {
				t.Fatalf("route %q params %v, want %q %v", ev.RouteKey, ev.PathParameters, tc.route, tc.params)
			}
		})
	}
}

func TestParseRoute(t *testing.T) {
	for _, key := range []string{"$default", "ANY /", "POST /webhooks/{provider}", "GET /a/{rest+}"} {
		if _, err := ParseRoute(key); err != nil {
			t.Errorf("ParseRoute(%q) = %v", key, err)
		}
	}
	for _, key := range []string{"", "/x", "FETCH /x", "GET x", "GET /a//b", "GET /{}", "GET /{a+}/b", "GET /a{b}"} {
		if _, err := ParseRoute(key); !errors.Is(err, ErrRoute) {
			t.Errorf("ParseRoute(%q) = %v, want ErrRoute", key, err)
		}
	}
}

func TestTextual(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "text/plain": true,
		"text/xml; charset=utf-8": true, "application/xml": true, "application/soap+xml": true,
		"application/cloudevents+json": true, "application/x-www-form-urlencoded": false,
		"application/octet-stream": false, "multipart/form-data; boundary=x": false, "": false, "garbage/": false,
	} {
		if got := Textual(ct); got != want {
			t.Errorf("Textual(%q) = %v, want %v", ct, got, want)
		}
	}
}

// echo is a function that answers with what it received.
func echo(resp func(ev events.APIGatewayV2HTTPRequest) any) Invoker {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		return json.Marshal(resp(ev))
	}
}

func TestServeHTTP(t *testing.T) {
	structured := echo(func(ev events.APIGatewayV2HTTPRequest) any {
		return events.APIGatewayV2HTTPResponse{
			StatusCode:        201,
			Headers:           map[string]string{"Content-Type": "application/json", "X-Provider": ev.PathParameters["provider"]},
			MultiValueHeaders: map[string][]string{"X-Many": {"1", "2"}},
			Cookies:           []string{"s=1; Path=/", "t=2"},
			Body:              `{"ok":true}`,
		}
	})
	binary := echo(func(ev events.APIGatewayV2HTTPRequest) any {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: base64.StdEncoding.EncodeToString([]byte{0, 1, 0xff}), IsBase64Encoded: true}
	})
	fixed := func(out string, err error) Invoker {
		return func(context.Context, []byte) ([]byte, error) { return []byte(out), err }
	}
	tests := []struct {
		name       string
		invoke     Invoker
		method     string
		path       string
		body       string
		limit      int64
		wantStatus int
		wantBody   string
		check      func(t *testing.T, h http.Header)
	}{
		{
			name: "structured response", invoke: structured, path: "/webhooks/stripe", wantStatus: 201, wantBody: `{"ok":true}`,
			check: func(t *testing.T, h http.Header) {
				if h.Get("X-Provider") != "stripe" || !slices.Equal(h.Values("X-Many"), []string{"1", "2"}) ||
					!slices.Equal(h.Values("Set-Cookie"), []string{"s=1; Path=/", "t=2"}) ||
					h.Get("Content-Type") != "application/json" || h.Get("Apigw-Requestid") == "" {
					t.Errorf("headers = %v", h)
				}
			},
		},
		{name: "base64 response is decoded", invoke: binary, path: "/webhooks/x", wantStatus: 200, wantBody: "\x00\x01\xff",
			check: func(t *testing.T, h http.Header) {
				if ct := h.Get("Content-Type"); ct != "" {
					t.Errorf("sniffed Content-Type %q", ct)
				}
			}},
		{name: "HEAD gets no body", invoke: structured, method: http.MethodHead, path: "/webhooks/trello", wantStatus: 201},
		{name: "response without statusCode", invoke: fixed(`{"hello":"world"}`, nil), path: "/webhooks/x", wantStatus: 200, wantBody: `{"hello":"world"}`,
			check: func(t *testing.T, h http.Header) {
				if h.Get("Content-Type") != "application/json" {
					t.Errorf("Content-Type %q", h.Get("Content-Type"))
				}
			}},
		{name: "function error is 502", invoke: fixed("", errors.New("boom")), path: "/webhooks/x", wantStatus: 502, wantBody: `{"message":"Internal Server Error"}`},
		{name: "not JSON is 502", invoke: fixed("hello", nil), path: "/webhooks/x", wantStatus: 502, wantBody: `{"message":"Internal Server Error"}`},
		{name: "bad status is 502", invoke: fixed(`{"statusCode":42}`, nil), path: "/webhooks/x", wantStatus: 502},
		{name: "bad base64 is 502", invoke: fixed(`{"statusCode":200,"isBase64Encoded":true,"body":"!!"}`, nil), path: "/webhooks/x", wantStatus: 502},
		{name: "no route is 404", invoke: structured, path: "/nope", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "too large is 413", invoke: structured, path: "/webhooks/x", body: "12345", limit: 4, wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`},
		{name: "at the limit", invoke: structured, path: "/webhooks/x", body: "1234", limit: 4, wantStatus: 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := gateway(t, tc.invoke, webhookRoute)
			g.MaxBodyBytes = tc.limit
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, httptest.NewRequest(method, tc.path, strings.NewReader(tc.body)))
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d (%s), want %d", w.Code, w.Body, tc.wantStatus)
			}
			if tc.wantBody != "" && w.Body.String() != tc.wantBody {
				t.Errorf("body = %q, want %q", w.Body, tc.wantBody)
			}
			if method == http.MethodHead && w.Body.Len() != 0 {
				t.Errorf("HEAD answered with a body %q", w.Body)
			}
			if tc.check != nil {
				tc.check(t, w.Header())
			}
		})
	}
}

// TestOverTheNetwork serves the gateway on a real port: the request's body
// reaches the function byte for byte, whatever its content type, and the
// answer comes back.
func TestOverTheNetwork(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	g := gateway(t, func(ctx context.Context, payload []byte) ([]byte, error) {
		if err := json.Unmarshal(payload, &got); err != nil {
			return nil, err
		}
		return []byte(`{"statusCode":202,"headers":{"content-type":"text/plain"},"body":"queued"}`), nil
	}, webhookRoute)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	body := []byte("a=1&b=%C3%A9&raw=\x00\xff")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/twilio?x=1", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", "sig")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 202 || string(answer) != "queued" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("answer %d %q %v", resp.StatusCode, answer, resp.Header)
	}
	if !bytes.Equal(decodedBody(t, got), body) || !got.IsBase64Encoded {
		t.Fatalf("function got body %q (base64 %v)", decodedBody(t, got), got.IsBase64Encoded)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if got.RequestContext.DomainName != host || got.Headers["host"] != host || got.Headers["x-twilio-signature"] != "sig" ||
		got.RequestContext.HTTP.SourceIP != "127.0.0.1" || got.RawQueryString != "x=1" || got.Headers["content-length"] != strconv.Itoa(len(body)) {
		t.Fatalf("event = %+v", got)
	}
}

// TestSampleEvent checks a testdata event of AWS's documented shape against
// ours field by field (apart from the per-request ids and times).
func TestSampleEvent(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "v2-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	g := gateway(t, nil, "POST /my/{path}")
	g.AccountID, g.APIID = want.RequestContext.AccountID, want.RequestContext.APIID
	r := httptest.NewRequest(http.MethodPost, "https://"+want.RequestContext.DomainName+want.RawPath+"?"+want.RawQueryString, strings.NewReader(want.Body))
	r.RemoteAddr = want.RequestContext.HTTP.SourceIP + ":4711"
	r.Header.Add("Header1", "value1")
	r.Header.Add("Header2", "value1")
	r.Header.Add("Header2", "value2")
	r.Header.Add("Cookie", "cookie1; cookie2")
	r.Header.Set("User-Agent", want.RequestContext.HTTP.UserAgent)
	r.Header.Set("Content-Type", "text/plain")
	got, err := g.Event(r)
	if err != nil {
		t.Fatal(err)
	}
	got.RequestContext.RequestID, got.RequestContext.Time, got.RequestContext.TimeEpoch = want.RequestContext.RequestID, want.RequestContext.Time, want.RequestContext.TimeEpoch
	for _, k := range []string{"x-amzn-trace-id", "host", "user-agent", "content-type", "content-length", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"} {
		if got.Headers[k] == "" {
			t.Errorf("header %s missing", k)
		}
		delete(got.Headers, k)
	}
	g1, _ := json.Marshal(got)
	w1, _ := json.Marshal(want)
	if !bytes.Equal(g1, w1) {
		t.Fatalf("event\n got %s\nwant %s", g1, w1)
	}
}

func FuzzBodyRoundTrip(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1"}`), "application/json")
	f.Add([]byte("a=1&b=2"), "application/x-www-form-urlencoded")
	f.Add([]byte("<a>\xff</a>"), "text/xml")
	f.Add([]byte{}, "")
	g := &Gateway{}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/x", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		ev, err := g.Event(r)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var back events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if got := decodedBody(t, back); !bytes.Equal(got, body) {
			t.Fatalf("body %q came through as %q", body, got)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"statusCode":200,"body":"x"}`))
	f.Add([]byte(`{"statusCode":200,"isBase64Encoded":true,"body":"eA=="}`))
	f.Add([]byte(`"just a string"`))
	f.Add([]byte(`{"statusCode":"200"}`))
	f.Add([]byte(`nope`))
	f.Fuzz(func(t *testing.T, out []byte) {
		resp, err := ParseResponse(out)
		if err != nil {
			if !errors.Is(err, ErrResponse) {
				t.Fatalf("error %v does not wrap ErrResponse", err)
			}
			return
		}
		if resp.StatusCode < 100 || resp.StatusCode > 599 || resp.IsBase64Encoded {
			t.Fatalf("accepted %+v", resp)
		}
		w := httptest.NewRecorder()
		g := &Gateway{Invoke: func(context.Context, []byte) ([]byte, error) { return out, nil }, Log: slog.New(slog.DiscardHandler)}
		g.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", nil))
		if w.Code != resp.StatusCode || w.Body.String() != resp.Body {
			t.Fatalf("served %d %q, parsed %d %q", w.Code, w.Body, resp.StatusCode, resp.Body)
		}
	})
}
