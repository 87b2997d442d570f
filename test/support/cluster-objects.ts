/**
 * The objects a kubeadm cluster's API holds beside what the fake kubeadm keeps in its cluster
 * directory: each member's Node (its kubelet registers it), each control-plane member's static
 * Pods (the kubelet's mirror Pods, `<component>-<node>`, Ready), and the addons kubeadm init
 * deploys (CoreDNS, kube-proxy) with kboot's cloud-controller-manager, at the images of the
 * cluster's version. Seeded into the fake kubectl's store of the simulated cluster, so tests of the
 * health gate and the addons read them through the fake kubectl as kboot reads a real cluster.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  applyObject,
  readObject,
  type StoredObject,
  simulatedClusterStore,
  updateObject,
} from '../fixtures/lib/fake-kubectl/store.mjs';
import { nodeObject } from './kubectl-log.js';

interface Member {
  nodeName: string;
  role: 'control-plane' | 'worker';
  advertiseAddress?: string;
}

export const STATIC_POD_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

export function clusterStore(clusterDir: string): string {
  const store = simulatedClusterStore(clusterDir);
  if (store === undefined) throw new Error(`no simulated cluster is initialized in ${clusterDir}`);
  return store;
}

function members(clusterDir: string): Member[] {
  return JSON.parse(readFileSync(path.join(clusterDir, 'members.json'), 'utf8')) as Member[];
}

function staticPod(component: string, node: string, version: string): StoredObject {
  const image =
    component === 'etcd' ? 'registry.k8s.io/etcd:3.5.15-0' : `registry.k8s.io/${component}:${version}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${component}-${node}`,
      namespace: 'kube-system',
      labels: { component, tier: 'control-plane' },
    },
    spec: { nodeName: node, containers: [{ name: component, image }] },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
      ],
    },
  };
}

function workload(kind: 'DaemonSet' | 'Deployment', name: string, image: string): StoredObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: 'kube-system', labels: { 'k8s-app': name } },
    spec: {
      selector: { matchLabels: { 'k8s-app': name } },
      template: {
        metadata: { labels: { 'k8s-app': name } },
        spec: { containers: [{ name, image, args: ['--v=2'] }] },
      },
    },
    status: kind === 'DaemonSet' ? { numberReady: 3 } : { readyReplicas: 2 },
  };
}

export interface SeedOptions {
  /** The cluster's version (the static Pods' and kube-proxy's tag). */
  version: string;
  /** CoreDNS's image (kubeadm's of the cluster's minor). */
  coreDnsImage?: string;
  /** The cloud-controller-manager image; undefined: no cloud-controller-manager. */
  cloudControllerImage?: string;
}

/** Every member's Node and static Pods, and the addons, in the simulated cluster's store. */
export function seedClusterObjects(clusterDir: string, options: SeedOptions): void {
  const store = clusterStore(clusterDir);
  for (const member of members(clusterDir)) {
    const node = nodeObject(member.nodeName, { controlPlane: member.role === 'control-plane' });
    applyObject(store, node, { fieldManager: 'kubelet' });
    if (member.role !== 'control-plane') continue;
    for (const component of STATIC_POD_COMPONENTS) {
      applyObject(store, staticPod(component, member.nodeName, options.version), { fieldManager: 'kubelet' });
    }
  }
  const seed = (object: StoredObject) => applyObject(store, object, { fieldManager: 'kubeadm' });
  seed(workload('Deployment', 'coredns', options.coreDnsImage ?? 'registry.k8s.io/coredns/coredns:v1.11.3'));
  seed(workload('DaemonSet', 'kube-proxy', `registry.k8s.io/kube-proxy:${options.version}`));
  if (options.cloudControllerImage !== undefined)
    seed(workload('DaemonSet', 'aws-cloud-controller-manager', options.cloudControllerImage));
}

/** Sets an object's Ready condition (a Node's, a Pod's) as its kubelet would report it. */
export function setReady(
  clusterDir: string,
  key: { kind: 'Node' | 'Pod'; name: string },
  status: 'True' | 'False',
  reason?: string,
): void {
  const store = clusterStore(clusterDir);
  const storeKey = {
    group: '',
    kind: key.kind,
    namespace: key.kind === 'Pod' ? 'kube-system' : '',
    name: key.name,
  };
  if (readObject(store, storeKey) === undefined) throw new Error(`no ${key.kind} ${key.name} in the store`);
  updateObject(store, storeKey, (object) => {
    const current = (object.status ?? {}) as {
      conditions?: { type: string; status: string; reason?: string }[];
    };
    const conditions = (current.conditions ?? []).filter((condition) => condition.type !== 'Ready');
    conditions.push({ type: 'Ready', status, ...(reason === undefined ? {} : { reason }) });
    object.status = { ...current, conditions };
    return object;
  });
}
