package sample

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hookstack/hookstack/events"
)

// required is the list issue 6 asks `hookstack trigger` to offer, with the
// file each must come from.
var required = []struct{ provider, trigger, file string }{
	{"stripe", "payment_intent.succeeded", "stripe/payment_intent.succeeded.json"},
	{"stripe", "payment_intent.payment_failed", "stripe/payment_intent.payment_failed.json"},
	{"stripe", "charge.refunded", "stripe/charge.refunded.json"},
	{"stripe", "customer.subscription.updated", "stripe/customer.subscription.updated.json"},
	{"stripe", "invoice.paid", "stripe/invoice.paid.json"},
	{"shopify", "inventory_levels/update", "shopify/inventory_levels_update.json"},
	{"shopify", "products/update", "shopify/products_update.json"},
	{"shopify", "orders/create", "shopify/orders_create.json"},
	{"github", "push", "github/push.json"},
	{"github", "pull_request", "github/pull_request.json"},
	{"github", "ping", "github/ping.json"},
	{"slack", "url_verification", "slack/url_verification.json"},
	{"slack", "app_mention", "slack/app_mention.json"},
	{"standard", "inventory.adjusted", "standard/inventory.adjusted.json"},
	{"standard", "lead.created", "standard/lead.created.json"},
	{"livechat", "incoming_chat", "livechat/incoming_chat.json"},
	{"livechat", "chat_deactivated", "livechat/chat_deactivated.json"},
	{"trello", "updateCard", "trello/updateCard.json"},
	{"hubspot", "contact.creation", "hubspot/contact.creation.json"},
	{"hubspot", "contact.propertyChange", "hubspot/contact.propertyChange.json"},
	{"twilio", "message.status", "twilio/message.status.form"},
	{"zoom", "meeting.started", "zoom/meeting.started.json"},
	{"zoom", "endpoint.url_validation", "zoom/endpoint.url_validation.json"},
	{"salesforce", "lead", "salesforce/lead.xml"},
}

func loadAll(t testing.TB) []Sample {
	t.Helper()
	all, err := LoadAll(events.FS)
	if err != nil {
		t.Fatalf("LoadAll(events.FS): %v", err)
	}
	return all
}

func TestLoadAllEmbedded(t *testing.T) {
	all := loadAll(t)
	if len(all) < len(required) {
		t.Fatalf("loaded %d samples, want at least %d", len(all), len(required))
	}
	seen := map[string]bool{}
	for _, s := range all {
		t.Run(s.Path, func(t *testing.T) {
			if len(s.Body) == 0 || s.Type == "" || s.Header.Get("Content-Type") == "" {
				t.Fatalf("incomplete sample: type %q, content-type %q, %d body bytes", s.Type, s.Header.Get("Content-Type"), len(s.Body))
			}
			key := s.Provider + " " + s.Trigger()
			if seen[key] {
				t.Fatalf("two samples answer to %q", key)
			}
			seen[key] = true
			for name := range s.Header {
				if isSignatureHeader(name) {
					t.Fatalf("sample stores the signature header %s", name)
				}
			}
		})
	}
}

func isSignatureHeader(name string) bool {
	switch strings.ToLower(name) {
	case "stripe-signature", "x-hub-signature-256", "x-hub-signature", "x-shopify-hmac-sha256", "x-slack-signature",
		"webhook-signature", "x-trello-webhook", "x-hubspot-signature-v3", "x-hubspot-signature", "x-twilio-signature",
		"x-zm-signature":
		return true
	}
	return false
}

func TestRequiredTriggers(t *testing.T) {
	for _, tt := range required {
		t.Run(tt.provider+"/"+tt.trigger, func(t *testing.T) {
			s, err := Find(events.FS, tt.provider, tt.trigger)
			if err != nil {
				t.Fatal(err)
			}
			if s.Path != tt.file || s.Trigger() != tt.trigger || s.Provider != tt.provider {
				t.Fatalf("Find = %s (trigger %q, provider %s), want %s", s.Path, s.Trigger(), s.Provider, tt.file)
			}
		})
	}
}

func TestFind(t *testing.T) {
	tests := []struct {
		name, provider, arg string
		wantPath, wantType  string
		wantErr             error
	}{
		{"trigger name", "shopify", "inventory_levels/update", "shopify/inventory_levels_update.json", "inventory_levels/update", nil},
		{"file name", "shopify", "inventory_levels_update", "shopify/inventory_levels_update.json", "inventory_levels/update", nil},
		{"exact name beats a variant", "stripe", "charge.refunded", "stripe/charge.refunded.json", "charge.refunded", nil},
		{"variant", "stripe", "charge.refunded_partial", "stripe/charge.refunded_partial.json", "charge.refunded", nil},
		{"unknown type", "stripe", "charge.nope", "", "", ErrNotFound},
		{"unknown provider", "paypal", "x", "", "", ErrUnknownProvider},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Find(events.FS, tt.provider, tt.arg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if s.Path != tt.wantPath || s.Type != tt.wantType {
				t.Fatalf("got %s type %q, want %s type %q", s.Path, s.Type, tt.wantPath, tt.wantType)
			}
		})
	}
	t.Run("not found lists what there is", func(t *testing.T) {
		_, err := Find(events.FS, "github", "issues")
		if err == nil || !strings.Contains(err.Error(), "ping, pull_request, push") {
			t.Fatalf("err = %v, want the list of github samples", err)
		}
	})
}

func TestLoadProviderFromFolder(t *testing.T) {
	fsys := fstest.MapFS{
		"github/push.json":          {Data: []byte(`{"ref":"refs/heads/main"}`)},
		"github/push.headers":       {Data: []byte("# comment\r\nX-GitHub-Event: push\r\n\r\nX-GitHub-Delivery: d1\n")},
		"github/notes.txt":          {Data: []byte("ignored")},
		"twilio/message.form":       {Data: []byte("MessageSid=SM1&MessageStatus=sent")},
		"salesforce/bad.xml":        {Data: []byte("<notifications>")},
		"slack/bad_headers.json":    {Data: []byte(`{"type":"url_verification","challenge":"c"}`)},
		"slack/bad_headers.headers": {Data: []byte("no colon here\n")},
	}
	t.Run("headers and default content type", func(t *testing.T) {
		list, err := LoadProvider(fsys, "github")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Fatalf("got %d samples, want 1 (push.json; notes.txt is not a sample)", len(list))
		}
		s := list[0]
		want := http.Header{"X-Github-Event": {"push"}, "X-Github-Delivery": {"d1"}, "Content-Type": {"application/json"}}
		if len(s.Header) != len(want) || s.Header.Get("X-GitHub-Event") != "push" || s.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers = %v, want %v", s.Header, want)
		}
		if s.Type != "push" || s.Trigger() != "push" {
			t.Fatalf("type %q trigger %q, want push", s.Type, s.Trigger())
		}
	})
	t.Run("form content type", func(t *testing.T) {
		list, err := LoadProvider(fsys, "twilio")
		if err != nil {
			t.Fatal(err)
		}
		if ct := list[0].Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Fatalf("Content-Type = %q", ct)
		}
		if list[0].Trigger() != "message" || list[0].Type != "message.status" {
			t.Fatalf("a variant file keeps its file name as trigger: got %q (type %q)", list[0].Trigger(), list[0].Type)
		}
	})
	t.Run("missing folder", func(t *testing.T) {
		list, err := LoadProvider(fsys, "zoom")
		if err != nil || len(list) != 0 {
			t.Fatalf("got %v, %v; want no samples and no error", list, err)
		}
	})
	t.Run("broken body", func(t *testing.T) {
		if _, err := LoadProvider(fsys, "salesforce"); err == nil || !strings.Contains(err.Error(), "salesforce/bad.xml") {
			t.Fatalf("err = %v, want one naming the file", err)
		}
	})
	t.Run("broken headers", func(t *testing.T) {
		_, err := LoadProvider(fsys, "slack")
		if !errors.Is(err, ErrHeaders) || !strings.Contains(err.Error(), "line 1") {
			t.Fatalf("err = %v, want ErrHeaders at line 1", err)
		}
	})
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		line, name, value string
		ok                bool
	}{
		{"X-GitHub-Event: push", "X-Github-Event", "push", true},
		{"  content-type :  application/json ; charset=utf-8 ", "Content-Type", "application/json ; charset=utf-8", true},
		{`SOAPAction: ""`, "Soapaction", `""`, true},
		{"X-Empty:", "X-Empty", "", true},
		{"Value: with: colons", "Value", "with: colons", true},
		{"no colon", "", "", false},
		{": no name", "", "", false},
		{"Bad Name: x", "", "", false},
		{"Bad\x00: x", "", "", false},
		{"X: a\rb", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			name, value, err := ParseHeader(tt.line)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrHeaders) {
					t.Fatalf("err %v does not wrap ErrHeaders", err)
				}
				return
			}
			if name != tt.name || value != tt.value {
				t.Fatalf("got %q: %q, want %q: %q", name, value, tt.name, tt.value)
			}
		})
	}
}

func TestContentTypeOf(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"a":1}`, "application/json"},
		{" \n[1]", "application/json"},
		{`<?xml version="1.0"?><a/>`, "text/xml; charset=utf-8"},
		{"a=1&b=2", "application/x-www-form-urlencoded"},
		{"", "application/x-www-form-urlencoded"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if got := ContentTypeOf([]byte(tt.body)); got != tt.want {
				t.Fatalf("ContentTypeOf(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func FuzzParseHeaders(f *testing.F) {
	for _, seed := range []string{
		"X-GitHub-Event: push\nContent-Type: application/json\n",
		"# c\r\n\r\nA: b\r\n", "no colon", ":", "A:\x00", "A: b\nA: c", strings.Repeat("x", 5000) + ": y",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeaders(data)
		if err != nil {
			if !errors.Is(err, ErrHeaders) {
				t.Fatalf("error %v does not wrap ErrHeaders", err)
			}
			return
		}
		// Round trip: writing the result out and parsing it gives it back.
		var b strings.Builder
		for name, values := range h {
			if !validName(name) {
				t.Fatalf("invalid name %q accepted", name)
			}
			for _, v := range values {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("control character in value %q", v)
				}
				b.WriteString(name + ": " + v + "\n")
			}
		}
		again, err := ParseHeaders([]byte(b.String()))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b.String(), err)
		}
		for name, values := range h {
			if strings.Join(again[name], "\x00") != strings.Join(values, "\x00") {
				t.Fatalf("%s: %q != %q", name, again[name], values)
			}
		}
	})
}
