/** Types of node-base.mjs for the tests that import it. */
export const BASE_ARCHES: readonly ['x64', 'arm64'];
export const PINS_FILE: string;
export interface NodeBase {
  arch: string;
  packageName: string;
  version: string;
  integrity: string;
  dir: string;
  binary: string;
  source: 'npm' | 'fetched';
}
export function sha256File(file: string): Promise<string>;
export function verifyPinnedBinary(
  root: string,
  base: { arch: string; packageName: string; version: string; binary: string },
): Promise<string>;
export function writePins(
  root: string,
  bases: Record<string, NodeBase>,
): Promise<Record<string, { package: string; version: string; sha256: string }>>;
export function ensureNodeBases(options: {
  root: string;
  log?: (line: string) => void;
  verify?: boolean;
}): Promise<Record<string, NodeBase>>;
