{{- /*
The proxy account's rules: one preset (each includes the one before it), the
additive extras, then the custom rules as written. Values are read with
defaults, so an upgrade with --reuse-values from a chart without `rbac`
renders the read-only preset.
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
{{- if eq $extra "secrets" }}
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
{{- else if eq $extra "metrics" }}
- apiGroups: [metrics.k8s.io]
  resources: [pods, nodes]
  verbs: [get, list]
{{- else }}
{{- fail (printf "rbac.extras: unknown extra %q (known: secrets, metrics)" $extra) }}
{{- end }}
{{- end }}
{{- range $rule := dig "customRules" list $rbac }}
- {{- toYaml $rule | nindent 2 }}
{{- end }}
{{- end -}}
