// The training webview (browser code, bundled to dist/webview.js with chart.js and the webview UI
// toolkit; no CDN). It draws what the host sends: a whole `state` on (re)show, then `events`
// (reduced with the same reducer as the host, webview/state.ts) and `patch`es. It owns nothing:
// getState/setState only make the first paint after a restore fast, the host replays anyway.
// Every string from the workspace (sample infills, paths) goes in through textContent, never HTML.
import {
  Chart,
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  Legend,
  Tooltip,
  type ChartDataset,
  type ChartConfiguration,
} from 'chart.js';
// Only the toolkit's button: its badge and progress-ring templates carry inline style attributes,
// which this page's CSP (no 'unsafe-inline') blocks; those two are plain elements here.
import { provideVSCodeDesignSystem, vsCodeButton } from '@vscode/webview-ui-toolkit';
import type { HostMessage, PersistedState, Point, RunView, ViewState, WebviewMessage } from './protocol';
import { applyEvents, formatCount, formatDuration } from './state';
import './style.css';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);
provideVSCodeDesignSystem().register(vsCodeButton());

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): PersistedState | undefined;
  setState(state: PersistedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
let state: ViewState = vscode.getState()?.state ?? { runs: [], training: false };
/** When the last progress event arrived here: the ETA counts down from it. */
let lastEventAt = Date.now();

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

type Child = Node | string | number | undefined | null | false;
function h(tag: string, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  el.append(...nodes(children));
  return el;
}
/** Drops the empty children of a conditional list. */
function nodes(children: Child[]): Array<Node | string> {
  const out: Array<Node | string> = [];
  for (const c of children) if (c !== undefined && c !== null && c !== false) out.push(typeof c === 'number' ? String(c) : c);
  return out;
}
function button(label: string, onClick: () => void, appearance: 'primary' | 'secondary' = 'secondary', id?: string): HTMLElement {
  const b = h('vscode-button', { appearance, id });
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}
const $ = (id: string) => document.getElementById(id)!;
const pct = (x: number | undefined) => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const fixed = (x: number | undefined, d = 3) => (x === undefined ? '–' : x.toFixed(d));

// ---------------------------------------------------------------------------------------------
// Page skeleton (static parts once; dynamic parts re-rendered)

document.body.append(
  h('header', { class: 'top' }, h('h1', {}, 'Repo Diffusion training'), h('span', { id: 'phase' }), h('div', { id: 'actions', class: 'actions' })),
  h('section', { id: 'message', class: 'message', hidden: '' }),
  h('section', { id: 'indexing', class: 'indexing', hidden: '' }),
  h('section', { id: 'summary', class: 'summary' }),
  h('section', { class: 'charts' },
    h('div', { class: 'chart-box main' }, h('canvas', { id: 'chart-main', 'aria-label': 'Training loss, validation loss and held-out infill exact match by epoch', role: 'img' })),
    h('div', { class: 'chart-box speed' }, h('canvas', { id: 'chart-speed', 'aria-label': 'Training throughput in tokens per second by epoch', role: 'img' })),
  ),
  h('section', {}, h('h2', {}, 'Held-out infill samples'), h('div', { id: 'samples' })),
  h('section', {}, h('h2', {}, 'Corpus'), h('div', { id: 'corpus' })),
  h('section', {}, h('h2', {}, 'Runs'), h('div', { id: 'runs' })),
);

// ---------------------------------------------------------------------------------------------
// Charts

interface Palette {
  fg: string;
  grid: string;
  train: string;
  val: string;
  exact: string;
  speed: string;
}

/** VS Code theme colours (CSS variables the webview gets), with fallbacks outside VS Code. */
function palette(): Palette {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    fg: v('--vscode-foreground', '#cccccc'),
    grid: v('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)'),
    train: v('--vscode-charts-blue', '#3794ff'),
    val: v('--vscode-charts-orange', '#d18616'),
    exact: v('--vscode-charts-green', '#89d185'),
    speed: v('--vscode-charts-purple', '#b180d7'),
  };
}

type LineDataset = ChartDataset<'line', Point[]>;

function line(label: string, color: string, data: Point[], yAxisID: string, dashed: boolean, pointRadius = 0): LineDataset {
  return {
    label,
    data,
    yAxisID,
    borderColor: color,
    backgroundColor: color,
    borderWidth: dashed ? 1.5 : 2,
    borderDash: dashed ? [6, 4] : undefined,
    pointRadius,
    pointHoverRadius: 4,
    tension: 0,
    parsing: false,
    spanGaps: true,
  };
}

function datasetsMain(p: Palette): LineDataset[] {
  const sets: LineDataset[] = [];
  const add = (run: RunView | undefined, dashed: boolean) => {
    if (!run) return;
    const tag = dashed ? ` (${run.objective ?? 'comparison'})` : run.objective === 'autoregressive' ? ' (autoregressive)' : '';
    sets.push(line(`train loss${tag}`, p.train, run.series.trainLoss, 'loss', dashed));
    sets.push(line(`val loss${tag}`, p.val, run.series.valLoss, 'loss', dashed, 2));
    sets.push(line(`infill exact${tag}`, p.exact, run.series.infillExact, 'exact', dashed, 2));
  };
  add(state.current, false);
  add(state.comparison, true);
  return sets;
}

function datasetsSpeed(p: Palette): LineDataset[] {
  const sets: LineDataset[] = [];
  if (state.current) sets.push(line('tokens/s', p.speed, state.current.series.tokensPerS, 'y', false));
  if (state.comparison) sets.push(line(`tokens/s (${state.comparison.objective ?? 'comparison'})`, p.speed, state.comparison.series.tokensPerS, 'y', true));
  return sets;
}

function baseOptions(p: Palette): NonNullable<ChartConfiguration<'line', Point[]>['options']> {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    normalized: true,
    interaction: { mode: 'nearest', intersect: false, axis: 'x' },
    plugins: {
      legend: { labels: { color: p.fg, boxWidth: 18, boxHeight: 2 } },
      tooltip: { enabled: true },
    },
    scales: {
      x: { type: 'linear', title: { display: true, text: 'epoch', color: p.fg }, ticks: { color: p.fg }, grid: { color: p.grid } },
    },
  };
}

function mainOptions(p: Palette): NonNullable<ChartConfiguration<'line', Point[]>['options']> {
  const options = baseOptions(p);
  options.scales = {
    ...options.scales,
    loss: { type: 'linear', position: 'left', title: { display: true, text: 'loss', color: p.fg }, ticks: { color: p.fg }, grid: { color: p.grid } },
    exact: {
      type: 'linear',
      position: 'right',
      min: 0,
      suggestedMax: 0.5,
      title: { display: true, text: 'held-out infill exact match', color: p.fg },
      ticks: { color: p.fg, callback: (v) => `${Math.round(Number(v) * 100)}%` },
      grid: { drawOnChartArea: false },
    },
  };
  return options;
}

function speedOptions(p: Palette): NonNullable<ChartConfiguration<'line', Point[]>['options']> {
  const options = baseOptions(p);
  options.scales = {
    ...options.scales,
    y: { type: 'linear', beginAtZero: true, title: { display: true, text: 'tokens/s', color: p.fg }, ticks: { color: p.fg, callback: (v) => formatCount(Number(v)) }, grid: { color: p.grid } },
  };
  return options;
}

let charts: { main: Chart<'line', Point[]>; speed: Chart<'line', Point[]> } | undefined;
/** Set when the theme changed: options (colours) are rebuilt on the next render. */
let themeChanged = false;

function renderCharts(): void {
  const p = palette();
  if (!charts) {
    charts = {
      main: new Chart<'line', Point[]>($('chart-main') as HTMLCanvasElement, { type: 'line', data: { datasets: datasetsMain(p) }, options: mainOptions(p) }),
      speed: new Chart<'line', Point[]>($('chart-speed') as HTMLCanvasElement, { type: 'line', data: { datasets: datasetsSpeed(p) }, options: speedOptions(p) }),
    };
  } else {
    // Updated in place: destroying a chart would write a style attribute, which the CSP forbids.
    if (themeChanged) {
      charts.main.options = mainOptions(p);
      charts.speed.options = speedOptions(p);
    }
    charts.main.data.datasets = datasetsMain(p);
    charts.speed.data.datasets = datasetsSpeed(p);
    charts.main.update('none');
    charts.speed.update('none');
  }
  themeChanged = false;
  // Where the plot area is, for tests and for anyone inspecting the page.
  for (const c of [charts.main, charts.speed]) {
    const a = c.chartArea;
    if (a) c.canvas.dataset.chartArea = [a.left, a.top, a.right, a.bottom].map(Math.round).join(',');
    c.canvas.dataset.points = String(c.data.datasets.reduce((n, d) => n + d.data.length, 0));
  }
}

// Theme switches change the body class: redraw the charts with the new colours.
new MutationObserver(() => {
  themeChanged = true;
  scheduleRender();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

// ---------------------------------------------------------------------------------------------
// Header, message, tables

const PHASE_LABEL: Record<RunView['phase'], string> = {
  indexing: 'indexing',
  starting: 'starting',
  training: 'training',
  exporting: 'exporting',
  done: 'done',
  cancelled: 'cancelled',
  failed: 'failed',
  crashed: 'crashed',
  killed: 'killed',
  hung: 'stopped (no progress)',
  replay: 'history',
};

function field(label: string, value: Child, title?: string, valueId?: string): HTMLElement {
  return h('div', { class: 'field', title }, h('div', { class: 'label' }, label), h('div', { class: 'value', id: valueId }, value ?? '–'));
}

/** The ETA, counted down from the last event's estimate while training. */
function etaText(run: RunView): string {
  if (state.training) return formatDuration(run.etaS !== undefined ? Math.max(0, run.etaS - (Date.now() - lastEventAt) / 1000) : undefined);
  return run.phase === 'done' ? 'finished' : '–';
}

function renderHeader(): void {
  const run = state.current;
  const phase = $('phase');
  phase.replaceChildren();
  if (state.indexing) phase.append(h('span', { class: 'badge' }, 'indexing'));
  else if (run) phase.append(h('span', { class: `badge phase-${run.phase}` }, PHASE_LABEL[run.phase] ?? run.phase));
  if (state.training || state.indexing) phase.append(h('span', { class: 'spinner', role: 'progressbar', 'aria-label': 'working' }));

  const actions = $('actions');
  actions.replaceChildren();
  if (state.training || state.indexing) actions.append(button('Cancel', () => post({ type: 'cancel' }), 'primary', 'btn-cancel'));
  else {
    actions.append(button('Train on this repo', () => post({ type: 'train' }), 'primary', 'btn-train'));
    if (run && ['cancelled', 'crashed', 'killed', 'hung', 'failed'].includes(run.phase)) actions.append(button('Resume', () => post({ type: 'resume', runId: run.runId }), 'secondary', 'btn-resume'));
  }
  actions.append(button('Show log', () => post({ type: 'showLog' }), 'secondary', 'btn-log'));

  const summary = $('summary');
  summary.replaceChildren();
  if (!run) {
    summary.append(h('p', { class: 'empty' }, 'No training run yet. Run “Train on This Repo” to index this workspace and train a model on it.'));
    return;
  }
  const epochText =
    run.epoch === undefined ? '–' : run.plannedEpochs ? `${run.epoch.toFixed(2)} of ${Number(run.plannedEpochs.toFixed(1))}` : run.epoch.toFixed(2);
  const progress = run.plannedEpochs && run.epoch !== undefined ? Math.min(1, run.epoch / run.plannedEpochs) : run.plannedSteps && run.step ? Math.min(1, run.step / run.plannedSteps) : undefined;
  const best = run.best
    ? h('span', {}, `step ${run.best.step}${run.best.infillExact !== undefined ? ` · ${pct(run.best.infillExact)}` : ''}`, h('div', { class: 'why' }, run.best.why))
    : '–';
  summary.append(
    field('Run', run.runId),
    field('Device', run.device),
    field('Objective', run.objective),
    field('Preset', run.preset),
    field('Parameters', formatCount(run.params)),
    field('Tokens / epoch', formatCount(run.tokensPerEpoch)),
    field('Epoch', h('span', {}, epochText, progress !== undefined ? h('progress', { max: '1', value: progress.toFixed(4) }) : undefined)),
    field('Step', run.step !== undefined ? `${run.step}${run.plannedSteps ? ` / ${run.plannedSteps}` : ''}` : '–'),
    field('ETA', etaText(run), undefined, 'eta-value'),
    field('Loss', fixed(run.loss)),
    field('Val loss', fixed(run.valLoss)),
    field('Infill exact (held-out)', pct(run.infillExact), 'Share of held-out infill tasks completed exactly; checkpoints are chosen by this, not by validation loss.'),
    field('Tokens / s', formatCount(run.tokensPerS)),
    field('Exact by kind', byKindText(run)),
    field('Best checkpoint', best),
  );
  if (state.comparison) {
    const c = state.comparison;
    summary.append(field(`Compared with (${c.objective ?? 'other'})`, `${c.runId} · best ${pct(c.best?.infillExact ?? maxY(c.series.infillExact))}`));
  }
}

/** "line 41% · block 18% · call 30%" from the last eval's per-kind breakdown. */
function byKindText(run: RunView): string {
  const kinds = Object.entries(run.byKind ?? {});
  if (!kinds.length) return '–';
  return kinds
    .map(([kind, v]) => {
      const exact = typeof v?.infill_exact === 'number' ? v.infill_exact : typeof (v as { exact?: unknown })?.exact === 'number' ? (v as { exact: number }).exact : undefined;
      return `${kind} ${exact === undefined ? '–' : `${Math.round(exact * 100)}%`}`;
    })
    .join(' · ');
}

function maxY(points: Point[]): number | undefined {
  return points.length ? Math.max(...points.map((p) => p.y)) : undefined;
}

function renderMessage(): void {
  const el = $('message');
  const run = state.current;
  const bad = run && ['failed', 'crashed', 'killed', 'hung'].includes(run.phase);
  if (!run?.message || (!bad && run.phase !== 'cancelled')) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  el.className = `message ${bad ? 'error' : 'info'}`;
  el.replaceChildren(...nodes([h('div', {}, run.message), run.hint ? h('div', { class: 'hint' }, run.hint) : undefined]));
}

function renderIndexing(): void {
  const el = $('indexing');
  const ix = state.indexing;
  if (!ix) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  el.replaceChildren(
    ...nodes([
      h('span', {}, `Indexing: ${ix.phase}`),
      ix.total ? h('progress', { max: String(ix.total), value: String(ix.done ?? 0) }) : undefined,
      ix.total ? h('span', {}, ` ${ix.done ?? 0} / ${ix.total}`) : undefined,
      ix.message ? h('span', { class: 'muted' }, ` ${ix.message}`) : undefined,
    ]),
  );
}

function renderSamples(): void {
  const el = $('samples');
  const samples = state.current?.samples ?? [];
  if (!samples.length) {
    el.replaceChildren(h('p', { class: 'empty' }, 'Samples appear after the first evaluation.'));
    return;
  }
  const rows = samples.map((s) => {
    const ok = s.got === s.expected;
    return h(
      'tr',
      { class: ok ? 'ok' : 'miss' },
      h('td', {}, h('pre', {}, tailLines(String(s.prefix_tail ?? ''), 3))),
      h('td', {}, h('pre', {}, String(s.expected ?? ''))),
      h('td', {}, s.got ? h('pre', {}, String(s.got)) : h('span', { class: 'muted' }, '(nothing)')),
      h('td', { class: 'mark', title: ok ? 'exact match' : 'differs' }, ok ? '✓' : '✗'),
    );
  });
  el.replaceChildren(
    h('table', { class: 'grid', id: 'samples-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'prefix (tail)'), h('th', {}, 'expected'), h('th', {}, 'got'), h('th', {}, ''))), h('tbody', {}, ...rows)),
  );
}

function tailLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}

function renderCorpus(): void {
  const el = $('corpus');
  const c = state.corpus;
  if (!c) {
    el.replaceChildren(h('p', { class: 'empty' }, 'Not indexed yet.'));
    return;
  }
  const skipped = Object.entries(c.skippedByReason)
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  el.replaceChildren(...nodes([
    h('div', { class: 'summary' },
      field('Files kept', c.filesKept),
      field('Files skipped', `${c.filesSkipped}${skipped ? ` (${skipped})` : ''}`),
      field('Train tokens', formatCount(c.trainTokens)),
      field('Val tokens', formatCount(c.valTokens)),
      field('Vocabulary', formatCount(c.vocabSize)),
      field('Eval tasks', c.evalTasks),
      field('Secrets scrubbed', c.scrubbed),
      field('Duplicates dropped', c.duplicates),
    ),
    c.languages.length
      ? h('table', { class: 'grid compact' }, h('thead', {}, h('tr', {}, h('th', {}, 'language'), h('th', {}, 'files'), h('th', {}, 'tokens'))),
          h('tbody', {}, ...c.languages.slice(0, 12).map((l) => h('tr', {}, h('td', {}, l.language), h('td', {}, l.files), h('td', {}, formatCount(l.tokens))))))
      : undefined,
    ...(c.notes ?? []).map((n) => h('p', { class: 'muted' }, n)),
  ]));
}

function renderRuns(): void {
  const el = $('runs');
  if (!state.runs.length) {
    el.replaceChildren(h('p', { class: 'empty' }, 'No runs yet.'));
    return;
  }
  const rows = state.runs.map((r) => {
    const active = r.id === state.activeModelRunId;
    const cells = h('td', { class: 'buttons' });
    if (r.id !== state.current?.runId && !state.training) cells.append(button('Show', () => post({ type: 'showRun', runId: r.id })));
    if (r.hasModel) cells.append(active ? h('span', { class: 'badge' }, 'active model') : button('Use this model', () => post({ type: 'activateRun', runId: r.id })));
    return h(
      'tr',
      { class: active ? 'active' : undefined, 'data-run': r.id },
      h('td', {}, new Date(r.createdAt).toLocaleString()),
      h('td', {}, r.objective ?? '–'),
      h('td', {}, r.preset ?? '–'),
      h('td', {}, r.status),
      h('td', {}, r.lastEpoch !== undefined ? r.lastEpoch.toFixed(1) : '–'),
      h('td', {}, pct(r.bestInfillExact)),
      cells,
    );
  });
  el.replaceChildren(
    h('table', { class: 'grid', id: 'runs-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'started'), h('th', {}, 'objective'), h('th', {}, 'preset'), h('th', {}, 'status'), h('th', {}, 'epochs'), h('th', {}, 'best infill exact'), h('th', {}, ''))),
      h('tbody', {}, ...rows)),
  );
}

// ---------------------------------------------------------------------------------------------
// Rendering and messages

let renderQueued = false;
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render(): void {
  renderHeader();
  renderMessage();
  renderIndexing();
  renderCharts();
  renderSamples();
  renderCorpus();
  renderRuns();
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
}

function post(message: WebviewMessage): void {
  vscode.postMessage(message);
}

let persistTimer: number | undefined;
function persist(): void {
  if (persistTimer !== undefined) return;
  persistTimer = window.setTimeout(() => {
    persistTimer = undefined;
    vscode.setState({ state });
  }, 500);
}

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const msg = event.data;
  if (!msg || typeof msg !== 'object') return;
  switch (msg.type) {
    case 'state':
      state = msg.state;
      lastEventAt = Date.now();
      break;
    case 'events': {
      const run = state[msg.target];
      if (run) applyEvents(run, msg.events);
      lastEventAt = Date.now();
      break;
    }
    case 'patch':
      state = { ...state, ...msg.patch };
      break;
    default:
      return;
  }
  persist();
  scheduleRender();
});

// The ETA counts down between events (only its text changes: the buttons stay clickable).
setInterval(() => {
  const el = document.getElementById('eta-value');
  if (state.training && state.current && el) el.textContent = etaText(state.current);
}, 1000);

render();
post({ type: 'ready' });
