{{/* Names of the release's objects; every template uses these, so each is defined once. */}}
{{- define "sum.name" -}}{{ .Release.Name }}{{- end }}
{{- define "sum.serviceA" -}}{{ .Release.Name }}-service-a{{- end }}
{{- define "sum.serviceB" -}}{{ .Release.Name }}-service-b{{- end }}
{{- define "sum.reconciler" -}}{{ .Release.Name }}-reconciler{{- end }}
{{- define "sum.kafka" -}}{{ .Release.Name }}-kafka{{- end }}
{{- define "sum.connect" -}}{{ .Release.Name }}-connect{{- end }}
{{- define "sum.outboxDb" -}}{{ .Release.Name }}-outbox-db{{- end }}
{{- define "sum.totalsDb" -}}{{ .Release.Name }}-totals-db{{- end }}
{{- define "sum.dbSetup" -}}{{ .Release.Name }}-db-setup{{- end }}
{{/* Strimzi's bootstrap Service for the plain listener. */}}
{{- define "sum.kafkaBootstrap" -}}{{ include "sum.kafka" . }}-kafka-bootstrap:9092{{- end }}
{{/* A client's KafkaUser, its SCRAM user name and the Secret Strimzi makes for it: (dict "root" $ "component" "service-b"). */}}
{{- define "sum.kafkaUser" -}}{{ .root.Release.Name }}-{{ .component }}-kafka{{- end }}
{{/* Connect's group and internal topics (native/jvm/connect-distributed.properties), which its ACLs name too. */}}
{{- define "sum.connectStorage" -}}
groupId: sum-pipeline-connect
configStorageTopic: sum-pipeline-connect-configs
offsetStorageTopic: sum-pipeline-connect-offsets
statusStorageTopic: sum-pipeline-connect-status
{{- end }}
{{/* Service B's consumer group, which its ACLs name too. */}}
{{- define "sum.serviceBGroup" -}}service-b{{- end }}

{{- define "sum.labels" -}}
app.kubernetes.io/part-of: sum-pipeline
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* Pod selector labels of one component: (dict "root" $ "component" "service-a"). */}}
{{- define "sum.selector" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* An image reference; a mutable tag would make a rollback or a new node run other code. */}}
{{- define "sum.image" -}}
{{- $tag := .image.tag | default .root.Chart.AppVersion -}}
{{- if eq $tag "latest" }}{{ fail (printf "%s: the tag `latest` is refused; pin a version" .image.repository) }}{{ end -}}
{{ .image.repository }}:{{ $tag }}
{{- end }}

{{/* Hardening shared by every container the chart defines. */}}
{{- define "sum.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities: { drop: [ALL] }
{{- end }}

{{/* The images' `node` user (uid 1000), stated so runAsNonRoot can be checked without the image. */}}
{{- define "sum.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
seccompProfile: { type: RuntimeDefault }
{{- end }}

{{/* An environment variable read from a Secret's `password` key. */}}
{{- define "sum.passwordEnv" -}}
- name: {{ .name }}
  valueFrom: { secretKeyRef: { name: {{ .secret }}, key: password } }
{{- end }}

{{/* A kafkajs client's SASL settings: its KafkaUser, the password from the Secret Strimzi makes for it. */}}
{{- define "sum.kafkaSaslEnv" -}}
{{- $user := include "sum.kafkaUser" . -}}
- { name: KAFKA_SASL_MECHANISM, value: scram-sha-512 }
- { name: KAFKA_SASL_USERNAME, value: {{ $user }} }
{{ include "sum.passwordEnv" (dict "name" "KAFKA_SASL_PASSWORD" "secret" $user) }}
{{- end }}
