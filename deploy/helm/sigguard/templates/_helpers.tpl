{{/* Labels on every object; the selector takes the first two. */}}
{{- define "sigguard.selector" -}}
app.kubernetes.io/name: sigguard
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sigguard.labels" -}}
{{ include "sigguard.selector" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* The policy's ConfigMap. */}}
{{- define "sigguard.policyName" -}}
{{ .Release.Name }}-policy
{{- end }}
