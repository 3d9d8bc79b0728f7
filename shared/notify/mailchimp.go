package notify

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookstack/hookstack/shared/domain"
)

// ErrNoEmail: a lead event without an email cannot become a list member.
var ErrNoEmail = errors.New("lead has no email")

// Mailchimp member fields we write.
type mailchimpMember struct {
	EmailAddress string            `json:"email_address"`
	StatusIfNew  string            `json:"status_if_new"`
	MergeFields  map[string]string `json:"merge_fields,omitempty"`
}

// leadData is the Data of lead.created / lead.updated (shared/leads).
type leadData struct {
	Key       string `json:"key"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Source    string `json:"source"`
	Status    string `json:"status"`
	Provider  string `json:"provider"`
}

// MailchimpSubscriberHash is Mailchimp's member id: the hex MD5 of the
// lower-cased email.
func MailchimpSubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// MailchimpBaseURL is the API base URL of an API key's data centre (the
// part after the last '-': "…-us21" → https://us21.api.mailchimp.com), or ""
// when the key names none.
func MailchimpBaseURL(apiKey string) string {
	i := strings.LastIndexByte(apiKey, '-')
	if i < 0 || i == len(apiKey)-1 {
		return ""
	}
	dc := apiKey[i+1:]
	for _, c := range dc {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return ""
		}
	}
	return "https://" + dc + ".api.mailchimp.com"
}

// mailchimpRequest builds the member upsert for lead.created and
// lead.updated:
//
//	PUT {base}/3.0/lists/{list_id}/members/{md5(lower(email))}
//	{"email_address", "status_if_new": "subscribed",
//	 "merge_fields": {"FNAME", "LNAME", "COMPANY"}}
//
// with basic auth ("anystring", api key). {base} is the endpoint URL
// (scheme, host and any path prefix; a trailing "/3.0" is tolerated). Merge
// fields that the lead does not have are left out, so an upsert never
// blanks a value already in Mailchimp; the list needs a COMPANY merge field
// for the company to be kept. Other event types return a skip reason: the
// delivery counts as delivered without a request.
func mailchimpRequest(ev domain.Event, ep Endpoint) (*outbound, string, error) {
	if ev.Type != "lead.created" && ev.Type != "lead.updated" {
		return nil, "mailchimp handles lead.created and lead.updated only", nil
	}
	var ld leadData
	if err := json.Unmarshal(ev.Data, &ld); err != nil {
		return nil, "", fmt.Errorf("mailchimp: %s data: %w", ev.Type, err)
	}
	email := strings.TrimSpace(ld.Email)
	if email == "" {
		return nil, "", fmt.Errorf("mailchimp: %s: %w", ev.Subject, ErrNoEmail)
	}
	if ep.Mailchimp.ListID == "" || ep.Mailchimp.APIKey == "" {
		return nil, "", fmt.Errorf("mailchimp endpoint %s: %w: list id and API key required", ep.ID, ErrInvalidEndpoint)
	}
	base := strings.TrimRight(ep.URL, "/")
	base = strings.TrimSuffix(base, "/3.0")
	u := base + "/3.0/lists/" + url.PathEscape(ep.Mailchimp.ListID) + "/members/" + MailchimpSubscriberHash(email)
	m := mailchimpMember{EmailAddress: email, StatusIfNew: "subscribed", MergeFields: map[string]string{}}
	for k, v := range map[string]string{"FNAME": ld.FirstName, "LNAME": ld.LastName, "COMPANY": ld.Company} {
		if v = strings.TrimSpace(v); v != "" {
			m.MergeFields[k] = v
		}
	}
	body, err := marshalJSON(m)
	if err != nil {
		return nil, "", fmt.Errorf("mailchimp: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("anystring:"+ep.Mailchimp.APIKey)))
	return &outbound{method: http.MethodPut, url: u, body: body, header: h}, "", nil
}
