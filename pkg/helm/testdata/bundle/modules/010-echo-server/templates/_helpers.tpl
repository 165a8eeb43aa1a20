{{- define "echo-server.labels" -}}
app: echo-server
{{- end }}
