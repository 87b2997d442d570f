/**
 * What the first master applies after `kubeadm init`, in a fixed order: the CNI, the AWS
 * cloud-controller-manager, then every *.yaml / *.yml file of the addons directory in name
 * order. Pure: the cluster's facts and the directory's files in, the manifests out.
 */

import { parseAllDocuments } from 'yaml';
import { YAML_TO_JS_OPTIONS } from '../config/yaml.js';
import type { ClusterAddons } from '../state/cluster-record.js';
import { CILIUM_VERSION, ciliumObjects } from './cilium.js';
import { cloudControllerImage, cloudControllerObjects, configureCloudRoutes } from './cloud-controller.js';
import { manifestYaml } from './objects.js';

/** Where kboot keeps the manifests it rendered, for the operator to read or re-apply. */
const RENDERED_ADDONS_DIR = '/var/lib/kboot/addons';

export interface Addon {
  /** `cilium`, `aws-cloud-controller-manager`, or `addons.d/<file>`. */
  name: string;
  /** The manifest file on the instance: rendered by kboot, or the operator's. */
  file: string;
  /** Rendered by kboot (written to `file` before it is applied) or read from addons.d. */
  origin: 'rendered' | 'addons.d';
  manifest: string;
  /** One line for logs and --dry-run. */
  description: string;
}

export interface AddonsInput {
  clusterName: string;
  podCidr: string;
  kubernetesVersion: string;
  addons: ClusterAddons;
  images?: { cilium?: string; ciliumOperator?: string; cloudController?: string };
  /** The addons directory as read: its path and its files (name and content), any order. */
  manifestsDir: { path: string; files: readonly { name: string; text: string }[] };
}

export function isManifestFile(name: string): boolean {
  return /\.ya?ml$/.test(name) && !name.startsWith('.');
}

/** False for a file of comments or empty documents (kubectl would refuse it: "no objects"). */
export function hasObjects(text: string): boolean {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return false;
  // A document whose aliases expand too far counts as one: kubectl then refuses it by name.
  return docs.some((doc) => {
    if (doc.errors.length > 0 || doc.contents === null) return doc.errors.length > 0;
    try {
      return doc.toJS(YAML_TO_JS_OPTIONS) !== null;
    } catch {
      return true;
    }
  });
}

const HEADER = 'Rendered by kboot; applied with kubectl apply --server-side --field-manager=kboot.';

export function planAddons(input: AddonsInput): Addon[] {
  const out: Addon[] = [];
  if (input.addons.cni === 'cilium') {
    out.push({
      name: 'cilium',
      file: `${RENDERED_ADDONS_DIR}/10-cilium.yaml`,
      origin: 'rendered',
      manifest: manifestYaml(
        `Cilium ${CILIUM_VERSION}: cluster-pool IPAM over ${input.podCidr}, VXLAN tunnel.\n${HEADER}`,
        ciliumObjects({
          podCidr: input.podCidr,
          kubernetesVersion: input.kubernetesVersion,
          ...(input.images === undefined ? {} : { images: input.images }),
        }),
      ),
      description: `Cilium ${CILIUM_VERSION} (cluster-pool IPAM over ${input.podCidr}, VXLAN tunnel)`,
    });
  }
  if (input.addons.cloudController) {
    const image = cloudControllerImage(input.kubernetesVersion, input.images?.cloudController);
    out.push({
      name: 'aws-cloud-controller-manager',
      file: `${RENDERED_ADDONS_DIR}/20-aws-cloud-controller-manager.yaml`,
      origin: 'rendered',
      manifest: manifestYaml(
        `AWS cloud-controller-manager for cluster ${input.clusterName}.\n${HEADER}`,
        cloudControllerObjects({
          clusterName: input.clusterName,
          kubernetesVersion: input.kubernetesVersion,
          cni: input.addons.cni,
          ...(input.images?.cloudController === undefined ? {} : { image: input.images.cloudController }),
        }),
      ),
      description: `the AWS cloud-controller-manager ${image.slice(image.lastIndexOf(':') + 1)} (--cluster-name=${input.clusterName}, --configure-cloud-routes=${configureCloudRoutes(input.addons.cni)})`,
    });
  }
  const files = input.manifestsDir.files
    .filter((file) => isManifestFile(file.name) && hasObjects(file.text))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const file of files) {
    out.push({
      name: `addons.d/${file.name}`,
      file: `${input.manifestsDir.path.replace(/\/+$/, '')}/${file.name}`,
      origin: 'addons.d',
      manifest: file.text,
      description: `${input.manifestsDir.path.replace(/\/+$/, '')}/${file.name}`,
    });
  }
  return out;
}
