// Environment setup failing offline must say what to do. Two real paths, both without network:
// a fake interpreter whose pip cannot resolve hosts, and a real `python3 -m venv` whose pip is
// pointed at a closed local port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupVenv, VenvSetupError, venvPython } from '../../extension/training/launcher';

const FAKE_PY = join(__dirname, 'fixtures', 'fakePython.sh');

function reqs(dir: string, text = 'torch\nnumpy\n'): string {
  const path = join(dir, 'requirements.txt');
  writeFileSync(path, text);
  return path;
}

test('pip without network gives an offline error that says what to do, with streamed output', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-venv-'));
  const lines: string[] = [];
  await assert.rejects(
    setupVenv({ basePython: FAKE_PY, venvDir: join(dir, 'venv'), requirementsFile: reqs(dir), onOutput: (l) => lines.push(l) }),
    (err: Error) => {
      assert.ok(err instanceof VenvSetupError);
      assert.equal(err.step, 'pip');
      assert.equal(err.offline, true);
      assert.match(err.message, /could not download packages/);
      assert.match(err.message, /--no-index --find-links/);
      assert.match(err.message, /repoDiffusion\.pythonPath/);
      return true;
    },
  );
  assert.ok(lines.some((l) => l.startsWith('$ ') && l.includes('-m venv')));
  assert.ok(lines.some((l) => l.includes('created venv')));
  assert.ok(lines.some((l) => l.includes('No matching distribution found for torch')));
});

test('a missing requirements file is reported before anything is created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-venv-'));
  await assert.rejects(setupVenv({ basePython: FAKE_PY, venvDir: join(dir, 'v'), requirementsFile: join(dir, 'nope.txt') }), /requirements file is missing/);
});

test('a base interpreter that does not exist gives a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-venv-'));
  await assert.rejects(setupVenv({ basePython: '/nonexistent/python3', venvDir: join(dir, 'v'), requirementsFile: reqs(dir) }), (err: Error) => {
    assert.ok(err instanceof VenvSetupError);
    assert.equal(err.step, 'venv');
    assert.match(err.message, /Could not run \/nonexistent\/python3/);
    return true;
  });
});

test('a real venv with pip pointed at an unreachable index fails as offline', async () => {
  const py = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import venv, ensurepip']).status === 0);
  assert.ok(py, 'needs a python3 with the venv and ensurepip modules (Debian: apt install python3-venv)');
  const dir = mkdtempSync(join(tmpdir(), 'rd-venv-'));
  const started = Date.now();
  await assert.rejects(
    setupVenv({
      basePython: py!,
      venvDir: join(dir, 'venv'),
      requirementsFile: reqs(dir, 'repo-diffusion-no-such-package==1.0\n'),
      // port 9 (discard) on localhost is closed: a connection error, no network needed
      pipArgs: ['--index-url', 'http://127.0.0.1:9/simple', '--retries', '0', '--timeout', '2'],
    }),
    (err: Error) => {
      assert.ok(err instanceof VenvSetupError, String(err));
      assert.equal(err.offline, true, err.message);
      return true;
    },
  );
  assert.ok(spawnSync(venvPython(join(dir, 'venv')), ['-c', 'pass']).status === 0, 'the venv itself was created');
  assert.ok(Date.now() - started < 20_000);
});
