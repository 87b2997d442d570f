/** The leave flow's first step: who this instance is, and the state every later step reads. */

import type { LeaveStep } from './types.js';

export const identityStep: LeaveStep = {
  name: 'identity',
  kind: 'read',
  describe: () => 'read who this instance is (IMDS) and its node name',
  async run({ state, deps, signal }) {
    const identity = await deps.identity();
    const nodeName = await deps.privateDnsName();
    state.set({
      leaving: {
        deps,
        options: state.get('options'),
        dryRun: deps.settings.dryRun,
        identity,
        cluster: identity.clusterName,
        nodeName,
        controlPlane: identity.role === 'control-plane',
        reports: [],
        failures: [],
        kubeconfig: { missing: 'the kubeconfig step failed' },
        request: undefined,
        signal,
      },
    });
    return undefined;
  },
};
