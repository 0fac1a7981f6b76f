// gocadence: a small Go worker and client on go.uber.org/cadence (gRPC transport), for wfkit's interop tests.
//
//	gocadence -address HOST:PORT -domain D worker -tasklist TL       (serves the Go workflows until stdin closes)
//	gocadence -address HOST:PORT -domain D start -tasklist TL -type T -id ID -input JSON
//	gocadence -address HOST:PORT -domain D signal -id ID -name NAME -input JSON
//	gocadence -address HOST:PORT -domain D query -id ID -name NAME
//	gocadence -address HOST:PORT -domain D result -id ID [-run RUN]
//
// Every client command prints one JSON line.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	apiv1 "github.com/uber/cadence-idl/go/proto/api/v1"
	"go.uber.org/cadence"
	"go.uber.org/cadence/.gen/go/cadence/workflowserviceclient"
	"go.uber.org/cadence/activity"
	"go.uber.org/cadence/client"
	"go.uber.org/cadence/compatibility"
	"go.uber.org/cadence/worker"
	"go.uber.org/cadence/workflow"
	"go.uber.org/yarpc"
	"go.uber.org/yarpc/transport/grpc"
	"go.uber.org/zap"
)

// GoPlainError fails with a plain Go error: the Go client records it as reason "cadenceInternal:Generic" and
// the message as the (non-JSON) details.
func GoPlainError(ctx context.Context, what string) (string, error) {
	return "", errors.New("disk full while writing " + what)
}

// GoCustomError fails with a custom error: the reason is its name, the details its JSON-encoded values.
func GoCustomError(ctx context.Context, amount int) (string, error) {
	return "", cadence.NewCustomError("InsufficientFunds", map[string]int{"balance": 3, "needed": amount})
}

// GoEcho answers, so that wfkit workflows can call a Go activity.
func GoEcho(ctx context.Context, text string) (string, error) {
	return "go says " + text, nil
}

func activityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToStartTimeout: time.Minute, StartToCloseTimeout: 10 * time.Second,
	})
}

// GoFailing runs GoPlainError (or GoCustomError with custom=true) and fails with its error.
func GoFailing(ctx workflow.Context, custom bool) (string, error) {
	var out string
	ctx = activityOptions(ctx)
	if custom {
		return out, workflow.ExecuteActivity(ctx, GoCustomError, 10).Get(ctx, &out)
	}
	return out, workflow.ExecuteActivity(ctx, GoPlainError, "/var/data").Get(ctx, &out)
}

// GoParent starts two children with the Go client's default workflow IDs ("<runID>_<n>") and returns them.
func GoParent(ctx workflow.Context) ([]string, error) {
	ids := []string{}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{ExecutionStartToCloseTimeout: time.Minute})
	for i := 0; i < 2; i++ {
		f := workflow.ExecuteChildWorkflow(cctx, GoChild, i)
		var ex workflow.Execution
		if err := f.GetChildWorkflowExecution().Get(ctx, &ex); err != nil {
			return nil, err
		}
		if err := f.Get(ctx, nil); err != nil {
			return nil, err
		}
		ids = append(ids, ex.ID)
	}
	return ids, nil
}

// GoChild returns its input.
func GoChild(ctx workflow.Context, n int) (int, error) { return n, nil }

// GoWaiter collects "add" signals (strings) until it has n, answering the "items" query meanwhile.
func GoWaiter(ctx workflow.Context, n int) ([]string, error) {
	items := []string{}
	if err := workflow.SetQueryHandler(ctx, "items", func() ([]string, error) { return items, nil }); err != nil {
		return nil, err
	}
	ch := workflow.GetSignalChannel(ctx, "add")
	for len(items) < n {
		var s string
		ch.Receive(ctx, &s)
		items = append(items, s)
	}
	return items, nil
}

func service(address string) (workflowserviceclient.Interface, *yarpc.Dispatcher) {
	d := yarpc.NewDispatcher(yarpc.Config{
		Name: "gocadence",
		Outbounds: yarpc.Outbounds{
			"cadence-frontend": {Unary: grpc.NewTransport().NewSingleOutbound(address)},
		},
	})
	if err := d.Start(); err != nil {
		fail(err)
	}
	cc := d.ClientConfig("cadence-frontend")
	return compatibility.NewThrift2ProtoAdapter(
		apiv1.NewDomainAPIYARPCClient(cc), apiv1.NewWorkflowAPIYARPCClient(cc),
		apiv1.NewWorkerAPIYARPCClient(cc), apiv1.NewVisibilityAPIYARPCClient(cc),
	), d
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gocadence:", err)
	os.Exit(1)
}

func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

func jsonArgs(text string) []interface{} {
	if text == "" {
		return nil
	}
	var v interface{}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		fail(fmt.Errorf("-input is not JSON: %w", err))
	}
	return []interface{}{v}
}

func main() {
	address := flag.String("address", "127.0.0.1:7833", "Cadence gRPC frontend")
	domain := flag.String("domain", "default", "domain")
	flag.Parse()
	if flag.NArg() < 1 {
		fail(errors.New("a command: worker, start, signal, query, result"))
	}
	cmd, rest := flag.Arg(0), flag.Args()[1:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	tasklist := fs.String("tasklist", "", "task list")
	wtype := fs.String("type", "", "workflow type")
	id := fs.String("id", "", "workflow ID")
	run := fs.String("run", "", "run ID")
	name := fs.String("name", "", "signal or query name")
	input := fs.String("input", "", "one JSON argument")
	if err := fs.Parse(rest); err != nil {
		fail(err)
	}
	svc, d := service(*address)
	defer d.Stop()
	c := client.NewClient(svc, *domain, &client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	switch cmd {
	case "worker":
		logger, _ := zap.NewProduction()
		w := worker.New(svc, *domain, *tasklist, worker.Options{Logger: logger})
		for _, wf := range []interface{}{GoFailing, GoParent, GoChild, GoWaiter} {
			w.RegisterWorkflow(wf)
		}
		for name, fn := range map[string]interface{}{
			"GoPlainError": GoPlainError, "GoCustomError": GoCustomError, "GoEcho": GoEcho,
		} {
			w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
		}
		if err := w.Start(); err != nil {
			fail(err)
		}
		emit(map[string]string{"worker": "started"})
		_, _ = io.Copy(io.Discard, os.Stdin) // serve until stdin closes
		w.Stop()
	case "start":
		we, err := c.StartWorkflow(ctx, client.StartWorkflowOptions{
			ID: *id, TaskList: *tasklist, ExecutionStartToCloseTimeout: 10 * time.Minute,
			DecisionTaskStartToCloseTimeout: 10 * time.Second,
		}, *wtype, jsonArgs(*input)...)
		if err != nil {
			fail(err)
		}
		emit(map[string]string{"workflow_id": we.ID, "run_id": we.RunID})
	case "signal":
		var arg interface{}
		if args := jsonArgs(*input); len(args) == 1 {
			arg = args[0]
		}
		if err := c.SignalWorkflow(ctx, *id, *run, *name, arg); err != nil {
			fail(err)
		}
		emit(map[string]bool{"signaled": true})
	case "query":
		v, err := c.QueryWorkflow(ctx, *id, *run, *name)
		if err != nil {
			emit(map[string]string{"error": err.Error()})
			return
		}
		var out interface{}
		if err := v.Get(&out); err != nil {
			fail(err)
		}
		emit(map[string]interface{}{"result": out})
	case "result":
		var out interface{}
		err := c.GetWorkflow(ctx, *id, *run).Get(ctx, &out)
		if err != nil {
			res := map[string]interface{}{"error": err.Error()}
			var custom *cadence.CustomError
			if errors.As(err, &custom) {
				res["reason"] = custom.Reason()
			}
			emit(res)
			return
		}
		emit(map[string]interface{}{"result": out})
	default:
		fail(fmt.Errorf("unknown command %q", cmd))
	}
}
