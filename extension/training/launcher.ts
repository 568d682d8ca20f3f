// Starts and watches one trainer process: `python -m trainer train RUN ...args`, spawned with an
// argument array (never a shell string) in the folder that holds trainer/. stdout goes through the
// LineParser into events, stderr lines go to a log callback. The launcher writes one file, the pid
// file in the run folder (removed when the process ends); the trainer writes everything else.
//
// It tells apart how a run ended:
//   done      a `done` event arrived and the process exited 0
//   cancelled cancel() was called and the trainer said `done` (reason cancelled) or exited 0
//   crashed   the process exited without `done` (non-zero code, or zero with no done)
//   killed    the process died from a signal nobody here sent, or cancel() had to SIGKILL it
//   hung      no event for `hangTimeoutMs`: the launcher stopped it
//   failed    the trainer reported an `error` event and exited
// It knows nothing of editors or charts.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runLayout } from '../common/runLayout';
import { LineParser, type DoneEvent, type ErrorEvent, type GarbageLine, type TrainerEvent } from './protocol';

/** The pid file's name in the run folder (extension/common/runLayout.ts `pidFile`). */
export const PID_FILE = basename(runLayout('.').pidFile);

export interface PidFileContent {
  pid: number;
  /** Unix milliseconds. */
  startedAt: number;
  python: string;
  args: string[];
  /** Process group id when the trainer was started as a group leader (POSIX). */
  pgid?: number;
}

export type OutcomeKind = 'done' | 'cancelled' | 'crashed' | 'killed' | 'hung' | 'failed';

export interface TrainerOutcome {
  kind: OutcomeKind;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  done?: DoneEvent;
  error?: ErrorEvent;
  lastEvent?: TrainerEvent;
  /** The last stderr lines, to explain a crash. */
  stderrTail: string[];
  /** A one-line human summary. */
  message: string;
}

export interface LaunchOptions {
  python: string;
  /** Folder that holds trainer/ (the extension root); the process's cwd. */
  trainerRoot: string;
  runDir: string;
  /** Extra arguments after `train RUN`, e.g. ['--preset', 'tiny', '--minutes', '5']. */
  args?: string[];
  /** Replace the whole command after the interpreter (tests use a fake trainer script). */
  argvOverride?: string[];
  env?: NodeJS.ProcessEnv;
  onEvent?(event: TrainerEvent): void;
  onLog?(line: string): void;
  onGarbage?(garbage: GarbageLine): void;
  /**
   * No event for this long means the trainer hangs; it is then stopped. 0 disables. Default 30 min:
   * a first evaluation or an export on a CPU can take minutes without a step event.
   */
  hangTimeoutMs?: number;
  /** After SIGTERM, wait this long for a clean exit before SIGKILL. Default 30 s (a checkpoint is written). */
  killGraceMs?: number;
}

export interface TrainerProcess {
  readonly pid: number;
  readonly runDir: string;
  /** Resolves once the process has exited and its output was read. Never rejects. */
  readonly outcome: Promise<TrainerOutcome>;
  readonly running: boolean;
  /** SIGTERM (the trainer checkpoints and says done/cancelled), then SIGKILL after the grace period. */
  cancel(): Promise<TrainerOutcome>;
}

/** Builds the trainer's argument list from a settings object. */
export interface TrainArgs {
  objective?: 'diffusion' | 'autoregressive' | string;
  preset?: string;
  minutes?: number;
  epochs?: number;
  tokens?: number;
  device?: string;
  resume?: boolean;
  seed?: number;
  extra?: string[];
}

export function buildTrainArgs(a: TrainArgs): string[] {
  const out: string[] = [];
  if (a.objective) out.push('--objective', a.objective);
  if (a.preset) out.push('--preset', a.preset);
  // DESIGN.md: one budget flag, minutes | epochs | tokens.
  if (a.epochs !== undefined) out.push('--epochs', String(a.epochs));
  else if (a.tokens !== undefined) out.push('--tokens', String(a.tokens));
  else if (a.minutes !== undefined) out.push('--minutes', String(a.minutes));
  if (a.device) out.push('--device', a.device);
  if (a.seed !== undefined) out.push('--seed', String(a.seed));
  if (a.resume) out.push('--resume');
  if (a.extra) out.push(...a.extra);
  return out;
}

const STDERR_TAIL = 20;

function killTree(child: ChildProcess, signal: NodeJS.Signals, group: boolean): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    if (group && process.platform !== 'win32') process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Spawns the trainer. Throws only when the process could not be started at all (interpreter
 * missing, run folder not writable); every later problem ends up in `outcome`.
 */
export async function launchTrainer(o: LaunchOptions): Promise<TrainerProcess> {
  mkdirSync(o.runDir, { recursive: true });
  const argv = o.argvOverride ?? ['-m', 'trainer', 'train', o.runDir, ...(o.args ?? [])];
  // A process group of its own (POSIX) so that cancel reaches data-loader workers too.
  const group = process.platform !== 'win32';
  const child = spawn(o.python, argv, {
    cwd: o.trainerRoot,
    env: { ...(o.env ?? process.env), PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
    windowsHide: true,
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      child.off('spawn', onSpawn);
      reject(new Error(`Could not start the trainer with ${o.python}: ${err.message}`));
    };
    const onSpawn = () => {
      child.off('error', onError);
      resolve();
    };
    child.once('error', onError);
    child.once('spawn', onSpawn);
  });
  const pid = child.pid!;
  const pidFile = join(o.runDir, PID_FILE);
  const pidContent: PidFileContent = { pid, startedAt: Date.now(), python: o.python, args: argv, ...(group ? { pgid: pid } : {}) };
  try {
    writeFileSync(pidFile, JSON.stringify(pidContent) + '\n');
  } catch (err) {
    // Without its pid file the trainer could not be found again after a reload, nor cancelled
    // then, and the caller gets no handle either: stop it rather than leave it running untracked.
    killTree(child, 'SIGKILL', group);
    throw new Error(`Could not write the trainer's pid file ${pidFile} (${(err as Error).message}); the trainer was stopped.`);
  }

  const stderrTail: string[] = [];
  let lastEvent: TrainerEvent | undefined;
  let done: DoneEvent | undefined;
  let error: ErrorEvent | undefined;
  let cancelRequested = false;
  let forcedKill = false;
  let hung = false;
  let running = true;
  let killTimer: NodeJS.Timeout | undefined;
  let hangTimer: NodeJS.Timeout | undefined;
  const hangMs = o.hangTimeoutMs ?? 30 * 60_000;
  const graceMs = o.killGraceMs ?? 30_000;

  const armHang = () => {
    if (!hangMs || !running) return;
    if (hangTimer) clearTimeout(hangTimer);
    hangTimer = setTimeout(() => {
      if (!running) return;
      hung = true;
      o.onLog?.(`[launcher] no progress event for ${Math.round(hangMs / 1000)} s: stopping the trainer`);
      stop();
    }, hangMs);
  };

  const stop = () => {
    killTree(child, 'SIGTERM', group);
    if (!killTimer) {
      killTimer = setTimeout(() => {
        if (!running) return;
        forcedKill = true;
        o.onLog?.(`[launcher] trainer did not exit ${Math.round(graceMs / 1000)} s after SIGTERM: SIGKILL`);
        killTree(child, 'SIGKILL', group);
      }, graceMs);
    }
  };

  const parser = new LineParser({
    onEvent: (event) => {
      lastEvent = event;
      if (event.type === 'done') done = event;
      if (event.type === 'error') error = event;
      armHang();
      o.onEvent?.(event);
    },
    onGarbage: (g) => o.onGarbage?.(g),
  });
  child.stdout!.on('data', (chunk: Buffer) => parser.push(chunk));

  let errBuf = '';
  const emitErr = (line: string) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
    o.onLog?.(line);
  };
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    errBuf += chunk;
    let nl: number;
    while ((nl = errBuf.indexOf('\n')) >= 0) {
      emitErr(errBuf.slice(0, nl).replace(/\r$/, ''));
      errBuf = errBuf.slice(nl + 1);
    }
  });
  armHang();

  const outcome = new Promise<TrainerOutcome>((resolve) => {
    child.on('close', (code, signal) => {
      running = false;
      if (hangTimer) clearTimeout(hangTimer);
      if (killTimer) clearTimeout(killTimer);
      parser.end();
      if (errBuf) emitErr(errBuf);
      errBuf = '';
      removePidFileIfOurs(pidFile, pid);
      resolve(classify({ code, signal, done, error, lastEvent, stderrTail: [...stderrTail], cancelRequested, forcedKill, hung, hangMs }));
    });
  });

  return {
    pid,
    runDir: o.runDir,
    outcome,
    get running() {
      return running;
    },
    cancel() {
      if (running) {
        cancelRequested = true;
        stop();
      }
      return outcome;
    },
  };
}

function removePidFileIfOurs(pidFile: string, pid: number): void {
  try {
    const content = JSON.parse(readFileSync(pidFile, 'utf8')) as PidFileContent;
    if (content.pid === pid) rmSync(pidFile, { force: true });
  } catch {
    /* gone or unreadable: nothing to clean */
  }
}

interface ClassifyInput {
  code: number | null;
  signal: NodeJS.Signals | null;
  done?: DoneEvent;
  error?: ErrorEvent;
  lastEvent?: TrainerEvent;
  stderrTail: string[];
  cancelRequested: boolean;
  forcedKill: boolean;
  hung: boolean;
  hangMs: number;
}

function classify(i: ClassifyInput): TrainerOutcome {
  const base = { exitCode: i.code, signal: i.signal, done: i.done, error: i.error, lastEvent: i.lastEvent, stderrTail: i.stderrTail };
  const lastLog = i.stderrTail.filter((l) => l.trim()).slice(-1)[0];
  if (i.hung) {
    return { ...base, kind: 'hung', message: `The trainer sent no progress for ${Math.round(i.hangMs / 1000)} s and was stopped.` };
  }
  if (i.cancelRequested) {
    if (i.forcedKill) return { ...base, kind: 'killed', message: 'The trainer did not stop after the grace period and was killed; the last checkpoint may be older.' };
    return { ...base, kind: 'cancelled', message: i.done?.best_step != null ? `Training cancelled; the best checkpoint is step ${i.done.best_step}.` : 'Training cancelled.' };
  }
  if (i.error) {
    return { ...base, kind: 'failed', message: i.error.hint ? `${i.error.message} — ${i.error.hint}` : i.error.message };
  }
  if (i.signal) {
    return { ...base, kind: 'killed', message: `The trainer was killed by ${i.signal}.` };
  }
  if (i.done && i.code === 0) {
    return { ...base, kind: 'done', message: `Training finished (${i.done.reason}).` };
  }
  const why = i.code === 0 ? 'exited without saying it was done' : `exited with code ${i.code}`;
  return { ...base, kind: 'crashed', message: `The trainer ${why}${lastLog ? `: ${lastLog}` : ''}.` };
}

// ---------------------------------------------------------------------------------------------
// Environment setup: a virtual environment with the trainer's requirements.

export interface VenvSetupOptions {
  /** An interpreter to create the venv with (any Python 3.9+). */
  basePython: string;
  venvDir: string;
  /** trainer/requirements.txt */
  requirementsFile: string;
  onOutput?(line: string): void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Extra pip arguments, e.g. ['--index-url', URL]. */
  pipArgs?: string[];
}

export class VenvSetupError extends Error {
  constructor(message: string, readonly step: 'venv' | 'pip' | 'cancelled', readonly offline: boolean, readonly output: string[]) {
    super(message);
    this.name = 'VenvSetupError';
  }
}

export function venvPython(venvDir: string, platform = process.platform): string {
  return platform === 'win32' ? join(venvDir, 'Scripts', 'python.exe') : join(venvDir, 'bin', 'python');
}

// pip's and the OS's ways of saying "no network" (urllib3/requests messages, DNS failures).
const OFFLINE = [
  /Temporary failure in name resolution/i,
  /Name or service not known/i,
  /nodename nor servname/i,
  /getaddrinfo failed/i,
  /NewConnectionError/i,
  /Network is unreachable/i,
  /Failed to establish a new connection/i,
  /ConnectTimeout|ConnectTimeoutError|Read timed out/i,
  /ProxyError/i,
  /No matching distribution found/i,
  /Could not find a version that satisfies/i,
  /Connection refused/i,
];

export function looksOffline(lines: string[]): boolean {
  return lines.some((l) => OFFLINE.some((re) => re.test(l)));
}

function runStreaming(exe: string, args: string[], o: VenvSetupOptions, collected: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, { env: { ...(o.env ?? process.env), PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const onAbort = () => child.kill('SIGTERM');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const bufs = { out: '', err: '' };
    const feed = (key: 'out' | 'err') => (chunk: string) => {
      bufs[key] += chunk;
      let nl: number;
      while ((nl = bufs[key].search(/\r?\n|\r/)) >= 0) {
        const line = bufs[key].slice(0, nl);
        bufs[key] = bufs[key].slice(nl + (bufs[key][nl] === '\r' && bufs[key][nl + 1] === '\n' ? 2 : 1));
        if (line.trim()) {
          collected.push(line);
          o.onOutput?.(line);
        }
      }
    };
    child.stdout.setEncoding('utf8').on('data', feed('out'));
    child.stderr.setEncoding('utf8').on('data', feed('err'));
    child.on('error', (err) => {
      o.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code) => {
      o.signal?.removeEventListener('abort', onAbort);
      for (const rest of [bufs.out, bufs.err]) if (rest.trim()) {
        collected.push(rest);
        o.onOutput?.(rest);
      }
      resolve(code);
    });
  });
}

/**
 * Creates `venvDir` with `basePython -m venv` and installs the trainer's requirements into it,
 * streaming every output line. Returns the venv's interpreter. Throws VenvSetupError with a message
 * that says what to do (offline, venv module missing, pip failure).
 */
export async function setupVenv(o: VenvSetupOptions): Promise<string> {
  const output: string[] = [];
  await fs.access(o.requirementsFile).catch(() => {
    throw new VenvSetupError(`The trainer's requirements file is missing: ${o.requirementsFile}. Reinstall the extension.`, 'pip', false, output);
  });
  mkdirSync(o.venvDir, { recursive: true });
  const py = venvPython(o.venvDir);

  o.onOutput?.(`$ ${o.basePython} -m venv ${o.venvDir}`);
  let code: number | null;
  try {
    code = await runStreaming(o.basePython, ['-m', 'venv', o.venvDir], o, output);
  } catch (err) {
    throw new VenvSetupError(`Could not run ${o.basePython}: ${(err as Error).message}. Install Python 3 or set repoDiffusion.pythonPath.`, 'venv', false, output);
  }
  if (o.signal?.aborted) throw new VenvSetupError('Environment setup was cancelled.', 'cancelled', false, output);
  if (code !== 0) {
    const ensurepip = output.some((l) => /ensurepip|venv.*not available|No module named venv/i.test(l));
    const hint = ensurepip
      ? ' The venv module is missing: on Debian/Ubuntu run `sudo apt install python3-venv`, then try again.'
      : '';
    throw new VenvSetupError(`Creating the virtual environment failed (exit ${code}).${hint}\n${output.slice(-5).join('\n')}`, 'venv', false, output);
  }

  const pipArgs = ['-m', 'pip', 'install', '--retries', '2', '--timeout', '15', '-r', o.requirementsFile, ...(o.pipArgs ?? [])];
  o.onOutput?.(`$ ${py} ${pipArgs.join(' ')}`);
  try {
    code = await runStreaming(py, pipArgs, o, output);
  } catch (err) {
    throw new VenvSetupError(`Could not run the new environment's Python (${py}): ${(err as Error).message}`, 'pip', false, output);
  }
  if (o.signal?.aborted) throw new VenvSetupError('Environment setup was cancelled.', 'cancelled', false, output);
  if (code !== 0) {
    if (looksOffline(output)) {
      throw new VenvSetupError(
        [
          'Installing the trainer requirements failed: pip could not download packages (no network, or a proxy/index is needed).',
          'What to do: connect to the internet and run "Set Up Training Environment" again;',
          `or behind a proxy/mirror, set PIP_INDEX_URL / HTTPS_PROXY; or offline, install from wheels: ${py} -m pip install --no-index --find-links DIR -r ${o.requirementsFile};`,
          'or point repoDiffusion.pythonPath at a Python that already has torch (e.g. Debian: apt install python3-torch python3-numpy, then /usr/bin/python3).',
        ].join('\n'),
        'pip',
        true,
        output,
      );
    }
    throw new VenvSetupError(`Installing the trainer requirements failed (pip exit ${code}):\n${output.slice(-8).join('\n')}`, 'pip', false, output);
  }
  return py;
}
