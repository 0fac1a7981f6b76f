// Package wasmcache lets Cadence's SQLite driver (github.com/ncruces/go-sqlite3, SQLite compiled to
// WebAssembly and run by wazero) keep its compiled machine code on disk: every process otherwise spends
// about a second compiling SQLite before its first query. Set WFKIT_WAZERO_CACHE to a directory to
// enable it; unset, the driver's defaults apply unchanged.
package wasmcache

import (
	"math/bits"
	"os"

	"github.com/ncruces/go-sqlite3"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

func init() {
	dir := os.Getenv("WFKIT_WAZERO_CACHE")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return
	}
	// the driver's own defaults (it uses them only when RuntimeConfig is nil), plus the cache
	pages := uint32(4096) // 256 MiB
	if bits.UintSize < 64 {
		pages = 512
	}
	sqlite3.RuntimeConfig = wazero.NewRuntimeConfig().
		WithMemoryLimitPages(pages).
		WithCoreFeatures(api.CoreFeaturesV2).
		WithCompilationCache(cache)
}
