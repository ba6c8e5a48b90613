package deploy

// WorkloadInputs are the kubeconfig, namespace, workload and container inputs
// naming the Kubernetes workload a gate deploys to (verify-and-deploy) or reads
// the running digest back from (dast); a gate embeds them in its Inputs
// (gha.Decode tags).
type WorkloadInputs struct {
	Kubeconfig string `input:"kubeconfig"`
	Namespace  string `input:"namespace"`
	Workload   string `input:"workload"`
	Container  string `input:"container"`
}

// KubectlOptions are the options of Kubectl and RunningImage naming that
// workload; the caller sets the rest (Image, DryRun, RolloutTimeout).
func (in WorkloadInputs) KubectlOptions() KubectlOptions {
	return KubectlOptions{Kubeconfig: in.Kubeconfig, Namespace: in.Namespace, Workload: in.Workload, Container: in.Container}
}
