/**
 * The objects a kubeadm cluster's API holds beside what the fake kubeadm keeps in its cluster
 * directory: each member's Node (its kubelet registers it), each control-plane member's static
 * Pods (the kubelet's mirror Pods, `<component>-<node>`, Ready, at the member's component
 * versions), and the addons kubeadm init deploys (CoreDNS, kube-proxy) with kboot's
 * cloud-controller-manager. Seeded into the fake kubectl's store of the simulated cluster, so tests of the
 * health gate and the addons read them through the fake kubectl as kboot reads a real cluster.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  applyObject,
  deleteObject,
  listObjects,
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

function staticPod(component: string, node: string, image: string): StoredObject {
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

interface MemberVersions {
  kubeApiserver?: string;
  kubeControllerManager?: string;
  kubeScheduler?: string;
  etcd?: string;
}

function memberImage(component: string, versions: MemberVersions | undefined, fallback: string): string {
  if (component === 'etcd') return `registry.k8s.io/etcd:${versions?.etcd ?? '3.5.15-0'}`;
  const field = {
    'kube-apiserver': 'kubeApiserver',
    'kube-controller-manager': 'kubeControllerManager',
    'kube-scheduler': 'kubeScheduler',
  }[component] as keyof MemberVersions;
  return `registry.k8s.io/${component}:${versions?.[field] ?? fallback}`;
}

/**
 * What the kubelets show in the API for the cluster's members now: each member's Node (Ready) and
 * each control-plane member's static Pods at its component versions, and no Node or static Pod of
 * a node that is no longer a member (kubeadm reset and `kboot leave` took it away). Safe to call
 * after every join or leave: an object already there keeps what a test changed in it (its Ready
 * condition).
 */
export function syncMemberObjects(clusterDir: string): void {
  const store = clusterStore(clusterDir);
  const current = members(clusterDir) as (Member & { versions?: MemberVersions })[];
  const names = new Set(current.map((member) => member.nodeName));
  for (const member of current) {
    const node = nodeObject(member.nodeName, { controlPlane: member.role === 'control-plane' });
    if (readObject(store, { group: '', kind: 'Node', namespace: '', name: member.nodeName }) === undefined)
      applyObject(store, node, { fieldManager: 'kubelet' });
    if (member.role !== 'control-plane') continue;
    for (const component of STATIC_POD_COMPONENTS) {
      const pod = staticPod(component, member.nodeName, memberImage(component, member.versions, 'v1.31.2'));
      if (
        readObject(store, { group: '', kind: 'Pod', namespace: 'kube-system', name: pod.metadata.name }) ===
        undefined
      )
        applyObject(store, pod, { fieldManager: 'kubelet' });
    }
  }
  for (const node of listObjects(store, { group: '', kind: 'Node' })) {
    if (!names.has(node.metadata.name))
      deleteObject(store, { group: '', kind: 'Node', namespace: '', name: node.metadata.name });
  }
  for (const pod of listObjects(store, { group: '', kind: 'Pod', namespace: 'kube-system' })) {
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    const isStatic = pod.metadata.labels?.tier === 'control-plane';
    if (isStatic && nodeName !== undefined && !names.has(nodeName))
      deleteObject(store, { group: '', kind: 'Pod', namespace: 'kube-system', name: pod.metadata.name });
  }
}

export interface AddonOptions {
  /** The cluster's version (kube-proxy's tag). */
  version: string;
  /** CoreDNS's image (kubeadm's of the cluster's minor). */
  coreDnsImage?: string;
  /** The cloud-controller-manager image; undefined: no cloud-controller-manager. */
  cloudControllerImage?: string;
}

/** The addons `kubeadm init` deploys (CoreDNS, kube-proxy), and kboot's cloud-controller-manager. */
export function seedAddons(clusterDir: string, options: AddonOptions): void {
  const store = clusterStore(clusterDir);
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
