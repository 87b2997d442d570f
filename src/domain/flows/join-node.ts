/**
 * `kboot join-node`: a worker joins the cluster.
 *   already a member? → identity → wait for `initialized` (1 DynamoDB read when it is) → join
 *   material (1 Secrets Manager read when fresh) → kubeadm version vs the cluster's → render the
 *   JoinConfiguration (0600) → kubeadm join → remember membership.
 * No lock: workers join in parallel.
 */

import { KubeadmError } from '../../core/errors.js';
import { effectiveClusterAddons, kubeletCloudProvider } from '../addons/settings.js';
import { renderJoinConfig } from '../kubeadm/render.js';
import { assertVersionSkew, parseKubernetesVersion } from '../kubeadm/version.js';
import { waitForInitialized } from '../state/wait-initialized.js';
import { localKubeadm, readFreshJoin, readKubeadmOverrides, resetAfterFailure, startFlow } from './common.js';
import type { FlowDeps, FlowResult } from './deps.js';
import { membershipFor, writeMembership } from './membership.js';
import { JOIN_CONFIG_PATH } from './paths.js';
import type { Steps } from './steps.js';

export async function joinNode(deps: FlowDeps, steps: Steps): Promise<FlowResult> {
  const { logger, clock } = deps;
  const { identity, base, membership, alreadyMember } = await startFlow(deps, steps, 'join-node', 'worker');
  if (alreadyMember !== undefined) return alreadyMember;

  const deadlineMs = clock.nowMs() + deps.settings.waitTimeoutMs;
  // The local kubeadm's version is asked for while the cluster state is read (both only read);
  // either failing fails the join at once.
  const [kubeadm, { record, join }] = await Promise.all([
    steps.read('kubeadm-version', () => localKubeadm(deps)),
    (async () => {
      const state = await deps.state();
      const initialized = await steps.read('wait-initialized', () =>
        waitForInitialized(state.records, identity.clusterName, {
          deadlineMs,
          pollMs: deps.settings.pollMs,
          clock,
          logger,
          signal: deps.signal,
        }),
      );
      const store = await deps.joinMaterial();
      const material = await steps.read('join-material', () =>
        readFreshJoin(deps, store, identity.clusterName, deadlineMs),
      );
      return { record: initialized, join: material };
    })(),
  ]);
  assertVersionSkew({
    action: 'join-worker',
    kubeadm: kubeadm.version,
    cluster: parseKubernetesVersion(
      join.kubernetesVersion || record.kubernetesVersion,
      'the cluster version',
    ),
    clusterName: identity.clusterName,
  });

  // Read here, not beside the state reads: an IMDS request in flight while this process loads the
  // AWS SDK (synchronous work) can have its timeout fire before its answer is read when the CPU is
  // starved (the bench's 200 simulated instances on 2 cores: 193 workers failed so).
  const [nodeName, overrides] = await Promise.all([deps.privateDnsName(), readKubeadmOverrides(deps)]);
  const input = {
    apiVersion: kubeadm.apiVersion,
    nodeName,
    cloudProvider: kubeletCloudProvider(effectiveClusterAddons(record, deps.config.addons)),
    overrides,
    discovery: { apiServerEndpoint: join.apiEndpoint, token: join.token, caCertHashes: join.caCertHashes },
  };
  await steps.change(
    'write-join-config',
    `write the kubeadm join config to ${JOIN_CONFIG_PATH} (mode 0600)`,
    () => deps.fs.writePrivateFile(JOIN_CONFIG_PATH, renderJoinConfig(input)),
    () => [{ path: JOIN_CONFIG_PATH, content: renderJoinConfig(input, { mode: 'redacted' }) }],
  );
  if (membership.state === 'partial') {
    await steps.change('reset-partial-join', 'reset the remains of an earlier, unfinished join', () =>
      resetAfterFailure(deps, 'kubelet.conf exists but the earlier join did not finish'),
    );
  }
  const joined = await steps.change(
    'kubeadm-join',
    `run kubeadm join against ${join.apiEndpoint}`,
    async () => {
      try {
        await deps.kubeadm.run(['join', '--config', deps.fs.resolve(JOIN_CONFIG_PATH)], {
          timeoutMs: deps.settings.kubeadmTimeoutMs,
          signal: deps.signal,
        });
      } catch (error) {
        await resetAfterFailure(deps, 'kubeadm join failed');
        throw error instanceof KubeadmError
          ? error
          : new KubeadmError('kubeadm join failed', { cause: error });
      } finally {
        await deps.fs.remove(JOIN_CONFIG_PATH);
      }
      await writeMembership(
        deps.fs,
        membershipFor(identity.clusterName, 'worker', identity.instance.instanceId, 'join', clock.nowMs()),
      );
      return true;
    },
  );
  if (!joined) return { ...base, outcome: 'planned', summary: 'dry run: nothing changed' };
  logger.info({ cluster: identity.clusterName, nodeName }, 'joined the cluster as a worker');
  return {
    ...base,
    outcome: 'joined-worker',
    summary: `joined cluster ${identity.clusterName} as worker ${nodeName}`,
  };
}
