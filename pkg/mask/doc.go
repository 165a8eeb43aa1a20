// Package mask hides the secret values in force in text that leaves the
// process: Module statuses, Events, Release messages and logs. The operator
// feeds a Masker the values of the x-secret fields of every accepted
// configuration (configstore.Snapshot.Secrets); each sink passes its text
// through Mask before writing it.
//
// Values shorter than MinLen bytes are not masked: hiding "on" or "1"
// everywhere would garble every message and hide nothing worth hiding.
package mask
