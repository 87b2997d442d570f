/**
 * The environment kboot gives the programs it runs (kubeadm, kubectl): what they need to run and
 * reach the network, and nothing that carries kboot's own credentials. kboot's environment can
 * hold AWS keys and session tokens (from `/etc/kboot/environment`, a credential process, a test
 * harness); none of it reaches a child. Passed: PATH, HOME, the locale (LANG, LANGUAGE, LC_*), TZ
 * and the proxy settings (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, ALL_PROXY, upper and lower case), so
 * kubeadm and kubectl reach the API server the way kboot reaches AWS. KUBECONFIG is not passed:
 * kboot names the kubeconfig on the command line. Pure.
 *
 * `KBOOT_CHILD_ENV=NAME1,NAME2` names more variables to pass (for tests, whose fake kubeadm and
 * kubectl are told where to log through their own variables, or an unusual site setup). Names
 * starting with `AWS_` are never passed, even when named there.
 */

/** Passed when set, exactly these names. */
const BASE_NAMES = [
  'PATH',
  'HOME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
] as const;

/** The locale categories (LC_ALL, LC_CTYPE, LC_MESSAGES, ...). */
const LOCALE = /^LC_[A-Z_]+$/;
/** Never passed: kboot's AWS credentials and settings are kboot's alone. */
const REFUSED = /^AWS_/;
/** The variable naming extra variables to pass. */
export const CHILD_ENV_VARIABLE = 'KBOOT_CHILD_ENV';

export interface ChildEnvironment {
  env: Record<string, string>;
  /** Names KBOOT_CHILD_ENV asked for that are never passed (AWS_*), for a warning. */
  refused: string[];
}

/** The variables named by KBOOT_CHILD_ENV (comma or space separated). */
export function extraChildEnvNames(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/**
 * The child's environment from kboot's: the allowed variables that are set, the extra ones
 * KBOOT_CHILD_ENV names (never AWS_*), then `set` (values kboot itself gives the child).
 */
export function childEnvironment(
  from: Readonly<Record<string, string | undefined>>,
  set: Readonly<Record<string, string>> = {},
): ChildEnvironment {
  const env: Record<string, string> = {};
  const refused: string[] = [];
  const pass = (name: string): void => {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  };
  for (const name of BASE_NAMES) pass(name);
  for (const name of Object.keys(from)) if (LOCALE.test(name)) pass(name);
  for (const name of extraChildEnvNames(from[CHILD_ENV_VARIABLE])) {
    if (REFUSED.test(name)) refused.push(name);
    else pass(name);
  }
  for (const [name, value] of Object.entries(set)) {
    if (REFUSED.test(name)) refused.push(name);
    else env[name] = value;
  }
  return { env, refused };
}
