/**
 * The kubelet's part in `kboot etcd recover` tests: it watches kubeadm's etcd static Pod manifest
 * and restarts the member (test/support/etcd-cluster.ts) whenever the manifest changes, with
 * --force-new-cluster when the manifest has it, as the kubelet restarts a static Pod.
 */

import { readFileSync } from 'node:fs';
import type { EtcdCluster } from './etcd-cluster.js';

/** Starts watching; the returned function stops it. */
export function fakeKubelet(manifestPath: string, etcd: EtcdCluster, member: string): () => void {
  let seen = readFileSync(manifestPath, 'utf8');
  let restarting = false;
  const timer = setInterval(() => {
    if (restarting) return;
    let now: string;
    try {
      now = readFileSync(manifestPath, 'utf8');
    } catch {
      return; // being replaced (written atomically): the next tick reads it
    }
    if (now === seen) return;
    seen = now;
    restarting = true;
    const flags = now.includes('--force-new-cluster') ? ['--force-new-cluster'] : [];
    void etcd.restartMember(member, flags).finally(() => {
      restarting = false;
    });
  }, 100);
  return () => clearInterval(timer);
}
