package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// Running is the image a workload runs, as its pods report it.
type Running struct {
	// Image is the repository and digest the pods report (repo@sha256:…),
	// from their status.containerStatuses[].imageID.
	Image oci.Ref
	// Pods are the pods read.
	Pods []PodImage
	// Detail says what was read, for reports.
	Detail string
}

// RunningImage reads back the digest a workload runs — the one read-back of a
// kubectl deploy (status.containerStatuses[].imageID of the workload's own
// live pods, for the container opts.Container or its only one), without
// changing anything: for a gate that must name the digest an environment
// runs (the dast gate binds its verdict to it). opts.Image, DryRun and the
// rollout fields are not used.
//
// The workload's rollout must be complete and every pod must report the same
// repository digest: a rollout in progress, pods running different digests,
// or a pod whose runtime reports only a local image ID is a policy error
// (exit 1) naming the pods, since a scan of the environment then cannot be
// bound to one digest. A workload scaled to zero runs nothing (policy error
// too). API failures are classified as for Kubectl.
func RunningImage(ctx context.Context, opts KubectlOptions) (*Running, error) {
	kind, name, err := ParseWorkload(opts.Workload)
	if err != nil {
		return nil, err
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	w, c, err := openWorkload(ctx, opts, kind, name)
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("%s/%s in %s", kind, name, opts.Namespace)
	if w.want == 0 {
		return nil, errkind.Policy(fmt.Errorf("kubectl: %s is scaled to zero: it runs no image to name", where))
	}
	done, status, err := w.rolledOut(ctx)
	if err != nil {
		return nil, err
	}
	if !done {
		return nil, errkind.Policy(fmt.Errorf("kubectl: %s is still rolling out (%s): the environment may run more than one image; wait for the rollout, then scan and read it back again", where, status))
	}
	if w.selector == nil || len(w.selector.MatchLabels)+len(w.selector.MatchExpressions) == 0 {
		return nil, errkind.Input(fmt.Errorf("kubectl: %s has no pod selector: its pods cannot be read back", where))
	}
	selector, err := metav1.LabelSelectorAsSelector(w.selector)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("kubectl: %s selector: %w", where, err))
	}
	pods, pending, err := w.podImages(ctx, selector.String(), c.Name)
	if err != nil {
		return nil, err
	}
	if pending > 0 {
		return nil, errkind.Policy(fmt.Errorf("kubectl: %d pod(s) of %s have not reported the image container %s runs: wait for them to start, then read it back again", pending, where, c.Name))
	}
	if len(pods) == 0 {
		return nil, errkind.Policy(fmt.Errorf("kubectl: %s has no running pod of its own: it runs no image to name", where))
	}
	byImage := map[string][]string{}
	for _, p := range pods {
		if p.Digest == "" {
			return nil, errkind.Policy(fmt.Errorf("kubectl: pod %s container %s of %s reports imageID %q, which names no repository digest: the digest it runs cannot be established",
				p.Pod, p.Container, where, p.ImageID))
		}
		img := imageIDRef(p.ImageID)
		byImage[img] = append(byImage[img], p.Pod)
	}
	if len(byImage) > 1 {
		var parts []string
		for img, ps := range byImage {
			sort.Strings(ps)
			if len(ps) > 3 {
				ps = append(ps[:3], fmt.Sprintf("and %d more", len(ps)-3))
			}
			parts = append(parts, fmt.Sprintf("%s (%s)", img, strings.Join(ps, ", ")))
		}
		sort.Strings(parts)
		return nil, errkind.Policy(fmt.Errorf("kubectl: the pods of %s run %d different images: %s; a scan of this environment cannot be bound to one digest",
			where, len(byImage), strings.Join(parts, "; ")))
	}
	var img string
	for k := range byImage {
		img = k
	}
	ref, err := oci.ParseDigestRef(img)
	if err != nil {
		return nil, errkind.Policy(fmt.Errorf("kubectl: the pods of %s report imageID %q, which is not a repository digest reference: %v", where, img, err))
	}
	return &Running{Image: ref, Pods: pods, Detail: fmt.Sprintf("%d pod(s) of %s report %s", len(pods), where, ref)}, nil
}

// imageIDRef is the repo@sha256:… of a container status imageID (Docker's
// docker-pullable:// prefix dropped).
func imageIDRef(imageID string) string {
	s := imageID
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	return s
}
