package notify

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
)

// mailchimpServer plays Mailchimp's "add or update list member" endpoint and
// checks the request exactly.
func mailchimpServer(t *testing.T, wantPath, wantBody string, status int, hits *int) string {
	t.Helper()
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		*hits++
		body, _ := io.ReadAll(r.Body)
		user, pass, ok := r.BasicAuth()
		switch {
		case r.Method != http.MethodPut:
			t.Errorf("method %s, want PUT", r.Method)
		case r.URL.Path != wantPath:
			t.Errorf("path %s, want %s", r.URL.Path, wantPath)
		case !ok || user != "anystring" || pass != "0123456789abcdef0123456789abcdef-us21":
			t.Errorf("basic auth %q %q %v", user, pass, ok)
		case r.Header.Get("Content-Type") != "application/json":
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		case string(body) != wantBody:
			t.Errorf("body\n got %s\nwant %s", body, wantBody)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"id":"x","status":"subscribed"}`)
	})
	return srv.URL
}

func mailchimpEndpoint(url string) Endpoint {
	return Endpoint{ID: "ep_mc", Type: TypeMailchimp, URL: url, Events: []string{"lead.*"}, Enabled: true,
		Mailchimp: MailchimpSettings{ListID: "a1b2c3", APIKey: "0123456789abcdef0123456789abcdef-us21"}}
}

func TestMailchimpUpsert(t *testing.T) {
	// md5("ada@example.com"), computed independently (printf %s | md5sum).
	const hash = "3e3417d7ef77d5932a6734b916515ed5"
	if got := MailchimpSubscriberHash("Ada@Example.com "); got != hash {
		t.Fatalf("subscriber hash %q, want %q", got, hash)
	}
	tests := []struct {
		name     string
		typ      string
		data     map[string]string
		urlTail  string
		wantBody string
		status   int
		outcome  Outcome
	}{
		{"created", "lead.created",
			map[string]string{"key": "ada@example.com", "email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "provider": "hubspot"},
			"", `{"email_address":"Ada@Example.com","status_if_new":"subscribed","merge_fields":{"COMPANY":"Analytical Engines","FNAME":"Ada","LNAME":"Lovelace"}}`, 200, Delivered},
		{"updated, partial fields, base URL with /3.0/", "lead.updated",
			map[string]string{"key": "ada@example.com", "email": "ada@example.com", "first_name": "Ada", "provider": "salesforce"},
			"/3.0/", `{"email_address":"ada@example.com","status_if_new":"subscribed","merge_fields":{"FNAME":"Ada"}}`, 200, Delivered},
		{"Mailchimp 400 is permanent", "lead.created",
			map[string]string{"email": "ada@example.com"},
			"", `{"email_address":"ada@example.com","status_if_new":"subscribed"}`, 400, Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits int
			url := mailchimpServer(t, "/3.0/lists/a1b2c3/members/"+hash, tt.wantBody, tt.status, &hits)
			ep := mailchimpEndpoint(url + tt.urlTail)
			ev := event(t, tt.typ, tt.data)
			res := testDeliverer(t).Attempt(context.Background(), delivery(ev, ep, 1), ep)
			if res.Outcome != tt.outcome || res.StatusCode != tt.status || hits != 1 {
				t.Fatalf("result %+v, hits %d", res, hits)
			}
		})
	}
}

func TestMailchimpSkipsOtherEvents(t *testing.T) {
	var hits int
	url := mailchimpServer(t, "/", "", 200, &hits)
	ep := mailchimpEndpoint(url)
	ep.Events = []string{"*"}
	res := testDeliverer(t).Attempt(context.Background(), delivery(event(t, "payment.succeeded", samplePayment), ep, 1), ep)
	if res.Outcome != Delivered || !strings.HasPrefix(res.Reason, ReasonSkipped) || hits != 0 || res.StatusCode != 0 {
		t.Fatalf("result %+v, hits %d", res, hits)
	}
}

func TestMailchimpBadLeads(t *testing.T) {
	var hits int
	url := mailchimpServer(t, "/", "", 200, &hits)
	ep := mailchimpEndpoint(url)
	for name, ev := range map[string]any{
		"no email":   map[string]string{"key": "sf:00Q1", "first_name": "X"},
		"not a lead": "just a string",
	} {
		t.Run(name, func(t *testing.T) {
			res := testDeliverer(t).Attempt(context.Background(), delivery(event(t, "lead.created", ev), ep, 1), ep)
			if res.Outcome != Permanent || hits != 0 {
				t.Fatalf("result %+v", res)
			}
		})
	}
	noKey := ep
	noKey.Mailchimp.APIKey = ""
	res := testDeliverer(t).Attempt(context.Background(), delivery(event(t, "lead.created", map[string]string{"email": "a@b.c"}), noKey, 1), noKey)
	if res.Outcome != Permanent {
		t.Fatalf("no api key: %+v", res)
	}
}

func TestMailchimpBaseURL(t *testing.T) {
	for key, want := range map[string]string{
		"abc-us21": "https://us21.api.mailchimp.com", "abc": "", "abc-": "", "abc-us21.evil.com/x": "",
	} {
		if got := MailchimpBaseURL(key); got != want {
			t.Errorf("MailchimpBaseURL(%q) = %q, want %q", key, got, want)
		}
	}
	// The Authorization header is Basic base64("anystring:<key>").
	out, _, err := mailchimpRequest(event(t, "lead.created", map[string]string{"email": "a@b.c"}), mailchimpEndpoint("https://us21.api.mailchimp.com"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("anystring:0123456789abcdef0123456789abcdef-us21")); out.header.Get("Authorization") != want {
		t.Errorf("authorization %q", out.header.Get("Authorization"))
	}
	if out.url != "https://us21.api.mailchimp.com/3.0/lists/a1b2c3/members/"+MailchimpSubscriberHash("a@b.c") {
		t.Errorf("url %s", out.url)
	}
}
