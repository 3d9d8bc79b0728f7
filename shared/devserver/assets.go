package devserver

import (
	"embed"
	"mime"
	"net/http"
	"path"
)

// The inspector page: plain HTML, CSS and JavaScript, no build step,
// embedded in the binary.
var (
	//go:embed assets/index.html
	indexHTML []byte
	//go:embed assets/*.css assets/*.js
	assetFS embed.FS
)

// serveAsset is GET /assets/{file}: the page's stylesheet and script.
func serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	data, err := assetFS.ReadFile(path.Join("assets", path.Base(name)))
	if err != nil || name != path.Base(name) {
		http.NotFound(w, r)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
}
