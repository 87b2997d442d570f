/** Kubernetes objects as plain data, and their multi-document YAML form for `kubectl apply -f -`. */

import { Document } from 'yaml';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [field: string]: unknown;
}

/** One YAML stream, documents in the given order (kubectl applies them in that order). */
export function manifestYaml(header: string, objects: readonly KubeObject[]): string {
  const docs = objects.map((object) => new Document(object).toString({ lineWidth: 0 }).trimEnd());
  const comment = header
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
  return `${comment}\n---\n${docs.join('\n---\n')}\n`;
}
