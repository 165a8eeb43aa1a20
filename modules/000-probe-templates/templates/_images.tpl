{{- /*
Image relocation: the only place in the bundle where an image reference is
written out. A module renders a container image with

  image: {{ include "probe-templates.image" (list "quay.io/prometheus/prometheus:v3.5.0" .Values.global) }}

With global.imageRegistry empty (the default) the reference is printed as
given. With it set (a host, optionally with a port and a path prefix, e.g.
registry.internal:5000/mirror) the registry part of the reference is
replaced by it and the repository path and the tag or digest are kept.

The registry part is the first path segment when it contains a "." or a ":"
or is "localhost" (the rule Docker and containerd use); otherwise the image
is on docker.io, whose one-segment names live under library/:

  quay.io/prometheus/prometheus:v3.5.0  -> registry.internal:5000/mirror/prometheus/prometheus:v3.5.0
  registry.k8s.io/ingress-nginx/controller:v1.12.1
                                        -> registry.internal:5000/mirror/ingress-nginx/controller:v1.12.1
  docker.io/library/busybox:1.37.0      -> registry.internal:5000/mirror/library/busybox:1.37.0
  grafana/grafana:11.6.0                -> registry.internal:5000/mirror/grafana/grafana:11.6.0
  busybox:1.37.0                        -> registry.internal:5000/mirror/library/busybox:1.37.0
  localhost/tools/x@sha256:<digest>     -> registry.internal:5000/mirror/tools/x@sha256:<digest>

A trailing "/" of imageRegistry is ignored.
*/ -}}
{{- define "probe-templates.image" -}}
{{- $image := index . 0 -}}
{{- $registry := trimSuffix "/" ((index . 1).imageRegistry | default "") -}}
{{- if not $registry -}}
{{- $image -}}
{{- else -}}
{{- $parts := splitn "/" 2 $image -}}
{{- $path := $image -}}
{{- if and (contains "/" $image) (or (contains "." $parts._0) (contains ":" $parts._0) (eq $parts._0 "localhost")) -}}
{{- $path = $parts._1 -}}
{{- end -}}
{{- if eq $path $image -}}
{{- if not (contains "/" $path) -}}
{{- $path = printf "library/%s" $path -}}
{{- end -}}
{{- end -}}
{{- printf "%s/%s" $registry $path -}}
{{- end -}}
{{- end -}}
