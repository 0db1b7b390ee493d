{{- /*
The proxy account's rules: one preset (each includes the one before it), the
additive extras in the order listed, read access to the custom resources of
each group in rbac.customResourceGroups, then the custom rules as written.
packages/rbac (@daalu/rbac) holds the same rules; the hub generates values
and manifests from it, and a test renders this chart to prove they agree.
Values are read with defaults, so an upgrade with --reuse-values from a
chart without `rbac` renders the read-only preset.
*/ -}}

{{- define "daalu-edge.rbacPreset" -}}
{{- $rbac := .Values.rbac | default dict -}}
{{- $preset := dig "preset" "read-only" $rbac -}}
{{- if not (has $preset (list "read-only" "read-wide" "operator")) -}}
{{- fail (printf "rbac.preset must be read-only, read-wide or operator, got %q" $preset) -}}
{{- end -}}
{{- $preset -}}
{{- end -}}

{{- define "daalu-edge.proxyRules" -}}
{{- $rbac := .Values.rbac | default dict -}}
{{- $preset := include "daalu-edge.rbacPreset" . -}}
{{- $extras := dig "extras" list $rbac -}}
- apiGroups: [""]
  resources: [pods, services, events, nodes, namespaces]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets, replicasets]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
{{- if has $preset (list "read-wide" "operator") }}
- apiGroups: [""]
  resources: [configmaps, endpoints, persistentvolumeclaims, persistentvolumes, resourcequotas, limitranges]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, ingressclasses, networkpolicies]
  verbs: [get, list, watch]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list, watch]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get, list, watch]
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
{{- end }}
{{- if eq $preset "operator" }}
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [patch]
- apiGroups: [apps]
  resources: [deployments/scale, statefulsets/scale]
  verbs: [get, patch, update]
- apiGroups: [""]
  resources: [pods]
  verbs: [delete]
{{- end }}
{{- range $extra := $extras }}
{{- if eq $extra "configmaps" }}
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
{{- else if eq $extra "networking" }}
- apiGroups: [networking.k8s.io]
  resources: [ingresses, ingressclasses, networkpolicies]
  verbs: [get, list, watch]
{{- else if eq $extra "batch" }}
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list, watch]
{{- else if eq $extra "write-proposals" }}
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [patch]
- apiGroups: [apps]
  resources: [deployments/scale, statefulsets/scale]
  verbs: [get, patch, update]
{{- else if eq $extra "metrics" }}
- apiGroups: [metrics.k8s.io]
  resources: [pods, nodes]
  verbs: [get, list]
{{- else if eq $extra "exec" }}
- apiGroups: [""]
  resources: [pods/exec, pods/attach, pods/portforward]
  verbs: [create, get]
{{- else if eq $extra "secrets" }}
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
{{- else }}
{{- fail (printf "rbac.extras: unknown extra %q (known: configmaps, networking, batch, write-proposals, metrics, exec, secrets)" $extra) }}
{{- end }}
{{- end }}
{{- range $group := dig "customResourceGroups" list $rbac }}
- apiGroups: [{{ $group | quote }}]
  resources: ["*"]
  verbs: [get, list, watch]
{{- end }}
{{- range $rule := dig "customRules" list $rbac }}
- {{- toYaml $rule | nindent 2 }}
{{- end }}
{{- end -}}
