// Extension-host tests: the packaged extension in code-server's real extension host, checked through
// the real `vscode` API (test/e2e/exthost/suite.ts; how it is loaded: exthost/runner.ts, docs/e2e.md).
// Needs scripts/e2e/setup.sh; skipped only with REPO_DIFFUSION_SKIP_E2E=1.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, e2eSkipReason, tools } from './harness';
import { runInExtensionHost } from './exthost/runner';
import { plantRuns } from './exthost/plant';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const skip = e2eSkipReason();
if (skip) console.log(`[e2e] ${skip}`);

test('extension host: activation, commands, settings, panel, Select Model, inline provider wiring (real vscode API)', { skip, timeout: 300_000 }, async () => {
  tools();
  const planted = mkdtempSync(join(tmpdir(), 'rd-e2e-planted-'));
  plantRuns(planted, ['q', 'z']);
  const r = await runInExtensionHost({
    name: 'exthost',
    define: { __PLANTED__: planted },
    suite: join(ROOT, 'test', 'e2e', 'exthost', 'suite.ts'),
    files: { 'main.py': 'def add(a, b):\n    return a + b\n\n\n' },
  });
  for (const c of r.checks) console.log(`[e2e] ${c.ok ? 'ok    ' : 'FAILED'} ${c.name} (${c.ms} ms)${c.error ? `\n${c.error}` : ''}`);
  const failed = r.checks.filter((c) => !c.ok);
  assert.deepEqual(failed.map((c) => `${c.name}: ${c.error?.split('\n')[0]}`), []);
  rmSync(planted, { recursive: true, force: true });
  assert.equal(r.checks.length, 10, `expected 10 checks, got ${r.checks.length}: the suite stopped early`);
  assert.equal(r.exitCode, 0, `the extension host reported exit code ${r.exitCode}; logs:\n${r.logs.join('\n')}`);
});
