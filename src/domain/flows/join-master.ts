/**
 * `kboot join-master`: another control-plane member joins.
 *   already a member? → identity → wait for `initialized` → kubeadm version vs the cluster's →
 *   take the control-plane-join lease (etcd adds one member at a time) → join + control-plane
 *   material → render the JoinConfiguration with the certificate key (0600) → when the member
 *   registry shows a control-plane instance gone: kubeadm's download-certs and certs phases, then
 *   remove the dead etcd members (src/domain/cleanup/flow.ts) → kubeadm join →
 *   remember membership → release.
 */

import { KubeadmError, StateConflictError } from '../../core/errors.js';
import { effectiveClusterAddons, kubeletCloudProvider } from '../addons/settings.js';
import { cleanupBeforeJoin, prepareEtcdClient } from '../cleanup/flow.js';
import type { ControlPlaneSecret, JoinSecret } from '../join/material.js';
import { renderJoinConfig } from '../kubeadm/render.js';
import { assertVersionSkew, parseKubernetesVersion } from '../kubeadm/version.js';
import { holdLease } from '../state/hold-lease.js';
import { waitForInitialized } from '../state/wait-initialized.js';
import {
  localKubeadm,
  readFreshControlPlane,
  readFreshJoin,
  readKubeadmOverrides,
  resetAfterFailure,
  startFlow,
} from './common.js';
import type { FlowDeps, FlowResult } from './deps.js';
import { membershipFor, writeMembership } from './membership.js';
import { JOIN_CONFIG_PATH } from './paths.js';
import type { Steps } from './steps.js';

export async function joinMaster(deps: FlowDeps, steps: Steps): Promise<FlowResult> {
  const { logger, clock } = deps;
  const { identity, base, membership, alreadyMember } = await startFlow(
    deps,
    steps,
    'join-master',
    'control-plane',
  );
  if (alreadyMember !== undefined) return alreadyMember;
  const cluster = identity.clusterName;

  const deadlineMs = clock.nowMs() + deps.settings.waitTimeoutMs;
  const state = await deps.state();
  const record = await steps.read('wait-initialized', () =>
    waitForInitialized(state.records, cluster, {
      deadlineMs,
      pollMs: deps.settings.pollMs,
      clock,
      logger,
      signal: deps.signal,
    }),
  );
  const kubeadm = await steps.read('kubeadm-version', () => localKubeadm(deps));
  assertVersionSkew({
    action: 'join-control-plane',
    kubeadm: kubeadm.version,
    cluster: parseKubernetesVersion(record.kubernetesVersion, 'the cluster version'),
    clusterName: cluster,
  });
  const [nodeName, overrides, store] = await Promise.all([
    deps.privateDnsName(),
    readKubeadmOverrides(deps),
    deps.joinMaterial(),
  ]);

  const renderInput = (join: JoinSecret, controlPlane: ControlPlaneSecret) => ({
    apiVersion: kubeadm.apiVersion,
    nodeName,
    cloudProvider: kubeletCloudProvider(effectiveClusterAddons(record, deps.config.addons)),
    overrides,
    discovery: { apiServerEndpoint: join.apiEndpoint, token: join.token, caCertHashes: join.caCertHashes },
    controlPlane: {
      advertiseAddress: identity.instance.privateIpv4,
      certificateKey: controlPlane.certificateKey,
    },
  });

  if (steps.dryRun) {
    const [join, controlPlane] = await Promise.all([
      store.readJoin(cluster),
      store.readControlPlane(cluster),
    ]);
    steps.planned.push({
      step: 'control-plane-join',
      description: `take the control-plane-join lease of cluster ${cluster}, write ${JOIN_CONFIG_PATH} and run kubeadm join as a control-plane member`,
      files: [
        {
          path: JOIN_CONFIG_PATH,
          content: renderJoinConfig(renderInput(join, controlPlane), { mode: 'redacted' }),
        },
      ],
    });
    return { ...base, outcome: 'planned', summary: 'dry run: nothing changed' };
  }

  logger.info({ cluster }, 'waiting for the control-plane-join lease (masters join one at a time)');
  await holdLease(
    state.lock(cluster, 'control-plane-join'),
    {
      owner: identity.instance.instanceId,
      clock,
      logger,
      leaseMs: deps.settings.leaseMs,
      acquireDeadlineMs: deadlineMs,
      pollMs: deps.settings.pollMs,
      signal: deps.signal,
    },
    async (signal, fence) => {
      logger.info({ fence }, 'holding the control-plane-join lease');
      const join = await readFreshJoin(deps, store, cluster, deadlineMs);
      const controlPlane = await readFreshControlPlane(deps, store, cluster, deadlineMs);
      const input = renderInput(join, controlPlane);
      await deps.fs.writePrivateFile(JOIN_CONFIG_PATH, renderJoinConfig(input));
      if (membership.state === 'partial') await resetAfterFailure(deps, 'an earlier join did not finish');
      try {
        await cleanupBeforeJoin(deps, cluster, identity.instance.instanceId, () =>
          prepareEtcdClient(deps, JOIN_CONFIG_PATH, signal),
        );
      } catch (error) {
        await deps.fs.remove(JOIN_CONFIG_PATH);
        await resetAfterFailure(deps, 'the etcd cleanup before joining failed');
        throw error;
      }
      try {
        await deps.kubeadm.run(['join', '--config', deps.fs.resolve(JOIN_CONFIG_PATH)], {
          timeoutMs: deps.settings.kubeadmTimeoutMs,
          signal,
        });
      } catch (error) {
        await resetAfterFailure(deps, 'kubeadm join --control-plane failed');
        if (error instanceof KubeadmError && signal.aborted && signal.reason instanceof StateConflictError) {
          throw signal.reason;
        }
        throw error instanceof KubeadmError
          ? error
          : new KubeadmError('kubeadm join failed', { cause: error });
      } finally {
        await deps.fs.remove(JOIN_CONFIG_PATH);
      }
      await writeMembership(
        deps.fs,
        membershipFor(cluster, 'control-plane', identity.instance.instanceId, 'join', clock.nowMs()),
      );
      await state.records.recordMember(cluster, {
        instanceId: identity.instance.instanceId,
        role: 'control-plane',
        joinedAt: new Date(clock.nowMs()).toISOString(),
        fence,
        nodeName,
      });
    },
  );
  logger.info({ cluster, nodeName }, 'joined the cluster as a control-plane member');
  return {
    ...base,
    outcome: 'joined-control-plane',
    summary: `joined cluster ${cluster} as control-plane member ${nodeName}`,
  };
}
