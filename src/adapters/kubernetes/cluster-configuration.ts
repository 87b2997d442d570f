/**
 * ClusterConfiguration over kubectl: kubeadm's `kubeadm-config` ConfigMap (kube-system, key
 * `ClusterConfiguration`) and `kubelet-config` ConfigMap (key `kubelet`), as `kubeadm upgrade
 * apply`'s upload-config phase leaves them. The version is changed in the ConfigMap's YAML document
 * in place (yaml's Document keeps every other field, comment and order as kubeadm wrote it) and the
 * ConfigMap is replaced at the resourceVersion it was read at, retried on a Conflict. The
 * kubelet-config has had no version in its name or content since kubeadm 1.24 (UnversionedKubeletConfigMap),
 * so it stays as it is; it must exist, since every joining kubelet reads it.
 */

import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, IncompatibleError, StateConflictError } from '../../core/errors.js';
import {
  formatKubeVersion,
  parseKubernetesVersion,
  tryParseKubeVersion,
} from '../../domain/kubeadm/version.js';
import type { ImageSettings } from '../../domain/upgrade/addon-images.js';
import type { ClusterConfiguration } from '../../domain/upgrade/ports.js';
import {
  type ClusterSideOptions,
  getObject,
  getOptional,
  isConflict,
  type Kubectl,
  kubectlWith,
  replaceObject,
} from './kubectl-objects.js';

const configMapShape = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('ConfigMap'),
  metadata: z.looseObject({ name: z.string(), resourceVersion: z.string().optional() }),
  data: z.record(z.string(), z.string()).optional(),
});

type ConfigMapObject = z.infer<typeof configMapShape>;

const KUBEADM_CONFIG = ['configmap', 'kubeadm-config', '-n', 'kube-system'] as const;
const KUBELET_CONFIG = ['configmap', 'kubelet-config', '-n', 'kube-system'] as const;
const ATTEMPTS = 3;

export interface ReadClusterConfiguration {
  configMap: ConfigMapObject;
  document: ReturnType<typeof parseDocument>;
  kubernetesVersion: string;
  images: ImageSettings;
}

function stringAt(document: ReturnType<typeof parseDocument>, path: string[]): string | undefined {
  const value = document.getIn(path);
  return typeof value === 'string' ? value : undefined;
}

/** kubeadm-config's ClusterConfiguration, parsed; a clear error when it is missing or unreadable. */
export async function readClusterConfiguration(kubectl: Kubectl): Promise<ReadClusterConfiguration> {
  const configMap = await getObject(kubectl, configMapShape, 'configmap kubeadm-config', KUBEADM_CONFIG);
  const text = configMap.data?.ClusterConfiguration;
  const document = text === undefined ? undefined : parseDocument(text);
  const kubernetesVersion = document === undefined ? undefined : stringAt(document, ['kubernetesVersion']);
  if (document === undefined || document.errors.length > 0 || kubernetesVersion === undefined) {
    throw new StateConflictError(
      'the kubeadm-config ConfigMap (kube-system) has no ClusterConfiguration with a kubernetesVersion',
      { hint: 'kubeadm writes it at init; see kubectl -n kube-system get configmap kubeadm-config -o yaml' },
    );
  }
  if (tryParseKubeVersion(kubernetesVersion) === undefined) {
    throw new StateConflictError(
      `kubeadm-config's ClusterConfiguration.kubernetesVersion "${kubernetesVersion.slice(0, 40)}" is not a Kubernetes version`,
      {
        hint: 'kubeadm cannot join a node to this cluster either; set it to the version the control plane runs',
      },
    );
  }
  return {
    configMap,
    document,
    kubernetesVersion,
    images: {
      imageRepository: stringAt(document, ['imageRepository']),
      dns: {
        imageRepository: stringAt(document, ['dns', 'imageRepository']),
        imageTag: stringAt(document, ['dns', 'imageTag']),
      },
    },
  };
}

/** The target as kubeadm writes it (`v1.32.0`); a version without its patch is refused. */
function targetVersion(version: string): string {
  const parsed = parseKubernetesVersion(version, 'the target Kubernetes version');
  if (parsed.patch === undefined) {
    throw new ConfigError(`the target Kubernetes version "${version}" has no patch release`, {
      hint: 'name the release the control plane should run, like v1.32.0',
    });
  }
  return formatKubeVersion(parsed);
}

export class KubectlClusterConfiguration implements ClusterConfiguration {
  readonly #kubectl: Kubectl;

  constructor(options: ClusterSideOptions) {
    this.#kubectl = kubectlWith(options);
  }

  async kubernetesVersion(): Promise<string> {
    return (await readClusterConfiguration(this.#kubectl)).kubernetesVersion;
  }

  async setKubernetesVersion(version: string): Promise<{ changed: boolean }> {
    const target = targetVersion(version);
    await this.#requireKubeletConfig();
    for (let attempt = 1; ; attempt += 1) {
      const read = await readClusterConfiguration(this.#kubectl);
      const current = parseKubernetesVersion(read.kubernetesVersion, 'kubeadm-config');
      if (formatKubeVersion(current) === target) return { changed: false };
      const wanted = parseKubernetesVersion(target, 'the target Kubernetes version');
      if (Math.abs(wanted.minor - current.minor) > 1 || wanted.major !== current.major) {
        throw new IncompatibleError(
          `kubeadm-config names ${read.kubernetesVersion}: kubeadm moves a cluster one minor at a time, not to ${target}`,
          { hint: 'upgrade through each minor in turn' },
        );
      }
      read.document.set('kubernetesVersion', target);
      const data = { ...read.configMap.data, ClusterConfiguration: read.document.toString({ lineWidth: 0 }) };
      try {
        await replaceObject(this.#kubectl, { ...read.configMap, data });
        return { changed: true };
      } catch (error) {
        if (!isConflict(error) || attempt >= ATTEMPTS) throw error;
      }
    }
  }

  async #requireKubeletConfig(): Promise<void> {
    const kubelet = await getOptional(
      this.#kubectl,
      configMapShape,
      'configmap kubelet-config',
      KUBELET_CONFIG,
    );
    if (kubelet?.data?.kubelet === undefined) {
      throw new StateConflictError(
        'the kubelet-config ConfigMap (kube-system) is missing or has no `kubelet` key: no node could join',
        { hint: 'kubeadm writes it at init (kubeadm init phase upload-config kubelet restores it)' },
      );
    }
  }
}
