/** After init: with IRSA, the OIDC discovery document and JWKS to the bucket; then the addons. */

import { KubeadmError } from '../../../core/errors.js';
import { applyAddons } from '../../addons/apply.js';
import { oidcDocuments } from '../../irsa/documents.js';
import type { IrsaSettings } from '../../irsa/issuer.js';
import { SERVICE_ACCOUNT_PUBLIC_KEY_PATH } from '../../irsa/publisher.js';
import type { FlowDeps } from '../deps.js';
import { ADMIN_CONF_PATH } from '../paths.js';
import type { BootstrapStep } from './state.js';

export const irsaStep: BootstrapStep = {
  name: 'irsa',
  kind: 'change',
  describe: (state) => {
    const irsa = state.get('irsa');
    return `publish the OIDC discovery document and JWKS for issuer ${irsa?.issuer} to s3://${irsa?.bucket}`;
  },
  skip: (state) => (state.get('irsa') === undefined ? 'IRSA is not configured (addons.irsa)' : undefined),
  noUndo: "the next init publishes its own service account key's documents over them",
  async run({ state, deps }) {
    const irsa = state.get('irsa');
    if (irsa !== undefined) await publishOidcDocuments(deps, irsa);
    return undefined;
  },
};

export const addonsStep: BootstrapStep = {
  name: 'addons',
  kind: 'change',
  describe: (state) =>
    `apply the addons (${state
      .get('addons')
      .map((addon) => addon.description)
      .join(', ')}) with kubectl apply --server-side (${ADMIN_CONF_PATH})`,
  skip: (state) => (state.get('addons').length === 0 ? 'no addons configured' : undefined),
  noUndo: 'the undo of kubeadm-init resets the node; what was applied goes with its API server',
  async run({ state, deps, signal }) {
    await applyAddons(
      {
        kubectl: deps.kubectl,
        fs: deps.fs,
        logger: deps.logger,
        clock: deps.clock,
        kubeconfigPath: ADMIN_CONF_PATH,
        timeoutMs: deps.settings.addonTimeoutMs,
        signal,
        onAddon: (addon) => state.set({ applyingAddon: `addon ${addon.name}` }),
      },
      state.get('addons'),
    );
    return undefined;
  },
};

/** The OIDC discovery document and the JWKS of the service account key, to the IRSA bucket. */
async function publishOidcDocuments(deps: FlowDeps, irsa: IrsaSettings): Promise<void> {
  const publicKeyPem = await deps.fs.readText(SERVICE_ACCOUNT_PUBLIC_KEY_PATH);
  if (publicKeyPem === undefined) {
    throw new KubeadmError(`kubeadm init did not write ${SERVICE_ACCOUNT_PUBLIC_KEY_PATH}`);
  }
  const documents = oidcDocuments(irsa.issuer, publicKeyPem, SERVICE_ACCOUNT_PUBLIC_KEY_PATH);
  await (await deps.oidcPublisher()).publish(irsa.bucket, documents.objects);
  deps.logger.info(
    {
      issuer: irsa.issuer,
      bucket: irsa.bucket,
      keyIds: documents.jwks.keys.map((key) => key.kid),
    },
    'published the OIDC discovery document and JWKS for IRSA to S3',
  );
}
