import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { indexWorkspace, IndexError, IndexProgress } from '../../extension/corpus/index';
import { buildCorpus, removeDeadWritersTemps } from '../../extension/corpus/build';
import { nodeFs, ScanFs } from '../../extension/corpus/scan';
import { chooseVocabSize, Tokenizer, trainTokenizerAsync } from '../../extension/tokenizer';
import { FIXTURES, plantedSecrets, polyglotCopy, secretsFile, symlinkSafe, tempDir, write } from './helpers';

interface Corpus {
  dir: string;
  manifest: any;
  tokenizer: Tokenizer;
  train: Uint16Array;
  val: Uint16Array;
  spans: Int32Array;
  evalTasks: any[];
  runJson: any;
}

function readCorpus(runDir: string): Corpus {
  const dir = join(runDir, 'corpus');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  assert.equal(manifest.token_dtype, 'uint16');
  const u16 = (name: string) => {
    const b = readFileSync(join(dir, name));
    return new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  };
  const sp = readFileSync(join(dir, 'train.spans.bin'));
  const evalText = readFileSync(join(dir, 'eval.jsonl'), 'utf8');
  return {
    dir,
    manifest,
    tokenizer: Tokenizer.fromJSON(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    train: u16('train.bin'),
    val: u16('val.bin'),
    spans: new Int32Array(sp.buffer.slice(sp.byteOffset, sp.byteOffset + sp.length)),
    evalTasks: evalText.trim() ? evalText.trim().split('\n').map((l) => JSON.parse(l)) : [],
    runJson: JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')),
  };
}

/** The documents of a .bin, split at <|eos|>. */
function documents(c: Corpus, ids: Uint16Array): string[] {
  const eos = c.tokenizer.specialIds.eos;
  const docs: string[] = [];
  let start = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === eos) {
      docs.push(c.tokenizer.decode(ids.subarray(start, i)));
      start = i + 1;
    }
  }
  assert.equal(start, ids.length, 'the last document ends with <|eos|>');
  return docs;
}

const byPath = (c: Corpus) => new Map<string, any>(c.manifest.files.map((f: any) => [f.path, f]));

test('the polyglot tree becomes a consistent corpus: manifest reasons, bins, spans, eval tasks, run.json', async () => {
  const root = polyglotCopy();
  const runDir = tempDir('run');
  const phases = new Set<string>();
  const last = new Map<string, IndexProgress>();
  write(runDir, 'run.json', JSON.stringify({ preset: 'small', objective: 'diffusion' }));
  const summary = await indexWorkspace(root, runDir, { evalTasks: 40, runInfo: { budget_minutes: 5 } }, {
    onProgress: (p: IndexProgress) => {
      phases.add(p.phase);
      last.set(p.phase, p);
    },
  });
  const c = readCorpus(runDir);
  const files = byPath(c);
  const reason = (p: string) => files.get(p)?.reason;

  // Skipped, each with its reason.
  for (const p of ['debug.log', 'out/', 'docs/deep/a.tmp']) assert.equal(reason(p), 'gitignored', p);
  for (const p of ['node_modules/', 'vendor/', 'third_party/', 'dist/', 'build/']) assert.equal(reason(p), 'vendored', p);
  assert.equal(reason('gen/api.pb.go'), 'generated');
  assert.equal(reason('static/bundle.js'), 'minified');
  assert.equal(reason('static/app.min.js'), 'minified');
  assert.equal(reason('package-lock.json'), 'lockfile');
  assert.equal(reason('data/readings.txt'), 'data');
  assert.equal(reason('src/inventory_copy.py'), 'duplicate');
  assert.equal(reason('src/inventory_v2.py'), 'near-duplicate');
  assert.deepEqual(c.manifest.duplicates, { exact: 1, near: 1 });

  // Kept, in languages with and without grammars.
  const langs = c.manifest.totals.languages;
  for (const l of ['python', 'typescript', 'go', 'rust', 'shell', 'elixir', 'haskell', 'lua', 'zig', 'scala', 'kotlin', 'r', 'erlang', 'tcl', 'fortran', 'cobol', 'unknown']) {
    assert.ok(langs[l]?.files >= 1, `language ${l} kept`);
  }
  assert.equal(files.get('niche/stack.ex').parser, 'tree-sitter');
  assert.equal(files.get('nogrammar/routing.hdsl').parser, 'fallback');

  // Bins: sizes match the manifest; documents decode to the kept files, train and val apart.
  assert.equal(c.train.length, c.manifest.train_tokens);
  assert.equal(c.val.length, c.manifest.val_tokens);
  const kept = c.manifest.files.filter((f: any) => f.status === 'kept');
  const trainDocs = documents(c, c.train);
  const valDocs = documents(c, c.val);
  const trainFiles = kept.filter((f: any) => f.split === 'train');
  const valFiles = kept.filter((f: any) => f.split === 'val');
  assert.ok(valFiles.length >= 1 && trainFiles.length > valFiles.length);
  assert.equal(trainDocs.length, trainFiles.length);
  assert.equal(valDocs.length, valFiles.length);
  const text = (p: string) => readFileSync(join(root, p), 'utf8');
  assert.deepEqual(new Set(trainDocs), new Set(trainFiles.map((f: any) => text(f.path))));
  assert.deepEqual(new Set(valDocs), new Set(valFiles.map((f: any) => text(f.path))));
  for (const f of kept) assert.equal(f.tokens, c.tokenizer.encode(text(f.path)).length, f.path);

  // Spans: in bounds, of the three kinds, each decoding to text found in its document.
  assert.equal(c.spans.length % 3, 0);
  assert.equal(c.spans.length / 3, c.manifest.span_count);
  const kinds = new Set<number>();
  const allTrain = trainDocs.join('\n');
  for (let k = 0; k < c.spans.length; k += 3) {
    const [s, e, kind] = [c.spans[k], c.spans[k + 1], c.spans[k + 2]];
    assert.ok(s >= 0 && s < e && e <= c.train.length && kind >= 1 && kind <= 3);
    kinds.add(kind);
    if (k % 30 === 0) assert.ok(allTrain.includes(c.tokenizer.decode(c.train.subarray(s, e))));
  }
  assert.deepEqual([...kinds].sort(), [1, 2, 3]);

  // Eval tasks: from held-out files only, pieces that rebuild a piece of the file, ids encoded alone.
  assert.equal(c.evalTasks.length, summary.evalTasks);
  assert.ok(c.evalTasks.length > 0);
  const valPaths = new Set(valFiles.map((f: any) => f.path));
  for (const t of c.evalTasks) {
    assert.ok(valPaths.has(t.path), t.path);
    assert.ok(['line', 'block', 'call', 'span'].includes(t.kind));
    assert.ok(t.middle.trim().length > 0);
    assert.ok(text(t.path).includes(t.prefix + t.middle + t.suffix), t.id);
    assert.deepEqual(t.prefix_ids, c.tokenizer.encode(t.prefix));
    assert.deepEqual(t.middle_ids, c.tokenizer.encode(t.middle));
    assert.deepEqual(t.suffix_ids, c.tokenizer.encode(t.suffix));
  }
  assert.equal(new Set(c.evalTasks.map((t) => t.id)).size, c.evalTasks.length);

  // Hashes and run.json.
  const sha = createHash('sha256').update(readFileSync(join(c.dir, 'train.bin'))).update(readFileSync(join(c.dir, 'val.bin'))).digest('hex');
  assert.equal(c.manifest.corpus_sha256, sha);
  assert.equal(c.manifest.tokenizer_sha256, createHash('sha256').update(readFileSync(join(c.dir, 'tokenizer.json'))).digest('hex'));
  assert.equal(c.runJson.corpus.corpus_sha256, sha);
  assert.equal(c.runJson.corpus.options.seed, 1234);
  assert.equal(c.runJson.versions.node, process.version);
  assert.equal(c.runJson.preset, 'small', 'fields written by others are kept');
  assert.equal(c.runJson.budget_minutes, 5);
  assert.equal(c.manifest.vocab_size, c.tokenizer.vocabSize);
  for (const p of ['scan', 'filter', 'dedupe', 'split', 'tokenizer', 'parse', 'encode', 'write', 'done']) assert.ok(phases.has(p), p);
  for (const p of ['filter', 'encode']) {
    const e = last.get(p)!;
    assert.ok(e.filesTotal > 0 && e.filesDone === e.filesTotal && e.bytesDone === e.bytesTotal && e.bytesTotal > 0, `${p}: ${JSON.stringify(e)}`);
  }
  assert.deepEqual(readdirSync(runDir).sort(), ['corpus', 'run.json']);
});

test('the hostile tree: binary, invalid UTF-8, a 10 MB line, symlink loop and escape, unreadable folder, empty files, .env, and every secret scrubbed', async () => {
  const root = tempDir('hostile');
  const outside = tempDir('outside');
  write(outside, 'escaped.py', 'print("must not be indexed")\n');
  write(root, '.gitignore', 'ignored/\n*.tmp\n!keep.tmp\n');
  write(root, 'ignored/a.py', 'print("ignored")\n');
  write(root, 'x.tmp', 'tmp\n');
  write(root, 'keep.tmp', 'def kept():\n    return "negation re-included me"\n');
  write(root, 'image.dat', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48]));
  write(root, 'latin1.txt', Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e '.repeat(40), 'latin1'));
  write(root, 'mostly_utf8.py', Buffer.concat([Buffer.from('def greet(name):\n    return "hello " + name\n'.repeat(20)), Buffer.from([0xff, 0x0a])]));
  write(root, 'huge_line.js', 'x'.repeat(10 * 1024 * 1024));
  write(root, 'empty.py', '');
  write(root, 'blank.py', '\n\n   \n');
  write(root, '.env', 'DATABASE_URL=postgres://admin:hunter2hunter2@db/prod\n');
  write(root, 'config/.env.local', 'API_TOKEN=abc\n');
  write(root, 'settings.py', secretsFile());
  write(root, 'app/main.py', 'from settings import connect\n\n\ndef main():\n    conn = connect()\n    return conn\n');
  write(root, 'app/util.py', 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n');
  write(root, 'locked/secret_plan.py', 'print("unreadable")\n');
  const links = symlinkSafe('..', join(root, 'app', 'loop'), 'dir') && symlinkSafe(outside, join(root, 'escape'), 'dir');
  chmodSync(join(root, 'locked'), 0o000);
  // As root, chmod 000 does not stop reading: the same EACCES is injected at the fs layer instead.
  const asRoot = process.getuid?.() === 0;
  const fs: ScanFs = {
    ...nodeFs,
    readdir: async (p) => {
      if (asRoot && p === join(root, 'locked')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return nodeFs.readdir(p);
    },
  };
  const runDir = tempDir('run');
  try {
    await buildCorpus(root, runDir, {}, {}, { trainTokenizer: trainTokenizerAsync, chooseVocabSize, fs });
  } finally {
    chmodSync(join(root, 'locked'), 0o755);
  }
  const c = readCorpus(runDir);
  const files = byPath(c);
  const reason = (p: string) => files.get(p)?.reason;
  assert.equal(reason('ignored/'), 'gitignored');
  assert.equal(reason('x.tmp'), 'gitignored');
  assert.equal(files.get('keep.tmp')?.status, 'kept');
  assert.equal(reason('image.dat'), 'binary');
  assert.equal(reason('latin1.txt'), 'binary');
  assert.match(files.get('latin1.txt').detail, /not UTF-8/);
  assert.equal(files.get('mostly_utf8.py').encoding, 'utf-8-replaced');
  assert.equal(reason('huge_line.js'), 'too-large');
  assert.equal(reason('empty.py'), 'empty');
  assert.equal(reason('blank.py'), 'empty');
  assert.equal(reason('.env'), 'secret-file');
  assert.equal(reason('config/.env.local'), 'secret-file');
  assert.equal(reason('locked/'), 'unreadable');
  assert.equal(files.get('locked/').detail, 'EACCES');
  if (links) {
    assert.equal(reason('app/loop'), 'symlink-loop');
    assert.equal(reason('escape'), 'symlink-outside');
  }
  assert.equal(files.get('settings.py').status, 'kept');
  assert.ok(files.get('settings.py').secrets >= plantedSecrets().length);
  for (const [rule] of plantedSecrets()) assert.ok(c.manifest.scrubbed[rule] >= 1, rule);

  // No planted secret anywhere: decoded bins, eval tasks, manifest, tokenizer, run.json.
  const everything = [
    c.tokenizer.decode(c.train),
    c.tokenizer.decode(c.val),
    readFileSync(join(c.dir, 'eval.jsonl'), 'utf8'),
    readFileSync(join(c.dir, 'manifest.json'), 'utf8'),
    readFileSync(join(c.dir, 'tokenizer.json'), 'utf8'),
    readFileSync(join(runDir, 'run.json'), 'utf8'),
  ].join('\n');
  for (const [rule, secret] of plantedSecrets()) assert.ok(!everything.includes(secret), `${rule} leaked`);
  assert.ok(!everything.includes('hunter2hunter2'), '.env content leaked');
  assert.ok(!everything.includes('must not be indexed'), 'a file outside the tree was indexed');
  assert.ok(c.tokenizer.decode(c.train).includes('<secret>') || c.tokenizer.decode(c.val).includes('<secret>'));
});

test('the same input and seed give byte-identical corpora; another seed gives another split', async () => {
  const root = polyglotCopy();
  const a = tempDir('run');
  const b = tempDir('run');
  const d = tempDir('run');
  await indexWorkspace(root, a, { seed: 7, evalTasks: 30 });
  await indexWorkspace(root, b, { seed: 7, evalTasks: 30 });
  for (const f of ['train.bin', 'val.bin', 'train.spans.bin', 'tokenizer.json', 'eval.jsonl', 'manifest.json']) {
    assert.ok(readFileSync(join(a, 'corpus', f)).equals(readFileSync(join(b, 'corpus', f))), f);
  }
  await indexWorkspace(root, d, { seed: 8, evalTasks: 30 });
  const split = (dir: string) => JSON.stringify(readCorpus(dir).manifest.files.map((f: any) => f.split ?? null));
  assert.notEqual(split(a), split(d));
});

test('cancelling at any phase rejects, keeps the previous corpus as it was and leaves no temporary folder', async () => {
  const root = polyglotCopy();
  for (let i = 0; i < 40; i++) write(root, `gen_src/mod${i}.py`, `def f${i}(x):\n    return x * ${i} + ${i * i}\n\n\nclass C${i}:\n    value = ${i}\n`);
  const runDir = tempDir('run');
  await indexWorkspace(root, runDir, { evalTasks: 10 });
  const before = readFileSync(join(runDir, 'corpus', 'manifest.json'));
  const beforeTrain = readFileSync(join(runDir, 'corpus', 'train.bin'));
  for (const phase of ['scan', 'filter', 'dedupe', 'tokenizer', 'parse', 'encode', 'write']) {
    const ctl = new AbortController();
    await assert.rejects(
      indexWorkspace(root, runDir, { evalTasks: 10, seed: 99 }, { signal: ctl.signal, onProgress: (p) => p.phase === phase && ctl.abort() }),
      (err: Error) => err.name === 'AbortError',
      phase,
    );
    assert.ok(readFileSync(join(runDir, 'corpus', 'manifest.json')).equals(before), `corpus unchanged after cancel in ${phase}`);
    assert.ok(readFileSync(join(runDir, 'corpus', 'train.bin')).equals(beforeTrain));
    assert.deepEqual(readdirSync(runDir).sort(), ['corpus', 'run.json'], `nothing left behind after cancel in ${phase}`);
  }
  // A first run cancelled leaves no corpus at all.
  const fresh = tempDir('run');
  const ctl = new AbortController();
  await assert.rejects(indexWorkspace(root, fresh, {}, { signal: ctl.signal, onProgress: (p) => p.phase === 'encode' && ctl.abort() }));
  assert.ok(!existsSync(join(fresh, 'corpus')));
});

test('a grammar that hangs does not hang indexing: the file falls back at the deadline', async () => {
  const root = tempDir('hang');
  write(root, 'ok.py', 'def ok():\n    return 1\n\n\ndef also_ok():\n    return 2\n');
  write(root, 'evil.py', '# HANG: the test worker loops forever on this file\ndef evil():\n    return compute(1, 2)\n');
  write(root, 'notes.tcl', 'proc hello {} {\n    puts "hello"\n}\n');
  const runDir = tempDir('run');
  const t0 = performance.now();
  await buildCorpus(root, runDir, { parseTimeoutMs: 300 }, {}, {
    trainTokenizer: trainTokenizerAsync,
    parseWorker: { file: join(FIXTURES, 'workers', 'hangingWorker.js'), execArgv: [] },
  });
  assert.ok(performance.now() - t0 < 20_000);
  const c = readCorpus(runDir);
  const files = byPath(c);
  assert.equal(files.get('evil.py').parser, 'fallback (parse timed out)');
  assert.equal(files.get('ok.py').parser, 'tree-sitter');
  assert.equal(c.manifest.totals.parse_timeouts, 1);
});

test('tiny corpora still get validation and eval material, or say clearly why not', async () => {
  // One file with several top-level units: its tail is held out.
  const one = tempDir('one');
  write(one, 'only.py', readFileSync(join(FIXTURES, 'polyglot', 'src', 'inventory.py'), 'utf8'));
  const r1 = tempDir('run');
  const s1 = await indexWorkspace(one, r1, { evalTasks: 20 });
  const c1 = readCorpus(r1);
  assert.equal(s1.filesKept, 1);
  assert.ok(c1.val.length > 0 && c1.train.length > 0);
  assert.ok(c1.evalTasks.length > 0);
  assert.match(c1.manifest.split.note, /single file/);
  const whole = readFileSync(join(one, 'only.py'), 'utf8');
  assert.equal(documents(c1, c1.train)[0] + documents(c1, c1.val)[0], whole, 'head + tail = the file');
  assert.ok(c1.manifest.vocab_size < 8192, 'a tiny corpus gets a small vocabulary');

  // One file too small to cut: val and eval are empty, and the manifest says why.
  const tiny = tempDir('tiny');
  write(tiny, 'a.py', 'print("hi")\n');
  const r2 = tempDir('run');
  const s2 = await indexWorkspace(tiny, r2);
  assert.equal(s2.valTokens, 0);
  assert.equal(s2.evalTasks, 0);
  assert.match(s2.notes.join(' '), /too small to hold anything out/);

  // Two and three files: one held out.
  for (const n of [2, 3]) {
    const dir = tempDir(`n${n}`);
    const sources = ['src/inventory.py', 'src/pricing.ts', 'src/server.go'];
    for (const s of sources.slice(0, n)) write(dir, s, readFileSync(join(FIXTURES, 'polyglot', s), 'utf8'));
    const r = tempDir('run');
    const s = await indexWorkspace(dir, r, { evalTasks: 20 });
    assert.equal(s.valFiles, 1, `${n} files`);
    assert.equal(s.trainFiles, n - 1);
    assert.ok(s.evalTasks > 0);
    assert.match(s.notes.join(' '), /tiny corpus/);
  }
});

test('a workspace with nothing to index is an IndexError that says what was seen', async () => {
  const root = tempDir('empty');
  write(root, 'package-lock.json', '{}\n');
  write(root, 'logo.png', Buffer.from([0x89, 0x50, 0, 0]));
  mkdirSync(join(root, 'node_modules'));
  const runDir = tempDir('run');
  await assert.rejects(indexWorkspace(root, runDir), (err: Error) => err instanceof IndexError && /none kept/.test(err.message) && /lockfile 1/.test(err.message));
  assert.ok(!existsSync(join(runDir, 'corpus')));
});

test('a file that grew past the size limit after it was measured is skipped as too large, not read whole', async () => {
  const root = tempDir('grow');
  write(root, 'app.py', 'def app():\n    return 1\n');
  write(root, 'growing.py', 'x = 1\n');
  const limit = 4096;
  // The stat sees 6 bytes; the log-like writer then appends past the limit before the read.
  const fs: ScanFs = {
    ...nodeFs,
    stat: async (p) => {
      const st = await nodeFs.stat(p);
      if (p.endsWith('growing.py')) appendFileSync(p, 'y = 2\n'.repeat(limit));
      return st;
    },
  };
  const runDir = tempDir('run');
  await buildCorpus(root, runDir, { maxFileBytes: limit }, {}, { trainTokenizer: trainTokenizerAsync, chooseVocabSize, fs });
  const grown = byPath(readCorpus(runDir)).get('growing.py');
  assert.equal(grown.reason, 'too-large');
  assert.equal(grown.detail, `${6 + 6 * limit} > ${limit} bytes`);
});

test('a run folder inside the workspace is not indexed by the next run', async () => {
  const root = tempDir('inrun');
  write(root, 'src/a.py', 'def a():\n    return 1\n\n\ndef b():\n    return 2\n');
  write(root, 'src/b.py', 'def c():\n    return 3\n');
  const runDir = join(root, 'runs', 'r1');
  await indexWorkspace(root, runDir);
  write(runDir, '.corpus-tmp-1-dead/manifest.json', '{"left": "behind by a killed run"}\n');
  const summary = await indexWorkspace(root, runDir);
  const files = byPath(readCorpus(runDir));
  assert.equal(summary.filesKept, 2);
  // One entry for the whole folder: nothing inside it (run.json, corpus/, the leftover) was read.
  assert.deepEqual([...files.keys()].filter((p) => p.startsWith('runs/')), ['runs/r1/']);
  assert.equal(files.get('runs/r1/').reason, 'run-folder');
});

test("a killed indexer's temporary folders are removed by the next run; a live writer's are not", async () => {
  const root = polyglotCopy();
  const run = tempDir('reclaim-run');
  // a pid that is certainly gone: a child that has exited
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  mkdirSync(join(run, `.corpus-tmp-${dead}-0badf00d`, 'half'), { recursive: true });
  mkdirSync(join(run, `.corpus-tmp-${process.pid}-c0ffee00`)); // this process: alive
  mkdirSync(join(run, 'corpus.old-deadbeef'));
  assert.deepEqual((await removeDeadWritersTemps(run)).sort(), [`.corpus-tmp-${dead}-0badf00d`]);
  // a live writer may still roll back into its corpus.old-*: kept while one is there
  assert.ok(existsSync(join(run, 'corpus.old-deadbeef')));
  rmSync(join(run, `.corpus-tmp-${process.pid}-c0ffee00`), { recursive: true });
  mkdirSync(join(run, `.corpus-tmp-${dead}-0badf00d`));
  await indexWorkspace(root, run, { seed: 1 });
  assert.deepEqual(readdirSync(run).filter((n) => n.startsWith('.corpus-tmp-') || n.startsWith('corpus.old-')), []);
  assert.ok(existsSync(join(run, 'corpus', 'manifest.json')));
});
