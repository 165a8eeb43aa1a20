package module

// Activation says what made the converger run a hook, a module or a converge
// of all modules. The values are wire strings: metrics' activation label
// and logs show them as they are.
type Activation string

// The activations, the only values an Activation takes.
const (
	// ActivationOnStartup: the first converge after a start or a bundle swap.
	ActivationOnStartup Activation = "OnStartup"
	// ActivationConfigChanged: an admin changed the configuration.
	ActivationConfigChanged Activation = "ConfigChanged"
	// ActivationRetry: a module's re-run (or delete) after a failure.
	ActivationRetry Activation = "Retry"
	// ActivationHealing: objects of a module's release went missing.
	ActivationHealing Activation = "Healing"
	// ActivationGlobalValuesChanged: a global hook changed global values.
	ActivationGlobalValuesChanged Activation = "GlobalValuesChanged"
	// ActivationModuleValuesChanged: a module hook changed its module's
	// values.
	ActivationModuleValuesChanged Activation = "ModuleValuesChanged"
	// ActivationModuleDelete: the delete hooks of a disabled module.
	ActivationModuleDelete Activation = "ModuleDelete"
	// ActivationSynchronization: the first run of a kubernetes binding,
	// with every object it watches.
	ActivationSynchronization Activation = "Synchronization"
	// ActivationKubernetes: an event of a watched object.
	ActivationKubernetes Activation = "Kubernetes"
	// ActivationSchedule: a schedule binding's time came.
	ActivationSchedule Activation = "Schedule"
)

// ModuleRunActivations are the activations a module run (its onStartup,
// beforeHelm and afterHelm hooks) happens with.
func ModuleRunActivations() []Activation {
	return []Activation{ActivationOnStartup, ActivationConfigChanged, ActivationRetry, ActivationHealing, ActivationGlobalValuesChanged, ActivationModuleValuesChanged}
}

// ConvergeActivations are the activations a converge of all modules (the
// global beforeAll and afterAll hooks) happens with.
func ConvergeActivations() []Activation {
	return []Activation{ActivationOnStartup, ActivationConfigChanged, ActivationGlobalValuesChanged}
}
