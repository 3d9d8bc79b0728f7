// Package events embeds the sample webhook deliveries of this folder
// (<provider>/<type>.<json|xml|form> and their .headers sidecars) so that
// `hookstack trigger` works from any folder. See README.md for the layout;
// package shared/sample loads and refreshes them.
package events

import (
	"embed"
	"io/fs"
)

// The providers' folders only: bad/ is the test corpus of hostile requests,
// not something to send.
//
//go:embed github hubspot livechat salesforce shopify slack standard stripe trello twilio zoom
var files embed.FS

// FS holds the sample files, rooted at this folder: "stripe/invoice.paid.json".
var FS fs.FS = files
