package envelope

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// fuzzExtract checks, for any body, with the headers of the provider's
// testdata samples: Extract never panics; it returns either events, each
// with an id, a type, a time and a body, or an error wrapping
// ErrUnparseable. Handshake and Redact never panic on the same input, and
// Redact never changes its input.
func fuzzExtract(f *testing.F, provider string, extraSeeds ...string) {
	h := http.Header{}
	for _, path := range sampleFiles(f, "testdata", provider) {
		sh, body := loadSample(f, path)
		for k, vs := range sh {
			h[k] = vs
		}
		f.Add(body)
	}
	if provider == ProviderStandard && h.Get("webhook-id") == "" {
		h.Set("webhook-id", "msg_fuzz")
	}
	for _, s := range extraSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte{})
	f.Add([]byte("{}"))
	f.Add([]byte("[]"))
	f.Add([]byte("payload=%7B%7D"))
	at := time.Date(2024, 8, 28, 20, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		evs, err := Extract(provider, h, body, at)
		if err != nil {
			if !errors.Is(err, ErrUnparseable) {
				t.Fatalf("error does not wrap ErrUnparseable: %v", err)
			}
			if evs != nil {
				t.Fatalf("events with an error")
			}
		} else {
			if len(evs) == 0 {
				t.Fatal("no events and no error")
			}
			for i, ev := range evs {
				if ev.ID == "" || ev.Type == "" || ev.OccurredAt.IsZero() || ev.Body == nil || ev.ContentType == "" {
					t.Fatalf("event %d incomplete: id %q type %q at %v body %d ct %q",
						i, ev.ID, ev.Type, ev.OccurredAt, len(ev.Body), ev.ContentType)
				}
				if provider == ProviderLiveChat && gjson.GetBytes(ev.Body, "secret_key").Exists() {
					t.Fatalf("livechat body keeps secret_key: %s", ev.Body)
				}
			}
		}
		_, _, _ = Handshake(provider, h, body, "secret")
		_, _ = Redact(provider, h, body)
		if !bytes.Equal(body, orig) {
			t.Fatal("input body modified")
		}
	})
}

func FuzzExtractStripe(f *testing.F) {
	fuzzExtract(f, ProviderStripe, `{"id":"evt_1","type":"x","created":"2024-01-01T00:00:00Z"}`, `{"id":"evt_1","type":"x","created":1e999}`)
}

func FuzzExtractGitHub(f *testing.F) {
	fuzzExtract(f, ProviderGitHub, "payload=%7B%22zen%22%3A1%7D", "payload=%zz")
}

func FuzzExtractShopify(f *testing.F) {
	fuzzExtract(f, ProviderShopify, `{"updated_at":"2024-01-01T00:00:00Z"}`)
}

func FuzzExtractSlack(f *testing.F) {
	fuzzExtract(f, ProviderSlack, `{"type":"event_callback","event_id":"E","event":{"type":"m"},"event_time":"1.5"}`,
		"command=%2Fx&trigger_id=t", "payload=%7B%22type%22%3A%22view_closed%22%7D")
}

func FuzzExtractStandard(f *testing.F) { fuzzExtract(f, ProviderStandard, `{"type":"lead.created"}`) }

func FuzzExtractLiveChat(f *testing.F) {
	fuzzExtract(f, ProviderLiveChat, `{"secret_key":"s","secret_key":"t","action":"a"}`, `{"action":"a","payload":{"event":{"created_at":"x"}}}`)
}

func FuzzExtractTrello(f *testing.F) {
	fuzzExtract(f, ProviderTrello, `{"action":{"id":"a","type":"t","date":"2024-01-01T00:00:00Z"}}`)
}

func FuzzExtractHubSpot(f *testing.F) {
	fuzzExtract(f, ProviderHubSpot, `[{"eventId":"1","subscriptionType":"x","occurredAt":1}]`, `{"eventId":1,"subscriptionType":"x"}`)
}

func FuzzExtractTwilio(f *testing.F) {
	fuzzExtract(f, ProviderTwilio, "MessageSid=SM1&Body=hi", "RecordingSid=RE1&RecordingStatus=completed", "CallSid=CA1&CallStatus=ringing&Timestamp=Wed%2C+28+Aug+2024+19%3A40%3A12+%2B0000")
}

func FuzzExtractZoom(f *testing.F) {
	fuzzExtract(f, ProviderZoom, `{"event":"endpoint.url_validation","payload":{"plainToken":"p"}}`)
}

func FuzzExtractSalesforce(f *testing.F) {
	fuzzExtract(f, ProviderSalesforce, sfEnvelope(3, "<sf:Owner><sf:Name>n</sf:Name></sf:Owner>"),
		`<!DOCTYPE x [<!ENTITY a "b">]>`+sfEnvelope(1, "&a;"))
}

// The seeds above come from testdata; this keeps the list of fuzz targets in
// step with Providers.
func TestFuzzTargetsCoverProviders(t *testing.T) {
	targets := map[string]func(*testing.F){
		ProviderStripe: FuzzExtractStripe, ProviderGitHub: FuzzExtractGitHub, ProviderShopify: FuzzExtractShopify,
		ProviderSlack: FuzzExtractSlack, ProviderStandard: FuzzExtractStandard, ProviderLiveChat: FuzzExtractLiveChat,
		ProviderTrello: FuzzExtractTrello, ProviderHubSpot: FuzzExtractHubSpot, ProviderTwilio: FuzzExtractTwilio,
		ProviderZoom: FuzzExtractZoom, ProviderSalesforce: FuzzExtractSalesforce,
	}
	for _, p := range Providers {
		if targets[p] == nil {
			t.Errorf("no fuzz target for %s", p)
		}
		if len(sampleFiles(t, "testdata", p)) == 0 {
			t.Errorf("no testdata samples (fuzz seeds) for %s", p)
		}
	}
	if len(targets) != len(Providers) {
		t.Errorf("%d fuzz targets for %d providers", len(targets), len(Providers))
	}
}
