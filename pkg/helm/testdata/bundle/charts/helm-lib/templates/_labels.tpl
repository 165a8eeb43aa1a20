{{- /* helm-lib.labels gives the standard labels of a module's objects. */ -}}
{{- define "helm-lib.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/part-of: addons
{{- end }}
