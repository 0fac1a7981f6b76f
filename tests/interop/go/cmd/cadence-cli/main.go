// The Cadence CLI (github.com/uber/cadence/tools/cli) without the database plugins its own main links in:
// wfkit's interop tests drive workflows with it over the server's frontend and read the files it exports.
package main

import (
	"os"

	"go.uber.org/zap"

	"github.com/uber/cadence/tools/cli"
	"github.com/uber/cadence/tools/common/commoncli"
)

func main() {
	logger, err := zap.NewDevelopment()
	if err != nil {
		panic(err)
	}
	commoncli.ExitHandler(cli.NewCliApp(cli.NewClientFactory(logger)).Run(os.Args))
}
