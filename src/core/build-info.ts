/** Facts fixed at build time by scripts/build.mjs (esbuild `define`); dev runs fall back. */
declare const __KBOOT_BUILD_INFO__: BuildInfo | undefined;

export interface BuildInfo {
  version: string;
  commit: string;
  buildDate: string;
  targetArch: string;
}

export function buildInfo(): BuildInfo {
  if (typeof __KBOOT_BUILD_INFO__ !== 'undefined') return __KBOOT_BUILD_INFO__;
  return { version: '0.0.0-dev+source', commit: 'unknown', buildDate: 'unknown', targetArch: process.arch };
}
