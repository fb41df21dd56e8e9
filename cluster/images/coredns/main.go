// CoreDNS for modelship.local/coredns with only the plugins the local node uses.
//
// Upstream's main package imports github.com/coredns/coredns/core/plugin, which registers every plugin of its
// plugin.cfg (cloud DNS backends, etcd, dnstap, tracing, ...) and so pulls hundreds of modules into a build.
// This main package imports coremain (the command line, which itself imports no plugin) and the plugins below
// only, and sets the directive order that upstream's plugin.cfg gives them: CoreDNS runs the plugins of a server
// block in this order, not in the order of the Corefile.
//
// The plugins: those of the node's Corefile (cluster/src/node/coredns.ts) and bind and hosts, which the image's
// own test uses (test/integration/images.test.ts). A unit test (cluster/src/images/coredns.test.ts) fails when
// the Corefile names a directive missing here.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
)

// directives in upstream's plugin.cfg order (v1.14.7). `prometheus` is the directive of the metrics plugin.
var directives = []string{
	"bind",
	"ready",
	"health",
	"prometheus",
	"errors",
	"loadbalance",
	"cache",
	"hosts",
	"kubernetes",
}

func main() {
	dnsserver.Directives = directives
	coremain.Run()
}
