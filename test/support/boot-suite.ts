/**
 * The boot suites' fixture: one moto for the suite (useMoto: started before, reset before each
 * test, stopped after) and the simulated clusters its tests make, each with its state table,
 * stopped (IMDS servers, clients) before moto.
 */

import { after } from 'node:test';
import { SimCluster, type SimClusterOptions } from './cluster-sim.js';
import { type Moto, useMoto } from './moto.js';

export interface BootSuite {
  moto: Moto;
  /** A simulated cluster on the suite's moto, its state table created. */
  cluster(options: SimClusterOptions): Promise<SimCluster>;
}

/** Call at the top of a describe block (or file). */
export function useBootSuite(): BootSuite {
  const clusters: SimCluster[] = [];
  // Registered before useMoto's, so it runs first: the clusters stop while moto is still up.
  after(async () => {
    await Promise.all(clusters.map((sim) => sim.stop()));
  });
  const moto = useMoto();
  return {
    moto,
    async cluster(options) {
      const sim = new SimCluster(moto, options);
      clusters.push(sim);
      await sim.createTable();
      return sim;
    },
  };
}
