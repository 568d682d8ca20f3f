// The extension as VS Code loads it: extension/vscode/extension.ts bundled the way
// scripts/build.mjs bundles it (CJS, node20, vscode and onnxruntime-node external), required with
// the fake `vscode`, activated with the real indexer and engine wired in.
import './useFakeVscode';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { fake, fakeContext } from './fakeVscode';

const REPO = join(__dirname, '..', '..');

test('the bundled extension activates, registers the manifest commands, and disposes cleanly', async () => {
  // Inside the repository so that the external onnxruntime-node resolves from node_modules.
  const out = join(REPO, 'test-artifacts', 'bundle');
  mkdirSync(out, { recursive: true });
  await esbuild.build({
    bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning',
    alias: { 'web-tree-sitter': join(REPO, 'node_modules', 'web-tree-sitter', 'web-tree-sitter.cjs') },
    external: ['vscode', 'onnxruntime-node'],
    entryPoints: { extension: join(REPO, 'extension', 'vscode', 'extension.ts') },
    outdir: out,
  });
  fake.reset();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ext = require(join(out, 'extension.js')) as { activate(c: unknown): void; deactivate(): void };
  const context = fakeContext(REPO, mkdtempSync(join(tmpdir(), 'rd-bundle-')), mkdtempSync(join(tmpdir(), 'rd-bundle-g-')));
  ext.activate(context);
  const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  assert.deepEqual([...fake.commands.keys()].sort(), manifest.contributes.commands.map((c: { command: string }) => c.command).sort());
  assert.equal(fake.providers.length, 1);
  assert.match(fake.statusItems[0].text, /no model/);
  ext.deactivate();
  for (const d of context.subscriptions) d.dispose();
  assert.equal(fake.commands.size, 0);
});
