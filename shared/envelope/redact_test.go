package envelope

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestRedactHeaders(t *testing.T) {
	in := http.Header{}
	for k, v := range signatureHeaders {
		in.Set(k, v)
	}
	in["x-zm-signature"] = []string{"v0=lowercase-key"} // API Gateway style, not canonical
	in.Set("X-Hub-Signature-256", "sha256=abc")
	in.Set("X-HubSpot-Signature", "v1sig")
	in.Set("X-Custom-Webhook-Secret", "s3cr3t")
	in.Set("X-GitHub-Event", "push")
	in.Set("Content-Type", "application/json")
	in.Set("User-Agent", "GitHub-Hookshot/1")
	before := in.Clone()

	out, _ := Redact("github", in, nil)
	for k, vs := range out {
		secret := IsSecretHeader(k)
		if secret && (len(vs) != 1 || vs[0] != Redacted) {
			t.Errorf("%s = %q, want redacted", k, vs)
		}
		if !secret && strings.Join(vs, ",") != strings.Join(in[k], ",") {
			t.Errorf("%s changed to %q", k, vs)
		}
	}
	for _, k := range []string{"Stripe-Signature", "X-Hub-Signature-256", "X-Hub-Signature", "X-Shopify-Hmac-Sha256",
		"X-Slack-Signature", "Webhook-Signature", "Svix-Signature", "X-Trello-Webhook", "X-Hubspot-Signature-V3",
		"X-Hubspot-Signature", "X-Twilio-Signature", "X-Zm-Signature", "x-zm-signature", "Authorization", "Cookie",
		"X-Custom-Webhook-Secret"} {
		if got := out[k]; len(got) != 1 || got[0] != Redacted {
			t.Errorf("%s = %q, want [%s]", k, got, Redacted)
		}
	}
	for _, k := range []string{"X-Github-Event", "Content-Type", "User-Agent"} {
		if out.Get(k) != in.Get(k) || out.Get(k) == "" {
			t.Errorf("%s = %q, want %q", k, out.Get(k), in.Get(k))
		}
	}
	out.Set("Content-Type", "changed")
	out["X-Github-Event"][0] = "changed"
	for k, vs := range before {
		if strings.Join(in[k], ",") != strings.Join(vs, ",") {
			t.Errorf("input header %s modified", k)
		}
	}
}

func TestRedactBodies(t *testing.T) {
	tests := []struct {
		name, provider string
		body           []byte
		secrets        []string // must be gone
		kept           []string // must remain
		check          func(t *testing.T, out []byte)
	}{
		{
			name: "livechat secret_key", provider: "livechat", body: readTestdata(t, "livechat", "incoming_chat.json"),
			secrets: []string{"laudhkjb35iu3h5b3k5b3iu5"}, kept: []string{"PJ0MRSHTDG", "a6f6a7b55e2b4f1fbd42c71a8ef1d0a3"},
			check: func(t *testing.T, out []byte) {
				if gjson.GetBytes(out, "secret_key").String() != Redacted || !gjson.ValidBytes(out) {
					t.Errorf("secret_key not replaced in valid JSON: %s", out)
				}
			},
		},
		{
			name: "livechat escaped quote in secret", provider: "livechat", body: []byte(`{"secret_key": "a\"b\\", "action":"x"}`),
			secrets: []string{`a\"b`}, kept: []string{`"action":"x"`},
		},
		{
			name: "slack events API token", provider: "slack", body: readTestdata(t, "slack", "app_mention.json"),
			secrets: []string{"ZZZZZZWSxiZZZ2yIvs3peJ"}, kept: []string{"Ev123ABC456"},
		},
		{
			name: "slack slash command token", provider: "slack", body: readTestdata(t, "slack", "slash_command.form"),
			secrets: []string{"xyzz0WbapA4vBCDEFasx0q6G"}, kept: []string{"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c", "command=%2Fwebhook-collect"},
		},
		{
			name: "slack interactive payload token", provider: "slack", body: readTestdata(t, "slack", "block_actions.form"),
			secrets: []string{"9s8d9as89d8as9d8as989"},
			check: func(t *testing.T, out []byte) {
				form, err := url.ParseQuery(string(out))
				if err != nil {
					t.Fatal(err)
				}
				p := []byte(form.Get("payload"))
				if gjson.GetBytes(p, "token").String() != Redacted || gjson.GetBytes(p, "trigger_id").String() == "" {
					t.Errorf("payload = %s", p)
				}
			},
		},
		{
			name: "salesforce SessionId", provider: "salesforce", body: readTestdata(t, "salesforce", "lead_notifications.xml"),
			secrets: []string{"FakeSessionTokenDoNotStore"}, kept: []string{"<OrganizationId>00D5e000000AbCdEAK</OrganizationId>", "<SessionId>" + Redacted + "</SessionId>"},
		},
		{
			name: "stripe body untouched", provider: "stripe", body: readTestdata(t, "stripe", "charge.refunded.json"),
			kept: []string{string(readTestdata(t, "stripe", "charge.refunded.json"))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := bytes.Clone(tt.body)
			_, out := Redact(tt.provider, http.Header{}, tt.body)
			if !bytes.Equal(tt.body, orig) {
				t.Error("Redact modified its input body")
			}
			for _, s := range tt.secrets {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("secret %q still in %s", s, out)
				}
				if !bytes.Contains(orig, []byte(s)) {
					t.Errorf("test is wrong: %q not in the input", s)
				}
			}
			for _, s := range tt.kept {
				if !bytes.Contains(out, []byte(s)) {
					t.Errorf("%q missing from %s", s, out)
				}
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

func TestIsSecretHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"Stripe-Signature": true, "x-hub-signature-256": true, "X-HUBSPOT-SIGNATURE-V3": true, "authorization": true,
		"X-Shopify-Hmac-Sha256": true, "webhook-signature": true, "X-Trello-Webhook": true,
		"X-GitHub-Delivery": false, "webhook-id": false, "Content-Type": false, "I-Twilio-Idempotency-Token": false,
	} {
		if got := IsSecretHeader(name); got != want {
			t.Errorf("IsSecretHeader(%q) = %v", name, got)
		}
	}
}
