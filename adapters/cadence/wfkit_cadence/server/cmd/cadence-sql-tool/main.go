// Command cadence-sql-tool is Cadence's SQL schema tool (setup-schema,
// update-schema, ...) built with the SQLite plugin (which tools/sql links in).
package main

import (
	_ "wfkit.local/cadence-server/internal/wasmcache" // SQLite compiled once, cached on disk

	"os"

	"github.com/uber/cadence/tools/common/commoncli"
	"github.com/uber/cadence/tools/sql"
)

func main() {
	commoncli.ExitHandler(sql.RunTool(os.Args))
}
