{{/*
The prefix of every object's name: the release name, followed by "-surgeguard" unless it
already holds it, so `helm install surgeguard` gives surgeguard-agent and surgeguard-controller.
Cut to 50 characters so that "-controller" still fits a 63-character label value.
*/}}
{{- define "surgeguard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one component: (dict "root" $ "component" "agent"). */}}
{{- define "surgeguard.componentName" -}}
{{- include "surgeguard.fullname" .root }}-{{ .component }}
{{- end -}}

{{/* Selector labels of one component. They stay as they were before the chart: a selector is immutable. */}}
{{- define "surgeguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "surgeguard.componentName" . }}
{{- end -}}

{{/* Labels of every object of one component. */}}
{{- define "surgeguard.labels" -}}
{{ include "surgeguard.selectorLabels" . }}
app.kubernetes.io/part-of: surgeguard
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{- end -}}

{{- define "surgeguard.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The agent's config before values.agent.config is merged over it. */}}
{{- define "surgeguard.agent.defaultConfig" -}}
collectors:
  gpu: { intervalSeconds: 5, timeoutSeconds: 3 }
  xid: { source: file }
  network: { intervalSeconds: 5 }
  kafka: { enabled: false, scope: node }
{{- if .Values.agent.metricsTokenSecret }}
metricsAuth:
  bearerTokenFile: {{ include "surgeguard.agent.metricsTokenDir" . }}/token
{{- end }}
{{- end -}}

{{/* Where the agent's /metrics token Secret (values agent.metricsTokenSecret) is mounted. */}}
{{- define "surgeguard.agent.metricsTokenDir" -}}
/var/run/surgeguard/metrics
{{- end -}}

{{/*
"true" when the agent watches the pods of its node: Kafka attribution on, with scope node (the
only reader of the API server in the agent, cli/commands/agent.ts). Else "false".
*/}}
{{- define "surgeguard.agent.watchesPods" -}}
{{- $kafka := (include "surgeguard.config" (dict "root" . "component" "agent") | fromYaml).collectors.kafka -}}
{{- and $kafka.enabled (eq (toString $kafka.scope) "node") | toString -}}
{{- end -}}

{{/*
"true" when values.controller.config turns the placeholders on (capacity.placeholders.enabled): the
chart then ships their PriorityClass and the Role that lets the controller create and delete pods in
its own namespace. Else "false", and neither exists.
*/}}
{{- define "surgeguard.controller.placeholders" -}}
{{- dig "capacity" "placeholders" "enabled" false (.Values.controller.config | default dict) | toString -}}
{{- end -}}

{{/*
"true" when placeholders are on and a pool's mode is capacityBuffer or auto (docs/capacity.md): the
placeholder Role then also grants writing CapacityBuffers and their PodTemplates in the release
namespace. Else "false".
*/}}
{{- define "surgeguard.controller.capacityBuffers" -}}
{{- $on := false -}}
{{- if eq (include "surgeguard.controller.placeholders" .) "true" -}}
{{- range (dig "capacity" "placeholders" "pools" list (.Values.controller.config | default dict)) -}}
{{- if has (dig "mode" "pods" .) (list "capacityBuffer" "auto") -}}{{- $on = true -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $on | toString -}}
{{- end -}}

{{/*
"true" when values.controller.config turns capacity.nodeClaims on (docs/capacity.md): the chart then
grants list and watch on Karpenter's NodeClaims. Else "false".
*/}}
{{- define "surgeguard.controller.nodeClaims" -}}
{{- dig "capacity" "nodeClaims" "enabled" false (.Values.controller.config | default dict) | toString -}}
{{- end -}}

{{/*
"true" when values.controller.config turns sharding on (sharding.enabled with more than one shard,
docs/sharding.md): the chart then ships a Role to list the Leases in its namespace (each replica
lists the membership Leases) and delete dead replicas' membership Leases. Else "false".
*/}}
{{- define "surgeguard.controller.sharding" -}}
{{- $s := dig "sharding" dict (.Values.controller.config | default dict) -}}
{{- and (dig "enabled" false $s) (gt (int (dig "shards" 32 $s)) 1) | toString -}}
{{- end -}}

{{/* The controller's config before values.controller.config is merged over it. */}}
{{- define "surgeguard.controller.defaultConfig" -}}
{{- $name := include "surgeguard.componentName" (dict "root" . "component" "controller") -}}
intervalSeconds: 15
leaderElection:
  namespace: {{ .Release.Namespace }}
  leaseName: {{ $name }}
pauseConfigMap:
  namespace: {{ .Release.Namespace }}
  name: {{ $name }}
api:
  tokenFile: /var/run/surgeguard/api/token
{{- if .Values.controller.externalMetrics.enabled }}
externalMetrics:
  listen: 0.0.0.0:{{ .Values.controller.externalMetrics.port }}
  tls:
    certFile: /var/run/surgeguard/external-metrics/tls.crt
    keyFile: /var/run/surgeguard/external-metrics/tls.key
{{- end }}
{{- if eq (include "surgeguard.controller.sharding" .) "true" }}
sharding:
  namespace: {{ .Release.Namespace }}
  memberLeasePrefix: {{ $name }}-member-
  shardLeasePrefix: {{ $name }}-shard-
{{- end }}
{{- if eq (include "surgeguard.controller.placeholders" .) "true" }}
capacity:
  placeholders:
    namespace: {{ .Release.Namespace }}
    priorityClassName: {{ include "surgeguard.fullname" . }}-placeholder
{{- end }}
{{- if .Values.controller.keda.enabled }}
keda:
  listen: 0.0.0.0:{{ .Values.controller.keda.port }}
  {{- if .Values.controller.keda.tlsSecret }}
  tls:
    certFile: /var/run/surgeguard/keda/tls.crt
    keyFile: /var/run/surgeguard/keda/tls.key
    clientCAFile: /var/run/surgeguard/keda/ca.crt
  {{- end }}
{{- end }}
{{- end -}}

{{/*
A component's config file: the defaults with the user's map merged over them (maps merge key
by key, anything else is replaced). (dict "root" $ "component" "agent").
*/}}
{{- define "surgeguard.config" -}}
{{- $defaults := include (printf "surgeguard.%s.defaultConfig" .component) .root | fromYaml -}}
{{- $user := index .root.Values .component "config" | default dict -}}
{{- toYaml (mustMergeOverwrite $defaults (deepCopy $user)) -}}
{{- end -}}
