package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// Workload kinds Kubectl deploys.
const (
	KindDeployment  = "deployment"
	KindStatefulSet = "statefulset"
	KindDaemonSet   = "daemonset"
)

// KubectlOptions configures Kubectl.
type KubectlOptions struct {
	// Kubeconfig is a kubeconfig path; empty means the in-cluster configuration.
	Kubeconfig string
	// Config, when set, is used instead of Kubeconfig.
	Config *rest.Config
	// Namespace of the workload (default "default").
	Namespace string
	// Workload is kind/name: deployment/web, statefulset/db, daemonset/agent
	// (deploy/, sts/, ds/ accepted).
	Workload string
	// Container is the container whose image is set (default: the only one).
	Container string
	// Image is the verified image, by digest.
	Image oci.Ref
	// DryRun returns the patch without sending it.
	DryRun bool
	// RolloutTimeout bounds the wait for the rollout (default 5 minutes; negative
	// skips the wait).
	RolloutTimeout time.Duration
	// PollInterval is the rollout polling interval (default 2s).
	PollInterval time.Duration
}

// KubectlResult is what a kubectl deploy did (or would do).
type KubectlResult struct {
	// Kind and Name of the workload.
	Kind, Name, Namespace string
	// Container whose image was set.
	Container string
	// Previous is the container's image before.
	Previous string
	// Patch is the strategic-merge patch sent (or that would be sent).
	Patch string
	// Changed is false when the container already ran the digest.
	Changed bool
	// RolledOut is true when the rollout completed within the bound.
	RolledOut bool
	// Pods are the image IDs the workload's pods reported after the rollout.
	Pods []PodImage
	// ReadBack says what the read-back found, or why there was none.
	ReadBack string
}

// ParseWorkload splits kind/name and normalises the kind.
func ParseWorkload(s string) (kind, name string, err error) {
	k, n, ok := strings.Cut(s, "/")
	if !ok || n == "" || strings.Contains(n, "/") {
		return "", "", errkind.Input(fmt.Errorf("workload %q: want kind/name, e.g. deployment/web", s))
	}
	switch strings.ToLower(k) {
	case "deployment", "deployments", "deploy":
		return KindDeployment, n, nil
	case "statefulset", "statefulsets", "sts":
		return KindStatefulSet, n, nil
	case "daemonset", "daemonsets", "ds":
		return KindDaemonSet, n, nil
	}
	return "", "", errkind.Input(fmt.Errorf("workload %q: kind must be deployment, statefulset or daemonset", s))
}

// Kubectl sets the container image of a workload to opts.Image (repo@sha256:…)
// with a strategic-merge patch, waits for the rollout, then reads back the image
// IDs (status.containerStatuses[].imageID) of the workload's pods — selected by
// its selector, owned by it, not being deleted — and fails with a policy error
// (exit code 1) unless every one names the verified digest. The read-back also
// runs when the workload already named the digest; it is skipped on a dry run
// and when RolloutTimeout is negative.
func Kubectl(ctx context.Context, opts KubectlOptions) (*KubectlResult, error) {
	kind, name, err := ParseWorkload(opts.Workload)
	if err != nil {
		return nil, err
	}
	if opts.Image.Digest == "" {
		return nil, errkind.Input(errors.New("kubectl: the image must be a digest reference"))
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.RolloutTimeout == 0 {
		opts.RolloutTimeout = 5 * time.Minute
	}
	opts.PollInterval = bounds.Or(opts.PollInterval, 2*time.Second)
	w, c, err := openWorkload(ctx, opts, kind, name)
	if err != nil {
		return nil, err
	}
	res := &KubectlResult{Kind: kind, Name: name, Namespace: opts.Namespace}
	res.Container, res.Previous = c.Name, c.Image
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []any{map[string]any{"name": c.Name, "image": opts.Image.String()}}}}}})
	if err != nil {
		return nil, err
	}
	res.Patch = string(patch)
	res.Changed = c.Image != opts.Image.String()
	if opts.DryRun {
		return res, nil
	}
	if opts.RolloutTimeout < 0 {
		if res.Changed {
			if err := w.patch(ctx, patch); err != nil {
				return nil, err
			}
		}
		res.ReadBack = "not read back: the rollout wait is off (negative rollout timeout)"
		return res, nil
	}
	if res.Changed {
		if err := w.patch(ctx, patch); err != nil {
			return nil, err
		}
	}
	// Unchanged too: a rollout someone else started must end before the pods
	// say what runs.
	if err := w.waitRollout(ctx, opts.RolloutTimeout, opts.PollInterval); err != nil {
		return res, err
	}
	res.RolledOut = true
	// What runs: the image IDs the workload's pods report for the container.
	pods, note, err := w.readBack(ctx, w.selector, w.want, c.Name, opts.Image, opts.RolloutTimeout, opts.PollInterval)
	res.Pods, res.ReadBack = pods, note
	if err != nil {
		return res, err
	}
	return res, nil
}

// openWorkload connects as opts says and reads the workload kind/name in
// opts.Namespace, with the container of its pod template that opts.Container
// names (or its only one).
func openWorkload(ctx context.Context, opts KubectlOptions, kind, name string) (*liveWorkload, corev1.Container, error) {
	cs, err := clientset(opts)
	if err != nil {
		return nil, corev1.Container{}, err
	}
	w := &liveWorkload{workload: workload{cs: cs, kind: kind, name: name, ns: opts.Namespace}}
	spec, selector, want, err := w.podSpec(ctx)
	if err != nil {
		return nil, corev1.Container{}, err
	}
	w.selector, w.want = selector, want
	c, err := pickContainer(spec, opts.Container, opts.Workload)
	if err != nil {
		return nil, corev1.Container{}, err
	}
	return w, c, nil
}

// liveWorkload is a workload as openWorkload read it.
type liveWorkload struct {
	workload
	// selector is the workload's pod selector.
	selector *metav1.LabelSelector
	// want is the number of replicas it asks for.
	want int32
}

// clientset connects as opts says: Config, else Kubeconfig, else in-cluster.
func clientset(opts KubectlOptions) (kubernetes.Interface, error) {
	cfg := opts.Config
	if cfg == nil {
		var err error
		if opts.Kubeconfig != "" {
			cfg, err = clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
		} else {
			cfg, err = rest.InClusterConfig()
		}
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("kubectl: loading the Kubernetes configuration (kubeconfig input, or in-cluster): %w", err))
		}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("kubectl: %w", err))
	}
	return cs, nil
}

// PodImage is what one pod of the workload reports running.
type PodImage struct {
	// Pod is the pod's name.
	Pod string
	// Container is the container's name.
	Container string
	// ImageID is status.containerStatuses[].imageID as the kubelet reports it.
	ImageID string
	// Digest is the digest in ImageID ("" when it names none).
	Digest string
}

// maxReadBackPods bounds the pods a read-back lists.
const maxReadBackPods = 5000

// ImageIDDigest returns the repository digest in a container status imageID:
// containerd and CRI-O report repo@sha256:…, Docker docker-pullable://repo@sha256:….
// A bare sha256:… is the local image (configuration) ID, not the digest pulled,
// and yields "".
func ImageIDDigest(imageID string) string {
	_, d, ok := strings.Cut(imageID, "@")
	if !ok || !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 {
		return ""
	}
	return d
}

// readBack lists the workload's pods (its selector, owned by it, not being
// deleted) until every one reports an image ID for container, within timeout,
// and fails unless each names ref's digest. A pod reporting another digest is a
// policy failure: the cluster runs something that was not verified (a tag it
// resolved, or an admission webhook that rewrote the image).
func (w workload) readBack(ctx context.Context, sel *metav1.LabelSelector, want int32, container string, ref oci.Ref,
	timeout, every time.Duration) ([]PodImage, string, error) {
	if sel == nil || len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		return nil, "", errkind.Input(fmt.Errorf("kubectl: %s/%s has no pod selector: its pods cannot be read back", w.kind, w.name))
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, "", errkind.Input(fmt.Errorf("kubectl: %s/%s selector: %w", w.kind, w.name, err))
	}
	if want == 0 {
		return nil, "not read back: the workload is scaled to zero", nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	doing := fmt.Sprintf("listing the pods of %s/%s (%s)", w.kind, w.name, selector)
	last := ""
	for {
		pods, pending, err := w.podImages(ctx, selector.String(), container)
		if err != nil {
			if errkind.Of(err) == errkind.KindInput {
				return nil, "", err
			}
			last = "last poll failed: " + err.Error()
		} else {
			var wrong []string
			for _, p := range pods {
				if p.Digest != ref.Digest {
					got := p.Digest
					if got == "" {
						got = "no repository digest"
					}
					wrong = append(wrong, fmt.Sprintf("pod %s container %s runs %s (imageID %q)", p.Pod, p.Container, got, p.ImageID))
				}
			}
			if len(wrong) > 0 {
				if len(wrong) > 10 {
					wrong = append(wrong[:10], fmt.Sprintf("and %d more", len(wrong)-10))
				}
				return pods, "", errkind.Policy(fmt.Errorf("kubectl: %s/%s in %s does not run the verified %s: %s "+
					"(the cluster resolved a tag, or an admission webhook rewrote the image)", w.kind, w.name, w.ns, ref.Digest, strings.Join(wrong, "; ")))
			}
			if pending == 0 && len(pods) > 0 && (want < 0 || int32(len(pods)) >= want) {
				return pods, fmt.Sprintf("%d pod(s) report %s", len(pods), ref.Digest), nil
			}
			last = fmt.Sprintf("%d pod(s) report the digest, %d have not reported an image ID yet, %d wanted", len(pods), pending, want)
		}
		select {
		case <-ctx.Done():
			return nil, "", errkind.Infra(fmt.Errorf("kubectl: %s: the pods did not all report the image they run within %s (%s)", doing, timeout, last))
		case <-time.After(every):
		}
	}
}

// podImages returns the image each live pod of the workload reports for
// container, and how many have not reported one yet.
func (w workload) podImages(ctx context.Context, selector, container string) ([]PodImage, int, error) {
	doing := fmt.Sprintf("listing the pods of %s/%s (%s)", w.kind, w.name, selector)
	var out []PodImage
	pending, seen := 0, 0
	opts := metav1.ListOptions{LabelSelector: selector, Limit: 500}
	for {
		list, err := w.cs.CoreV1().Pods(w.ns).List(ctx, opts)
		if err != nil {
			return nil, 0, classify(doing, err)
		}
		for i := range list.Items {
			p := &list.Items[i]
			if seen++; seen > maxReadBackPods {
				return nil, 0, errkind.Infra(fmt.Errorf("kubectl: %s: more than %d pods", doing, maxReadBackPods))
			}
			if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || !w.owns(p) {
				continue
			}
			found := false
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name != container {
					continue
				}
				found = true
				if cs.ImageID == "" {
					pending++
					continue
				}
				out = append(out, PodImage{Pod: p.Name, Container: cs.Name, ImageID: cs.ImageID, Digest: ImageIDDigest(cs.ImageID)})
			}
			if !found {
				pending++
			}
		}
		if list.Continue == "" {
			return out, pending, nil
		}
		opts.Continue = list.Continue
	}
}

// owns reports whether the workload controls pod: a StatefulSet or DaemonSet
// directly, a Deployment through a ReplicaSet named after it.
func (w workload) owns(p *corev1.Pod) bool {
	c := metav1.GetControllerOf(p)
	if c == nil {
		return false
	}
	switch w.kind {
	case KindDeployment:
		// A Deployment names its ReplicaSets NAME-<pod-template-hash>.
		h := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		return c.Kind == "ReplicaSet" && h != "" && c.Name == w.name+"-"+h
	case KindStatefulSet:
		return c.Kind == "StatefulSet" && c.Name == w.name
	default:
		return c.Kind == "DaemonSet" && c.Name == w.name
	}
}

func pickContainer(spec *corev1.PodSpec, name, workload string) (corev1.Container, error) {
	if name == "" {
		if len(spec.Containers) == 1 {
			return spec.Containers[0], nil
		}
		names := make([]string, len(spec.Containers))
		for i, c := range spec.Containers {
			names[i] = c.Name
		}
		return corev1.Container{}, errkind.Input(fmt.Errorf("kubectl: %s has %d containers (%s): name one in the container input",
			workload, len(spec.Containers), strings.Join(names, ", ")))
	}
	for _, c := range spec.Containers {
		if c.Name == name {
			return c, nil
		}
	}
	return corev1.Container{}, errkind.Input(fmt.Errorf("kubectl: %s has no container %q", workload, name))
}

type workload struct {
	cs   kubernetes.Interface
	kind string
	name string
	ns   string
}

func classify(doing string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return errkind.Input(fmt.Errorf("kubectl: %s: not found (check namespace and workload): %w", doing, err))
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return errkind.Input(fmt.Errorf("kubectl: %s: %w", doing, err))
	}
	return errkind.Infra(fmt.Errorf("kubectl: %s: %w", doing, err))
}

// podSpec returns the workload's pod template spec, its pod selector and the
// replicas it wants (-1 for a DaemonSet: one per eligible node).
func (w workload) podSpec(ctx context.Context) (*corev1.PodSpec, *metav1.LabelSelector, int32, error) {
	doing := fmt.Sprintf("reading %s/%s in %s", w.kind, w.name, w.ns)
	switch w.kind {
	case KindDeployment:
		d, err := w.cs.AppsV1().Deployments(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, 0, classify(doing, err)
		}
		return &d.Spec.Template.Spec, d.Spec.Selector, replicas(d.Spec.Replicas), nil
	case KindStatefulSet:
		s, err := w.cs.AppsV1().StatefulSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, 0, classify(doing, err)
		}
		return &s.Spec.Template.Spec, s.Spec.Selector, replicas(s.Spec.Replicas), nil
	default:
		d, err := w.cs.AppsV1().DaemonSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, 0, classify(doing, err)
		}
		return &d.Spec.Template.Spec, d.Spec.Selector, -1, nil
	}
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func (w workload) patch(ctx context.Context, patch []byte) error {
	doing := fmt.Sprintf("patching %s/%s in %s", w.kind, w.name, w.ns)
	po := metav1.PatchOptions{FieldManager: "secure-gates"}
	var err error
	switch w.kind {
	case KindDeployment:
		_, err = w.cs.AppsV1().Deployments(w.ns).Patch(ctx, w.name, types.StrategicMergePatchType, patch, po)
	case KindStatefulSet:
		_, err = w.cs.AppsV1().StatefulSets(w.ns).Patch(ctx, w.name, types.StrategicMergePatchType, patch, po)
	default:
		_, err = w.cs.AppsV1().DaemonSets(w.ns).Patch(ctx, w.name, types.StrategicMergePatchType, patch, po)
	}
	if err != nil {
		return classify(doing, err)
	}
	return nil
}

// rolledOut reports whether the workload's rollout is complete, as `kubectl
// rollout status` decides it, and a status line.
func (w workload) rolledOut(ctx context.Context) (bool, string, error) {
	doing := fmt.Sprintf("reading the rollout of %s/%s", w.kind, w.name)
	switch w.kind {
	case KindDeployment:
		d, err := w.cs.AppsV1().Deployments(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return false, "", classify(doing, err)
		}
		return deploymentDone(d)
	case KindStatefulSet:
		s, err := w.cs.AppsV1().StatefulSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return false, "", classify(doing, err)
		}
		want := int32(1)
		if s.Spec.Replicas != nil {
			want = *s.Spec.Replicas
		}
		st := s.Status
		msg := fmt.Sprintf("%d of %d updated, %d ready", st.UpdatedReplicas, want, st.ReadyReplicas)
		done := st.ObservedGeneration >= s.Generation && st.UpdatedReplicas == want && st.ReadyReplicas == want &&
			(st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision)
		return done, msg, nil
	default:
		d, err := w.cs.AppsV1().DaemonSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return false, "", classify(doing, err)
		}
		st := d.Status
		msg := fmt.Sprintf("%d of %d updated, %d available", st.UpdatedNumberScheduled, st.DesiredNumberScheduled, st.NumberAvailable)
		done := st.ObservedGeneration >= d.Generation && st.UpdatedNumberScheduled == st.DesiredNumberScheduled &&
			st.NumberAvailable == st.DesiredNumberScheduled
		return done, msg, nil
	}
}

func deploymentDone(d *appsv1.Deployment) (bool, string, error) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false, "", errkind.Infra(fmt.Errorf("kubectl: deployment/%s exceeded its progress deadline: %s", d.Name, c.Message))
		}
	}
	msg := fmt.Sprintf("%d of %d updated, %d available", st.UpdatedReplicas, want, st.AvailableReplicas)
	done := st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want
	return done, msg, nil
}

func (w workload) waitRollout(ctx context.Context, timeout, every time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		done, msg, err := w.rolledOut(ctx)
		if err != nil {
			if errkind.Of(err) == errkind.KindInput {
				return err
			}
			// A transient failure (or the deadline reached inside the client):
			// keep polling until the bound.
			msg = "last poll failed: " + err.Error()
		}
		if done {
			return nil
		}
		if msg != "" {
			last = msg
		}
		select {
		case <-ctx.Done():
			return errkind.Infra(fmt.Errorf("kubectl: the rollout of %s/%s did not complete within %s (%s)", w.kind, w.name, timeout, last))
		case <-time.After(every):
		}
	}
}
