package kpi

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// clusterPageSize is how many pods one list request asks for.
const clusterPageSize = 500

// ParseCluster lists the pods of every namespace of a live cluster through
// client-go — the kubeconfig at path (empty: the default loading rules,
// KUBECONFIG or ~/.kube/config) and its context kubeContext (empty: the
// current context) — page by page, and reads them exactly as ParsePods reads
// `kubectl get pods -A -o json`. A kubeconfig that does not load is an input
// error; an API failure an infrastructure error.
func ParseCluster(ctx context.Context, path, kubeContext string) ([]Running, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("kubeconfig: %w", err))
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("kubeconfig: %w", err))
	}
	list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "List", APIVersion: "v1"}}
	cont := ""
	for {
		page, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: clusterPageSize, Continue: cont})
		if err != nil {
			return nil, errkind.Infra(fmt.Errorf("listing the pods of every namespace at %s: %w", cfg.Host, err))
		}
		list.Items = append(list.Items, page.Items...)
		if len(list.Items) > MaxImages {
			return nil, errkind.Input(fmt.Errorf("the cluster at %s runs more than %d pods", cfg.Host, MaxImages))
		}
		if cont = page.Continue; cont == "" {
			break
		}
	}
	data, err := json.Marshal(list)
	if err != nil {
		return nil, errkind.Infra(err)
	}
	return ParsePods(data, "cluster "+cfg.Host)
}
