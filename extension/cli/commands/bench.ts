// placeholder until the engine lands
export async function runBench(_argv: string[]): Promise<void> { throw new Error('not available yet'); }
