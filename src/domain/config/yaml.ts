/**
 * Turning a parsed YAML document into data, with the aliases capped. A "billion laughs" document
 * (anchors of aliases of aliases) is a few lines that expand into billions of nodes; the yaml
 * library refuses past `maxAliasCount`, by throwing a ReferenceError that would otherwise exit 1
 * as an internal error. Every YAML kboot reads from a user, a file or a secret goes through here
 * and such a document is refused as bad input, naming where it came from.
 */

import type { Document } from 'yaml';
import { ConfigError, type KbootError } from '../../core/errors.js';

/** How many alias expansions one document may make (the yaml library's own default). */
export const MAX_YAML_ALIAS_COUNT = 100;

/** The options every `toJS` of kboot's passes. */
export const YAML_TO_JS_OPTIONS = { maxAliasCount: MAX_YAML_ALIAS_COUNT } as const;

/** Why a document's data could not be built, in words (never quoting the source). */
export function yamlExpansionProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /alias count/i.test(message)
    ? `its YAML aliases expand too far (over ${MAX_YAML_ALIAS_COUNT} alias expansions: an alias bomb?)`
    : `its YAML could not be read (${message.split('\n')[0]})`;
}

/**
 * The document's data. A document whose aliases expand too far throws what `refuse` makes of the
 * problem (default: a ConfigError naming `source`, exit 2).
 */
export function yamlData(
  document: Document,
  source: string,
  refuse: (problem: string) => KbootError = (problem) =>
    new ConfigError(`${source}: ${problem}`, {
      hint: 'write the repeated values out instead of using anchors and aliases',
    }),
): unknown {
  try {
    return document.toJS(YAML_TO_JS_OPTIONS);
  } catch (error) {
    throw refuse(yamlExpansionProblem(error));
  }
}
