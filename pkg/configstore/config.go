package configstore

import (
	"cmp"
	"flag"
	"os"
)

// DefaultConfigMap is the ConfigMap name used when neither the flag nor
// ADDON_OPERATOR_CONFIG_MAP sets one.
const DefaultConfigMap = "addon-operator"

// secretSuffix turns the ConfigMap name into the Secret name.
const secretSuffix = "-secrets"

// Config locates the ConfigMap and says how the Store treats its deletion.
type Config struct {
	// Namespace holds the ConfigMap and the Secret. Required.
	Namespace string
	// ConfigMap is the ConfigMap's name; empty means DefaultConfigMap. The
	// Secret is named ConfigMap + "-secrets".
	ConfigMap string
	// RecreateOnDelete makes the Store re-create a deleted ConfigMap (and a
	// deleted Secret that held secret values) from the last accepted
	// configuration. It is true in DefaultConfig and for the flag; the zero
	// Config has it off.
	RecreateOnDelete bool
}

// DefaultConfig returns the settings the flags default to: Namespace from
// ADDON_OPERATOR_NAMESPACE, ConfigMap from ADDON_OPERATOR_CONFIG_MAP (or
// DefaultConfigMap), RecreateOnDelete true.
func DefaultConfig() Config {
	return Config{
		Namespace:        os.Getenv("ADDON_OPERATOR_NAMESPACE"),
		ConfigMap:        cmp.Or(os.Getenv("ADDON_OPERATOR_CONFIG_MAP"), DefaultConfigMap),
		RecreateOnDelete: true,
	}
}

// BindFlags registers --namespace, --config-map and --recreate-config-map
// with the defaults of DefaultConfig.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	fs.StringVar(&c.Namespace, "namespace", d.Namespace, "namespace of the config ConfigMap and Secret (env ADDON_OPERATOR_NAMESPACE)")
	fs.StringVar(&c.ConfigMap, "config-map", d.ConfigMap, "name of the config ConfigMap; the Secret is <name>-secrets (env ADDON_OPERATOR_CONFIG_MAP)")
	fs.BoolVar(&c.RecreateOnDelete, "recreate-config-map", d.RecreateOnDelete, "re-create a deleted config ConfigMap or Secret from the last accepted configuration")
}

// SecretName is the name of the Secret that holds x-secret config values.
func (c Config) SecretName() string {
	return c.configMapName() + secretSuffix
}

func (c Config) configMapName() string {
	if c.ConfigMap == "" {
		return DefaultConfigMap
	}
	return c.ConfigMap
}
