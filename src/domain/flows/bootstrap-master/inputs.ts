import { ConfigError } from '../../../core/errors.js';
import { type Addon, isManifestFile, planAddons } from '../../addons/plan.js';
import {
  DEFAULT_MANIFESTS_DIR,
  effectiveClusterAddons,
  kubeletCloudProvider,
} from '../../addons/settings.js';
import { resolveIrsa, serviceAccountIssuer } from '../../irsa/issuer.js';
import { generateEncryptionKey, resolveHardening } from '../../kubeadm/hardening.js';
import { GRACEFUL_NODE_SHUTDOWN } from '../../kubeadm/render.js';
import { generateBootstrapToken, generateCertificateKey } from '../../kubeadm/tokens.js';
import type { InitConfigInput } from '../../kubeadm/types.js';
import { assertVersionSkew, parseKubernetesVersion } from '../../kubeadm/version.js';
import { apiAddress, type ClusterRecord } from '../../state/cluster-record.js';
import { localKubeadm, readKubeadmOverrides } from '../common.js';
import type { FlowDeps } from '../deps.js';
import type { BootstrapStep } from './state.js';

export const kubeadmVersion: BootstrapStep = {
  name: 'kubeadm-version',
  kind: 'read',
  describe: () => 'read the local kubeadm version',
  async run({ state, deps, signal }) {
    state.set({ kubeadm: await localKubeadm(deps, signal) });
    return undefined;
  },
};

export const versionSkew: BootstrapStep = {
  name: 'version-skew',
  kind: 'read',
  describe: () => "check the local kubeadm against the cluster's Kubernetes version",
  async run({ state }) {
    assertVersionSkew({
      action: 'init',
      kubeadm: state.get('kubeadm').version,
      cluster: parseKubernetesVersion(state.get('record').kubernetesVersion, 'the cluster version'),
      clusterName: state.get('identity').clusterName,
    });
    return undefined;
  },
};

export const initInputs: BootstrapStep = {
  name: 'init-inputs',
  kind: 'read',
  describe: () =>
    'read the node name, kubeadm overrides and addons, and make the bootstrap token and certificate key',
  async run({ state, deps }) {
    const identity = state.get('identity');
    const record = state.get('record');
    const owner = identity.instance.instanceId;
    const [nodeName, overrides, addons] = await Promise.all([
      deps.privateDnsName(),
      readKubeadmOverrides(deps),
      // Rendered and read before the lease is taken, so a bad addons.d file name or an unknown
      // Kubernetes minor stops the run before anything changes.
      readAddons(deps, record),
    ]);
    const token = generateBootstrapToken();
    const certificateKey = generateCertificateKey();
    const hardening = resolveHardening(deps.config.hardening);
    const endpoint = apiAddress(record.apiEndpoint);
    const irsaConfig = deps.config.addons?.irsa;
    const irsa = irsaConfig === undefined ? undefined : resolveIrsa(irsaConfig, record.region);
    const initInput: InitConfigInput = {
      apiVersion: state.get('kubeadm').apiVersion,
      nodeName,
      cloudProvider: kubeletCloudProvider(effectiveClusterAddons(record, deps.config.addons)),
      overrides,
      clusterName: identity.clusterName,
      kubernetesVersion: record.kubernetesVersion,
      controlPlaneEndpoint: `${endpoint.host}:${endpoint.port}`,
      advertiseAddress: identity.instance.privateIpv4,
      podSubnet: record.podCidr,
      serviceSubnet: record.serviceCidr,
      certSANs: deps.config.certSANs ?? [],
      bootstrapTokens: [
        { token, ttlMs: deps.settings.tokenTtlMs, description: `kboot: created by ${owner} at cluster init` },
      ],
      certificateKey,
      kubeletConfiguration: { cgroupDriver: 'systemd' as const, ...GRACEFUL_NODE_SHUTDOWN },
      hardening,
      ...(irsa === undefined ? {} : { serviceAccount: serviceAccountIssuer(irsa) }),
    };
    state.set({ nodeName, token, certificateKey, irsa, addons, initInput });
    if (hardening.encryptionAtRest?.provider === 'secretbox')
      state.set({ encryptionKey: generateEncryptionKey() });
    return undefined;
  },
};

/**
 * The addons this master will apply, rendered and read before the lease is taken, so a bad
 * addons.d file name or an unknown Kubernetes minor stops the run before anything changes.
 */
async function readAddons(deps: FlowDeps, record: ClusterRecord): Promise<Addon[]> {
  const dir = deps.config.addons?.manifestsDir ?? DEFAULT_MANIFESTS_DIR;
  let names: string[];
  try {
    names = (await deps.fs.list(dir)).filter(isManifestFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
    throw new ConfigError(`addons.manifestsDir ${dir} is not a directory`, {
      hint: 'point addons.manifestsDir at a directory of *.yaml manifests (default /etc/kboot/addons.d)',
    });
  }
  const files: { name: string; text: string }[] = [];
  for (const name of names) {
    const text = await deps.fs.readText(`${dir}/${name}`);
    if (text !== undefined) files.push({ name, text });
  }
  return planAddons({
    clusterName: record.clusterName,
    podCidr: record.podCidr,
    kubernetesVersion: record.kubernetesVersion,
    addons: effectiveClusterAddons(record, deps.config.addons),
    ...(deps.config.addons?.images === undefined ? {} : { images: deps.config.addons.images }),
    manifestsDir: { path: dir, files },
  });
}
