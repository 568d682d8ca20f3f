// Reduces trainer events into a RunView: the one reducer both the host (which owns the state and
// replays it) and the webview (which applies streamed events) use, so both always agree.
// Pure functions, no DOM, no Node.
import type { BestCheckpoint, Point, RunView, TrainerEvent } from './protocol';

/** Step points kept per run before halving the resolution (eval points are few and all kept). */
export const MAX_STEP_POINTS = 2000;

export function emptyRun(runId: string, phase: RunView['phase'] = 'starting'): RunView {
  return { runId, phase, samples: [], series: { trainLoss: [], valLoss: [], infillExact: [], tokensPerS: [] }, stride: 1, strideCount: 0 };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function halve(points: Point[]): Point[] {
  return points.filter((_, i) => i % 2 === 0);
}

/** Applies one event in place and returns the run (for chaining). Unknown events are ignored. */
export function applyEvent(run: RunView, e: TrainerEvent): RunView {
  const time = num(e.time);
  if (time) run.lastTime = time;
  switch (e.type) {
    case 'start':
      run.phase = 'training';
      run.device = e.device ?? run.device;
      run.objective = e.objective ?? run.objective;
      run.preset = e.preset ?? run.preset;
      run.params = num(e.params) ?? run.params;
      run.tokensPerEpoch = num(e.tokens_per_epoch) ?? run.tokensPerEpoch;
      run.plannedEpochs = num(e.planned_epochs) ?? run.plannedEpochs;
      run.plannedSteps = num(e.planned_steps) ?? run.plannedSteps;
      run.plannedMinutes = num(e.planned_minutes) ?? run.plannedMinutes;
      run.message = undefined;
      break;
    case 'step': {
      if (run.phase === 'starting') run.phase = 'training';
      run.step = e.step;
      run.epoch = e.epoch;
      run.loss = e.loss;
      run.tokensPerS = num(e.tokens_per_s) ?? run.tokensPerS;
      run.etaS = num(e.eta_s) ?? run.etaS;
      // Keep 1 in `stride` step points; when the series gets long, drop every other point and
      // double the stride, so a 100k-step run stays a few thousand points.
      if (run.strideCount % run.stride === 0) {
        run.series.trainLoss.push({ x: e.epoch, y: e.loss });
        if (num(e.tokens_per_s) !== undefined) run.series.tokensPerS.push({ x: e.epoch, y: e.tokens_per_s! });
        if (run.series.trainLoss.length > MAX_STEP_POINTS) {
          run.series.trainLoss = halve(run.series.trainLoss);
          run.series.tokensPerS = halve(run.series.tokensPerS);
          run.stride *= 2;
          run.strideCount = 0;
        }
      }
      run.strideCount++;
      break;
    }
    case 'eval':
      run.step = Math.max(run.step ?? 0, e.step);
      run.lastEval = { step: e.step, epoch: e.epoch };
      if (num(e.val_loss) !== undefined) {
        run.valLoss = e.val_loss;
        run.series.valLoss.push({ x: e.epoch, y: e.val_loss! });
      }
      if (num(e.infill_exact) !== undefined) {
        run.infillExact = e.infill_exact;
        run.series.infillExact.push({ x: e.epoch, y: e.infill_exact! });
      }
      run.infillEditSim = num(e.infill_edit_sim) ?? run.infillEditSim;
      if (e.by_kind && typeof e.by_kind === 'object') run.byKind = e.by_kind as RunView['byKind'];
      if (Array.isArray(e.samples)) run.samples = e.samples.filter((s) => s && typeof s === 'object').slice(0, 20);
      break;
    case 'checkpoint':
      if (e.best) run.best = bestFrom(run, e.step, typeof e.reason === 'string' ? e.reason : undefined, num(e.infill_exact));
      break;
    case 'export':
      run.phase = 'exporting';
      run.exportPath = e.path;
      break;
    case 'done':
      run.phase = e.reason === 'cancelled' ? 'cancelled' : 'done';
      run.etaS = 0;
      run.message = `Finished: ${e.reason}${num(e.best_step) !== undefined ? `, best step ${e.best_step}` : ''}`;
      if (num(e.best_step) !== undefined && (!run.best || run.best.step !== e.best_step)) run.best = bestFrom(run, e.best_step!, undefined, undefined);
      break;
    case 'error':
      run.phase = 'failed';
      run.message = e.message;
      run.hint = typeof e.hint === 'string' ? e.hint : undefined;
      break;
    default:
      break;
  }
  return run;
}

/** The best checkpoint's explanation: DESIGN.md picks by held-out infill accuracy, not val loss. */
function bestFrom(run: RunView, step: number, reason: string | undefined, exact: number | undefined): BestCheckpoint {
  const infillExact = exact ?? run.infillExact;
  const why = reason ?? (infillExact !== undefined ? `highest held-out infill exact match so far (${(infillExact * 100).toFixed(1)}%)` : 'chosen by the trainer');
  // The trainer checkpoints right after the evaluation that chose it: take that evaluation's epoch.
  const epoch = run.lastEval?.step === step ? run.lastEval.epoch : run.epoch;
  return { step, epoch, infillExact, why };
}

export function applyEvents(run: RunView, events: TrainerEvent[]): RunView {
  for (const e of events) applyEvent(run, e);
  return run;
}

/** Builds a run's view from its whole history (replay of metrics.jsonl). */
export function replayRun(runId: string, events: TrainerEvent[], phase?: RunView['phase']): RunView {
  const run = applyEvents(emptyRun(runId, 'replay'), events);
  const finished = run.phase === 'done' || run.phase === 'cancelled' || run.phase === 'failed';
  // A history without `done` or `error` is either still being written (live) or was cut short.
  if (!finished) run.phase = phase ?? 'crashed';
  return run;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m) return `${m} min ${String(sec).padStart(2, '0')} s`;
  return `${sec} s`;
}

export function formatCount(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + ' B';
  if (a >= 1e6) return (n / 1e6).toFixed(1) + ' M';
  if (a >= 1e3) return (n / 1e3).toFixed(1) + ' k';
  return String(Math.round(n));
}
