/**
 * The fake kubeadm's simulated cluster behind FleetPlayer's instances: the first control-plane
 * instance runs `kubeadm init` (controlPlaneEndpoint: the cluster record's apiEndpoint, the load
 * balancer the roll's kubectl goes through), every other one `kubeadm join` (control plane or
 * worker), each with the kubeadm and kubelet of its AMI (`versions`); an instance that leaves runs
 * `kubeadm reset -f`, as `kboot leave` does on it. Its Node and static Pods follow the members
 * (syncMemberObjects), and kubeadm's addons are seeded at init, so the roll's health gate, its
 * ClusterConfiguration and its addons read the cluster through the fake kubectl as they read a
 * real one.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { caCertHash } from '../../src/domain/kubeadm/ca-hash.js';
import { renderInitConfig, renderJoinConfig } from '../../src/domain/kubeadm/render.js';
import { generateBootstrapToken, generateCertificateKey } from '../../src/domain/kubeadm/tokens.js';
import { assertOk, V1BETA4, World } from '../unit/fixtures/fake-kubeadm-world.js';
import { seedAddons, setReady, syncMemberObjects } from './cluster-objects.js';

export interface FleetInstance {
  instanceId: string;
  nodeName: string;
  privateIp: string;
  role: 'control-plane' | 'worker';
  imageId: string;
}

export class KubeadmFleet {
  readonly world = new World();
  readonly #token = generateBootstrapToken();
  readonly #certificateKey = generateCertificateKey();
  readonly #apiEndpoint: string;
  readonly #roots = new Map<string, string>();
  /** The Kubernetes version (kubeadm's and the kubelet's) of each AMI; the rest run `fallback`. */
  readonly versions = new Map<string, string>();
  #hash: string | undefined;

  constructor(
    apiEndpoint: string,
    readonly fallback = 'v1.31.2',
  ) {
    this.#apiEndpoint = apiEndpoint.includes(':') ? apiEndpoint : `${apiEndpoint}:6443`;
  }

  get clusterDir(): string {
    return this.world.clusterDir;
  }

  async join(instance: FleetInstance, ready: boolean): Promise<void> {
    const root = this.world.root(instance.instanceId);
    const version = this.versions.get(instance.imageId) ?? this.fallback;
    const env = { FAKE_KUBEADM_VERSION: version };
    const node = { name: instance.nodeName, ip: instance.privateIp };
    if (this.#hash === undefined) {
      if (instance.role !== 'control-plane') throw new Error('a worker cannot join before the first master');
      const config = renderInitConfig({
        apiVersion: V1BETA4,
        clusterName: 'roll',
        kubernetesVersion: version,
        controlPlaneEndpoint: this.#apiEndpoint,
        advertiseAddress: node.ip,
        nodeName: node.name,
        podSubnet: '10.244.0.0/16',
        serviceSubnet: '10.96.0.0/12',
        bootstrapTokens: [{ token: this.#token, ttlMs: 3_600_000, description: 'kboot test' }],
        certificateKey: this.#certificateKey,
        kubeletConfiguration: { cgroupDriver: 'systemd' },
      });
      const args = ['init', '--config', this.world.config(root, config), '--upload-certs'];
      assertOk(await this.world.run(root, args, env), `init ${node.name}`);
      this.#hash = caCertHash(readFileSync(path.join(root, 'etc/kubernetes/pki/ca.crt')), 'ca.crt');
      syncMemberObjects(this.clusterDir);
      seedAddons(this.clusterDir, { version });
    } else {
      const config = renderJoinConfig({
        apiVersion: V1BETA4,
        nodeName: node.name,
        discovery: { apiServerEndpoint: this.#apiEndpoint, token: this.#token, caCertHashes: [this.#hash] },
        ...(instance.role === 'control-plane'
          ? { controlPlane: { advertiseAddress: node.ip, certificateKey: this.#certificateKey } }
          : {}),
      });
      const args = ['join', '--config', this.world.config(root, config)];
      assertOk(await this.world.run(root, args, env), `join ${node.name}`);
      syncMemberObjects(this.clusterDir);
    }
    this.#roots.set(instance.instanceId, root);
    if (!ready) setReady(this.clusterDir, { kind: 'Node', name: node.name }, 'False', 'KubeletNotReady');
  }

  async leave(instanceId: string): Promise<void> {
    const root = this.#roots.get(instanceId);
    if (root === undefined) return;
    assertOk(await this.world.run(root, ['reset', '-f']), `reset ${instanceId}`);
    this.#roots.delete(instanceId);
    syncMemberObjects(this.clusterDir);
  }

  dispose(): void {
    this.world.dispose();
  }
}
