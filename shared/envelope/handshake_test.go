package envelope

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func readTestdata(t *testing.T, provider, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", provider, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandshakeSlack(t *testing.T) {
	t.Run("url_verification", func(t *testing.T) {
		r, ok, err := Handshake("slack", http.Header{}, readTestdata(t, "slack", "url_verification.json"), "")
		if err != nil || !ok {
			t.Fatalf("ok %v, err %v", ok, err)
		}
		if r.Status != 200 || r.ContentType != ctJSON || r.Enqueue {
			t.Errorf("reply %+v", r)
		}
		var got map[string]string
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatal(err)
		}
		if want := "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"; got["challenge"] != want || len(got) != 1 {
			t.Errorf("body %s, want challenge %s", r.Body, want)
		}
	})
	t.Run("ssl_check", func(t *testing.T) {
		r, ok, err := Handshake("slack", http.Header{}, readTestdata(t, "slack", "ssl_check.form"), "")
		if err != nil || !ok || r.Status != 200 || r.Enqueue || len(r.Body) != 0 {
			t.Fatalf("reply %+v ok %v err %v", r, ok, err)
		}
	})
	for _, file := range []string{"app_mention.json", "slash_command.form", "block_actions.form"} {
		t.Run("no handshake for "+file, func(t *testing.T) {
			_, ok, err := Handshake("slack", http.Header{}, readTestdata(t, "slack", file), "")
			if ok || err != nil {
				t.Fatalf("ok %v err %v", ok, err)
			}
		})
	}
	t.Run("url_verification without challenge", func(t *testing.T) {
		_, ok, err := Handshake("slack", http.Header{}, []byte(`{"type":"url_verification"}`), "")
		if ok || !errors.Is(err, ErrHandshake) || !errors.Is(err, ErrUnparseable) {
			t.Fatalf("ok %v err %v", ok, err)
		}
	})
	t.Run("invalid JSON is not a handshake", func(t *testing.T) {
		_, ok, err := Handshake("slack", http.Header{}, []byte(`{"type":"url_verification","challenge":"x"`), "")
		if ok || err != nil {
			t.Fatalf("ok %v err %v", ok, err)
		}
	})
}

func TestHandshakeZoom(t *testing.T) {
	const secret = "ZoomWebhookSecretToken_abc123"
	// Computed independently: python3 -c "import hmac,hashlib; print(hmac.new(
	// b'ZoomWebhookSecretToken_abc123', b'qgg8vlvZRS6UYooatFL8Aw', hashlib.sha256).hexdigest())"
	const wantToken = "71b79b79373d35627bf04d73c04bd074d1938ff92fcc1b672fefd1a1407b8d18"
	t.Run("url_validation", func(t *testing.T) {
		r, ok, err := Handshake("zoom", http.Header{}, readTestdata(t, "zoom", "endpoint.url_validation.json"), secret)
		if err != nil || !ok {
			t.Fatalf("ok %v err %v", ok, err)
		}
		if r.Status != 200 || r.ContentType != ctJSON || r.Enqueue {
			t.Errorf("reply %+v", r)
		}
		var got map[string]string
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatal(err)
		}
		if got["plainToken"] != "qgg8vlvZRS6UYooatFL8Aw" || got["encryptedToken"] != wantToken || len(got) != 2 {
			t.Errorf("body %s", r.Body)
		}
	})
	t.Run("other events", func(t *testing.T) {
		_, ok, err := Handshake("zoom", http.Header{}, readTestdata(t, "zoom", "meeting.started.json"), secret)
		if ok || err != nil {
			t.Fatalf("ok %v err %v", ok, err)
		}
	})
	t.Run("without plainToken", func(t *testing.T) {
		_, ok, err := Handshake("zoom", http.Header{}, []byte(`{"event":"endpoint.url_validation","payload":{}}`), secret)
		if ok || !errors.Is(err, ErrHandshake) {
			t.Fatalf("ok %v err %v", ok, err)
		}
	})
	t.Run("without secret", func(t *testing.T) {
		_, ok, err := Handshake("zoom", http.Header{}, readTestdata(t, "zoom", "endpoint.url_validation.json"), "")
		if ok || !errors.Is(err, ErrHandshake) {
			t.Fatalf("ok %v err %v", ok, err)
		}
	})
}

func TestHandshakeSalesforce(t *testing.T) {
	for name, body := range map[string][]byte{
		"notifications": readTestdata(t, "salesforce", "lead_notifications.xml"),
		"unparseable":   []byte("not xml"),
	} {
		t.Run(name, func(t *testing.T) {
			r, ok, err := Handshake("salesforce", http.Header{}, body, "")
			if err != nil || !ok {
				t.Fatalf("ok %v err %v", ok, err)
			}
			if r.Status != 200 || !r.Enqueue || r.ContentType != "text/xml; charset=utf-8" {
				t.Errorf("reply %+v", r)
			}
			var env struct {
				XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
				Body    struct {
					Resp struct {
						XMLName xml.Name `xml:"http://soap.sforce.com/2005/09/outbound notificationsResponse"`
						Ack     bool     `xml:"http://soap.sforce.com/2005/09/outbound Ack"`
					} `xml:"http://soap.sforce.com/2005/09/outbound notificationsResponse"`
				} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
			}
			if err := xml.Unmarshal(r.Body, &env); err != nil {
				t.Fatalf("reply is not the SOAP envelope: %v\n%s", err, r.Body)
			}
			if !env.Body.Resp.Ack {
				t.Errorf("Ack is not true: %s", r.Body)
			}
		})
	}
}

func TestHandshakeOthers(t *testing.T) {
	for _, p := range []string{"stripe", "github", "shopify", "standard", "livechat", "trello", "hubspot", "twilio"} {
		_, ok, err := Handshake(p, http.Header{}, []byte(`{"type":"url_verification","challenge":"x","event":"endpoint.url_validation"}`), "s")
		if ok || err != nil {
			t.Errorf("%s: ok %v err %v", p, ok, err)
		}
	}
	if _, _, err := Handshake("paypal", http.Header{}, nil, ""); !errors.Is(err, ErrUnknownProvider) {
		t.Errorf("unknown provider: err %v", err)
	}
}
