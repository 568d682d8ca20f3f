// The whole user story in real VS Code (docs/e2e.md), against the packaged extension with the real
// indexer, the real Python trainer and the real onnxruntime engine:
//   "Train on This Repo" from the palette (preset nano, a small budget, CPU) on a Python + Tcl git
//   repository -> the training webview shows the corpus summary, then loss and charts -> the status
//   bar follows the run and then shows the trained model -> typing shows ghost text, which is
//   exactly what the engine (the packaged CLI, same model, same context) completes -> Tab inserts it
//   -> a second run is started and cancelled: the trainer exits, the run ends "cancelled", and the
//   first model keeps serving.
// Needs scripts/e2e/setup.sh and a Python that imports torch (REPO_DIFFUSION_PYTHON, default
// /usr/bin/python3). About 3 minutes on 2 cores (2 of them training). Skipped only with REPO_DIFFUSION_SKIP_E2E=1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { Frame } from 'playwright-core';
import { e2eSkipReason, findFiles, tools, withVSCode, type CodeServer, type Workbench } from './harness';
import { TARGETS, scenarioRepo } from './scenarioFixture';

const skip = e2eSkipReason();
if (skip) console.log(`[e2e] ${skip}`);

const PYTHON = process.env.REPO_DIFFUSION_PYTHON || '/usr/bin/python3';
/** Training budget of the first run, whole minutes (the setting's minimum is 1). */
const BUDGET_MINUTES = Number(process.env.REPO_DIFFUSION_E2E_BUDGET_MINUTES || 2);
/** The trainer's command line: `python -m trainer train RUN ...` (docs/contracts.md). */
const TRAINER = /python[\d.]*\s.*-m\s+trainer\s+train\b/;

const t0 = Date.now();
const log = (msg: string) => console.log(`[e2e] +${((Date.now() - t0) / 1000).toFixed(0)}s ${msg}`);

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await sleep(500);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** Run folders the extension made (context.storageUri/runs/<id>), oldest first. */
function runDirs(server: CodeServer): string[] {
  return findFiles(server.userDataDir, (p) => p.endsWith('run.json') && basename(dirname(dirname(p))) === 'runs')
    .map((p) => dirname(p))
    .sort((a, b) => statSync(join(a, 'run.json')).mtimeMs - statSync(join(b, 'run.json')).mtimeMs);
}

function metricsEvents(runDir: string): Array<Record<string, any>> {
  const file = join(runDir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
}

/** The text a frame shows (empty when it is gone, e.g. the panel was hidden). */
async function frameText(frame: Frame, selector = 'body'): Promise<string> {
  return frame.locator(selector).first().innerText({ timeout: 2000 }).catch(() => '');
}

async function ensureWebview(wb: Workbench): Promise<Frame> {
  try {
    return await wb.webviewFrame(20_000);
  } catch {
    await wb.runCommand('Repo Diffusion: Show Training');
    return wb.webviewFrame(30_000);
  }
}

/**
 * What the engine completes for `text` with the cursor at its end: the packaged extension's own CLI
 * (`dist/cli.js complete`, the same InfillEngine and onnxruntime-node as the editor) on the run's
 * model.onnx.
 */
function engineCompletion(server: CodeServer, runDir: string, text: string): string {
  const file = join(server.profile, 'tmp', `complete-${Date.now()}.txt`);
  writeFileSync(file, text);
  const lines = text.split('\n');
  const args = [join(server.extensionDir!, 'dist', 'cli.js'), 'complete', runDir, '--file', file,
    '--line', String(lines.length), '--column', String(lines[lines.length - 1].length + 1), '--json'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `repo-diffusion complete failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!).text as string;
}

/**
 * Waits for the ghost text that typing asked for. Not Alt+\\: on a loaded machine the explicit
 * trigger, repeated, was seen to never bring ghost text (docs/e2e.md, Lessons); if none shows in
 * 20 s, the last character is typed again (the editor asks the provider again, as a person would).
 */
async function ghostAfterTyping(wb: Workbench, typed: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await wb.waitForGhostText(20_000, false);
    } catch (e) {
      if (attempt >= 2) throw e;
      log(`no ghost text after 20 s; typing ${JSON.stringify(typed.slice(-1))} again`);
      await wb.page.keyboard.press('Backspace');
      await wb.type(typed.slice(-1));
    }
  }
}

/**
 * Types `typed` at the end of `file` and waits for ghost text; checks that it is what the engine
 * completes for the document (or, if the editor kept a suggestion from a keystroke earlier, what
 * the engine completed there, less the characters typed since). Returns the ghost text.
 */
async function typeAndCheckGhost(server: CodeServer, wb: Workbench, runDir: string, target: { file: string; typed: string }, shot: string): Promise<string> {
  const original = readFileSync(join(server.workspace, target.file), 'utf8');
  await wb.openFile(target.file);
  await wb.goTo('end');
  await wb.type(target.typed);
  const ghost = await ghostAfterTyping(wb, target.typed);
  log(`ghost text in ${target.file} after ${JSON.stringify(target.typed)}: ${JSON.stringify(ghost)}`);
  await wb.screenshot(shot);
  const expected = engineCompletion(server, runDir, original + target.typed);
  if (ghost !== expected && ghost.trimEnd() !== expected.trimEnd()) {
    // The editor may still show the suggestion of an earlier keystroke, typed through.
    const earlier = [];
    for (let k = target.typed.length - 1; k >= 1; k--) {
      const rest = target.typed.slice(k);
      const text = engineCompletion(server, runDir, original + target.typed.slice(0, k));
      earlier.push(text);
      if (text.startsWith(rest) && text.slice(rest.length).trimEnd() === ghost.trimEnd()) return ghost;
    }
    assert.fail(`the ghost text ${JSON.stringify(ghost)} is not what the engine completes here (${JSON.stringify(expected)}; earlier keystrokes: ${JSON.stringify(earlier)})`);
  }
  return ghost;
}

test('full scenario: train -> webview -> status bar -> ghost text -> Tab -> cancel a second run', { skip, timeout: 600_000 }, async () => {
  tools();
  const torch = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  assert.equal(torch.status, 0, `${PYTHON} cannot import torch (set REPO_DIFFUSION_PYTHON): ${torch.stderr}`);

  await withVSCode({
    name: 'scenario',
    files: scenarioRepo(),
    git: true,
    settings: {
      'repoDiffusion.pythonPath': PYTHON,
      'repoDiffusion.preset': 'nano',
      'repoDiffusion.budgetMinutes': BUDGET_MINUTES,
      'repoDiffusion.device': 'cpu',
      'repoDiffusion.suggestions.debounceMs': 50,
      // Every suggestion, however unsure: this checks the wiring against the CLI's completion, and
      // a 2-minute nano model is rarely sure (the gate has its own tests in test/vscode).
      'repoDiffusion.suggestions.minConfidence': 0,
      // Only the extension's inline suggestions: no suggest widget to take the Tab.
      'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
      'editor.suggestOnTriggerCharacters': false,
      'editor.wordBasedSuggestions': 'off',
    },
  }, async ({ server, wb }) => {
    log('workbench ready');
    // Before any model: the status bar holds the one hint.
    await wb.waitForStatusBar(/no model/i, 20_000);

    // 1. Train from the palette with a small budget.
    await wb.runCommand('Repo Diffusion: Train on This Repo');
    await wb.assertNoCommandError();
    const started = await wb.waitForMessage(/training with .*python/i, 60_000);
    log(`notification: ${started}`);

    // 2. The webview opens with the corpus summary: the numbers the indexer wrote, both languages.
    const frame = await ensureWebview(wb);
    const corpusText = await waitFor('the corpus summary in the webview', 60_000, async () => {
      const t = await frameText(frame, '#corpus');
      return /Files kept/i.test(t) && /python/i.test(t) && /tcl/i.test(t) ? t : undefined;
    });
    const run1 = await waitFor('the run folder', 30_000, () => runDirs(server)[0]);
    const manifest = JSON.parse(readFileSync(join(run1, 'corpus', 'manifest.json'), 'utf8'));
    log(`webview corpus: ${corpusText.replace(/\s+/g, ' ').slice(0, 300)}`);
    const filesKept = Number(/Files kept\D*(\d+)/i.exec(corpusText)?.[1]);
    assert.equal(filesKept, manifest.totals.files_kept, 'the webview\'s "Files kept" is not the corpus manifest\'s');
    assert.equal(filesKept, Object.keys(scenarioRepo()).length, 'not every fixture file was kept');
    assert.ok(manifest.totals.languages.python?.files >= 10 && manifest.totals.languages.tcl?.files >= 10, `languages: ${JSON.stringify(manifest.totals.languages)}`);
    assert.ok(manifest.totals.parsers['tree-sitter'] > 0 && manifest.totals.parsers.fallback > 0, `parsers: ${JSON.stringify(manifest.totals.parsers)} (Python needs tree-sitter, Tcl the fallback)`);

    // 3. Training runs: the trainer process, the status bar, Cancel Training in the palette.
    const trainer = await waitFor('the trainer process', 60_000, () => server.processes(TRAINER)[0]);
    log(`trainer: ${trainer.cmd}`);
    assert.match(trainer.cmd, /--preset nano\b/);
    assert.match(trainer.cmd, new RegExp(`--minutes ${BUDGET_MINUTES}\\b`));
    assert.match(trainer.cmd, /--device cpu\b/);
    const training = await wb.waitForStatusBar(/training/i, 60_000);
    log(`status bar while training: ${training.text}`);
    assert.ok((await wb.paletteEntries('Repo Diffusion')).includes('Repo Diffusion: Cancel Training'), 'Cancel Training is not in the palette while training');

    // 4. The webview shows a loss value and the charts have data.
    const lossText = await waitFor('a loss value in the webview', 120_000, async () => {
      const t = await frameText(frame);
      return /loss\W+\d/i.test(t) ? t : undefined;
    });
    log(`webview: ${lossText.replace(/\s+/g, ' ').slice(0, 200)}`);
    const chart = await waitFor('points in the training chart', 60_000, async () => {
      const c = await frame.locator('#chart-main').evaluate((el) => {
        const canvas = el as HTMLCanvasElement;
        const ctx = canvas.getContext('2d')!;
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        return { points: Number(canvas.dataset.points ?? 0), painted, width: canvas.width, height: canvas.height };
      }).catch(() => undefined);
      return c && c.points > 0 && c.painted > 0 ? c : undefined;
    });
    log(`chart: ${JSON.stringify(chart)}`);
    await wb.screenshot('scenario-1-training-webview');

    // 5. The run ends with an exported model, which the extension loads: the status bar names it.
    await waitFor('model.onnx of the first run', (BUDGET_MINUTES * 60 + 120) * 1000, () => existsSync(join(run1, 'model.onnx')));
    const done = await waitFor('the done event', 60_000, () => metricsEvents(run1).find((e) => e.type === 'done'));
    log(`first run done: ${JSON.stringify({ reason: done.reason, step: done.step, best: done.best?.val_loss })}`);
    assert.equal(done.reason, 'budget');
    const modelJson = JSON.parse(readFileSync(join(run1, 'model.json'), 'utf8'));
    const ready = await waitFor('the status bar to show the loaded model', 60_000, async () =>
      (await wb.extensionStatusBarItems()).find((i) => /RD: nano/.test(i.text)));
    log(`status bar after training: ${ready.text} (model.json preset ${modelJson.preset}, ${modelJson.params} params)`);
    assert.doesNotMatch(ready.text, /error|no model|training/i);
    await wb.assertNoCommandError();
    await wb.screenshot('scenario-2-trained');

    // 6. Ghost text from the trained model in the Python and the Tcl file, then Tab.
    // Pick inputs where the engine has something to say (a nano model after two minutes may
    // complete some contexts with nothing); the editor must then show exactly that.
    const candidates = TARGETS.map((t) => ({ ...t, text: engineCompletion(server, run1, readFileSync(join(server.workspace, t.file), 'utf8') + t.typed) }));
    log(`engine completions: ${JSON.stringify(candidates.map((c) => [c.file, c.typed, c.text]))}`);
    const picked = candidates.filter((c, i) => c.text.trim() && candidates.findIndex((d) => d.file === c.file && d.text.trim()) === i);
    assert.ok(picked.length > 0, `the trained model completes none of the fixture's inputs with text: ${JSON.stringify(candidates)} (train longer: REPO_DIFFUSION_E2E_BUDGET_MINUTES)`);
    const ghosts: string[] = [];
    for (const [i, target] of picked.entries()) {
      ghosts.push(await typeAndCheckGhost(server, wb, run1, target, `scenario-3-ghost-text-${i + 1}`));
    }
    // Different contexts, different completions (when the engine gives different ones), and the
    // editor follows: not one fixed string.
    if (new Set(picked.map((c) => c.text)).size > 1) assert.notEqual(ghosts[0], ghosts[1], 'the same ghost text in different contexts');
    // Tab accepts the last one; the document (saved, read from disk) holds exactly it.
    const last = picked[picked.length - 1];
    const before = readFileSync(join(server.workspace, last.file), 'utf8');
    await wb.acceptWithTab();
    const after = await wb.saveAndRead(last.file);
    assert.equal(after, before + last.typed + ghosts[ghosts.length - 1], 'the document after Tab is not the text plus the typed text plus the suggestion');
    log(`accepted with Tab; ${last.file} ends with ${JSON.stringify(after.slice(-60))}`);
    await wb.screenshot('scenario-4-accepted');

    // 7. A second run, cancelled: the trainer exits, the run ends "cancelled", the first model stays.
    await wb.runCommand('Repo Diffusion: Train on This Repo');
    await wb.assertNoCommandError();
    const run2 = await waitFor('the second run folder', 60_000, () => runDirs(server).find((d) => d !== run1));
    await waitFor('the second trainer process', 90_000, () => server.processes(TRAINER).length > 0);
    await waitFor('the second run to take a step', 60_000, () => metricsEvents(run2).some((e) => e.type === 'step'));
    await wb.waitForStatusBar(/training/i, 30_000);
    await wb.screenshot('scenario-5-second-run');
    const cancelAt = Date.now();
    await wb.runCommand('Repo Diffusion: Cancel Training');
    await waitFor('the trainer to exit after Cancel Training', 60_000, () => server.processes(TRAINER).length === 0);
    log(`second run's trainer exited ${((Date.now() - cancelAt) / 1000).toFixed(1)} s after Cancel Training`);
    const cancelled = await waitFor('the done event of the second run', 30_000, () => metricsEvents(run2).find((e) => e.type === 'done'));
    assert.equal(cancelled.reason, 'cancelled');
    assert.ok(!existsSync(join(run2, 'model.onnx')), 'the cancelled run exported a model');
    const message = await wb.waitForMessage(/cancel/i, 20_000);
    log(`after cancel: ${message}`);
    const view = await ensureWebview(wb);
    await waitFor('"cancelled" in the webview', 30_000, async () => /cancelled/i.test(await frameText(view)));
    const serving = await waitFor('the status bar to show the first model again', 30_000, async () =>
      (await wb.extensionStatusBarItems()).find((i) => /RD: nano/.test(i.text) && !/training/i.test(i.text)));
    log(`status bar after cancel: ${serving.text}`);
    // The first model still answers: back in the first file (its buffer still ends with the typed
    // input, the suggestion not taken), asking again shows the first model's completion again.
    const first = picked[0];
    await wb.openFile(first.file);
    if (first.file === last.file) await wb.page.keyboard.press('Control+Z'); // take the accepted suggestion back out
    await wb.goTo('end');
    // Retype the input's last character: the editor asks the provider again as it did while typing.
    await wb.page.keyboard.press('Backspace');
    await wb.type(first.typed.slice(-1));
    const ghostAgain = await ghostAfterTyping(wb, first.typed);
    log(`ghost text after the cancelled run: ${JSON.stringify(ghostAgain)}`);
    assert.equal(ghostAgain, ghosts[0], 'after the cancelled run the ghost text is not the first model\'s');
    await wb.screenshot('scenario-6-after-cancel');
  });
});
