// The real modules behind the adapter's Services: the corpus indexer and the inference engine
// (docs/contracts.md "TypeScript APIs the parts share"). The only file that binds them; the
// assignments below are what type-checks that the real APIs fit the adapter's narrow interfaces.
import { indexWorkspace } from '../corpus/index';
import { InfillEngine } from '../engine/index';
import type { EngineLike, Services } from './services';

export const services: Services = {
  indexWorkspace: (root, runDir, options, hooks) => indexWorkspace(root, runDir, options, hooks),
  async loadEngine(runDir, options): Promise<EngineLike> {
    const engine: EngineLike = await InfillEngine.load(runDir, { threads: options.threads, maxPositions: options.maxPositions });
    return engine;
  },
};
