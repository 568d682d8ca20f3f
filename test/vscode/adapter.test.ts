// The VS Code adapter under a small fake `vscode` module (fakeVscode.ts), with fake indexer and
// engine services but real processes for Python discovery (a fake doctor) and the trainer (the
// fake trainer script of test/training).
import './useFakeVscode';
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { fake, fakeContext, fakeDocument, CancellationTokenSource, Position, Uri, InlineCompletionTriggerKind, workspace as fakeWorkspace, type FakePanel } from './fakeVscode';
import { activateWith, type RepoDiffusion } from '../../extension/vscode/activate';
import { launchTrainer, type LaunchOptions, type TrainerProcess } from '../../extension/training/launcher';
import type { CompletionRequest, EngineLike, Services } from '../../extension/vscode/services';
import { contentSecurityPolicy } from '../../extension/vscode/webviewHtml';
import { tokenToSignal } from '../../extension/vscode/cancellation';
import { DEFAULT_MAX_POSITIONS, DEFAULT_MIN_CONFIDENCE } from '../../extension/engine/index';

const REPO = join(__dirname, '..', '..');
const FIXTURES = join(__dirname, '..', 'training', 'fixtures');
const FAKE_TRAINER = join(FIXTURES, 'fakeTrainer.mjs');
const FIXTURE_RUN = join(FIXTURES, 'runs', '2026-11-27T06-00-00-000Z');
const PY = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'pass']).status === 0)!;
process.env.FAKE_DOCTOR = 'ok';
process.env.PYTHONDONTWRITEBYTECODE = '1';

interface Calls {
  index: Array<{ root: string; runDir: string }>;
  load: string[];
  loadOptions?: Array<{ threads?: number; maxPositions?: number }>;
  complete: Array<{ request: CompletionRequest; signal: AbortSignal }>;
}

/** An engine whose completions wait until the test releases them (or the signal aborts). */
function fakeEngine(calls: Calls, answer = 'return x'): EngineLike & { release(): void } {
  let release = () => {};
  return {
    release: () => release(),
    complete(request, signal) {
      calls.complete.push({ request, signal });
      return new Promise((resolve, reject) => {
        release = () => resolve({ text: answer });
        signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true });
      });
    },
  };
}

function setup(opts: { trusted?: boolean; engine?: EngineLike; launchMode?: string; storage?: boolean; indexMs?: number; launch?: (o: LaunchOptions) => Promise<TrainerProcess> } = {}) {
  fake.reset();
  fakeWorkspace.isTrusted = opts.trusted ?? true;
  const ws = mkdtempSync(join(tmpdir(), 'rd-ws-'));
  fakeWorkspace.workspaceFolders = [{ uri: Uri.file(ws), name: 'ws', index: 0 }];
  const storage = mkdtempSync(join(tmpdir(), 'rd-storage-'));
  const context = fakeContext(REPO, opts.storage === false ? undefined : storage, mkdtempSync(join(tmpdir(), 'rd-global-')));
  const calls: Calls = { index: [], load: [], complete: [] };
  const services: Services = {
    async indexWorkspace(root, runDir, _options, hooks) {
      calls.index.push({ root, runDir });
      hooks.onProgress?.({ phase: 'scan', filesDone: 1, filesTotal: 3, bytesDone: 0, bytesTotal: 0 });
      if (hooks.signal?.aborted) throw Object.assign(new Error('indexing aborted'), { name: 'AbortError' });
      // indexing takes `indexMs`, or until it is aborted
      await new Promise<void>((r) => {
        const t = setTimeout(r, opts.indexMs ?? 5);
        hooks.signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      });
      if (hooks.signal?.aborted) throw Object.assign(new Error('indexing aborted'), { name: 'AbortError' });
      mkdirSync(runDir, { recursive: true });
      cpSync(join(FIXTURE_RUN, 'corpus'), join(runDir, 'corpus'), { recursive: true });
      return {
        corpusDir: join(runDir, 'corpus'), filesSeen: 6, filesKept: 3, trainFiles: 2, valFiles: 1, trainTokens: 1000, valTokens: 100, evalTasks: 90,
        vocabSize: 8192, corpusSha256: 'x', scrubbed: {}, duplicates: { exact: 1, near: 1 }, skipped: {}, notes: ['tiny corpus'], timings: {},
      };
    },
    async loadEngine(runDir, options) {
      calls.load.push(runDir);
      (calls.loadOptions ??= []).push(options);
      return opts.engine ?? fakeEngine(calls);
    },
  };
  const launch = opts.launch ?? ((o: LaunchOptions) => launchTrainer({ ...o, python: process.execPath, argvOverride: [FAKE_TRAINER, opts.launchMode ?? 'normal', o.runDir] }));
  const ext = activateWith(context as unknown as vscode.ExtensionContext, services, { trainerRoot: join(FIXTURES, 'fakeroot'), pythonDefaults: [PY], launch });
  const provider = fake.providers[0].provider as vscode.InlineCompletionItemProvider;
  return { ext, context, calls, provider, storage };
}

function complete(provider: vscode.InlineCompletionItemProvider, token = new CancellationTokenSource().token, doc = fakeDocument('def f(x):\n    \n', 'python'), trigger = InlineCompletionTriggerKind.Automatic) {
  return Promise.resolve(
    provider.provideInlineCompletionItems(doc as unknown as vscode.TextDocument, new Position(1, 4) as vscode.Position, { triggerKind: trigger, selectedCompletionInfo: undefined } as vscode.InlineCompletionContext, token as vscode.CancellationToken),
  );
}

async function waitFor(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const status = () => fake.statusItems[0] as { text: string; command: string; visible: boolean };

beforeEach(() => {
  fake.config.set('repoDiffusion.suggestions.debounceMs', 5);
});

test('activation registers every command of the manifest, one provider for all files, and a panel serializer', () => {
  const { ext } = setup();
  const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const declared = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual([...fake.commands.keys()].sort(), declared);
  assert.deepEqual(fake.providers[0].selector, { pattern: '**' });
  assert.ok(fake.serializers.has('repoDiffusion.training'));
  assert.equal(status().visible, true);
  ext.dispose();
  assert.equal(fake.commands.size, 0, 'commands are disposed with the extension');
  assert.equal(fake.providers.length, 0);
});

test('an untrusted workspace refuses to train, with a message saying why, and indexes nothing', async () => {
  const { ext, calls } = setup({ trusted: false });
  fake.answers.push('Manage Workspace Trust');
  await vscode.commands.executeCommand('repoDiffusion.train');
  const err = fake.shown.find((s) => s.kind === 'error');
  assert.ok(err, 'an error was shown');
  assert.match(err!.message, /untrusted workspace/);
  assert.deepEqual(err!.items, ['Manage Workspace Trust']);
  assert.equal(calls.index.length, 0);
  await waitFor(() => fake.executed.some((e) => e.id === 'workbench.trust.manage'), 'trust command');
  assert.match(status().text, /Repo Diffusion/);
  assert.equal(status().command, 'workbench.trust.manage');
  ext.dispose();
});

test('without a model the provider returns nothing, shows no message, and the status bar holds the one hint', async () => {
  const { ext, calls } = setup();
  const result = await complete(fakeProvider());
  assert.equal(result, undefined);
  assert.equal(calls.complete.length, 0);
  assert.equal(fake.shown.length, 0);
  assert.match(status().text, /no model/);
  assert.equal(status().command, 'repoDiffusion.train');
  ext.dispose();
});

function fakeProvider(): vscode.InlineCompletionItemProvider {
  return fake.providers[0].provider;
}

test('with a model the provider sends prefix, suffix and language and returns the text at the cursor', async () => {
  const { ext, calls } = setup();
  await ext.activateModel(FIXTURE_RUN);
  assert.match(status().text, /RD: small 21M · 48\.0%|RD: small/);
  const pending = complete(fakeProvider());
  await waitFor(() => calls.complete.length === 1, 'engine call');
  assert.deepEqual(calls.complete[0].request, { prefix: 'def f(x):\n    ', suffix: '\n', languageId: 'python', minConfidence: 0.6 });
  (ext.engine as ReturnType<typeof fakeEngine>).release();
  const items = (await pending) as vscode.InlineCompletionItem[];
  assert.equal(items.length, 1);
  assert.equal(items[0].insertText, 'return x');
  ext.dispose();
});

test('cancelling the request token aborts the engine signal and the provider returns quietly', async () => {
  const { ext, calls } = setup();
  await ext.activateModel(FIXTURE_RUN);
  const cts = new CancellationTokenSource();
  const pending = complete(fakeProvider(), cts.token);
  await waitFor(() => calls.complete.length === 1, 'engine call');
  const { signal } = calls.complete[0];
  assert.equal(signal.aborted, false);
  cts.cancel();
  assert.equal(signal.aborted, true);
  assert.equal(await pending, undefined);
  assert.equal(fake.shown.length, 0, 'a cancelled completion is not an error');
  ext.dispose();
});

test('a newer request cancels the one still running', async () => {
  const { ext, calls } = setup();
  await ext.activateModel(FIXTURE_RUN);
  const first = complete(fakeProvider());
  await waitFor(() => calls.complete.length === 1, 'first engine call');
  const second = complete(fakeProvider());
  assert.equal(calls.complete[0].signal.aborted, true);
  assert.equal(await first, undefined);
  await waitFor(() => calls.complete.length === 2, 'second engine call');
  (ext.engine as ReturnType<typeof fakeEngine>).release();
  assert.equal(((await second) as vscode.InlineCompletionItem[])[0].insertText, 'return x');
  ext.dispose();
});

test('a request cancelled during the debounce never reaches the engine', async () => {
  const { ext, calls } = setup();
  fake.config.set('repoDiffusion.suggestions.debounceMs', 200);
  await ext.activateModel(FIXTURE_RUN);
  const cts = new CancellationTokenSource();
  const pending = complete(fakeProvider(), cts.token);
  setTimeout(() => cts.cancel(), 10);
  assert.equal(await pending, undefined);
  assert.equal(calls.complete.length, 0);
  ext.dispose();
});

test('a CancellationToken already cancelled gives an aborted signal', () => {
  const cts = new CancellationTokenSource();
  cts.cancel();
  assert.equal(tokenToSignal(cts.token as vscode.CancellationToken).signal.aborted, true);
});

test('toggle turns suggestions off and on: the setting, the provider and the status bar follow', async () => {
  const { ext, calls } = setup();
  await ext.activateModel(FIXTURE_RUN);
  await vscode.commands.executeCommand('repoDiffusion.toggleSuggestions');
  assert.equal(fake.config.get('repoDiffusion.suggestions.enabled'), false);
  assert.match(status().text, /RD: off/);
  assert.equal(await complete(fakeProvider()), undefined);
  assert.equal(calls.complete.length, 0);
  await vscode.commands.executeCommand('repoDiffusion.toggleSuggestions');
  assert.equal(fake.config.get('repoDiffusion.suggestions.enabled'), true);
  assert.doesNotMatch(status().text, /RD: off/);
  ext.dispose();
});

test('a suggestion below suggestions.minConfidence is not shown; at or above it, or with the gate at 0, it is', async () => {
  const answers = [{ text: 'x x x', confidence: 0.35 }, { text: 'return x', confidence: 0.8 }, { text: 'x x x', confidence: 0.35 }];
  const calls: Calls = { index: [], load: [], complete: [] };
  const engine: EngineLike = { complete: async (request, signal) => { calls.complete.push({ request, signal }); return answers[calls.complete.length - 1]; } };
  const { ext } = setup({ engine });
  await ext.activateModel(FIXTURE_RUN);
  fake.config.set('repoDiffusion.suggestions.minConfidence', 0.6);
  assert.equal(await complete(fakeProvider()), undefined);
  assert.match(status().text, /· unsure$/, 'every suggestion so far hidden: the status bar says so');
  const shown = (await complete(fakeProvider())) as vscode.InlineCompletionItem[];
  assert.doesNotMatch(status().text, /unsure/);
  assert.equal(shown[0].insertText, 'return x');
  fake.config.set('repoDiffusion.suggestions.minConfidence', 0);
  const all = (await complete(fakeProvider())) as vscode.InlineCompletionItem[];
  assert.equal(all[0].insertText, 'x x x');
  assert.equal(calls.complete.length, 3);
  // the engine is told the gate (it does not grow a canvas it would hide)
  assert.deepEqual(calls.complete.map((c) => (c.request as { minConfidence?: number }).minConfidence), [0.6, 0.6, 0]);
  assert.equal(fake.shown.length, 0, 'hidden suggestions are quiet');
  assert.match((status() as unknown as { tooltip: string }).tooltip, /1 of 3 suggestions hidden as unsure/);
  ext.dispose();
});

test('the manifest default of suggestions.minConfidence is the one the adapter falls back to', () => {
  const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const setting = manifest.contributes.configuration.properties['repoDiffusion.suggestions.minConfidence'];
  assert.equal(setting.default, 0.6);
  assert.equal(DEFAULT_MIN_CONFIDENCE, 0.6); // the adapter's fallback and the engine's bench default
});

test('inference.maxPositions reaches the engine: the manifest default (512) unless set, 0 for the whole window', async () => {
  const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  assert.equal(manifest.contributes.configuration.properties['repoDiffusion.inference.maxPositions'].default, DEFAULT_MAX_POSITIONS);
  const { ext, calls } = setup();
  await ext.activateModel(FIXTURE_RUN);
  fake.config.set('repoDiffusion.inference.maxPositions', 0);
  await ext.activateModel(FIXTURE_RUN); // the fake engine cannot swap: loaded anew, with the setting of now
  assert.deepEqual(calls.loadOptions?.map((o) => o.maxPositions), [DEFAULT_MAX_POSITIONS, 0]);
  ext.dispose();
});

test('activating a model logs how it is served; a model served the slow way (no usable fast graphs) gets a warning that says to export again', async () => {
  const fast = { ...fakeEngine({ index: [], load: [], complete: [] }), info: { decoding: 'fast' as const, stepWeights: 'int8' as const, contextKV: 'float32' as const, freezeDecided: true } };
  let { ext } = setup({ engine: fast });
  await ext.activateModel(FIXTURE_RUN);
  assert.ok(fake.outputs[0].lines.some((l) => /Model active: .*serving: fast decoding \(int8 step weights, float32 context K\/V, decided positions frozen\)$/.test(l)), fake.outputs[0].lines.join('\n'));
  assert.equal(fake.shown.filter((s) => s.kind === 'warning').length, 0);
  ext.dispose();
  // an export whose step graph predates freezing: served fast, the log says how to freeze
  ({ ext } = setup({ engine: { ...fast, info: { ...fast.info, freezeDecided: false } } }));
  await ext.activateModel(FIXTURE_RUN);
  assert.ok(fake.outputs[0].lines.some((l) => /every step runs the whole canvas: to freeze decided positions, export it again \("python -m trainer export .*"/.test(l)));
  assert.equal(fake.shown.filter((s) => s.kind === 'warning').length, 0);
  ext.dispose();
  // the plain model because the cached graphs are damaged: a warning with the reason and the fix
  ({ ext } = setup({ engine: { ...fast, info: { decoding: 'naive', fastUnavailable: 'model.step.onnx could not be loaded' } } }));
  await ext.activateModel(FIXTURE_RUN);
  const warnings = fake.shown.filter((s) => s.kind === 'warning');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].message, /several times slower .*model\.step\.onnx could not be loaded.*python -m trainer export /);
  assert.ok(fake.outputs[0].lines.some((l) => /serving: the plain model, one forward pass a step/.test(l)));
  ext.dispose();
});

test('a language in disabledLanguages gets no suggestions', async () => {
  const { ext, calls } = setup();
  await ext.activateModel(FIXTURE_RUN);
  fake.config.set('repoDiffusion.suggestions.disabledLanguages', ['python']);
  assert.equal(await complete(fakeProvider()), undefined);
  assert.equal(calls.complete.length, 0);
  ext.dispose();
});

test('an engine error is shown once, however often it happens', async () => {
  const failing: EngineLike = { complete: async () => Promise.reject(new Error('model.json format 2 is not supported')) };
  const { ext } = setup({ engine: failing });
  await ext.activateModel(FIXTURE_RUN);
  await complete(fakeProvider(), undefined, undefined, InlineCompletionTriggerKind.Invoke);
  await complete(fakeProvider(), undefined, undefined, InlineCompletionTriggerKind.Invoke);
  const errors = fake.shown.filter((s) => s.kind === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /format 2/);
  assert.equal(fake.outputs[0].lines.filter((l) => /format 2/.test(l)).length, 2, 'every occurrence is logged');
  ext.dispose();
});

test('no Python with torch: one message with actions to pick an interpreter or set up the environment', async () => {
  const { ext, calls } = setup();
  process.env.FAKE_DOCTOR = 'notorch';
  try {
    await vscode.commands.executeCommand('repoDiffusion.train');
  } finally {
    process.env.FAKE_DOCTOR = 'ok';
  }
  const errors = fake.shown.filter((s) => s.kind === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /no Python with PyTorch found/);
  assert.deepEqual(errors[0].items, ['Pick Interpreter…', 'Set Up Training Environment', 'Show Log']);
  assert.equal(calls.index.length, 0);
  assert.ok(fake.outputs[0].lines.some((l) => /missing: torch, numpy/.test(l)));
  ext.dispose();
});

test('train: finds Python, indexes, launches, streams to the panel, and serves the exported model', async () => {
  const { ext, calls } = setup();
  const ok = await (ext as RepoDiffusion).train();
  assert.equal(ok, true);
  assert.equal(calls.index.length, 1);
  const runDir = calls.index[0].runDir;
  assert.ok(runDir.startsWith(join((ext.context.storageUri as Uri).fsPath, 'runs')));
  assert.ok(fake.shown.some((s) => s.kind === 'info' && /cuda: NVIDIA H100/.test(s.message)), 'the device is shown');
  await waitFor(() => ext.controller!.state.training === false && calls.load.length === 1, 'the run to finish and the model to load');
  assert.equal(calls.load[0], runDir);
  assert.equal(ext.controller!.state.current!.phase, 'done');
  assert.equal(ext.controller!.state.corpus!.notes![0], 'tiny corpus');
  const panel = fake.panels[0] as FakePanel;
  assert.equal(panel.viewType, 'repoDiffusion.training');
  assert.ok(panel.posted.some((m) => m.type === 'state' && m.state.current?.runId === runDir.split('/').pop()));
  assert.ok(panel.posted.some((m) => m.type === 'patch' && m.patch.indexing?.phase === 'scan'));
  await waitFor(() => panel.posted.some((m) => m.type === 'events'), 'events');
  assert.match(status().text, /sparkle/);
  assert.ok(fake.outputs[0].lines.some((l) => l.includes('fake trainer: mode normal')), "trainer stderr reaches the output channel");
  // The page reloads (hidden then shown): it asks, and gets the whole state again.
  const before = panel.posted.length;
  panel.send({ type: 'ready' });
  assert.equal(panel.posted.length, before + 1);
  assert.equal(panel.posted[before].type, 'state');
  assert.equal(panel.posted[before].state.current.phase, 'done');
  ext.dispose();
});

test('cancelling indexing removes the run folder and launches nothing', async () => {
  const { ext, calls } = setup();
  fake.cancelProgress = true;
  assert.equal(await ext.train(), false);
  assert.equal(calls.index.length, 1);
  assert.equal(existsSync(calls.index[0].runDir), false);
  assert.ok(fake.shown.some((s) => /indexing cancelled/.test(s.message)));
  assert.equal(ext.controller!.state.training, false);
  ext.dispose();
});

test('Cancel while indexing (palette or view) stops the indexing, removes the run folder and launches nothing', async () => {
  for (const how of ['palette', 'view'] as const) {
    const { ext, calls } = setup({ indexMs: 30_000 });
    const started = ext.train();
    await waitFor(() => calls.index.length === 1 && ext.controller!.state.indexing !== undefined, 'indexing to start');
    if (how === 'palette') await vscode.commands.executeCommand('repoDiffusion.cancelTraining');
    else (fake.panels[0] as FakePanel).send({ type: 'cancel' });
    assert.equal(await started, false, `${how}: the train flow ends`);
    assert.equal(existsSync(calls.index[0].runDir), false);
    assert.ok(fake.shown.some((s) => /indexing cancelled/.test(s.message)));
    assert.ok(!fake.shown.some((s) => /no training is running/.test(s.message)));
    assert.equal(ext.controller!.state.indexing, undefined);
    assert.equal(ext.controller!.state.training, false);
    ext.dispose();
  }
});

/** A launch whose first trainer crashes after writing a checkpoint, and whose next start fails (the interpreter is gone). */
function crashThenFailToStart(): (o: LaunchOptions) => Promise<TrainerProcess> {
  let launches = 0;
  return (o) => {
    if (launches++ > 0) return launchTrainer({ ...o, python: '/nonexistent/python3' });
    mkdirSync(join(o.runDir, 'checkpoints'), { recursive: true });
    writeFileSync(join(o.runDir, 'checkpoints', 'step1.pt'), 'ckpt');
    return launchTrainer({ ...o, python: process.execPath, argvOverride: [FAKE_TRAINER, 'crash', o.runDir] });
  };
}

test("a failure behind the crash message's Resume is shown, not lost", async () => {
  const { ext } = setup({ launch: crashThenFailToStart() });
  // answers go to messages in order: none to the "training with ..." notice, Resume to the crash
  fake.answers.push('', 'Resume');
  await ext.train();
  await waitFor(() => fake.shown.some((s) => s.kind === 'error' && /Could not start the trainer with \/nonexistent\/python3/.test(s.message)), 'the resume failure');
  ext.dispose();
});

test('a failure while restoring after trust is granted is shown, not lost', async () => {
  const { ext, storage } = setup({ trusted: false, launch: (o) => launchTrainer({ ...o, python: '/nonexistent/python3' }) });
  // an incomplete run with a checkpoint: restore offers Resume, whose start fails
  const run = join(storage, 'runs', '2026-11-27T07-00-00-000Z');
  mkdirSync(join(run, 'checkpoints'), { recursive: true });
  writeFileSync(join(run, 'checkpoints', 'step1.pt'), 'ckpt');
  writeFileSync(join(run, 'metrics.jsonl'), JSON.stringify({ type: 'start', time: 1, run_id: 'x', device: 'cpu', objective: 'diffusion', preset: 'tiny' }) + '\n');
  fake.answers.push('Resume');
  fakeWorkspace.isTrusted = true;
  fake.trustEmitter.fire();
  await waitFor(() => fake.shown.some((s) => s.kind === 'error' && /Could not start the trainer/.test(s.message)), 'the resume failure');
  ext.dispose();
});

test('a second Set Up Training Environment while one runs starts no second setup', { skip: process.platform === 'win32' && 'sh scripts' }, async () => {
  const { ext } = setup();
  // A base Python that notes each probe and takes a moment to answer it.
  const dir = mkdtempSync(join(tmpdir(), 'rd-py-'));
  const base = join(dir, 'python');
  writeFileSync(base, `#!/bin/sh\necho "$*" >> "${join(dir, 'calls')}"\nsleep 0.2\nexit 0\n`, { mode: 0o755 });
  fake.config.set('repoDiffusion.pythonPath', base);
  const first = ext.setupEnvironment();
  const second = ext.setupEnvironment();
  assert.ok(fake.shown.some((s) => /already being set up/.test(s.message)));
  await Promise.all([first, second]);
  assert.equal(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').length, 1, 'the base Python was probed once');
  // (the fixture trainer root has no requirements.txt: the one setup stops there, once)
  assert.equal(fake.shown.filter((s) => s.kind === 'error' && /requirements file is missing/.test(s.message)).length, 1);
  ext.dispose();
});

test('a crashed run is reported with Show Log and Resume', async () => {
  const { ext } = setup({ launchMode: 'crash' });
  await ext.train();
  await waitFor(() => fake.shown.some((s) => s.kind === 'error'), 'the crash message');
  const err = fake.shown.find((s) => s.kind === 'error')!;
  assert.match(err.message, /training crashed: .*CUDA out of memory/);
  assert.deepEqual(err.items, ['Show Log', 'Resume']);
  ext.dispose();
});

test('the panel page has a nonce CSP and loads only from dist/', async () => {
  const { ext } = setup();
  await vscode.commands.executeCommand('repoDiffusion.showTraining');
  const panel = fake.panels[0] as FakePanel;
  assert.deepEqual(panel.options.localResourceRoots.map((u: Uri) => u.fsPath), [join(REPO, 'dist')]);
  assert.equal(panel.options.enableScripts, true);
  const html: string = panel.webview.html;
  const nonce = /nonce="([^"]+)"/.exec(html)![1];
  assert.ok(nonce.length >= 16);
  assert.ok(html.includes(contentSecurityPolicy('https://fake.vscode-cdn.net', nonce)));
  assert.ok(html.includes(`src="https://fake.vscode-cdn.net${join(REPO, 'dist', 'webview.js')}"`));
  assert.doesNotMatch(html, /unsafe-inline|unsafe-eval|https?:\/\/(?!fake\.vscode-cdn\.net)/);
  // Showing again reveals the same panel.
  await vscode.commands.executeCommand('repoDiffusion.showTraining');
  assert.equal(fake.panels.length, 1);
  ext.dispose();
  assert.equal(panel.disposed, true);
});

test('the webview cannot make the host load a model from outside the runs folder', async () => {
  const { ext, calls } = setup();
  await vscode.commands.executeCommand('repoDiffusion.showTraining');
  const panel = fake.panels[0] as FakePanel;
  panel.send({ type: 'activateRun', runId: '../../etc' });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls.load.length, 0);
  ext.dispose();
});

test('after a reload, a restored panel replays the newest run from disk', async () => {
  const { ext, storage } = setup();
  cpSync(join(FIXTURES, 'runs'), join(storage, 'runs'), { recursive: true });
  const panel = vscode.window.createWebviewPanel('repoDiffusion.training', 'x', 1, {}) as unknown as FakePanel;
  await fake.serializers.get('repoDiffusion.training').deserializeWebviewPanel(panel, undefined);
  const state = panel.posted.filter((m) => m.type === 'state').pop();
  assert.equal(state.state.current.runId, '2026-11-27T06-00-00-000Z');
  assert.equal(state.state.comparison.objective, 'autoregressive');
  assert.equal(state.state.runs.length, 2);
  ext.dispose();
});

test('with no folder open, training says to open one', async () => {
  const { ext } = setup({ storage: false });
  await vscode.commands.executeCommand('repoDiffusion.train');
  assert.ok(fake.shown.some((s) => s.kind === 'error' && /open a folder/.test(s.message)));
  ext.dispose();
});

test('context keys follow training and the model, for the manifest when-clauses', async () => {
  const { ext } = setup();
  const last = (key: string) => fake.executed.filter((e) => e.id === 'setContext' && e.args[0] === key).pop()?.args[1];
  assert.equal(last('repoDiffusion.training'), false);
  assert.equal(last('repoDiffusion.hasModel'), false);
  await ext.activateModel(FIXTURE_RUN);
  assert.equal(last('repoDiffusion.hasModel'), true);
  ext.dispose();
});

test('a second Train while the first is still looking for Python starts nothing', async () => {
  const { ext, calls } = setup();
  const first = ext.train();
  const second = await ext.train();
  assert.equal(second, false);
  assert.ok(fake.shown.some((s) => /already in progress/.test(s.message)));
  assert.equal(await first, true);
  await waitFor(() => ext.controller!.state.training === false, 'the run to end');
  assert.equal(calls.index.length, 1);
  ext.dispose();
});
