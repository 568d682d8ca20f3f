import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { grammarManifest, languageFor, resolveGrammar } from '../../extension/corpus/languages';
import { ParsePool } from '../../extension/corpus/parsePool';
import { SPAN_KIND } from '../../extension/corpus/types';
import { FIXTURES } from './helpers';

test('every grammar in grammars/manifest.json loads with web-tree-sitter and knows the node types listed for it', async () => {
  const pool = new ParsePool({ size: 2, timeoutMs: 20_000 });
  const problems: string[] = [];
  try {
    await Promise.all(
      grammarManifest.languages.map(async (lang) => {
        if (!lang.grammar) return;
        const grammarPath = resolveGrammar(lang);
        if (!grammarPath) return void problems.push(`${lang.id}: grammar file not found`);
        const outcome = await pool.parse({ language: lang.id, grammarPath, text: 'x\n', chunks: lang.chunks ?? [], blocks: lang.blocks ?? [], calls: lang.calls ?? [] });
        if (!outcome.ok) problems.push(`${lang.id}: ${outcome.error}`);
        else if (outcome.unknownTypes.length) problems.push(`${lang.id}: unknown node types ${outcome.unknownTypes.join(', ')}`);
      }),
    );
  } finally {
    await pool.close();
  }
  assert.deepEqual(problems, []);
});

test('no two languages claim the same extension', () => {
  const seen = new Map<string, string>();
  for (const lang of grammarManifest.languages) {
    for (const ext of lang.extensions) {
      assert.ok(!seen.has(ext), `${ext}: ${seen.get(ext)} and ${lang.id}`);
      seen.set(ext, lang.id);
    }
  }
});

const fixtureFiles = [
  'src/inventory.py', 'src/pricing.ts', 'src/server.go', 'lib/matrix.rs', 'scripts/deploy.sh',
  'niche/stack.ex', 'niche/Stats.hs', 'niche/queue.lua', 'niche/ring.zig', 'niche/Shapes.scala', 'niche/Ledger.kt', 'niche/analysis.R',
];

test('the worker pool parses each fixture language into line, block and call spans', async () => {
  const pool = new ParsePool({ size: 2, timeoutMs: 10_000 });
  try {
    const results = await Promise.all(
      fixtureFiles.map(async (file) => {
        const text = readFileSync(join(FIXTURES, 'polyglot', file), 'utf8');
        const lang = languageFor(file)!;
        const outcome = await pool.parse({ language: lang.id, grammarPath: resolveGrammar(lang)!, text, chunks: lang.chunks!, blocks: lang.blocks!, calls: lang.calls! });
        return { file, text, outcome };
      }),
    );
    for (const { file, text, outcome } of results) {
      assert.ok(outcome.ok, `${file}: ${!outcome.ok && outcome.error}`);
      if (!outcome.ok) continue;
      assert.equal(outcome.hasError, false, `${file} parses without syntax errors`);
      const kinds = new Set(outcome.spans.map((s) => s[2]));
      assert.ok(kinds.has(SPAN_KIND.line), `${file}: line spans`);
      assert.ok(kinds.has(SPAN_KIND.block), `${file}: block spans`);
      assert.ok(kinds.has(SPAN_KIND.call), `${file}: call spans`);
      for (const [s, e] of outcome.spans) assert.ok(s >= 0 && s < e && e <= text.length, file);
    }
    const py = results[0];
    assert.ok(py.outcome.ok);
    if (py.outcome.ok) {
      const pieces = py.outcome.spans.map(([s, e, k]) => [k, py.text.slice(s, e)]);
      assert.ok(pieces.some(([k, t]) => k === SPAN_KIND.call && t === 'inventory.add(Item(sku, name, int(qty)))'));
      assert.ok(pieces.some(([k, t]) => k === SPAN_KIND.line && t === 'self.quantity += amount'));
      assert.ok(pieces.some(([k, t]) => k === SPAN_KIND.block && String(t).startsWith('def remove(self, sku, amount):')));
      const chunkHeads = py.outcome.chunkStarts.map((s) => py.text.slice(s, py.text.indexOf('\n', s)));
      assert.ok(chunkHeads.includes('class Inventory:'));
      assert.ok(chunkHeads.includes('def load_csv(path):'));
    }
  } finally {
    await pool.close();
  }
});

test('offsets are UTF-16 positions even after non-ASCII text', async () => {
  const pool = new ParsePool({ size: 1, timeoutMs: 10_000 });
  try {
    const lang = languageFor('a.py')!;
    const text = 'café = "naïve 🙂"\nprint(café)\n';
    const outcome = await pool.parse({ language: 'python', grammarPath: resolveGrammar(lang)!, text, chunks: [], blocks: [], calls: lang.calls! });
    assert.ok(outcome.ok);
    if (outcome.ok) {
      const calls = outcome.spans.filter((s) => s[2] === SPAN_KIND.call).map(([s, e]) => text.slice(s, e));
      assert.deepEqual(calls, ['print(café)']);
    }
  } finally {
    await pool.close();
  }
});

test('a grammar that hangs is stopped at the deadline; the pool replaces the worker and goes on', async () => {
  const worker = { file: join(FIXTURES, 'workers', 'hangingWorker.js'), execArgv: [] };
  const pool = new ParsePool({ size: 1, timeoutMs: 300, worker });
  const req = (text: string) => ({ language: 'x', grammarPath: 'never-loaded.wasm', text, chunks: [], blocks: [], calls: [] });
  try {
    const t0 = performance.now();
    const hung = await pool.parse(req('HANG'));
    const waited = performance.now() - t0;
    assert.deepEqual(hung.ok ? 'ok' : hung.reason, 'timeout');
    assert.ok(waited < 5000, `gave up after ${waited} ms`);
    const next = await pool.parse(req('fine'));
    assert.ok(next.ok, 'a fresh worker serves the next file');
    assert.equal(pool.timeouts, 1);
  } finally {
    await pool.close();
  }
});

test('a real parse that overruns its deadline is terminated too', async () => {
  const lang = languageFor('a.py')!;
  const text = readFileSync(join(FIXTURES, 'polyglot', 'src', 'inventory.py'), 'utf8').repeat(400); // ~600 KB
  const pool = new ParsePool({ size: 1, timeoutMs: 1 });
  try {
    const outcome = await pool.parse({ language: 'python', grammarPath: resolveGrammar(lang)!, text, chunks: lang.chunks!, blocks: lang.blocks!, calls: lang.calls! });
    assert.equal(outcome.ok ? 'ok' : outcome.reason, 'timeout');
  } finally {
    await pool.close();
  }
});

test('a grammar file that cannot be loaded is an error outcome, and the worker keeps serving', async () => {
  const pool = new ParsePool({ size: 1, timeoutMs: 10_000 });
  try {
    const bad = await pool.parse({ language: 'broken', grammarPath: join(FIXTURES, 'polyglot', 'src', 'inventory.py'), text: 'x = 1\n', chunks: [], blocks: [], calls: [] });
    assert.equal(bad.ok ? 'ok' : bad.reason, 'error');
    const lang = languageFor('a.go')!;
    const good = await pool.parse({ language: 'go', grammarPath: resolveGrammar(lang)!, text: 'package main\n\nfunc main() {\n\tprintln(1)\n}\n', chunks: lang.chunks!, blocks: lang.blocks!, calls: lang.calls! });
    assert.ok(good.ok);
    assert.equal(pool.timeouts, 0);
  } finally {
    await pool.close();
  }
});
