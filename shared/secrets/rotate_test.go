package secrets

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/hookstack/hookstack/shared/secrets/secretstest"
)

func TestPrepend(t *testing.T) {
	tests := []struct {
		name   string
		list   []string
		secret string
		want   []string
	}{
		{"into nothing", nil, "new", []string{"new"}},
		{"in front of the old", []string{"old"}, "new", []string{"new", "old"}},
		{"an old one moves to the front", []string{"a", "b", "c"}, "c", []string{"c", "a", "b"}},
		{"already newest", []string{"a", "b"}, "a", []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]string(nil), tc.list...)
			if got := Prepend(tc.list, tc.secret); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Prepend(%q, %q) = %q, want %q", tc.list, tc.secret, got, tc.want)
			}
			if !reflect.DeepEqual(before, tc.list) {
				t.Errorf("input changed to %q", tc.list)
			}
		})
	}
}

func TestRetire(t *testing.T) {
	tests := []struct {
		name string
		list []string
		want []string
	}{
		{"none", nil, nil},
		{"one stays", []string{"a"}, []string{"a"}},
		{"keeps the newest", []string{"new", "old", "older"}, []string{"new"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Retire(tc.list)
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("Retire(%q) = %q, want %q", tc.list, got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		provider, value string
		reason          string // "" when valid
	}{
		{"stripe", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""},
		{"stripe", "whsec_", "starts with whsec_"},
		{"stripe", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with whsec_"},
		{"stripe", "sk_test_51H", "secret API key"},
		{"stripe", "we_1Nabc", "endpoint id"},
		{"standard", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", ""},
		{"standard", "C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_ followed by base64"},
		{"standard", "whsec_not base64!", "not base64"},
		{"standard", "whsec_abc", "not base64"},  // unpadded: the verifier would not decode it
		{"salesforce", "00D5g000004SabcEAC", ""}, // 18 characters with the right suffix
		{"salesforce", "00D5g000004Sabc", ""},
		{"salesforce", "00D5g000004SabcAAA", "last 3 characters"},
		{"salesforce", "00D5g000004Sab", "15 or 18 characters"},
		{"salesforce", "0015g000004Sabc", "starts with 00D"},
		{"salesforce", "00D5g000004Sa-c", "only letters and digits"},
		{"github", "any text the user chose", ""},
		{"github", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "personal access token"},
		{"slack", "8f742231b10e8888abcd99yyyzzz85a5", ""},
		{"slack", "xoxb-1234-5678", "bot token"},
		{"shopify", "shpat_abc", "access token"},
		{"twilio", "0123456789abcdef0123456789abcdef", ""},
		{"twilio", "AC0123456789abcdef0123456789abcdef", "Account SID"},
		{"hubspot", "pat-na1-11111111-2222", "private app access token"},
		{"zoom", " padded", "white space"},
		{"zoom", "a,b", "comma"},
		{"livechat", "line\nbreak", "control character"},
		{"trello", "", "empty"},
		{"trello", "\xff\xfe", "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.provider+"/"+tc.value, func(t *testing.T) {
			err := Validate(tc.provider, tc.value)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %v, want ErrInvalidSecret saying %q", err, tc.reason)
			}
			if tc.value != "" && len(tc.value) > 8 && strings.Contains(err.Error(), tc.value) {
				t.Errorf("the error repeats the secret: %v", err)
			}
		})
	}
}

// The generated secrets of the dev server must pass their own validation.
func TestValidateAcceptsGeneratedSecrets(t *testing.T) {
	for _, p := range []string{"stripe", "github", "shopify", "slack", "standard", "livechat", "trello", "hubspot", "twilio", "zoom", "salesforce"} {
		t.Run(p, func(t *testing.T) {
			for range 20 {
				s, _, err := LoadLocal(t.TempDir()+"/secrets.json", func(string) string { return "" }, []string{p})
				if err != nil {
					t.Fatal(err)
				}
				if err := Validate(p, s[p][0]); err != nil {
					t.Fatalf("generated %s secret refused: %v", p, err)
				}
			}
		})
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "00D5g000004SabcEAC", "whsec_===", "ä", ""} {
		f.Add("stripe", s)
		f.Add("standard", s)
		f.Add("salesforce", s)
	}
	f.Fuzz(func(t *testing.T, provider, value string) {
		if err := Validate(provider, value); err == nil {
			// Whatever passes survives storage and the comma-separated
			// environment form unchanged.
			got, perr := ParseValue(FormatValue([]string{value}))
			if perr != nil || len(got) != 1 || got[0] != value {
				t.Fatalf("accepted %q does not round-trip: %q %v", value, got, perr)
			}
			if env := SplitList(value); len(env) != 1 || env[0] != value {
				t.Fatalf("accepted %q splits to %q", value, env)
			}
		} else if !errors.Is(err, ErrInvalidSecret) {
			t.Fatalf("error %v is not ErrInvalidSecret", err)
		}
	})
}

// newFakeSecretStore points the real SDK client at a secretstest.Store (the
// Secrets Manager JSON protocol with versions and staging labels: there is
// no Secrets Manager emulator on this machine). Id "bin" holds binary data.
func newFakeSecretStore(t *testing.T, values map[string]string) (*secretstest.Store, *secretsmanager.Client) {
	t.Helper()
	f := secretstest.New(values, "bin")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, secretsmanager.New(secretsmanager.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:       awshttp.NewBuildableClient(),
		RetryMaxAttempts: 1,
	})
}

// A rotation racing another writer loses nothing: the compare-and-set
// fails, the edit is applied again to the newer value.
func TestSetRemoteConcurrentChange(t *testing.T) {
	f, client := newFakeSecretStore(t, map[string]string{"s": `["a"]`})
	raced := false
	f.BeforeStage = func(st *secretstest.Store, id string) {
		if !raced {
			raced = true
			st.Put(id, `["theirs","a"]`) // another rotation lands between our read and our write
		}
	}
	c, err := SetRemote(t.Context(), client, "s", "mine")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Current("s"); got != `["mine","theirs","a"]` {
		t.Fatalf("stored %s: a concurrent rotation was lost", got)
	}
	if !c.Changed || FormatValue(c.Before) != `["theirs","a"]` || f.Count("PutSecretValue") != 2 {
		t.Fatalf("change %+v after %d puts", c, f.Count("PutSecretValue"))
	}

	// A writer that never stops: the rotation gives up with a clear error
	// and leaves the other writer's value current.
	f.BeforeStage = func(st *secretstest.Store, id string) { st.Put(id, `["busy"]`) }
	if _, err := SetRemote(t.Context(), client, "s", "late"); !errors.Is(err, ErrConcurrentChange) || !strings.Contains(err.Error(), "run the command again") {
		t.Fatalf("err = %v, want ErrConcurrentChange", err)
	}
	if got := f.Current("s"); got != `["busy"]` {
		t.Fatalf("stored %s", got)
	}
}

func TestSetRemote(t *testing.T) {
	tests := []struct {
		name      string
		stored    string // current SecretString
		secret    string
		want      string // stored afterwards
		wantWrite bool
	}{
		{"placeholder []", `[]`, "whsec_new", `["whsec_new"]`, true},
		{"generated bare string", `Abc123generated`, "mine", `["mine","Abc123generated"]`, true},
		{"array: new in front", `["whsec_old"]`, "whsec_new", `["whsec_new","whsec_old"]`, true},
		{"object form rewritten as array", `{"secrets":["b","a"]}`, "c", `["c","b","a"]`, true},
		{"older one again moves to the front", `["b","a"]`, "a", `["a","b"]`, true},
		{"already newest: no write", `["a","b"]`, "a", `["a","b"]`, false},
		{"already newest but a bare string: normalized", `a`, "a", `["a"]`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, client := newFakeSecretStore(t, map[string]string{"hookstack-stripe": tc.stored})
			c, err := SetRemote(t.Context(), client, "hookstack-stripe", tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Current("hookstack-stripe"); got != tc.want {
				t.Errorf("stored %s, want %s", got, tc.want)
			}
			if c.Changed != tc.wantWrite || (f.Count("PutSecretValue") == 1) != tc.wantWrite {
				t.Errorf("changed %v, %d puts; want write %v", c.Changed, f.Count("PutSecretValue"), tc.wantWrite)
			}
			if tc.wantWrite && c.VersionID == "" {
				t.Error("no version id reported")
			}
			if FormatValue(c.After) != tc.want {
				t.Errorf("After = %q, want %s", c.After, tc.want)
			}
		})
	}
}

func TestRetireRemote(t *testing.T) {
	tests := []struct {
		name      string
		stored    string
		want      string
		wantWrite bool
		wantErr   error
	}{
		{"keeps the newest", `["n","o","p"]`, `["n"]`, true, nil},
		{"one: no write", `["n"]`, `["n"]`, false, nil},
		{"bare generated string becomes an array", `gen`, `["gen"]`, true, nil},
		{"placeholder: nothing to retire", `[]`, `[]`, false, ErrNothingActive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, client := newFakeSecretStore(t, map[string]string{"s": tc.stored})
			c, err := RetireRemote(t.Context(), client, "s")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := f.Current("s"); got != tc.want {
				t.Errorf("stored %s, want %s", got, tc.want)
			}
			if c.Changed != tc.wantWrite || (f.Count("PutSecretValue") == 1) != tc.wantWrite {
				t.Errorf("changed %v, %d puts; want write %v", c.Changed, f.Count("PutSecretValue"), tc.wantWrite)
			}
		})
	}
}

func TestRemoteErrors(t *testing.T) {
	_, client := newFakeSecretStore(t, map[string]string{"broken": `["a",`})
	tests := []struct {
		name    string
		id      string
		wantErr error
		want    string
	}{
		{"missing secret", "gone", ErrSecretNotFound, "ResourceNotFoundException"},
		{"binary secret", "bin", ErrInvalidSecret, "binary"},
		{"broken JSON is not overwritten", "broken", nil, "not a JSON array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SetRemote(t.Context(), client, tc.id, "x")
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.wantErr, tc.want)
			}
		})
	}
}
