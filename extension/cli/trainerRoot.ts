// The folder that holds the Python package trainer/: the repository root when running from
// source (extension/cli/*.ts) and the extension root when bundled (dist/cli.js). Both sit one or
// two levels above this file, so walk up until trainer/__main__.py appears.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findPython, type FoundPython } from '../training/pythonFinder';

export function findTrainerRoot(start: string = __dirname): string {
  let dir = start;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'trainer', '__main__.py'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find the bundled trainer (trainer/__main__.py) above ${start}`);
}

/** The trainer folder and the Python the CLI runs it with: --python, else REPO_DIFFUSION_PYTHON, else the finder's search. */
export async function findCliPython(explicit: string | undefined): Promise<{ found: FoundPython; trainerRoot: string }> {
  const trainerRoot = findTrainerRoot();
  return { found: await findPython({ explicit: explicit ?? process.env.REPO_DIFFUSION_PYTHON, trainerRoot }), trainerRoot };
}
