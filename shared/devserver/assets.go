package devserver

import _ "embed"

//go:embed assets/index.html
var indexHTML []byte
