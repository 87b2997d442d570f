// The version facts a build stamps into kboot, from git:
//   HEAD carries a release tag (v1.2.3 or 1.2.3) → "1.2.3"
//   otherwise                                   → "0.0.0-dev+<short sha>"
// and a tree with uncommitted changes to tracked files adds "dirty" to the build metadata
// ("1.2.3+dirty", "0.0.0-dev+abc1234.dirty"), as `git describe --dirty` would.
import { spawnSync } from 'node:child_process';

const RELEASE_TAG = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/;

function git(root, args) {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stdout.trim();
}

/** Pure: the version string from a release tag (or none), the short sha and the dirty flag. */
export function versionFrom({ tag, shortSha, dirty }) {
  const match = tag === undefined ? null : RELEASE_TAG.exec(tag);
  const base = match === null ? `0.0.0-dev+${shortSha}` : match[1];
  if (!dirty) return base;
  return base.includes('+') ? `${base}.dirty` : `${base}+dirty`;
}

/**
 * @param {string} root
 * @returns {{ version: string, commit: string, shortSha: string, tag: string | undefined, dirty: boolean }}
 */
export function gitFacts(root) {
  const commit = git(root, ['rev-parse', 'HEAD']);
  if (commit === undefined) {
    return {
      version: '0.0.0-dev+unknown',
      commit: 'unknown',
      shortSha: 'unknown',
      tag: undefined,
      dirty: false,
    };
  }
  const shortSha = git(root, ['rev-parse', '--short', 'HEAD']) ?? commit.slice(0, 7);
  // Newest release tag on HEAD itself; a tag further back does not make this commit that release.
  const tags = (git(root, ['tag', '--points-at', 'HEAD', '--sort=-v:refname']) ?? '')
    .split('\n')
    .filter((name) => RELEASE_TAG.test(name));
  const tag = tags[0];
  const dirty = (git(root, ['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  return { version: versionFrom({ tag, shortSha, dirty }), commit, shortSha, tag, dirty };
}

/** The build date: SOURCE_DATE_EPOCH (reproducible builds) when set, else `fallback`. */
export function buildDateFrom(env, fallback) {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return fallback();
  const seconds = Number(epoch);
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new Error(`SOURCE_DATE_EPOCH must be a whole number of seconds, got "${epoch}"`);
  }
  return new Date(seconds * 1000).toISOString();
}
