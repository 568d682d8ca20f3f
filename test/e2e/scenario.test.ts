// The whole user story in real VS Code (docs/e2e.md): train on a small repo with a tiny budget ->
// the training webview shows progress -> the status bar follows it -> the model is exported ->
// typing shows ghost text -> Tab accepts it -> a second run is cancelled.
//
// GATED until the extension's pieces land: runs only with REPO_DIFFUSION_E2E_FULL=1 (and says so
// loudly when gated). Needs scripts/e2e/setup.sh and a Python that imports torch
// (REPO_DIFFUSION_PYTHON, default /usr/bin/python3). Takes a few minutes on 2 cores.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { e2eSkipReason, findFiles, tools, withVSCode, type CodeServer, type Workbench } from './harness';

const GATE = 'REPO_DIFFUSION_E2E_FULL';
const gated = process.env[GATE] !== '1';
const skip = e2eSkipReason() ?? (gated
  ? `GATED: the full train -> webview -> status bar -> ghost text -> Tab -> cancel scenario runs only with ${GATE}=1 (until extension/vscode, engine and trainer land)`
  : undefined);
if (skip) console.log(`[e2e] ${'='.repeat(20)} ${skip} ${'='.repeat(20)}`);

const PYTHON = process.env.REPO_DIFFUSION_PYTHON || '/usr/bin/python3';
/** Training budget of the first run (the tiny preset learns the fixture's patterns in a few minutes on 2 cores). */
const BUDGET_MINUTES = Number(process.env.REPO_DIFFUSION_E2E_BUDGET_MINUTES || 2);
/** The trainer's command line: `python -m trainer train RUN ...` (docs/contracts.md). */
const TRAINER = /python[\d.]*\s.*-m\s+trainer\s+train\b/;

/** A small, repetitive Python repository: enough for a tiny model to learn something in a minute. */
export function fixtureRepo(): Record<string, string> {
  const files: Record<string, string> = { 'README.md': '# shapes\n\nSmall geometry helpers.\n', '.gitignore': '__pycache__/\n' };
  const shapes = ['square', 'circle', 'triangle', 'rectangle', 'hexagon', 'pentagon', 'ellipse', 'rhombus'];
  shapes.forEach((shape, i) => {
    const cls = shape[0].toUpperCase() + shape.slice(1);
    const lines = [
      'import math',
      '',
      '',
      `class ${cls}:`,
      `    """A ${shape} with a size."""`,
      '',
      '    def __init__(self, size):',
      '        self.size = size',
      '',
      '    def area(self):',
      `        return self.size * self.size * ${i + 1}`,
      '',
      '    def perimeter(self):',
      `        return self.size * ${i + 3}`,
      '',
      '    def scale(self, factor):',
      `        return ${cls}(self.size * factor)`,
      '',
      '    def __repr__(self):',
      `        return f"${cls}(size={self.size})"`,
      '',
      '',
      `def make_${shape}(size):`,
      `    return ${cls}(size)`,
      '',
      '',
      `def total_area_of_${shape}s(items):`,
      '    total = 0',
      '    for item in items:',
      '        total += item.area()',
      '    return total',
      '',
    ];
    for (let k = 0; k < 4; k++) {
      lines.push('', `def ${shape}_helper_${k}(value):`, `    result = value * ${k + 2}`, '    if result > 10:', '        return result - 10', '    return result', '');
    }
    files[`shapes/${shape}.py`] = lines.join('\n');
  });
  files['shapes/__init__.py'] = shapes.map((s) => `from .${s} import make_${s}`).join('\n') + '\n';
  files['main.py'] = 'from shapes import make_square\n\n\ndef main():\n    shape = make_square(3)\n    print(shape.area())\n';
  return files;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await sleep(500);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** model.onnx files the extension wrote anywhere in the profile (workspace storage, global storage, workspace). */
function exportedModels(server: CodeServer): string[] {
  return findFiles(server.profile, (p) => p.endsWith('model.onnx') && !p.startsWith(server.extensionsDir));
}

function metricsFiles(server: CodeServer): string[] {
  return findFiles(server.profile, (p) => p.endsWith('metrics.jsonl') && !p.startsWith(server.extensionsDir))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
}

async function ensureWebview(wb: Workbench) {
  try {
    return await wb.webviewFrame(20_000);
  } catch {
    await wb.runCommand('Repo Diffusion: Show Training');
    return wb.webviewFrame(30_000);
  }
}

test('full scenario: train -> webview -> status bar -> ghost text -> Tab -> cancel a second run', { skip, timeout: 900_000 }, async () => {
  tools();
  const torch = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  assert.equal(torch.status, 0, `${PYTHON} cannot import torch (set REPO_DIFFUSION_PYTHON): ${torch.stderr}`);

  await withVSCode({
    name: 'scenario',
    files: fixtureRepo(),
    git: true,
    settings: {
      'repoDiffusion.pythonPath': PYTHON,
      'repoDiffusion.preset': 'tiny',
      'repoDiffusion.budgetMinutes': BUDGET_MINUTES,
      'repoDiffusion.device': 'cpu',
      'repoDiffusion.suggestions.debounceMs': 50,
    },
  }, async ({ server, wb }) => {
    // 1. Train with a tiny budget.
    await wb.runCommand('Repo Diffusion: Train on This Repo');
    await sleep(2000);
    await wb.assertNoCommandError();

    // 2. The training webview shows progress.
    const frame = await ensureWebview(wb);
    const webviewText = await waitFor('training progress in the webview', 240_000, async () => {
      const t = await frame.locator('body').innerText().catch(() => '');
      return /loss\W+\d/i.test(t) ? t : undefined; // a number, not the "Loss –" placeholder
    });
    console.log(`[e2e] webview: ${webviewText.replace(/\s+/g, ' ').slice(0, 200)}`);
    await wb.screenshot('scenario-webview');

    // 3. The status bar follows the run.
    const item = await wb.waitForStatusBar(/train|index|epoch|step|loss|%|\d/i, 60_000);
    console.log(`[e2e] status bar during training: ${item.text} (${item.ariaLabel})`);

    // 4. The run ends with an exported model.
    const model = await waitFor('model.onnx', 480_000, () => exportedModels(server)[0]);
    console.log(`[e2e] model: ${model}`);
    // The extension loads the new model: its status bar item leaves "training" for the model.
    const ready = await waitFor('the status bar to show the loaded model', 120_000, async () =>
      (await wb.extensionStatusBarItems()).find((i) => i.text && !/training|indexing/i.test(i.text)));
    console.log(`[e2e] status bar after training: ${ready.text}`);
    assert.doesNotMatch(ready.text, /error|no model/i, `the model did not load: ${ready.ariaLabel}`);
    await wb.assertNoCommandError();
    await wb.screenshot('scenario-trained');

    // 5. Ghost text while typing, accepted with Tab.
    await wb.openFile('shapes/square.py');
    await wb.goTo('end');
    const typed = '\ndef make_squ';
    await wb.type(typed);
    const ghost = await wb.waitForGhostText(60_000);
    console.log(`[e2e] ghost text: ${JSON.stringify(ghost)}`);
    await wb.screenshot('scenario-ghost-text');
    const before = readFileSync(join(server.workspace, 'shapes/square.py'), 'utf8');
    await wb.acceptWithTab();
    const after = await wb.saveAndRead('shapes/square.py');
    const firstGhostLine = ghost.split('\n')[0].trim();
    assert.ok(after.length > before.length + typed.length - 1, 'Tab inserted nothing');
    assert.ok(after.includes(`make_squ${firstGhostLine}`) || after.includes(firstGhostLine), `the accepted text is not in the file:\n${after.slice(-400)}`);

    // 6. A second run, cancelled.
    const runsBefore = metricsFiles(server).length;
    await wb.runCommand('Repo Diffusion: Train on This Repo');
    await sleep(1000);
    if (await wb.dialogText()) {
      // e.g. "a model exists: train again?" — take the affirmative button.
      await wb.clickDialogButton(/train|yes|continue|start|replace|ok/i).catch(() => undefined);
    }
    await waitFor('the second trainer process', 180_000, () => server.processes(TRAINER).length ? true : undefined);
    await sleep(3000);
    await wb.runCommand('Repo Diffusion: Cancel Training');
    await waitFor('the trainer to exit after Cancel Training', 60_000, () => server.processes(TRAINER).length === 0 ? true : undefined);
    const metrics = metricsFiles(server);
    if (metrics.length > runsBefore) {
      const events = readFileSync(metrics[metrics.length - 1], 'utf8').trim().split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } });
      const done = events.filter((e) => e.type === 'done').pop();
      assert.equal(done?.reason, 'cancelled', `the second run did not end as cancelled: ${JSON.stringify(done)}`);
    }
    const message = await wb.waitForMessage(/cancel/i, 15_000).catch(() => undefined)
      ?? (await wb.waitForStatusBar(/cancel/i, 5000).catch(() => undefined))?.text;
    console.log(`[e2e] after cancel: ${message ?? '(no cancel message)'}`);
    await wb.screenshot('scenario-cancelled');
  });
});
