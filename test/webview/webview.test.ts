// The training webview in headless Chromium: the real bundle (esbuild, as scripts/build.mjs builds
// it) behind the real HTML and CSP, with a stand-in for VS Code's acquireVsCodeApi. It is fed the
// state the host builds from the recorded runs in test/training/fixtures/runs (a diffusion run and
// its autoregressive baseline), then live events. Checks: charts drew pixels in their plot areas,
// tables, buttons post typed messages, no CSP violation, state restored from setState.
// Needs Debian's chromium at /usr/bin/chromium (or CHROMIUM_PATH); fails, clearly, without it.
import { ensureRecordedRuns } from '../training/recordedRuns';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TrainingController } from '../../extension/training/controller';
import { renderWebviewHtml, makeNonce } from '../../extension/vscode/webviewHtml';
import type { HostMessage, TrainerEvent, ViewState } from '../../webview/protocol';

const REPO = join(__dirname, '..', '..');
const RUNS = ensureRecordedRuns();
const ARTIFACTS = join(REPO, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ORIGIN = 'https://webview.test';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
// A dark theme's variables, as VS Code sets them on the webview's <html>.
const THEME: Record<string, string> = {
  '--vscode-editor-background': '#1e1e1e',
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-panel-border': '#3c3c3c',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-button-background': '#0e639c',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-font-family': 'sans-serif',
};

let browser: Browser;
let bundleDir: string;
let state: ViewState;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH). This test does not skip.`);
  bundleDir = mkdtempSync(join(tmpdir(), 'rd-webview-'));
  // The same options as scripts/build.mjs uses for dist/webview.js.
  await esbuild.build({ bundle: true, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: { webview: join(REPO, 'webview', 'main.ts') }, outdir: bundleDir, logLevel: 'warning' });
  // The state the host would send: built by the real controller from the recorded runs.
  const runsDir = mkdtempSync(join(tmpdir(), 'rd-webview-runs-'));
  cpSync(RUNS, runsDir, { recursive: true });
  const controller = new TrainingController({ runsDir, trainerRoot: REPO });
  await controller.showRun(join(runsDir, '2026-11-27T06-00-00-000Z'));
  controller.setActiveModel('2026-11-27T05-00-00-000Z');
  state = structuredClone(controller.state);
  controller.dispose();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
});

after(async () => {
  await browser?.close();
});

async function openPage(saved?: unknown): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  const nonce = makeNonce();
  const html = renderWebviewHtml({ cspSource: ORIGIN, nonce, scriptUri: `${ORIGIN}/webview.js`, styleUri: `${ORIGIN}/webview.css` });
  await page.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/' || path === '/index.html') return route.fulfill({ contentType: 'text/html', body: html });
    const file = join(bundleDir, path.slice(1));
    if (!existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ contentType: path.endsWith('.css') ? 'text/css' : 'text/javascript', body: readFileSync(file) });
  });
  await page.route(/^(?!https:\/\/webview\.test).*/, (route) => {
    errors.push(`network request outside the webview: ${route.request().url()}`);
    return route.abort();
  });
  // A string, not a function: tsx compiles this file with esbuild's keepNames, whose __name()
  // helper would end up in a serialized function. The shim also covers page.evaluate callbacks.
  await page.addInitScript(`
    globalThis.__name = (f) => f;
    window.__posted = [];
    window.__saved = ${JSON.stringify(saved ?? null)} ?? undefined;
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber));
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => window.__posted.push(m),
      getState: () => window.__saved,
      setState: (s) => { window.__saved = s; },
    });
    document.addEventListener('DOMContentLoaded', () => {
      for (const [k, v] of Object.entries(${JSON.stringify(THEME)})) document.documentElement.style.setProperty(k, v);
      document.body.classList.add('vscode-dark');
    });
  `);
  await page.goto(`${ORIGIN}/index.html`);
  page.setDefaultTimeout(10_000);
  try {
    await page.waitForFunction(() => ((window as unknown as { __posted: Array<{ type: string }> }).__posted ?? []).some((m) => m.type === 'ready'));
  } catch (err) {
    throw new Error(`the webview never said ready: ${errors.join('; ') || (err as Error).message}`);
  }
  return { page, errors };
}

async function send(page: Page, message: HostMessage): Promise<void> {
  const before = await page.evaluate(() => Number(document.body.dataset.rendered ?? 0));
  await page.evaluate((m) => window.postMessage(m, '*'), message);
  await page.waitForFunction((n) => Number(document.body.dataset.rendered ?? 0) > n, before);
}

/** Counts pixels in a canvas's plot area: drawn at all, and close to each given colour. */
async function plotPixels(page: Page, id: string, colours: string[]): Promise<{ drawn: number; byColour: number[]; area: number[] }> {
  return page.evaluate(
    ({ id, colours }) => {
      const canvas = document.getElementById(id) as HTMLCanvasElement;
      const area = (canvas.dataset.chartArea ?? '').split(',').map(Number);
      const ratio = canvas.width / canvas.getBoundingClientRect().width;
      const [l, t, r, b] = area.map((v) => Math.round(v * ratio));
      const data = canvas.getContext('2d')!.getImageData(l, t, r - l, b - t).data;
      const rgb = colours.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
      let drawn = 0;
      const byColour = colours.map(() => 0);
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] < 40) continue; // the canvas is transparent where nothing was drawn
        drawn++;
        rgb.forEach((c, k) => {
          if (Math.abs(data[i] - c[0]) + Math.abs(data[i + 1] - c[1]) + Math.abs(data[i + 2] - c[2]) < 60 && data[i + 3] > 150) byColour[k]++;
        });
      }
      return { drawn, byColour, area };
    },
    { id, colours },
  );
}

test('the recorded runs render: header, charts with both objectives, samples, corpus and run history', async () => {
  const { page, errors } = await openPage();
  await send(page, { type: 'state', state });
  await page.waitForFunction(() => Number((document.getElementById('chart-main') as HTMLCanvasElement).dataset.points) > 0);

  const summary = await page.textContent('#summary');
  assert.match(summary!, /cuda:0 NVIDIA H100/);
  assert.match(summary!, /12\.00 of 12/);
  assert.match(summary!, /21\.3 M/);
  assert.match(summary!, /1\.3 M/); // tokens per epoch
  assert.match(summary!, /Best checkpoint.*step 300/s);
  assert.match(summary!, /held-out infill exact match/);
  assert.match(summary!, /Compared with \(autoregressive\)/);

  // Six series on the main chart (train/val/exact for each objective), two on the speed chart.
  const points = await page.evaluate(() => ['chart-main', 'chart-speed'].map((id) => Number((document.getElementById(id) as HTMLCanvasElement).dataset.points)));
  assert.equal(points[0], 2 * (300 + 12 + 12));
  assert.equal(points[1], 2 * 300);

  const main = await plotPixels(page, 'chart-main', [THEME['--vscode-charts-blue'], THEME['--vscode-charts-orange'], THEME['--vscode-charts-green']]);
  const [l, t, r, b] = main.area;
  assert.ok(r - l > 300 && b - t > 150, `plot area too small: ${main.area}`);
  assert.ok(main.drawn > 2000, `main chart drew ${main.drawn} pixels`);
  for (const [i, n] of main.byColour.entries()) assert.ok(n > 150, `series colour ${i} drew only ${n} pixels`);
  const speed = await plotPixels(page, 'chart-speed', [THEME['--vscode-charts-purple']]);
  assert.ok(speed.byColour[0] > 150, `tokens/s drew ${speed.byColour[0]} pixels`);

  assert.equal(await page.locator('#samples-table tbody tr').count(), 4);
  assert.equal(await page.locator('#samples-table tbody tr.ok').count(), 2);
  assert.match((await page.textContent('#samples-table'))!, /item\.enabled:/);
  const corpus = await page.textContent('#corpus');
  assert.match(corpus!, /binary 2/);
  assert.match(corpus!, /python/);
  assert.equal(await page.locator('#runs-table tbody tr').count(), 2);
  assert.match((await page.textContent('#runs-table'))!, /active model/);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'webview-training.png'), fullPage: true });
  assert.deepEqual(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), [], 'no CSP violations');
  assert.deepEqual(errors, []);
  await page.close();
});

test('buttons post typed messages to the host', async () => {
  const { page, errors } = await openPage();
  await send(page, { type: 'state', state });
  await page.click('#runs-table tr[data-run="2026-11-27T06-00-00-000Z"] vscode-button');
  await page.click('#btn-log');
  await page.click('#btn-train');
  const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
  assert.deepEqual(posted, [{ type: 'ready' }, { type: 'activateRun', runId: '2026-11-27T06-00-00-000Z' }, { type: 'showLog' }, { type: 'train' }]);
  assert.deepEqual(errors, []);
  await page.close();
});

test('live events extend the curves; a restored page draws its saved state before the host replays', async () => {
  const { page, errors } = await openPage();
  const live: ViewState = structuredClone(state);
  live.training = true;
  live.current!.phase = 'training';
  await send(page, { type: 'state', state: live });
  assert.equal(await page.locator('#btn-cancel').count(), 1);
  const before = await page.evaluate(() => Number((document.getElementById('chart-main') as HTMLCanvasElement).dataset.points));
  const events: TrainerEvent[] = [
    { type: 'step', time: 1, step: 301, epoch: 12.04, loss: 1.4, tokens_per_s: 150000, eta_s: 30 },
    { type: 'step', time: 2, step: 302, epoch: 12.08, loss: 1.39, tokens_per_s: 151000, eta_s: 26 },
    { type: 'eval', time: 3, step: 302, epoch: 12.08, val_loss: 2.0, infill_exact: 0.5, samples: [{ prefix_tail: 'x = ', expected: '1', got: '1' }] },
  ];
  await send(page, { type: 'events', target: 'current', events });
  const afterPoints = await page.evaluate(() => Number((document.getElementById('chart-main') as HTMLCanvasElement).dataset.points));
  assert.equal(afterPoints, before + 4);
  assert.match((await page.textContent('#summary'))!, /50\.0%/);
  assert.match((await page.textContent('#eta-value'))!, /^2[0-6] s$/, 'the ETA of the last step event, counting down');
  assert.equal(await page.locator('#samples-table tbody tr').count(), 1);
  // setState is debounced; wait for it, then load a fresh page with what was saved.
  await page.waitForFunction(() => Boolean((window as unknown as { __saved?: unknown }).__saved));
  const saved = await page.evaluate(() => (window as unknown as { __saved: unknown }).__saved);
  await page.close();

  const restored = await openPage(saved);
  await restored.page.waitForFunction(() => Number((document.getElementById('chart-main') as HTMLCanvasElement).dataset.points) > 0);
  const pts = await restored.page.evaluate(() => Number((document.getElementById('chart-main') as HTMLCanvasElement).dataset.points));
  assert.equal(pts, afterPoints);
  const px = await plotPixels(restored.page, 'chart-main', [THEME['--vscode-charts-blue']]);
  assert.ok(px.byColour[0] > 150);
  assert.deepEqual([...errors, ...restored.errors], []);
  await restored.page.close();
});

test('an empty state shows the call to action and no errors; a failed run shows its message and Resume', async () => {
  const { page, errors } = await openPage();
  await send(page, { type: 'state', state: { runs: [], training: false } });
  assert.match((await page.textContent('#summary'))!, /No training run yet/);
  const failed: ViewState = structuredClone(state);
  failed.current!.phase = 'crashed';
  failed.current!.message = 'The trainer exited with code 3: RuntimeError: CUDA out of memory.';
  await send(page, { type: 'state', state: failed });
  assert.equal(await page.isVisible('#message'), true);
  assert.match((await page.textContent('#message'))!, /CUDA out of memory/);
  assert.equal(await page.locator('#btn-resume').count(), 1);
  assert.deepEqual(errors, []);
  await page.close();
});
