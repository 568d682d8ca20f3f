// The recorded runs in fixtures/runs stand for finished runs. Their model and checkpoint files
// only need to exist (nothing loads them), so they are written here at test time instead of
// committing files that look like models.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RECORDED_RUNS = join(__dirname, 'fixtures', 'runs');

const PLACEHOLDERS: Array<[run: string, file: string, content: string]> = [
  ['2026-11-27T05-00-00-000Z', 'model.onnx', 'not a real model\n'],
  ['2026-11-27T05-00-00-000Z', 'checkpoints/step000100.pt', 'fake checkpoint\n'],
  ['2026-11-27T06-00-00-000Z', 'model.onnx', 'not a real model\n'],
  ['2026-11-27T06-00-00-000Z', 'checkpoints/step000300.pt', 'fake checkpoint\n'],
];

export function ensureRecordedRuns(): string {
  for (const [run, file, content] of PLACEHOLDERS) {
    const path = join(RECORDED_RUNS, run, file);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  }
  return RECORDED_RUNS;
}
