/** Types of emulation.mjs for the tests that import it. */
export interface Runner {
  arch: string;
  native: boolean;
  available: boolean;
  prefix: string[];
  describe: string;
  missing?: string;
}
export const ALLOW_UNTESTED_FLAG: string;
export const ALLOW_UNTESTED_ENV: string;
export function runnerFor(arch: string, hostArch?: string): Runner;
export function assertSmokeTestable(runners: Runner[], options: { allowUntested: boolean }): Runner[];
