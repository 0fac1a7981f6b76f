// Command cadence-server runs Cadence services (frontend, history, matching,
// worker) in one process from a Cadence config directory.
//
// Usage (the same flags as Cadence's own server command):
//
//	cadence-server --root DIR --config CONFIG_DIR --env development --zone ZONE \
//	    start --services frontend,history,matching,worker
//
// Cadence's own command lives in the module github.com/uber/cadence/cmd/server,
// which the Go module proxy does not serve, so this is wfkit's own main: it
// loads the config with Cadence's loader and builds each service's
// resource.Params from the released github.com/uber/cadence module. It leaves
// out what a local single-cluster server does not use: advanced visibility
// (Elasticsearch/OpenSearch/Pinot, Kafka) and the shard distributor.
package main

import (
	_ "wfkit.local/cadence-server/internal/wasmcache" // SQLite compiled once, cached on disk

	"errors"
	"fmt"
	stdlog "log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/uber/cadence/common"
	"github.com/uber/cadence/common/archiver"
	"github.com/uber/cadence/common/archiver/provider"
	"github.com/uber/cadence/common/asyncworkflow/queue"
	"github.com/uber/cadence/common/blobstore/filestore"
	"github.com/uber/cadence/common/clock"
	"github.com/uber/cadence/common/cluster"
	"github.com/uber/cadence/common/config"
	"github.com/uber/cadence/common/dynamicconfig"
	"github.com/uber/cadence/common/dynamicconfig/configstore"
	csc "github.com/uber/cadence/common/dynamicconfig/configstore/config"
	"github.com/uber/cadence/common/dynamicconfig/dynamicproperties"
	"github.com/uber/cadence/common/isolationgroup/isolationgroupapi"
	"github.com/uber/cadence/common/log"
	"github.com/uber/cadence/common/log/tag"
	"github.com/uber/cadence/common/membership"
	"github.com/uber/cadence/common/metrics"
	"github.com/uber/cadence/common/peerprovider/ringpopprovider"
	"github.com/uber/cadence/common/persistence"
	"github.com/uber/cadence/common/resource"
	"github.com/uber/cadence/common/rpc"
	"github.com/uber/cadence/common/service"
	"github.com/uber/cadence/service/frontend"
	"github.com/uber/cadence/service/history"
	"github.com/uber/cadence/service/matching"
	"github.com/uber/cadence/service/worker"
	"github.com/uber/cadence/service/worker/diagnostics/invariant"
	"github.com/uber/cadence/service/worker/diagnostics/invariant/failure"
	"github.com/uber/cadence/service/worker/diagnostics/invariant/retry"
	"github.com/uber/cadence/service/worker/diagnostics/invariant/timeout"
	"github.com/uber/cadence/tools/sql"

	_ "github.com/uber/cadence/common/persistence/sql/sqlplugin/sqlite" // the SQLite persistence plugin

	apiv1 "github.com/uber/cadence-idl/go/proto/api/v1"
	"go.uber.org/cadence/.gen/go/cadence/workflowserviceclient"
	"go.uber.org/cadence/compatibility"
)

func main() {
	app := cli.NewApp()
	app.Name = "cadence-server"
	app.Usage = "Cadence server (wfkit build of github.com/uber/cadence)"
	app.Flags = []cli.Flag{
		&cli.StringFlag{Name: "root", Aliases: []string{"r"}, Value: ".", Usage: "root directory (relative config paths start here)", EnvVars: []string{config.EnvKeyRoot}},
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: "config", Usage: "config dir, relative to root or absolute", EnvVars: []string{config.EnvKeyConfigDir}},
		&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Value: "development", Usage: "runtime environment", EnvVars: []string{config.EnvKeyEnvironment}},
		&cli.StringFlag{Name: "zone", Aliases: []string{"az"}, Value: "", Usage: "availability zone", EnvVars: []string{config.EnvKeyAvailabilityZone}},
	}
	app.Commands = []*cli.Command{{
		Name:  "start",
		Usage: "start the cadence services and run until SIGINT/SIGTERM",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "services", Aliases: []string{"s"}, Value: strings.Join(service.ShortNames(service.ListWithRing), ","), Usage: "comma-separated services to start"},
		},
		Action: func(c *cli.Context) error {
			root := c.String("root")
			return run(
				absUnder(root, c.String("config")),
				root,
				strings.TrimSpace(c.String("env")),
				strings.TrimSpace(c.String("zone")),
				strings.Split(strings.TrimSpace(c.String("services")), ","),
			)
		},
	}}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "cadence-server:", err)
		os.Exit(1)
	}
}

func absUnder(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

func run(configDir, root, env, zone string, services []string) error {
	valid := service.ShortNames(service.ListWithRing)
	for _, s := range services {
		if !contains(valid, s) {
			return fmt.Errorf("unknown service %q (valid: %s)", s, strings.Join(valid, ","))
		}
	}

	stdlog.Printf("loading config: env=%s zone=%s dir=%s", env, zone, configDir)
	var cfg config.Config
	if err := config.Load(env, configDir, zone, &cfg); err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	if cfg.DynamicConfig.Client == "" {
		cfg.DynamicConfigClient.Filepath = absUnder(root, cfg.DynamicConfigClient.Filepath)
	} else {
		cfg.DynamicConfig.FileBased.Filepath = absUnder(root, cfg.DynamicConfig.FileBased.Filepath)
	}
	if err := cfg.ValidateAndFillDefaults(); err != nil {
		return fmt.Errorf("config validation: %w", err)
	}
	if err := sql.VerifyCompatibleVersion(cfg.Persistence); err != nil {
		return fmt.Errorf("sql schema version check: %w", err)
	}

	zapLogger, err := cfg.Log.NewZapLogger()
	if err != nil {
		return fmt.Errorf("create logger: %w", err)
	}
	logger := log.NewLogger(zapLogger)
	hostName, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("hostname: %w", err)
	}

	dcStop := make(chan struct{})
	dcClient := newDynamicConfigClient(&cfg, logger, dcStop)

	type running struct {
		name   string
		daemon common.Daemon
	}
	var started []running
	for _, name := range services {
		d, err := newService(name, &cfg, logger, zapLogger, hostName, dcClient)
		if err != nil {
			return fmt.Errorf("create %s service: %w", name, err)
		}
		go d.Start() // a service's Start blocks until it is stopped
		started = append(started, running{name: name, daemon: d})
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	logger.Info("received signal, stopping services", tag.Value(s.String()))

	// A second signal, or the shutdown timeout, ends the process at once (SQLite keeps its data
	// consistent either way).
	go func() {
		select {
		case <-sig:
			logger.Warn("second signal, exiting now")
		case <-time.After(exitTimeout):
			logger.Warn("services did not stop in time, exiting now", tag.Value(exitTimeout.String()))
		}
		_ = zapLogger.Sync()
		os.Exit(0)
	}()

	// Stop the worker's pollers first, then matching (which releases the polls the frontend forwards
	// to it), history, and the frontend last. The frontend's graceful stop waits for in-flight long
	// polls, which can take ~30 s, so it gets frontendStopWait and the process then exits anyway.
	for _, name := range stopOrder {
		for _, r := range started {
			if r.name != name {
				continue
			}
			wait := shutdownTimeout
			if name == "frontend" {
				wait = frontendStopWait
			}
			stopped := make(chan struct{})
			go func(d common.Daemon) {
				d.Stop()
				close(stopped)
			}(r.daemon)
			select {
			case <-stopped:
			case <-time.After(wait):
				logger.Info("not waiting longer for service to stop", tag.Service(name))
			}
		}
	}
	close(dcStop)
	_ = zapLogger.Sync()
	return nil
}

const (
	exitTimeout      = 15 * time.Second // from the signal to the exit, whatever happens
	shutdownTimeout  = 5 * time.Second  // per service
	frontendStopWait = 2 * time.Second
)

var stopOrder = []string{"worker", "matching", "history", "frontend"}

func newDynamicConfigClient(cfg *config.Config, logger log.Logger, stop chan struct{}) dynamicconfig.Client {
	var (
		c   dynamicconfig.Client
		err error
	)
	switch {
	case cfg.DynamicConfig.Client == "":
		c, err = dynamicconfig.NewFileBasedClient(&cfg.DynamicConfigClient, logger, stop)
	case cfg.DynamicConfig.Client == dynamicconfig.FileBasedClient:
		c, err = dynamicconfig.NewFileBasedClient(&cfg.DynamicConfig.FileBased, logger, stop)
	default:
		err = errors.New("only the file based dynamic config client is supported by this build")
	}
	if err != nil || c == nil {
		logger.Warn("using the no-op dynamic config client", tag.Error(err))
		return dynamicconfig.NewNopClient()
	}
	return c
}

func newService(name string, cfg *config.Config, rootLogger log.Logger, zapLogger *zap.Logger, hostName string, dcClient dynamicconfig.Client) (common.Daemon, error) {
	svcCfg, err := cfg.GetServiceConfig(name)
	if err != nil {
		return nil, err
	}
	fullName := service.FullName(name)
	logger := rootLogger.WithTags(tag.Service(fullName))
	cgm := cfg.ClusterGroupMetadata

	dc := dynamicconfig.NewCollection(dcClient, logger, dynamicproperties.ClusterNameFilter(cgm.CurrentClusterName))
	scope := svcCfg.Metrics.NewScope(logger, fullName)
	metricsClient := metrics.NewClient(scope, service.GetMetricsServiceIdx(fullName, logger), metrics.MigrationConfig{
		Histogram: cfg.Histograms,
		Gauge:     cfg.Gauges,
		Counter:   cfg.Counters,
	})

	rpcParams, err := rpc.NewParams(fullName, cfg, dc, logger, metricsClient)
	if err != nil {
		return nil, fmt.Errorf("rpc params: %w", err)
	}
	rpcParams.OutboundsBuilder = rpc.CombineOutbounds(
		rpcParams.OutboundsBuilder,
		rpc.NewCrossDCOutbounds(cgm.ClusterGroup, rpc.NewDNSPeerChooserFactory(cfg.PublicClient.RefreshInterval, logger)),
	)
	rpcFactory := rpc.NewFactory(logger, rpcParams)

	peers, err := ringpopprovider.New(fullName, &cfg.Ringpop, rpcFactory.GetTChannel(), membership.PortMap{
		membership.PortGRPC:     svcCfg.RPC.GRPCPort,
		membership.PortTchannel: svcCfg.RPC.Port,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("ringpop: %w", err)
	}
	timeSource := clock.NewRealTimeSource()
	rings := make(map[string]membership.SingleProvider)
	for _, s := range service.ListWithRing {
		rings[s] = membership.NewHashring(s, peers, timeSource, logger, metricsClient.Scope(metrics.HashringScope))
	}
	resolver, err := membership.NewResolver(peers, metricsClient, logger, rings)
	if err != nil {
		return nil, fmt.Errorf("membership resolver: %w", err)
	}

	blobstoreClient, err := filestore.NewFilestoreClient(cfg.Blobstore.Filestore)
	if err != nil {
		logger.Warn("no file blobstore client", tag.Error(err))
		blobstoreClient = nil
	}
	asyncQueues, err := queue.NewAsyncQueueProvider(cfg.AsyncWorkflowQueues)
	if err != nil {
		return nil, fmt.Errorf("async workflow queue provider: %w", err)
	}

	params := &resource.Params{
		Name:                     fullName,
		Logger:                   logger,
		ZapLogger:                zapLogger.With(zap.String("service", fullName)),
		HostName:                 hostName,
		MetricScope:              scope,
		MetricsClient:            metricsClient,
		MembershipResolver:       resolver,
		HashRings:                rings,
		RPCFactory:               rpcFactory,
		RPCConfig:                svcCfg.RPC,
		PProfInitializer:         svcCfg.PProf.NewInitializer(logger),
		PersistenceConfig:        cfg.Persistence,
		DynamicConfig:            dcClient,
		ClusterRedirectionPolicy: cgm.ClusterRedirectionPolicy,
		ClusterMetadata: cluster.NewMetadata(
			*cgm,
			dc.GetBoolPropertyFilteredByDomain(dynamicproperties.UseNewInitialFailoverVersion),
			metricsClient,
			logger,
		),
		ArchivalMetadata: archiver.NewArchivalMetadata(
			dc,
			cfg.Archival.History.Status,
			cfg.Archival.History.EnableRead,
			cfg.Archival.Visibility.Status,
			cfg.Archival.Visibility.EnableRead,
			&cfg.DomainDefaults.Archival,
		),
		ArchiverProvider:           provider.NewArchiverProvider(cfg.Archival.History.Provider, cfg.Archival.Visibility.Provider),
		AuthorizationConfig:        cfg.Authorization,
		BlobstoreClient:            blobstoreClient,
		AsyncWorkflowQueueProvider: asyncQueues,
		KafkaConfig:                cfg.Kafka,
		TimeSource:                 timeSource,
		OperationalConfigStore:     operationalConfigStore(cfg, dc, logger, metricsClient),
		// No shard distributor here: matching keeps its local hash ring.
		PercentageOnboarded: membership.StaticPercentageOnboarded(0),
	}
	params.PersistenceConfig.TransactionSizeLimit = dc.GetIntProperty(dynamicproperties.TransactionSizeLimit)
	params.PersistenceConfig.ErrorInjectionRate = dc.GetFloat64Property(dynamicproperties.PersistenceErrorInjectionRate)
	params.GetIsolationGroups = isolationGroups(dcClient, logger)

	// The worker service (system workflows) talks to the frontend through the public client.
	publicCfg := rpcFactory.GetDispatcher().ClientConfig(rpc.OutboundPublicClient)
	if rpc.IsGRPCOutbound(publicCfg) {
		params.PublicClient = compatibility.NewThrift2ProtoAdapter(
			apiv1.NewDomainAPIYARPCClient(publicCfg),
			apiv1.NewWorkflowAPIYARPCClient(publicCfg),
			apiv1.NewWorkerAPIYARPCClient(publicCfg),
			apiv1.NewVisibilityAPIYARPCClient(publicCfg),
		)
	} else {
		params.PublicClient = workflowserviceclient.New(publicCfg)
	}
	params.DiagnosticsInvariants = []invariant.Invariant{
		timeout.NewInvariant(timeout.Params{Client: params.PublicClient}),
		failure.NewInvariant(),
		retry.NewInvariant(),
	}

	logger.Info("creating service " + name)
	switch fullName {
	case service.Frontend:
		return frontend.NewService(params)
	case service.History:
		return history.NewService(params)
	case service.Matching:
		return matching.NewService(params)
	case service.Worker:
		return worker.NewService(params)
	}
	return nil, fmt.Errorf("unknown service %q", name)
}

// operationalConfigStore is the persistence-backed store of operational dynamic config, or a no-op client
// when the persistence layer has none.
func operationalConfigStore(cfg *config.Config, dc *dynamicconfig.Collection, logger log.Logger, metricsClient metrics.Client) configstore.Client {
	client, err := configstore.NewConfigStoreClient(&csc.ClientConfig{
		PollInterval:        dc.GetDurationProperty(dynamicproperties.OperationalConfigStorePollInterval)(),
		UpdateRetryAttempts: dc.GetIntProperty(dynamicproperties.OperationalConfigStoreUpdateRetryAttempts)(),
		FetchTimeout:        dc.GetDurationProperty(dynamicproperties.OperationalConfigStoreFetchTimeout)(),
		UpdateTimeout:       dc.GetDurationProperty(dynamicproperties.OperationalConfigStoreUpdateTimeout)(),
	}, &cfg.Persistence, logger, metricsClient, persistence.OperationalDynamicConfig)
	if err != nil {
		logger.Info("no operational dynamic config store", tag.Error(err))
		return configstore.NewNopClient()
	}
	return client
}

func isolationGroups(dcClient dynamicconfig.Client, logger log.Logger) func() []string {
	return func() []string {
		list, err := dcClient.GetListValue(dynamicproperties.AllIsolationGroups, nil)
		if err != nil {
			logger.Error("reading isolation groups from dynamic config", tag.Error(err))
			return nil
		}
		groups, err := isolationgroupapi.MapAllIsolationGroupsResponse(list)
		if err != nil {
			logger.Error("mapping isolation groups from dynamic config", tag.Error(err))
			return nil
		}
		return groups
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
