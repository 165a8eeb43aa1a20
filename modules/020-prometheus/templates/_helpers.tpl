{{- /* Labels of every object of the module; $name is prometheus or grafana. Call with (list . $name). */ -}}
{{- define "prometheus.labels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/part-of: addon-operator
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
{{- end -}}

{{- /* Labels selecting Pods; never change them (selectors are immutable). Call with (list . $name). */ -}}
{{- define "prometheus.selectorLabels" -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{- /* Name of cluster-scoped objects, unique per operator namespace. */ -}}
{{- define "prometheus.clusterName" -}}
{{ .Release.Namespace }}:prometheus
{{- end -}}

{{- /* StorageClass of the data volumes: the configured one, else the discovered default, else "". */ -}}
{{- define "prometheus.storageClass" -}}
{{- .Values.prometheus.storage.storageClass | default .Values.global.discovery.defaultStorageClass | default "" -}}
{{- end -}}

{{- /* In-cluster base URL of the Prometheus Service. */ -}}
{{- define "prometheus.url" -}}
http://prometheus.{{ .Release.Namespace }}.svc.{{ .Values.global.clusterDomain | default "cluster.local" }}:9090
{{- end -}}

{{- /* The Grafana admin password; rendering fails while the hook has not set it. */ -}}
{{- define "prometheus.adminPassword" -}}
{{- required "prometheus.grafana.adminPassword is not set: hooks/generate_grafana_password.sh sets it before Helm runs" .Values.prometheus.grafana.adminPassword -}}
{{- end -}}
