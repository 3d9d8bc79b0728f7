// Package secretstest is a Secrets Manager stand-in for tests: an
// http.Handler speaking the service's JSON 1.1 protocol (Content-Type
// application/x-amz-json-1.1, X-Amz-Target secretsmanager.<Operation>) for
// the operations Hookstack uses — GetSecretValue, PutSecretValue and
// UpdateSecretVersionStage — with versions and staging labels as the
// service keeps them. There is no Secrets Manager emulator on this machine,
// so tests point the real SDK client at it.
package secretstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Store holds secrets by id (name).
type Store struct {
	mu      sync.Mutex
	secrets map[string]*secret
	// Binary ids hold SecretBinary instead of a string.
	binary map[string]bool
	calls  []string
	// BeforeStage, when set, runs (without the lock) before each
	// UpdateSecretVersionStage is applied: a test can change the secret
	// there, as a concurrent writer would.
	BeforeStage func(s *Store, id string)
}

type secret struct {
	versions map[string]string // version id → SecretString
	stages   map[string]string // staging label → version id
	next     int
}

// New returns a store holding values (id → SecretString, each the
// AWSCURRENT version "v0"); binary ids hold binary data.
func New(values map[string]string, binary ...string) *Store {
	s := &Store{secrets: map[string]*secret{}, binary: map[string]bool{}}
	for id, v := range values {
		s.secrets[id] = &secret{versions: map[string]string{"v0": v}, stages: map[string]string{"AWSCURRENT": "v0"}, next: 1}
	}
	for _, id := range binary {
		s.binary[id] = true
		s.secrets[id] = &secret{versions: map[string]string{"v0": ""}, stages: map[string]string{"AWSCURRENT": "v0"}, next: 1}
	}
	return s
}

// Current is the AWSCURRENT value of id ("" when there is none).
func (s *Store) Current(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[id]
	if sec == nil {
		return ""
	}
	return sec.versions[sec.stages["AWSCURRENT"]]
}

// Put stores value as the new AWSCURRENT version of id, as another writer
// would.
func (s *Store) Put(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[id]
	v := fmt.Sprintf("v%d", sec.next)
	sec.next++
	sec.versions[v] = value
	sec.stages["AWSPREVIOUS"] = sec.stages["AWSCURRENT"]
	sec.stages["AWSCURRENT"] = v
}

// Calls are the operations served, "<Operation> <SecretId>", in order.
func (s *Store) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Count is how many times op was served.
func (s *Store) Count(op string) int {
	n := 0
	for _, c := range s.Calls() {
		if strings.HasPrefix(c, op+" ") {
			n++
		}
	}
	return n
}

func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct {
		SecretId, SecretString, ClientRequestToken         string
		VersionStages                                      []string
		VersionStage, MoveToVersionId, RemoveFromVersionId string
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, "SerializationException", "bad JSON")
		return
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.")
	if op == "UpdateSecretVersionStage" && s.BeforeStage != nil {
		s.BeforeStage(s, in.SecretId)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, op+" "+in.SecretId)
	sec := s.secrets[in.SecretId]
	if sec == nil {
		fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	switch op {
	case "GetSecretValue":
		cur := sec.stages["AWSCURRENT"]
		out := map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + in.SecretId,
			"Name": in.SecretId, "VersionId": cur, "VersionStages": []string{"AWSCURRENT"}}
		if s.binary[in.SecretId] {
			out["SecretBinary"] = "AAEC"
		} else {
			out["SecretString"] = sec.versions[cur]
		}
		_ = json.NewEncoder(w).Encode(out)
	case "PutSecretValue":
		if in.ClientRequestToken == "" {
			fail(w, "InvalidParameterException", "ClientRequestToken missing")
			return
		}
		v := in.ClientRequestToken
		sec.versions[v] = in.SecretString
		stages := in.VersionStages
		if len(stages) == 0 {
			stages = []string{"AWSCURRENT"}
		}
		for _, st := range stages {
			if st == "AWSCURRENT" {
				sec.stages["AWSPREVIOUS"] = sec.stages["AWSCURRENT"]
			}
			sec.stages[st] = v
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": in.SecretId, "VersionId": v, "VersionStages": stages})
	case "UpdateSecretVersionStage":
		holder, held := sec.stages[in.VersionStage]
		if _, ok := sec.versions[in.MoveToVersionId]; in.MoveToVersionId != "" && !ok {
			fail(w, "ResourceNotFoundException", "version not found")
			return
		}
		if held && holder != in.MoveToVersionId && in.RemoveFromVersionId != holder {
			// The label is on another version than the caller said.
			fail(w, "InvalidParameterException", fmt.Sprintf("The staging label %s is attached to version %s, not %s.",
				in.VersionStage, holder, in.RemoveFromVersionId))
			return
		}
		if in.VersionStage == "AWSCURRENT" && held && holder != in.MoveToVersionId {
			sec.stages["AWSPREVIOUS"] = holder
		}
		if in.MoveToVersionId != "" {
			sec.stages[in.VersionStage] = in.MoveToVersionId
		} else {
			delete(sec.stages, in.VersionStage)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": in.SecretId})
	default:
		fail(w, "InvalidAction", "unexpected target "+op)
	}
}

func fail(w http.ResponseWriter, typ, msg string) {
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "Message": msg})
}
