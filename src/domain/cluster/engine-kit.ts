/**
 * What plan, create and destroy share: the providers by kind (every kind required before any
 * change), the context a provider runs in, and the cluster's resource records.
 */

import { ConfigError, StateConflictError } from '../../core/errors.js';
import type { EngineSettings } from './engine-types.js';
import type { DesiredResource, ResourceContext, ResourceProvider, ResourceRecord } from './resource.js';

export interface EngineKit {
  readonly settings: EngineSettings;
  context(records: Map<string, ResourceRecord>): ResourceContext;
  provider(kind: string): ResourceProvider;
  /** Fails before any change when a kind of the graph has no provider. */
  requireProviders(kinds: Iterable<string>): void;
  /** Every provider's `preflight` of the graph, before plan or create reads or changes anything else. */
  preflight(graph: readonly DesiredResource[]): Promise<void>;
  readRecords(): Promise<Map<string, ResourceRecord>>;
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function engineKit(settings: EngineSettings): EngineKit {
  return {
    settings,
    context(records: Map<string, ResourceRecord>): ResourceContext {
      const { cluster, region, signal } = settings;
      return {
        cluster,
        region,
        signal,
        tagsFor: (key) => settings.tagsFor(key),
        outputsOf: (key) => {
          const record = records.get(key);
          if (record === undefined) {
            throw new StateConflictError(`${key} is not recorded for cluster "${cluster}" yet`, {
              hint: "run 'kboot cluster create' again: it creates what is missing in order",
            });
          }
          return record.outputs;
        },
      };
    },

    provider(kind: string): ResourceProvider {
      const provider = settings.providers.get(kind);
      if (provider === undefined) {
        throw new ConfigError(`this kboot cannot manage resources of kind "${kind}"`, {
          hint: 'upgrade kboot to a version that ships it (see CHANGELOG.md)',
        });
      }
      return provider;
    },

    requireProviders(kinds: Iterable<string>): void {
      const missing = [...new Set(kinds)].filter((kind) => settings.providers.get(kind) === undefined);
      if (missing.length > 0) {
        throw new ConfigError(
          `this kboot cannot manage resources of kind ${missing.map((k) => `"${k}"`).join(', ')}`,
          {
            hint: 'upgrade kboot to a version that ships them (see CHANGELOG.md)',
          },
        );
      }
    },

    async preflight(graph: readonly DesiredResource[]): Promise<void> {
      const context = this.context(new Map());
      for (const resource of graph) {
        const provider = this.provider(resource.kind);
        if (provider.preflight !== undefined) await provider.preflight(resource, context);
      }
    },

    async readRecords(): Promise<Map<string, ResourceRecord>> {
      const records = await settings.state.readResources(settings.cluster, settings.signal);
      return new Map((records ?? []).map((record) => [record.key, record]));
    },
  };
}
