{{- /* Common labels of every object of the module. */ -}}
{{- define "ingress-nginx.labels" -}}
app.kubernetes.io/name: ingress-nginx
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: addon-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- /* Labels selecting the controller Pods; never change them (Deployment selectors are immutable). */ -}}
{{- define "ingress-nginx.selectorLabels" -}}
app.kubernetes.io/name: ingress-nginx
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- /* Name of cluster-scoped objects, unique per operator namespace. */ -}}
{{- define "ingress-nginx.clusterName" -}}
{{ .Release.Namespace }}:ingress-nginx
{{- end -}}

{{- /* True ("true") when Nodes labelled dedicated=ingress exist. */ -}}
{{- define "ingress-nginx.dedicatedNodes" -}}
{{- if gt (int .Values.global.discovery.ingressNodes.count) 0 -}}true{{- end -}}
{{- end -}}

{{- /* Controller replicas: the configured number, else one per ingress Node, at least 1. */ -}}
{{- define "ingress-nginx.replicas" -}}
{{- if .Values.ingressNginx.replicas -}}
{{- int .Values.ingressNginx.replicas -}}
{{- else -}}
{{- max 1 (int .Values.global.discovery.ingressNodes.count) -}}
{{- end -}}
{{- end -}}

{{- /* Service type after resolving Auto against the discovered cloud provider. */ -}}
{{- define "ingress-nginx.serviceType" -}}
{{- $type := .Values.ingressNginx.service.type | default "Auto" -}}
{{- if eq $type "Auto" -}}
{{- if has .Values.global.discovery.cloudProvider (list "aws" "gcp" "azure") -}}LoadBalancer{{- else -}}NodePort{{- end -}}
{{- else -}}
{{- $type -}}
{{- end -}}
{{- end -}}

{{- /* Service annotations as YAML: the provider's for a LoadBalancer on aws/gcp/azure, then the configured ones. */ -}}
{{- define "ingress-nginx.serviceAnnotations" -}}
{{- $annotations := dict -}}
{{- $service := .Values.ingressNginx.service -}}
{{- if eq (include "ingress-nginx.serviceType" .) "LoadBalancer" -}}
{{- $provider := .Values.global.discovery.cloudProvider -}}
{{- if eq $provider "aws" -}}
{{- $_ := set $annotations "service.beta.kubernetes.io/aws-load-balancer-type" "nlb" -}}
{{- $_ := set $annotations "service.beta.kubernetes.io/aws-load-balancer-backend-protocol" "tcp" -}}
{{- $_ := set $annotations "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled" "true" -}}
{{- if $service.internal -}}
{{- $_ := set $annotations "service.beta.kubernetes.io/aws-load-balancer-internal" "true" -}}
{{- end -}}
{{- else if eq $provider "gcp" -}}
{{- if $service.internal -}}
{{- $_ := set $annotations "networking.gke.io/load-balancer-type" "Internal" -}}
{{- else -}}
{{- $_ := set $annotations "cloud.google.com/l4-rbs" "enabled" -}}
{{- end -}}
{{- else if eq $provider "azure" -}}
{{- /* Azure probes "/" on the HTTP port by default, which NGINX answers with 404. */ -}}
{{- $_ := set $annotations "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path" "/healthz" -}}
{{- if $service.internal -}}
{{- $_ := set $annotations "service.beta.kubernetes.io/azure-load-balancer-internal" "true" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $key, $value := $service.annotations -}}
{{- $_ := set $annotations $key $value -}}
{{- end -}}
{{- if $annotations -}}
{{- toYaml $annotations -}}
{{- end -}}
{{- end -}}

{{- /* Node selector as YAML: the configured one, else dedicated=ingress when such Nodes exist. */ -}}
{{- define "ingress-nginx.nodeSelector" -}}
{{- if .Values.ingressNginx.nodeSelector -}}
{{- toYaml .Values.ingressNginx.nodeSelector -}}
{{- else if include "ingress-nginx.dedicatedNodes" . -}}
dedicated: ingress
{{- end -}}
{{- end -}}

{{- /* Tolerations as YAML: the configured ones, else the dedicated=ingress taint when such Nodes exist. */ -}}
{{- define "ingress-nginx.tolerations" -}}
{{- if .Values.ingressNginx.tolerations -}}
{{- toYaml .Values.ingressNginx.tolerations -}}
{{- else if include "ingress-nginx.dedicatedNodes" . -}}
- key: dedicated
  operator: Equal
  value: ingress
{{- end -}}
{{- end -}}
