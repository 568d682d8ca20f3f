// `repo-diffusion train RUN` and `repo-diffusion doctor`: find a Python that can import torch,
// launch the bundled trainer the way the extension does, and draw its progress events as a bar.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildTrainArgs, launchTrainer, type TrainerOutcome } from '../../training/launcher';
import type { TrainerEvent } from '../../training/protocol';
import { describeDevice } from '../../training/pythonFinder';
import { runLayout } from '../../common/runLayout';
import { choiceOption, DEVICES, intOption, numberOption, parse, PRESETS, requireRun } from '../args';
import { UsageError } from '../errors';
import { ProgressBar } from '../progressBar';
import { findCliPython } from '../trainerRoot';

export async function runDoctor(argv: string[]): Promise<void> {
  const { values } = parse(argv, { python: { type: 'string' } }, 0);
  const { found } = await findCliPython(values.python);
  process.stdout.write(JSON.stringify({ python: found.python, device: describeDevice(found.doctor), doctor: found.doctor }) + '\n');
}

export async function runTrain(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      objective: { type: 'string' },
      preset: { type: 'string' },
      minutes: { type: 'string' },
      epochs: { type: 'string' },
      tokens: { type: 'string' },
      device: { type: 'string' },
      python: { type: 'string' },
      seed: { type: 'string' },
      'eval-every': { type: 'string' },
      resume: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    1,
  );
  const runDir = resolve(requireRun(positionals));
  const budgets = ['minutes', 'epochs', 'tokens'].filter((k) => values[k as 'minutes'] !== undefined);
  if (budgets.length > 1) throw new UsageError(`give one budget, not ${budgets.map((b) => '--' + b).join(' and ')}`);
  if (!existsSync(runLayout(runDir).trainBin)) {
    throw new Error(`${runDir} has no corpus: run 'repo-diffusion index DIR --out ${runDir}' first`);
  }
  const args = buildTrainArgs({
    objective: choiceOption(values.objective, 'objective', ['diffusion', 'autoregressive'] as const),
    preset: choiceOption(values.preset, 'preset', PRESETS),
    minutes: numberOption(values.minutes, 'minutes'),
    epochs: numberOption(values.epochs, 'epochs'),
    tokens: intOption(values.tokens, 'tokens', 1),
    device: choiceOption(values.device, 'device', DEVICES),
    seed: intOption(values.seed, 'seed'),
    resume: values.resume,
    extra: values['eval-every'] ? ['--eval-every', String(intOption(values['eval-every'], 'eval-every', 1))] : undefined,
  });

  const { found, trainerRoot } = await findCliPython(values.python);
  process.stderr.write(`python: ${found.python} (torch ${found.doctor.torch}); device: ${describeDevice(found.doctor)}\n`);

  const bar = new ProgressBar();
  const show = new TrainingDisplay(bar, Boolean(values.json));
  const trainer = await launchTrainer({
    python: found.python,
    trainerRoot,
    runDir,
    args,
    onEvent: (e) => show.event(e),
    onLog: (line) => show.log(line),
  });
  const cancel = () => void trainer.cancel();
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  let outcome: TrainerOutcome;
  try {
    outcome = await trainer.outcome;
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
    bar.done();
  }
  if (outcome.kind !== 'done' && outcome.kind !== 'cancelled') {
    const hint = outcome.error?.hint ? ` (${outcome.error.hint})` : '';
    throw new Error(`${outcome.message}${hint}`);
  }
  process.stderr.write(`${outcome.message}\n`);
}

/** Turns trainer events into a progress bar on a TTY, or plain lines elsewhere. */
class TrainingDisplay {
  private plannedSteps = 0;
  private lastPlainLine = 0;

  constructor(
    private readonly bar: ProgressBar,
    private readonly json: boolean,
  ) {}

  event(e: TrainerEvent): void {
    if (this.json) {
      process.stdout.write(JSON.stringify(e) + '\n');
      return;
    }
    switch (e.type) {
      case 'start':
        this.plannedSteps = e.planned_steps ?? 0;
        this.print(`training ${e.preset ?? ''} ${e.objective ?? ''} on ${e.device ?? '?'}: ${fmtInt(e.params)} params, ${fmtInt(e.tokens_per_epoch)} tokens/epoch, ${e.planned_steps ?? '?'} steps planned`);
        break;
      case 'step': {
        const label = `step ${e.step}${this.plannedSteps ? '/' + this.plannedSteps : ''} epoch ${e.epoch.toFixed(2)} loss ${e.loss.toFixed(3)} ${fmtInt(e.tokens_per_s)} tok/s eta ${fmtSeconds(e.eta_s)}`;
        if (this.bar.enabled) this.bar.update(this.plannedSteps ? e.step / this.plannedSteps : undefined, label);
        else if (Date.now() - this.lastPlainLine > 10_000) {
          this.lastPlainLine = Date.now();
          process.stderr.write(label + '\n');
        }
        break;
      }
      case 'eval':
        this.print(`eval @ step ${e.step} (epoch ${e.epoch.toFixed(2)}): val loss ${e.val_loss?.toFixed(3) ?? '-'}, infill exact ${pct(e.infill_exact)}, edit sim ${pct(e.infill_edit_sim)}`);
        break;
      case 'checkpoint':
        if (e.best) this.print(`best checkpoint: step ${e.step}${e.reason ? ` (${e.reason})` : ''}`);
        break;
      case 'export':
        this.print(`exported ${e.path}`);
        break;
      case 'error':
        this.print(`error: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
        break;
      default:
        break;
    }
  }

  log(line: string): void {
    if (process.env.REPO_DIFFUSION_VERBOSE) this.print(line);
  }

  private print(line: string): void {
    this.bar.done();
    process.stderr.write(line + '\n');
  }
}

function fmtInt(n: number | undefined): string {
  return n === undefined ? '?' : Math.round(n).toLocaleString('en-US');
}
function fmtSeconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '?';
  return s >= 90 ? `${Math.round(s / 60)}m` : `${Math.round(s)}s`;
}
function pct(x: number | undefined): string {
  return x === undefined ? '-' : `${(x * 100).toFixed(1)}%`;
}
