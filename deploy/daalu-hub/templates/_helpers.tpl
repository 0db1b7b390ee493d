{{- define "daalu-hub.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "daalu-hub.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "daalu-hub.secretName" -}}
{{ .Values.secrets.existingSecret | default (printf "%s-secrets" (include "daalu-hub.fullname" .)) }}
{{- end -}}

{{/* Labels of one component: (dict "root" $ "component" "gateway") */}}
{{- define "daalu-hub.labels" -}}
app.kubernetes.io/name: daalu-hub
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "daalu-hub.selector" -}}
app.kubernetes.io/name: daalu-hub
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The environment every service shares: the ConfigMap (nothing secret) and the Secret's keys. */}}
{{- define "daalu-hub.commonEnv" -}}
- name: DATABASE_URL
  valueFrom: { secretKeyRef: { name: {{ include "daalu-hub.secretName" . }}, key: DATABASE_URL } }
- name: NATS_URL
  valueFrom: { secretKeyRef: { name: {{ include "daalu-hub.secretName" . }}, key: NATS_URL } }
{{- end -}}

{{- define "daalu-hub.envFrom" -}}
- configMapRef:
    name: {{ include "daalu-hub.fullname" . }}-config
{{- end -}}

{{- define "daalu-hub.extraEnv" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* The operations listener's port and probes (runService: /livez, /readyz), the same in every container. */}}
{{- define "daalu-hub.opsPort" -}}
- name: metrics
  containerPort: {{ .Values.metrics.port }}
  protocol: TCP
{{- end -}}

{{- define "daalu-hub.probes" -}}
startupProbe:
  httpGet: { path: /livez, port: metrics }
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet: { path: /livez, port: metrics }
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /readyz, port: metrics }
  periodSeconds: 5
  failureThreshold: 2
{{- end -}}

{{- define "daalu-hub.restrictedSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  runAsUser: 1000
  runAsGroup: 1000
  capabilities: { drop: [ALL] }
  seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{/* One stateless service: (dict "root" $ "component" "invite" "entry" "services/invite/dist/main.js" "cfg" .Values.invite "env" (list ...)) */}}
{{- define "daalu-hub.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "daalu-hub.fullname" $root }}-{{ .component }}
  labels: {{- include "daalu-hub.labels" . | nindent 4 }}
spec:
  replicas: {{ .cfg.replicas }}
  revisionHistoryLimit: 5
  selector:
    matchLabels: {{- include "daalu-hub.selector" . | nindent 6 }}
  # Capacity never drops during a rollout: a new pod is ready before an old one goes.
  strategy:
    type: RollingUpdate
    rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }
  template:
    metadata:
      labels: {{- include "daalu-hub.selector" . | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    spec:
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 30
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels: {{- include "daalu-hub.selector" . | nindent 14 }}
      containers:
        - name: {{ .component }}
          image: {{ include "daalu-hub.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ .entry }}]
          envFrom: {{- include "daalu-hub.envFrom" $root | nindent 12 }}
          env:
            {{- include "daalu-hub.commonEnv" $root | nindent 12 }}
            {{- with .env }}{{ toYaml . | nindent 12 }}{{ end }}
            {{- include "daalu-hub.extraEnv" .cfg.extraEnv | nindent 12 }}
          ports:
            {{- include "daalu-hub.opsPort" $root | nindent 12 }}
            {{- with .ports }}{{ toYaml . | nindent 12 }}{{ end }}
          {{- include "daalu-hub.probes" $root | nindent 10 }}
          resources: {{- toYaml .cfg.resources | nindent 12 }}
          {{- include "daalu-hub.restrictedSecurityContext" . | nindent 10 }}
          volumeMounts:
            - { name: tmp, mountPath: /tmp }
            {{- with .mounts }}{{ toYaml . | nindent 12 }}{{ end }}
      volumes:
        - { name: tmp, emptyDir: {} }
        {{- with .volumes }}{{ toYaml . | nindent 8 }}{{ end }}
{{- end -}}

{{- define "daalu-hub.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "daalu-hub.fullname" .root }}-{{ .component }}
  labels: {{- include "daalu-hub.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .root.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels: {{- include "daalu-hub.selector" . | nindent 6 }}
{{- end -}}

{{- define "daalu-hub.metricsService" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "daalu-hub.fullname" .root }}-{{ .component }}-metrics
  labels:
    {{- include "daalu-hub.labels" . | nindent 4 }}
    daalu.io/metrics: "true"
spec:
  type: ClusterIP
  selector: {{- include "daalu-hub.selector" . | nindent 4 }}
  ports:
    - { name: metrics, port: {{ .root.Values.metrics.port }}, targetPort: metrics, protocol: TCP }
{{- end -}}
