// Package configstore is the operator's view of the configuration that
// cluster admins edit: one ConfigMap (default "addon-operator") plus the
// Secret "<configmap>-secrets" for config values whose schema marks them
// x-secret.
//
// ConfigMap data keys are "global", "operator", a module's camelCase values
// key ("ingressNginx") holding YAML maps, and "<valuesKey>Enabled" holding
// "true" or "false". The Secret uses the same section keys and holds only the
// secret fields of each section; a section is the ConfigMap part deep-merged
// with the Secret part.
//
// An edit is accepted or rejected as a whole: when any key is wrong the
// Store reports every problem at once and keeps the last accepted
// configuration in force. A key naming no section of the bundle is not
// wrong: it is ignored and listed in Snapshot.Unknown (a module a release
// dropped, or one only a newer release has).
//
// It owns those two objects and the section keys (values.OperatorKey is the
// one spelling of "operator"); no other package writes them. It must not import
// module, converge or updater: it checks sections through the Schemas
// interface it declares.
package configstore
