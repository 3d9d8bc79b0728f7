// Command infra is Hookstack's CDK app: it reads the CDK context (cdk.json
// and -c key=value), checks that `make build` produced every function's
// bootstrap, and synthesizes the stack with cdk-nag's AWS Solutions checks.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/hookstack/hookstack/infra/hookstack"
)

func main() {
	err := run()
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookstack infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	cfg, err := hookstack.ConfigFromContext(func(key string) any {
		return app.Node().TryGetContext(jsii.String(key))
	})
	if err != nil {
		return err
	}
	if _, err := hookstack.NewHookstackStack(app, jsii.String(cfg.StackName), &hookstack.HookstackStackProps{
		Config: cfg,
	}); err != nil {
		return err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	return nil
}
