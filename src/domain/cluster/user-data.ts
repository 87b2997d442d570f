/**
 * The user-data of the launch templates `kboot cluster create` makes: declarative cloud-config
 * like examples/user-data/, writing /etc/kboot/config.yaml and nothing else. The kboot AMI's
 * kboot-boot.service runs `kboot boot` at every boot after cloud-init has written the file, so
 * user-data does not run it (a second run from `runcmd` would race the unit). Who an instance is
 * comes from its tags (launch-template-data.ts). Pure: data in, text out.
 */

import { stringify } from 'yaml';
import { DEFAULT_CONFIG_PATH } from '../config/node-config.js';
import type { Role } from '../identity/tags.js';
import type { UserDataNodeConfig } from './compute.js';

export interface UserDataInput {
  cluster: string;
  role: Role;
  group: string;
  nodeConfig: UserDataNodeConfig;
}

/** The node config document, in the field order of README "Node config"; absent fields left out. */
function nodeConfigDocument(config: UserDataNodeConfig): Record<string, unknown> {
  const document: Record<string, unknown> = { table: config.table };
  if (config.apiEndpoint !== undefined) document.apiEndpoint = config.apiEndpoint;
  if (config.podCidr !== undefined) document.podCidr = config.podCidr;
  if (config.serviceCidr !== undefined) document.serviceCidr = config.serviceCidr;
  if (config.kubernetesVersion !== undefined) document.kubernetesVersion = config.kubernetesVersion;
  if (config.certSANs !== undefined && config.certSANs.length > 0) document.certSANs = [...config.certSANs];
  const timeouts = Object.fromEntries(
    Object.entries(config.timeouts ?? {}).filter(([, value]) => value !== undefined),
  );
  if (Object.keys(timeouts).length > 0) document.timeouts = timeouts;
  const addons: Record<string, unknown> = {};
  if (config.irsa !== undefined) {
    addons.irsa = {
      bucket: config.irsa.bucket,
      ...(config.irsa.region === undefined ? {} : { region: config.irsa.region }),
    };
  }
  if (config.addons?.manifestsDir !== undefined) addons.manifestsDir = config.addons.manifestsDir;
  const images = Object.fromEntries(
    Object.entries(config.addons?.images ?? {}).filter(([, value]) => value !== undefined),
  );
  if (Object.keys(images).length > 0) addons.images = images;
  if (Object.keys(addons).length > 0) document.addons = addons;
  if (config.hardening !== undefined) document.hardening = config.hardening;
  if (config.backup !== undefined) document.backup = { bucket: config.backup.bucket };
  return document;
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `${pad}${line}`))
    .join('\n');
}

/** The `#cloud-config` text of one group's launch template. */
export function renderUserData(input: UserDataInput): string {
  const config = stringify(nodeConfigDocument(input.nodeConfig), { lineWidth: 0 });
  return [
    '#cloud-config',
    `# kboot cluster "${input.cluster}", group ${input.group} (${input.role}): made by kboot cluster create.`,
    '# kboot-boot.service on the kboot AMI runs `kboot boot` once cloud-init has written this file;',
    '# the instance tags say which cluster and role. Follow it with: journalctl -u kboot-boot -o cat',
    'write_files:',
    `  - path: ${DEFAULT_CONFIG_PATH}`,
    '    owner: root:root',
    '    permissions: "0644"',
    '    content: |',
    indent(config, 6).replace(/\n*$/, ''),
    '',
  ].join('\n');
}
