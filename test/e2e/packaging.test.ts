// Per-platform VSIX packaging (docs/packaging.md): what each package holds, and that the
// onnxruntime-node inside the host's package runs a model once unpacked.
// Needs vsce from scripts/e2e/setup.sh; fails with a clear message without it, unless
// REPO_DIFFUSION_SKIP_E2E=1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ARTIFACTS, E2E_DIR, e2eSkipReason, extensionVsix, hostTarget, tools } from './harness';
import { listZip, packageExtension, type Target } from '../../scripts/e2e/package';
import { negModel } from './onnxFixture';

const skip = e2eSkipReason();
if (skip) console.log(`[e2e] ${skip}`);

const BINARY: Record<Target, RegExp> = {
  'linux-x64': /bin\/napi-v\d+\/linux\/x64\/onnxruntime_binding\.node$/,
  'linux-arm64': /bin\/napi-v\d+\/linux\/arm64\/onnxruntime_binding\.node$/,
  'darwin-x64': /bin\/napi-v\d+\/darwin\/x64\/onnxruntime_binding\.node$/,
  'darwin-arm64': /bin\/napi-v\d+\/darwin\/arm64\/onnxruntime_binding\.node$/,
  'win32-x64': /bin\/napi-v\d+\/win32\/x64\/onnxruntime_binding\.node$/,
  'win32-arm64': /bin\/napi-v\d+\/win32\/arm64\/onnxruntime_binding\.node$/,
};

function assertCommonContents(entries: string[], target: Target): void {
  const has = (p: string | RegExp) => entries.some((e) => (typeof p === 'string' ? e === p : p.test(e)));
  for (const must of ['extension/package.json', 'extension/dist/extension.js', 'extension/node_modules/onnxruntime-node/package.json',
    'extension/node_modules/onnxruntime-node/dist/index.js', 'extension/node_modules/onnxruntime-common/package.json',
    'extension/node_modules/onnxruntime-common/dist/cjs/index.js']) {
    assert.ok(has(must), `${target}: ${must} is missing`);
  }
  assert.ok(has(/^extension\/trainer\/.*\.py$/), `${target}: the Python trainer is missing`);
  const leaked = entries.filter((e) =>
    /^extension\/(extension|webview|test|bench|docs|scripts|\.ci|\.e2e)\//.test(e) ||
    /\.(ts|map)$/.test(e) || /__pycache__|\.pyc$/.test(e) ||
    /^extension\/node_modules\/(?!onnxruntime-(node|common)\/)/.test(e) ||
    /onnxruntime-node\/(lib|script)\//.test(e));
  assert.deepEqual(leaked, [], `${target}: files that should stay out of the package`);
  const otherBinaries = entries.filter((e) => /onnxruntime-node\/bin\//.test(e) && !e.includes(`/${target.replace('-', '/')}/`));
  assert.deepEqual(otherBinaries, [], `${target}: other platforms' binaries`);
}

test('the host VSIX holds the bundle, the trainer and only this platform\'s onnxruntime binaries', { skip, timeout: 300_000 }, () => {
  tools();
  const { entries } = listZip(extensionVsix().vsix);
  assertCommonContents(entries, hostTarget());
  assert.ok(entries.some((e) => BINARY[hostTarget()].test(e)), 'the host binding is missing');
});

test('onnxruntime-node from the unpacked host VSIX runs a model', { skip, timeout: 300_000 }, () => {
  tools();
  const r = extensionVsix();
  const dir = mkdtempSync(join(E2E_DIR, 'unpacked-'));
  try {
    const unzip = spawnSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', r.vsix, dir], { encoding: 'utf8' });
    assert.equal(unzip.status, 0, unzip.stderr);
    const model = join(dir, 'neg.onnx');
    writeFileSync(model, negModel());
    const script = `
      const ort = require(${JSON.stringify(join(dir, 'extension', 'node_modules', 'onnxruntime-node'))});
      (async () => {
        const s = await ort.InferenceSession.create(${JSON.stringify(model)});
        const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, -2, 3]), [3]) });
        console.log(JSON.stringify(Array.from(out.y.data)));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.deepEqual(JSON.parse(run.stdout.trim()), [-1, 2, -3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every platform packages with its own binaries only', { skip, timeout: 600_000 }, () => {
  tools();
  extensionVsix(); // builds dist/ once
  const outDir = join(ARTIFACTS, 'vsix-all');
  mkdirSync(outDir, { recursive: true });
  const sizes: string[] = [];
  for (const target of ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'] as Target[]) {
    const r = packageExtension({ target, outDir, build: false });
    assertCommonContents(r.entries, target);
    if (target === 'darwin-x64') {
      // onnxruntime-node 1.30 ships no Intel-mac binaries (docs/packaging.md).
      assert.ok(r.warnings.some((w) => /no darwin\/x64 binaries/.test(w)), 'expected the darwin-x64 warning');
    } else {
      assert.ok(r.entries.some((e) => BINARY[target].test(e)), `${target}: its binding is missing`);
    }
    sizes.push(`${target} ${(r.bytes / 1048576).toFixed(1)} MB (${(r.unpackedBytes / 1048576).toFixed(1)} MB unpacked)`);
    rmSync(r.vsix, { force: true });
  }
  console.log(`[e2e] package sizes: ${sizes.join('; ')}`);
});
