/**
 * The tools the reference user-data script needs (bash, curl, jq, the AWS CLI), found on PATH.
 * A pyenv shim for `aws` is resolved to the real script (`pyenv which aws`), so the shim's own
 * start-up does not count against the AWS CLI: on a Debian machine `aws` is /usr/bin/aws.
 */

import { spawnSync } from 'node:child_process';
import path from 'node:path';

export interface ReferenceTools {
  /** The AWS CLI that runs (a pyenv shim resolved). */
  aws: string;
  /** Where `aws` was found on PATH, when that differs (a shim). */
  awsShim: string | undefined;
  awsVersion: string;
  curl: string;
  jq: string;
  bash: string;
}

/** The Debian package that provides each tool. */
const PACKAGES: Record<string, string> = { aws: 'awscli', curl: 'curl', jq: 'jq', bash: 'bash' };

function commandPath(command: string): string | undefined {
  const probe = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = probe.stdout?.trim();
  return probe.status === 0 && found !== undefined && found !== '' ? found : undefined;
}

function resolveShim(found: string): string {
  if (!found.includes(`${path.sep}shims${path.sep}`)) return found;
  const probe = spawnSync('pyenv', ['which', 'aws'], { encoding: 'utf8' });
  const real = probe.stdout?.trim();
  return probe.status === 0 && real !== undefined && real !== '' ? real : found;
}

export type ToolsLookup = { tools: ReferenceTools; missing: [] } | { tools: undefined; missing: string[] };

export function findReferenceTools(): ToolsLookup {
  const found = Object.fromEntries(
    Object.keys(PACKAGES).map((command) => [command, commandPath(command)]),
  ) as Record<string, string | undefined>;
  const missing = Object.keys(PACKAGES)
    .filter((command) => found[command] === undefined)
    .map((command) => `${command} (Debian package \`${PACKAGES[command]}\`)`);
  const onPath = found.aws;
  if (missing.length > 0 || onPath === undefined) return { tools: undefined, missing };
  const aws = resolveShim(onPath);
  const version = spawnSync(aws, ['--version'], { encoding: 'utf8' });
  const awsVersion = `${version.stdout ?? ''}${version.stderr ?? ''}`.trim().split('\n')[0] ?? 'unknown';
  if (version.status !== 0) {
    return { tools: undefined, missing: [`a working AWS CLI (\`${aws} --version\` failed: ${awsVersion})`] };
  }
  return {
    tools: {
      aws,
      awsShim: aws === onPath ? undefined : onPath,
      awsVersion,
      curl: found.curl as string,
      jq: found.jq as string,
      bash: found.bash as string,
    },
    missing: [],
  };
}
