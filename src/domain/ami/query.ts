/**
 * `kboot ami`: which images match (tag filters, owner, architecture, Kubernetes version), and
 * which of them is the newest *available* one. Pure: the EC2 call lives in an adapter.
 */

import { UsageError } from '../../core/errors.js';

export const KUBERNETES_VERSION_TAG = 'kboot.io/kubernetes-version';
export const KBOOT_VERSION_TAG = 'kboot.io/version';

/**
 * The versions an AMI was built with, from its tags (packer/kboot.pkr.hcl): kboot.io/version as
 * `kboot`, and every kboot.io/<name>-version as `<name>` (kubernetes, containerd, runc, ...).
 */
export function imageVersions(tags: Readonly<Record<string, string>>): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags).sort(([a], [b]) => a.localeCompare(b))) {
    if (key === KBOOT_VERSION_TAG) versions.kboot = value;
    const named = /^kboot\.io\/([a-z0-9-]+)-version$/.exec(key);
    if (named) versions[named[1] as string] = value;
  }
  return versions;
}

export interface AmiQuery {
  tags: { key: string; value: string }[];
  owners: string[];
  arch: 'x86_64' | 'arm64' | undefined;
  kubernetesVersion: string | undefined;
}

export interface ImageFilter {
  Name: string;
  Values: string[];
}

export interface Image {
  id: string;
  name: string;
  state: string;
  creationDate: string;
  architecture: string;
  ownerId: string;
  tags: Record<string, string>;
}

export function parseTagFilter(text: string): { key: string; value: string } {
  const index = text.indexOf('=');
  if (index <= 0) {
    throw new UsageError(`invalid --tag "${text}"`, {
      hint: 'write it as KEY=VALUE, e.g. --tag kboot.io/version=1.2.0',
    });
  }
  return { key: text.slice(0, index), value: text.slice(index + 1) };
}

/** Matches "1.31" (any patch) or "1.31.2" (exactly), with or without a leading v. */
export function kubernetesVersionValues(version: string): string[] {
  const bare = version.replace(/^v/, '');
  if (/^\d+\.\d+$/.test(bare)) return [`${bare}.*`, `v${bare}.*`];
  if (/^\d+\.\d+\.\d+([-+].*)?$/.test(bare)) return [bare, `v${bare}`];
  throw new UsageError(`invalid --kubernetes-version "${version}"`, { hint: 'write it as 1.31 or 1.31.2' });
}

export function imageFilters(query: AmiQuery): ImageFilter[] {
  const filters: ImageFilter[] = [{ Name: 'state', Values: ['available'] }];
  for (const { key, value } of query.tags) filters.push({ Name: `tag:${key}`, Values: [value] });
  if (query.arch !== undefined) filters.push({ Name: 'architecture', Values: [query.arch] });
  if (query.kubernetesVersion !== undefined) {
    filters.push({
      Name: `tag:${KUBERNETES_VERSION_TAG}`,
      Values: kubernetesVersionValues(query.kubernetesVersion),
    });
  }
  return filters;
}

/** A human description of the filters, for "no match" errors. */
export function describeQuery(query: AmiQuery): string {
  const parts = query.tags.map(({ key, value }) => `tag ${key}=${value}`);
  if (query.owners.length > 0) parts.push(`owner ${query.owners.join(',')}`);
  if (query.arch !== undefined) parts.push(`architecture ${query.arch}`);
  if (query.kubernetesVersion !== undefined) parts.push(`Kubernetes version ${query.kubernetesVersion}`);
  return parts.length === 0 ? 'no filters' : parts.join(', ');
}

/**
 * Available images of the architecture asked for, newest first (by CreationDate, then id for a
 * stable order). EC2 filters on both already (imageFilters); checked again here so a pending or
 * failed image, or one of the other architecture, is never picked whatever an API returns.
 */
export function newestFirst(images: readonly Image[], arch?: AmiQuery['arch']): Image[] {
  return images
    .filter((image) => image.state === 'available')
    .filter((image) => arch === undefined || image.architecture === arch)
    .sort((a, b) => b.creationDate.localeCompare(a.creationDate) || a.id.localeCompare(b.id));
}
