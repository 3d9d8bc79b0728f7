package hookstack

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Functions are every Lambda function of the stack, in functions/<name>.
var Functions = []string{"ingest", "payments", "inventory", "leads", "relay", "fanout", "deliverer"}

// Asset errors.
var (
	// ErrAssetMissing: a function's bootstrap was not built.
	ErrAssetMissing = errors.New("function asset missing")
	// ErrAssetArch: a bootstrap is not a linux/arm64 executable, so Lambda
	// (provided.al2023, arm64) could not start it.
	ErrAssetArch = errors.New("function asset is not a linux/arm64 executable")
)

// BootstrapPath is where `make build` writes a function's executable.
func BootstrapPath(assetsDir, function string) string {
	return filepath.Join(assetsDir, function, "bootstrap")
}

// CheckAssets verifies that every function's bootstrap exists and is an
// arm64 ELF executable, so synth fails early with a message that says what to
// do instead of CDK's "Cannot find asset" or a deploy that cannot start.
func CheckAssets(assetsDir string, functions []string) error {
	var errs []error
	for _, fn := range functions {
		if err := checkBootstrap(BootstrapPath(assetsDir, fn)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AssetError is one function asset problem; it wraps ErrAssetMissing or
// ErrAssetArch and reads as the message alone.
type AssetError struct {
	Path string
	Kind error // ErrAssetMissing or ErrAssetArch
	msg  string
}

func (e *AssetError) Error() string { return e.msg }

// Unwrap returns the sentinel.
func (e *AssetError) Unwrap() error { return e.Kind }

func checkBootstrap(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &AssetError{path, ErrAssetMissing, path + " not found: run `make build` first"}
		}
		if _, statErr := os.Stat(path); statErr != nil {
			return &AssetError{path, ErrAssetMissing, fmt.Sprintf("%s: %v: run `make build` first", path, statErr)}
		}
		return &AssetError{path, ErrAssetArch, fmt.Sprintf("%s is not a linux/arm64 executable (%v): rebuild with `make build` (GOOS=linux GOARCH=arm64)", path, err)}
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
		return &AssetError{path, ErrAssetArch, fmt.Sprintf("%s is built for %v, not arm64: rebuild with `make build` (GOOS=linux GOARCH=arm64)", path, f.Machine)}
	}
	return nil
}
