/**
 * kboot passes its children (kubeadm, kubectl) a minimal environment
 * (src/adapters/process/child-env.ts); the tests' fake kubeadm and kubectl are told where to log
 * and how to behave through variables of their own, named here in KBOOT_CHILD_ENV, kboot's
 * explicit allow-list for more variables. Only these test knobs: nothing else leaks through.
 */

const TEST_KNOBS = /^(FAKE_KUBEADM_|FAKE_KUBECTL_|KBOOT_BENCH_|KBOOT_TRAINING_)|^KBOOT_CLOCK_OFFSET_MS$/;

/** `env` with KBOOT_CHILD_ENV naming (besides what it names already) every test knob set in it. */
export function withTestChildEnv(env: Record<string, string>): Record<string, string> {
  const names = new Set((env.KBOOT_CHILD_ENV ?? '').split(',').filter((name) => name !== ''));
  for (const name of Object.keys(env)) if (TEST_KNOBS.test(name)) names.add(name);
  return names.size === 0 ? env : { ...env, KBOOT_CHILD_ENV: [...names].sort().join(',') };
}
