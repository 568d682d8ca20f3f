// findPython against real interpreters: the fixture folder fakeroot/ holds a fake `trainer`
// package whose doctor answers according to FAKE_DOCTOR; broken and missing interpreters too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPython, findVenvCapablePython, describeDevice, normalizeDoctor, PythonNotFoundError } from '../../extension/training/pythonFinder';

const ROOT = join(__dirname, 'fixtures', 'fakeroot');
const BROKEN = join(__dirname, 'fixtures', 'brokenPython.sh');
// Any python3 can run the fake doctor; the one the tests use must exist.
const PY = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'pass']).status === 0);
const env = (mode: string) => ({ ...process.env, FAKE_DOCTOR: mode, PYTHONDONTWRITEBYTECODE: '1' });

test('a python interpreter is needed for these tests', () => {
  assert.ok(PY, 'no python3 found on PATH or at /usr/bin/python3');
});

test('the first candidate whose doctor reports torch wins, after skipping missing and broken ones', async () => {
  const found = await findPython({ trainerRoot: ROOT, extra: ['/nonexistent/python', BROKEN], defaults: [PY!], env: env('ok') });
  assert.equal(found.python, PY);
  assert.equal(found.source, 'path');
  assert.equal(found.doctor.torch, '2.4.0');
  assert.equal(describeDevice(found.doctor), 'cuda: NVIDIA H100 (79 GB), bf16');
  assert.deepEqual(found.tried.map((t) => t.ok), [false, false, true]);
  assert.equal(found.tried[0].reason, 'not found');
  assert.match(found.tried[1].reason!, /doctor failed \(exit 1\): broken interpreter/);
});

test('an explicit path is tried first and used', async () => {
  const found = await findPython({ explicit: PY, trainerRoot: ROOT, defaults: ['/nonexistent/x'], env: env('ok') });
  assert.equal(found.source, 'explicit');
  assert.equal(found.tried.length, 1);
});

test('an explicit path that does not work stops the search with a clear error', async () => {
  await assert.rejects(findPython({ explicit: '/nonexistent/python3', trainerRoot: ROOT, defaults: [PY!], env: env('ok') }), (err: Error) => {
    assert.ok(err instanceof PythonNotFoundError);
    assert.equal(err.tried.length, 1);
    assert.match(err.message, /\/nonexistent\/python3 \(explicit\): not found/);
    return true;
  });
});

test('when no candidate has torch the error lists each one tried and the fix commands', async () => {
  await assert.rejects(findPython({ trainerRoot: ROOT, extra: [BROKEN], defaults: [PY!, '/nonexistent/python3'], env: env('notorch') }), (err: Error) => {
    assert.ok(err instanceof PythonNotFoundError);
    assert.equal(err.tried.length, 3);
    assert.match(err.message, /No Python that can run the trainer/);
    assert.match(err.message, new RegExp(`${PY} \\(path\\): missing: torch, numpy`));
    assert.match(err.message, /brokenPython\.sh \(extra\): doctor failed/);
    assert.match(err.message, /To fix:\n  pip install torch numpy/);
    return true;
  });
});

test('a trainer folder that is not there is named in the reason', async () => {
  await assert.rejects(findPython({ trainerRoot: __dirname, defaults: [PY!], env: env('ok') }), /cannot find the trainer package/);
});

test('doctor reports with odd shapes are normalized', () => {
  const d = normalizeDoctor({ python: '3.11', torch: '', gpus: ['A100'], extra: 1 });
  assert.equal(d.torch, null);
  assert.deepEqual(d.missing, ['torch']);
  assert.deepEqual(d.gpus, [{ name: 'A100' }]);
  assert.equal(d.extra, 1);
  assert.equal(describeDevice({ ...d, mps: true }), 'mps (Apple GPU)');
  assert.equal(describeDevice(d), 'cpu only');
});

test('the real trainer doctor is understood when a Python with torch is present', async () => {
  // The bundled trainer/ at the repository root, with whatever interpreter has torch here.
  const repo = join(__dirname, '..', '..');
  const candidates = [process.env.REPO_DIFFUSION_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => Boolean(p));
  const withTorch = candidates.find((p) => spawnSync(p, ['-c', 'import torch, numpy']).status === 0);
  assert.ok(withTorch, `no Python with torch and numpy among ${candidates.join(', ')} (Debian: apt install python3-torch python3-numpy)`);
  const found = await findPython({ trainerRoot: repo, defaults: [withTorch!], timeoutMs: 60_000 });
  assert.ok(found.doctor.torch);
  assert.equal(typeof found.doctor.cuda, 'boolean');
  assert.ok(describeDevice(found.doctor).length > 0);
});

test('the Python to create a venv with is probed asynchronously: missing, broken and hanging ones are skipped', { skip: process.platform === 'win32' && 'sh scripts' }, async () => {
  const hanging = join(mkdtempSync(join(tmpdir(), 'rd-py-')), 'hangingPython.sh');
  writeFileSync(hanging, '#!/bin/sh\nexec sleep 5\n', { mode: 0o755 });
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 20);
  const t0 = Date.now();
  try {
    assert.equal(await findVenvCapablePython(['/nonexistent/python', BROKEN, hanging, PY!], ROOT, 500), PY);
  } finally {
    clearInterval(ticker);
  }
  assert.ok(Date.now() - t0 < 4000, 'the hanging candidate was given up after its timeout');
  assert.ok(ticks >= 10, `the event loop kept running meanwhile (${ticks} ticks)`);
  assert.equal(await findVenvCapablePython(['/nonexistent/python', BROKEN], ROOT, 500), undefined);
});
