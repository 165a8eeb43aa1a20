package configstore

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// handleDeleted deals with the ConfigMap, or a Secret that held secret
// values, disappearing while the Store runs. Deleting them is not an edit:
// the last accepted configuration stays in force and, with
// RecreateOnDelete, the missing objects are created again from it. It
// reports whether the sync is complete. Called with writeMu held.
func (s *Store) handleDeleted(ctx context.Context, cm *corev1.ConfigMap, secret *corev1.Secret) bool {
	cmGone := cm == nil && s.cmSeen
	secretGone := secret == nil && s.secretSeen
	if !cmGone && !secretGone {
		return false
	}
	cmData, secretData := render(s.Current(), s.schemas)
	if secretGone && !cmGone && (!s.cfg.RecreateOnDelete || len(secretData) == 0) {
		// Nothing secret is lost, or the admin chose deletion to be an
		// edit: parse what is left.
		s.secretSeen = false
		return false
	}
	if !s.cfg.RecreateOnDelete {
		if !s.goneWarned {
			s.log.Warn("configmap deleted, keeping the last accepted config", "configmap", s.ref())
			s.goneWarned = true
		}
		return true
	}
	s.log.Warn("config objects deleted, re-creating them from the last accepted config", "configmap", s.ref(), "secret", s.cfg.SecretName())
	rvs, err := s.recreate(ctx, cmData, secretData)
	if err != nil {
		s.log.Error("re-create config objects failed", "configmap", s.ref(), "error", err)
		s.clock.AfterFunc(recreateRetry, s.trigger)
		return true
	}
	s.expectEcho(rvs)
	s.log.Info("config objects re-created", "configmap", s.ref())
	return true
}

// recreate creates whichever of the two objects is missing in the API (not
// the cache) with the given data; objects that exist are left alone. It
// returns the versions the caches will show.
func (s *Store) recreate(ctx context.Context, cmData map[string]string, secretData map[string][]byte) (map[string]string, error) {
	rvs := map[string]string{}
	secret, err := s.getSecret(ctx)
	if err != nil {
		return nil, err
	}
	if secret == nil && len(secretData) > 0 {
		secret, err = s.writeSecret(ctx, nil, secretData)
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	if secret != nil {
		rvs[kindSecret] = secret.ResourceVersion
	}
	cm, err := s.getConfigMap(ctx)
	if err != nil {
		return nil, err
	}
	if cm == nil {
		cm, err = s.writeConfigMap(ctx, nil, cmData)
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	if cm != nil {
		rvs[kindConfigMap] = cm.ResourceVersion
	}
	return rvs, nil
}

// render turns a configuration into ConfigMap and Secret data, secret
// fields split out by schemas.
func render(snap Snapshot, schemas Schemas) (map[string]string, map[string][]byte) {
	cmData := map[string]string{}
	secretData := map[string][]byte{}
	for key, section := range snap.sections() {
		plain, secret := splitSecret(section, schemas.SecretPaths(key))
		if len(plain) > 0 {
			cmData[key] = string(plain.YAML())
		}
		if len(secret) > 0 {
			secretData[key] = secret.YAML()
		}
	}
	for key, on := range snap.Enabled {
		cmData[key+enabledSuffix] = strconv.FormatBool(on)
	}
	return cmData, secretData
}

// managedBy labels the objects the Store creates.
func managedBy() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "addon-operator"}
}

func (s *Store) getConfigMap(ctx context.Context) (*corev1.ConfigMap, error) {
	cm, err := s.client.CoreV1().ConfigMaps(s.cfg.Namespace).Get(ctx, s.cfg.ConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read configmap %s: %w", s.ref(), err)
	}
	return cm, nil
}

func (s *Store) getSecret(ctx context.Context) (*corev1.Secret, error) {
	secret, err := s.client.CoreV1().Secrets(s.cfg.Namespace).Get(ctx, s.cfg.SecretName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secret %s/%s: %w", s.cfg.Namespace, s.cfg.SecretName(), err)
	}
	return secret, nil
}

// writeConfigMap creates the ConfigMap (old nil) or replaces its data,
// conditional on old's resourceVersion.
func (s *Store) writeConfigMap(ctx context.Context, old *corev1.ConfigMap, data map[string]string) (*corev1.ConfigMap, error) {
	api := s.client.CoreV1().ConfigMaps(s.cfg.Namespace)
	if old == nil {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: s.cfg.ConfigMap, Namespace: s.cfg.Namespace, Labels: managedBy()},
			Data:       data,
		}
		out, err := api.Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create configmap %s: %w", s.ref(), err)
		}
		return out, nil
	}
	cm := old.DeepCopy()
	cm.Data = data
	out, err := api.Update(ctx, cm, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update configmap %s: %w", s.ref(), err)
	}
	return out, nil
}

// writeSecret creates the Secret (old nil) or replaces its data,
// conditional on old's resourceVersion.
func (s *Store) writeSecret(ctx context.Context, old *corev1.Secret, data map[string][]byte) (*corev1.Secret, error) {
	api := s.client.CoreV1().Secrets(s.cfg.Namespace)
	if old == nil {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.cfg.SecretName(), Namespace: s.cfg.Namespace, Labels: managedBy()},
			Type:       corev1.SecretTypeOpaque,
			Data:       data,
		}
		out, err := api.Create(ctx, secret, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create secret %s/%s: %w", s.cfg.Namespace, s.cfg.SecretName(), err)
		}
		return out, nil
	}
	secret := old.DeepCopy()
	secret.Data = data
	out, err := api.Update(ctx, secret, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update secret %s/%s: %w", s.cfg.Namespace, s.cfg.SecretName(), err)
	}
	return out, nil
}
