// Runs the real-VS-Code e2e tests (test/e2e/*.test.ts) through the project's test runner.
// Usage: node scripts/e2e/run-tests.mjs [--setup] [FILE...]
//   --setup  run scripts/e2e/setup.sh first
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const env = { ...process.env };
if (args.includes('--setup')) {
  const r = spawnSync('bash', [join(root, 'scripts', 'e2e', 'setup.sh')], { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
let files = args.filter((a) => !a.startsWith('--'));
if (!files.length) {
  files = readdirSync(join(root, 'test', 'e2e')).filter((n) => n.endsWith('.test.ts')).sort().map((n) => join('test', 'e2e', n));
}
const r = spawnSync(process.execPath, [join(root, 'scripts', 'run-ts-tests.mjs'), ...files], { stdio: 'inherit', env, cwd: root });
process.exit(r.status ?? 1);
