// Bundles the extension, the CLI and the webview with esbuild, and lays the runtime files
// (web-tree-sitter's wasm, the grammars) next to the bundles.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const production = process.argv.includes('--production');
const treeSitterDir = resolve('node_modules', 'web-tree-sitter');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // web-tree-sitter's ESM build uses import.meta.url, which breaks in a CJS bundle (platform notes).
  alias: { 'web-tree-sitter': join(treeSitterDir, 'web-tree-sitter.cjs') },
  external: ['vscode', 'onnxruntime-node'],
};

mkdirSync('dist', { recursive: true });
const builds = [
  esbuild.build({ ...common, entryPoints: { extension: 'extension/vscode/extension.ts' }, outdir: 'dist' }),
  esbuild.build({ ...common, entryPoints: { cli: 'extension/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } }),
  esbuild.build({ ...common, entryPoints: { parseWorker: 'extension/corpus/parseWorker.ts' }, outdir: 'dist' }),
];
if (existsSync('webview/main.ts')) {
  builds.push(esbuild.build({ ...common, platform: 'browser', format: 'iife', target: 'es2022', external: [], alias: {},
    entryPoints: { webview: 'webview/main.ts' }, outdir: 'dist' }));
}
await Promise.all(builds.filter(Boolean));
cpSync(join(treeSitterDir, 'web-tree-sitter.wasm'), 'dist/web-tree-sitter.wasm');
await import('./copy-grammars.mjs');
