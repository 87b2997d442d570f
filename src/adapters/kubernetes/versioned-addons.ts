/**
 * VersionedAddons over kubectl: the images of the addons bound to the Kubernetes version, in
 * kubeadm's order (`addon/coredns`, then `addon/kube-proxy`), then kboot's AWS
 * cloud-controller-manager: CoreDNS's Deployment and kube-proxy's DaemonSet as `kubeadm upgrade
 * apply` sets them (../../domain/upgrade/addon-images.ts), the cloud-controller-manager's
 * DaemonSet at the image of the target's minor. Each is read, its container's image compared, and
 * only a different one replaced (at the resourceVersion read, retried on a Conflict): a rerun
 * changes nothing. An addon the cluster does not run (kube-proxy skipped, no cloud provider) is
 * left absent, as kubeadm skips an addon it does not find. Cilium is not here: kboot deploys one
 * Cilium release for every minor (src/domain/kubeadm/versions.ts), so a version change does not
 * touch it.
 *
 * The target must already be kubeadm-config's kubernetesVersion: kubeadm uploads the
 * configuration before it touches the addons, and kube-proxy must not run newer than the API.
 */

import { z } from 'zod';
import { IncompatibleError, StateConflictError } from '../../core/errors.js';
import { formatKubeVersion, parseKubernetesVersion } from '../../domain/kubeadm/version.js';
import {
  cloudControllerTargetImage,
  coreDnsImage,
  type ImageSettings,
  kubeProxyImage,
} from '../../domain/upgrade/addon-images.js';
import type { VersionedAddons } from '../../domain/upgrade/ports.js';
import { readClusterConfiguration } from './cluster-configuration.js';
import {
  type ClusterSideOptions,
  getOptional,
  isConflict,
  type Kubectl,
  kubectlWith,
  replaceObject,
} from './kubectl-objects.js';

const workloadShape = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string(), resourceVersion: z.string().optional() }),
  spec: z.looseObject({
    template: z.looseObject({
      spec: z.looseObject({
        containers: z.array(z.looseObject({ name: z.string(), image: z.string().optional() })),
      }),
    }),
  }),
});

interface Addon {
  /** How the roll and the log name it. */
  name: string;
  resource: 'daemonset' | 'deployment';
  object: string;
  container: string;
  image(settings: ImageSettings, version: string): string | undefined;
}

const ATTEMPTS = 3;

export class KubectlVersionedAddons implements VersionedAddons {
  readonly #kubectl: Kubectl;
  readonly #addons: readonly Addon[];

  constructor(options: ClusterSideOptions) {
    this.#kubectl = kubectlWith(options);
    const override = options.cloudControllerImage;
    this.#addons = [
      {
        name: 'coredns',
        resource: 'deployment',
        object: 'coredns',
        container: 'coredns',
        image: coreDnsImage,
      },
      {
        name: 'kube-proxy',
        resource: 'daemonset',
        object: 'kube-proxy',
        container: 'kube-proxy',
        image: kubeProxyImage,
      },
      {
        name: 'aws-cloud-controller-manager',
        resource: 'daemonset',
        object: 'aws-cloud-controller-manager',
        container: 'aws-cloud-controller-manager',
        image: (_settings, version) => cloudControllerTargetImage(version, override),
      },
    ];
  }

  async upgrade(version: string): Promise<{ changed: string[] }> {
    const target = formatKubeVersion(parseKubernetesVersion(version, 'the target Kubernetes version'));
    const config = await readClusterConfiguration(this.#kubectl);
    const configured = formatKubeVersion(parseKubernetesVersion(config.kubernetesVersion, 'kubeadm-config'));
    if (configured !== target) {
      throw new IncompatibleError(
        `kubeadm-config names ${config.kubernetesVersion}, not ${target}: the addons follow the cluster configuration`,
        {
          hint: 'set the cluster configuration to the target first (the roll does, before the control plane)',
        },
      );
    }
    const changed: string[] = [];
    for (const addon of this.#addons) {
      const image = addon.image(config.images, target);
      if (image !== undefined && (await this.#setImage(addon, image))) changed.push(addon.name);
    }
    return { changed };
  }

  /** Sets the addon's container image; false when the addon is absent or already there. */
  async #setImage(addon: Addon, image: string): Promise<boolean> {
    for (let attempt = 1; ; attempt += 1) {
      const what = `${addon.resource} ${addon.object}`;
      const object = await getOptional(this.#kubectl, workloadShape, what, [
        addon.resource,
        addon.object,
        '-n',
        'kube-system',
      ]);
      if (object === undefined) return false;
      const containers = object.spec.template.spec.containers;
      const container = containers.find((candidate) => candidate.name === addon.container);
      if (container === undefined) {
        throw new StateConflictError(
          `kube-system ${what} has no container named ${addon.container}: kboot cannot tell which image to set`,
          { hint: `see kubectl -n kube-system get ${what} -o yaml` },
        );
      }
      if (container.image === image) return false;
      container.image = image;
      try {
        await replaceObject(this.#kubectl, object);
        return true;
      } catch (error) {
        if (!isConflict(error) || attempt >= ATTEMPTS) throw error;
      }
    }
  }
}
