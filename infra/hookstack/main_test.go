package hookstack

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The CDK tests share two synthesized stacks (each synth costs seconds and a
// Node process): "default" uses cdk.json's context, "custom" overrides every
// context key the way `-c key=value` does. Tests inspect the template JSON in
// Go.

var (
	testRoot   string // repository root
	testTmp    string // assets and cdk.out for the in-process synths
	testAssets string // dummy arm64 bootstraps
)

func TestMain(m *testing.M) {
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	wd, err := os.Getwd()
	if err != nil {
		return 1, err
	}
	testRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	// Keep jsii's unpacked libraries inside the project's ignored cache.
	if os.Getenv("JSII_RUNTIME_PACKAGE_CACHE_ROOT") == "" {
		os.Setenv("JSII_RUNTIME_PACKAGE_CACHE_ROOT", filepath.Join(testRoot, ".cache", "jsii-runtime"))
	}
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	testTmp, err = os.MkdirTemp("", "hookstack-infra-test-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(testTmp)
	testAssets = filepath.Join(testTmp, "assets")
	if err := writeDummyBootstraps(testAssets, Functions, 183); err != nil {
		return 1, err
	}
	defer jsii.Close() // stops the Node process and removes its temp dirs
	return m.Run(), nil
}

// writeDummyBootstraps writes a minimal ELF64 header for the given machine
// (183 = EM_AARCH64, 62 = EM_X86_64) as each function's bootstrap: enough for
// CheckAssets and for CDK to hash and stage an asset.
func writeDummyBootstraps(dir string, functions []string, machine uint16) error {
	hdr := make([]byte, 64)
	copy(hdr, "\x7fELF")
	hdr[4], hdr[5], hdr[6] = 2, 1, 1 // 64-bit, little endian, version 1
	le := binary.LittleEndian
	le.PutUint16(hdr[16:], 2) // ET_EXEC
	le.PutUint16(hdr[18:], machine)
	le.PutUint32(hdr[20:], 1)
	le.PutUint16(hdr[52:], 64) // header size
	le.PutUint16(hdr[54:], 56) // program header entry size
	le.PutUint16(hdr[58:], 64) // section header entry size
	for _, fn := range functions {
		p := BootstrapPath(dir, fn)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, hdr, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// synthesized is one synthesized stack, ready for inspection.
type synthesized struct {
	stack     *HookstackStack
	tmpl      map[string]any
	nagErrors []string
	// salesforceWarnings: the synth warnings of salesforce without an allowlist.
	salesforceWarnings []string
	// logical ids of the stack's resources
	fnID     map[string]string // function name -> AWS::Lambda::Function
	queueID  map[string]string // queue name -> AWS::SQS::Queue
	secretID map[string]string // provider -> secret
	tableID  string
	bucketID string
	topicID  string
	apiID    string
	err      error
}

var (
	fixtureOnce = map[string]*sync.Once{"default": {}, "custom": {}}
	fixtures    = map[string]*synthesized{}
)

// customContext exercises every context key, as strings like `-c` passes them.
var customContext = map[string]any{
	CtxStackName:          "HookstackDev",
	CtxProviders:          "stripe,github,trello",
	CtxAlarmEmail:         "ops@example.com",
	CtxThrottleRate:       "50",
	CtxThrottleBurst:      "75",
	CtxRetrySchedule:      "1m,1h",
	CtxLogRetentionDays:   "7",
	CtxRemoval:            "destroy",
	CtxDomainName:         "hooks.example.com",
	CtxCertificateArn:     "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
	CtxAllowCidrs:         `{"stripe":["3.18.12.63/32","3.130.192.231/32"],"github":"192.30.252.0/22"}`,
	CtxOutboundAllowCidrs: "10.0.0.0/8",
	CtxLowStock:           "3",
	CtxTrelloDoneLists:    "Shipped,Done",
	CtxTableCapacity:      "provisioned",
	CtxTableMaxWrite:      "40",
	CtxTableMaxRead:       "20",
	CtxSystemLogLevel:     "warn",
	CtxHubSpotLegacy:      "true",
	CtxSalesforceAnyIP:    "true",
}

// fixture synthesizes the named stack once per test binary.
func fixture(t *testing.T, name string) *synthesized {
	t.Helper()
	fixtureOnce[name].Do(func() {
		ctx := cdkJSONContext(t)
		if name == "custom" {
			for k, v := range customContext {
				ctx[k] = v
			}
		}
		ctx[CtxAssetsDir] = testAssets
		// With this flag (cdk.json has it, as `cdk init` recommends) error
		// annotations abort synth, which in-process would take every test
		// down with an opaque "Validation failed"; off, the template is
		// produced and TestNag reports cdk-nag errors one by one. It changes
		// reporting only, not the template.
		ctx["@aws-cdk/core:annotationsInValidationReport"] = false
		fixtures[name] = synth(ctx, filepath.Join(testTmp, "cdk.out."+name))
	})
	s := fixtures[name]
	if s.err != nil {
		t.Fatalf("synth %s: %v", name, s.err)
	}
	return s
}

// cdkJSONContext is the context in cdk.json (feature flags included), so the
// tests synthesize what the CLI synthesizes.
func cdkJSONContext(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testRoot, "cdk.json"))
	if err != nil {
		t.Fatalf("read cdk.json: %v", err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse cdk.json: %v", err)
	}
	return doc.Context
}

// synth builds the app the way infra/main.go does and inspects it.
func synth(ctx map[string]any, outdir string) (s *synthesized) {
	s = &synthesized{}
	defer func() {
		if r := recover(); r != nil {
			s.err = fmt.Errorf("panic: %v", r)
		}
	}()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(outdir)})
	cfg, err := ConfigFromContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		s.err = err
		return s
	}
	s.stack, s.err = NewHookstackStack(app, jsii.String(cfg.StackName), &HookstackStackProps{Config: cfg})
	if s.err != nil {
		return s
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)

	tmpl := assertions.Template_FromStack(s.stack.Stack, nil)
	s.tmpl = *tmpl.ToJSON()
	for _, msg := range *assertions.Annotations_FromStack(s.stack.Stack).FindError(
		jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
		s.nagErrors = append(s.nagErrors, fmt.Sprintf("%s: %v", *msg.Id, msg.Entry.Data))
	}
	for _, msg := range *assertions.Annotations_FromStack(s.stack.Stack).FindWarning(
		jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("salesforce is enabled without allowCidrs.*"))) {
		s.salesforceWarnings = append(s.salesforceWarnings, fmt.Sprint(msg.Entry.Data))
	}

	s.fnID = map[string]string{}
	for name, fn := range s.stack.Functions {
		s.fnID[name] = logicalID(fn)
	}
	s.queueID = map[string]string{}
	for name, q := range s.stack.Queues.ByName {
		s.queueID[name] = logicalID(q)
	}
	s.secretID = map[string]string{}
	for p, sec := range s.stack.Secrets.ByProvider {
		s.secretID[p] = logicalID(sec)
	}
	s.tableID = logicalID(s.stack.Storage.Table)
	s.bucketID = logicalID(s.stack.Storage.Bucket)
	s.topicID = logicalID(s.stack.Monitoring.Topic)
	s.apiID = logicalID(s.stack.Ingest.Api)
	return s
}

// --- template helpers (plain Go over the template JSON) ---

func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.tmpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func (s *synthesized) resource(t *testing.T, id string) map[string]any {
	t.Helper()
	r, ok := s.tmpl["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	return r
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// get walks a path of map keys and slice indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// refID returns the logical id in {"Ref": id} or {"Fn::GetAtt": [id, attr]}.
func refID(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if a, ok := m["Fn::GetAtt"].([]any); ok && len(a) == 2 {
		id, _ := a[0].(string)
		return id
	}
	return ""
}

// flatten renders a value with its Fn::Join parts concatenated and every
// reference written as <id>, for substring checks.
func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
			sep, _ := j[0].(string)
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, flatten(p))
			}
			return strings.Join(parts, sep)
		}
		if id := refID(v); id != "" {
			return "<" + id + ">"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// strs turns a string or list of strings into a list.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// catch turns a jsii assertion failure (a panic) into a test error.
func catch(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}
