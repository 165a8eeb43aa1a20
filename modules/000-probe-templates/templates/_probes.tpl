{{- /*
Probe templates: the only place in the bundle where container probes are
written. A module renders a probe with

  {{- include "probe-templates.liveness" (list $defaults $overrides) | nindent 10 }}

(likewise "probe-templates.readiness" and "probe-templates.startup"), which
prints a `livenessProbe:` (`readinessProbe:`, `startupProbe:`) block, or
nothing when the probe is disabled.

  $defaults   the module's probe, a dict written in its template: exactly one
              handler (httpGet, tcpSocket, exec or grpc, as in the Kubernetes
              Probe API) and optionally timings and `enabled`.
  $overrides  the module's values for this probe (may be nil), e.g.
              .Values.ingressNginx.probes.liveness: timings, `enabled`, or a
              handler that replaces the default one.

Timings start from initialDelaySeconds 5, periodSeconds 5, timeoutSeconds 1,
failureThreshold 3, successThreshold 1; $defaults then $overrides replace
them field by field. terminationGracePeriodSeconds may be set too.
Rendering fails, naming the probe, on an unknown field, on zero or several
handlers, on a handler without its port or command, and on a liveness or
startup probe whose successThreshold is not 1 (the API server refuses it).
*/ -}}

{{- define "probe-templates.liveness" -}}
{{- include "probe-templates.probe" (list "liveness" (index . 0) (index . 1)) -}}
{{- end -}}

{{- define "probe-templates.readiness" -}}
{{- include "probe-templates.probe" (list "readiness" (index . 0) (index . 1)) -}}
{{- end -}}

{{- define "probe-templates.startup" -}}
{{- include "probe-templates.probe" (list "startup" (index . 0) (index . 1)) -}}
{{- end -}}

{{- /* probe-templates.probe: (list kind $defaults $overrides); see above. */ -}}
{{- define "probe-templates.probe" -}}
{{- $kind := index . 0 -}}
{{- $defaults := index . 1 | default dict -}}
{{- $overrides := index . 2 | default dict -}}
{{- $handlers := list "httpGet" "tcpSocket" "exec" "grpc" -}}
{{- $timings := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" "terminationGracePeriodSeconds" -}}
{{- $known := concat $handlers $timings (list "enabled") -}}
{{- range $source := list $defaults $overrides -}}
{{- range $field, $_ := $source -}}
{{- if not (has $field $known) -}}
{{- fail (printf "probe-templates: %s probe: unknown field %q (allowed: %s)" $kind $field (join ", " $known)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $enabled := true -}}
{{- if hasKey $defaults "enabled" -}}{{- $enabled = $defaults.enabled -}}{{- end -}}
{{- if hasKey $overrides "enabled" -}}{{- $enabled = $overrides.enabled -}}{{- end -}}
{{- if $enabled -}}
{{- $probe := dict "initialDelaySeconds" 5 "periodSeconds" 5 "timeoutSeconds" 1 "failureThreshold" 3 "successThreshold" 1 -}}
{{- /* A handler in the overrides replaces the default handler as a whole. */ -}}
{{- $handlerSource := $defaults -}}
{{- range $handlers -}}
{{- if hasKey $overrides . -}}{{- $handlerSource = $overrides -}}{{- end -}}
{{- end -}}
{{- $found := list -}}
{{- range $handlers -}}
{{- if hasKey $handlerSource . -}}
{{- $found = append $found . -}}
{{- $_ := set $probe . (get $handlerSource .) -}}
{{- end -}}
{{- end -}}
{{- if ne (len $found) 1 -}}
{{- fail (printf "probe-templates: %s probe: want exactly one handler of %s, got %d (%s)" $kind (join ", " $handlers) (len $found) (join ", " $found)) -}}
{{- end -}}
{{- $handler := first $found -}}
{{- $spec := get $probe $handler | default dict -}}
{{- if and (has $handler (list "httpGet" "tcpSocket" "grpc")) (not (hasKey $spec "port")) -}}
{{- fail (printf "probe-templates: %s probe: %s needs a port" $kind $handler) -}}
{{- end -}}
{{- if and (eq $handler "grpc") (not (kindIs "float64" $spec.port)) (not (kindIs "int" $spec.port)) (not (kindIs "int64" $spec.port)) -}}
{{- fail (printf "probe-templates: %s probe: grpc.port must be a port number, got %v" $kind $spec.port) -}}
{{- end -}}
{{- if and (eq $handler "exec") (empty $spec.command) -}}
{{- fail (printf "probe-templates: %s probe: exec needs a command" $kind) -}}
{{- end -}}
{{- range $timings -}}
{{- if hasKey $defaults . -}}{{- $_ := set $probe . (get $defaults .) -}}{{- end -}}
{{- if hasKey $overrides . -}}{{- $_ := set $probe . (get $overrides .) -}}{{- end -}}
{{- end -}}
{{- if and (ne $kind "readiness") (ne (int (get $probe "successThreshold")) 1) -}}
{{- fail (printf "probe-templates: %s probe: successThreshold must be 1, got %v" $kind (get $probe "successThreshold")) -}}
{{- end -}}
{{ $kind }}Probe:
{{ toYaml $probe | indent 2 }}
{{- end -}}
{{- end -}}
