// Command gitops-check judges ModelDeployment objects the way the GitOps tools do, with their own code:
//
//   - Argo CD: the argocd-cm ConfigMap is read by Argo CD's settings manager (the parser the application
//     controller uses for resource.customizations.*), and every object goes through gitops-engine's
//     health.GetResourceHealth with lua.ResourceHealthOverrides, the call the controller makes. Nothing is
//     re-implemented here, so a wrong key, a Lua error or a script that needs Lua libraries the controller does
//     not open fails this check as it would fail in a real Argo CD.
//   - kstatus (Flux, kpt, `kubectl wait`-style tooling): status.Compute from sigs.k8s.io/cli-utils.
//
// Usage: gitops-check -argocd-cm config/argocd/argocd-cm.yaml -testdata <dir>
// where <dir> holds health_test.yaml (Argo CD's own test format: tests[].{healthStatus,inputPath}) and
// kstatus_test.yaml (tests[].{status,inputPath}). Prints one row per object; exits 1 on any mismatch.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/health"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
	log "github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

type healthTests struct {
	Tests []struct {
		InputPath    string              `json:"inputPath"`
		HealthStatus health.HealthStatus `json:"healthStatus"`
	} `json:"tests"`
}

type kstatusTests struct {
	Tests []struct {
		InputPath string        `json:"inputPath"`
		Status    status.Status `json:"status"`
	} `json:"tests"`
}

func main() {
	cmPath := flag.String("argocd-cm", "", "the argocd-cm ConfigMap manifest holding the health customization")
	dir := flag.String("testdata", "", "folder with health_test.yaml, kstatus_test.yaml and the objects")
	flag.Parse()
	if *cmPath == "" || *dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	// The settings manager logs at info level on every read; the table is the output.
	log.SetLevel(log.WarnLevel)
	failures, err := run(*cmPath, *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitops-check:", err)
		os.Exit(2)
	}
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "gitops-check: %d mismatch(es)\n", failures)
		os.Exit(1)
	}
}

func run(cmPath, dir string) (int, error) {
	overrides, err := resourceOverrides(cmPath)
	if err != nil {
		return 0, err
	}
	var ht healthTests
	if err := readYAML(filepath.Join(dir, "health_test.yaml"), &ht); err != nil {
		return 0, err
	}
	var kt kstatusTests
	if err := readYAML(filepath.Join(dir, "kstatus_test.yaml"), &kt); err != nil {
		return 0, err
	}
	if len(ht.Tests) == 0 || len(kt.Tests) == 0 {
		return 0, fmt.Errorf("no tests in %s", dir)
	}

	failures := 0
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "RESULT\tTOOL\tOBJECT\tGOT")
	report := func(tool, input, expected, got string) {
		if expected == got {
			fmt.Fprintf(w, "ok\t%s\t%s\t%s\n", tool, input, got)
			return
		}
		failures++
		fmt.Fprintf(w, "FAIL\t%s\t%s\t%s\n\t\t\texpected %s\n", tool, input, got, expected)
	}

	for _, t := range ht.Tests {
		obj, err := readObject(filepath.Join(dir, t.InputPath))
		if err != nil {
			return 0, err
		}
		got, err := health.GetResourceHealth(obj, overrides)
		if err != nil {
			// The controller shows such an object as Unknown with the error as message; so do we.
			got = &health.HealthStatus{Status: health.HealthStatusUnknown, Message: err.Error()}
		}
		if got == nil {
			got = &health.HealthStatus{Status: "<no health check applies>"}
		}
		report("argocd", t.InputPath, show(t.HealthStatus.Status, t.HealthStatus.Message), show(got.Status, got.Message))
	}
	for _, t := range kt.Tests {
		obj, err := readObject(filepath.Join(dir, t.InputPath))
		if err != nil {
			return 0, err
		}
		res, err := status.Compute(obj)
		if err != nil {
			return 0, fmt.Errorf("kstatus %s: %w", t.InputPath, err)
		}
		// kstatus' messages are its own generic wording; the status is the contract.
		report("kstatus", t.InputPath, string(t.Status), string(res.Status))
	}
	return failures, w.Flush()
}

// resourceOverrides reads the ConfigMap through Argo CD's SettingsManager, backed by a fake clientset that holds
// only that ConfigMap: the same parsing of resource.customizations.<type>.<group_kind> keys (and the same label
// filter, app.kubernetes.io/part-of: argocd) as in a running controller.
func resourceOverrides(cmPath string) (lua.ResourceHealthOverrides, error) {
	var cm corev1.ConfigMap
	if err := readYAML(cmPath, &cm); err != nil {
		return nil, err
	}
	ctx := context.Background()
	mgr := settings.NewSettingsManager(ctx, fake.NewClientset(&cm), cm.Namespace)
	o, err := mgr.GetResourceOverrides()
	if err != nil {
		return nil, fmt.Errorf("argo cd settings from %s: %w", cmPath, err)
	}
	return lua.ResourceHealthOverrides(o), nil
}

func readYAML(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readObject decodes as client-go does an object read from the API server (integers as int64, which kstatus
// insists on), not as a plain YAML decode would (every number a float64).
func readObject(path string) (*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(j); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return obj, nil
}

func show(s health.HealthStatusCode, message string) string {
	if message == "" {
		return string(s)
	}
	return fmt.Sprintf("%s %q", s, message)
}
