// What is known about runs from their folders alone: replay a run's metrics.jsonl (tolerating a
// torn last line, the trainer may be writing it right now), tell whether a trainer is still alive
// from the pid file the launcher wrote, follow a live run's metrics by polling, and list the runs in
// a storage folder. Reads only, except that it deletes a pid file whose process is gone or proven to
// be another program; knows nothing of editors or processes it did not find on disk.
import { promises as fs, existsSync, readFileSync, rmSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LineParser, parseEvents, type GarbageLine, type TrainerEvent, type StartEvent, type EvalEvent, type DoneEvent } from './protocol';
import { PID_FILE, type PidFileContent } from './launcher';
import { processAlive } from '../common/processAlive';
import { runProcess } from '../common/runProcess';

export interface MetricsReplay {
  events: TrainerEvent[];
  garbage: GarbageLine[];
  /** The file ended in a partial line (a write in progress or a crash mid-write); it was skipped. */
  tornTail: boolean;
  /** Bytes consumed up to the last complete line: where a follower should continue. */
  offset: number;
}

/** Reads a whole metrics.jsonl. A missing file is an empty history. */
export async function readMetrics(path: string): Promise<MetricsReplay> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], garbage: [], tornTail: false, offset: 0 };
    throw err;
  }
  const lastNl = buf.lastIndexOf(0x0a);
  const complete = buf.subarray(0, lastNl + 1).toString('utf8');
  const rest = buf.subarray(lastNl + 1).toString('utf8');
  const { events, garbage } = parseEvents(complete);
  let tornTail = false;
  let offset = lastNl + 1;
  if (rest.trim()) {
    // A last line without newline: a whole event (the writer forgot the newline) counts, a torn
    // one is left for the follower to complete.
    const parsed = parseEvents(rest);
    if (parsed.garbage.length === 0 && parsed.events.length === 1) {
      events.push(parsed.events[0]);
      offset = buf.length;
    } else tornTail = true;
  }
  return { events, garbage, tornTail, offset };
}

export interface TrainerLiveness {
  alive: boolean;
  pid?: number;
  content?: PidFileContent;
  /** Why it counts as not alive (no pid file, process gone, pid reused by something else, unverifiable). */
  reason?: string;
  /**
   * The pid exists but nothing here can prove it is this run's trainer (Windows, or `ps` failed).
   * It is treated as not alive, and is never signalled, but its pid file is kept.
   */
  unverified?: boolean;
}

export type TrainerCheck = 'ours' | 'other' | 'unknown';

// How far the process's start time may lie from the pid file's startedAt. The launcher writes
// startedAt right after the spawn, so the process started a little before it (ps shows whole
// seconds); a reused pid belongs to a process started after the trainer ended, i.e. later.
const START_BEFORE_MS = 30_000;
const START_AFTER_MS = 2_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `ps -o lstart -o command` for one pid, with TZ=UTC and the C locale so the date parses the same everywhere. */
async function psStartAndCommand(pid: number): Promise<{ start: number; command: string } | 'gone' | undefined> {
  const r = await runProcess('ps', ['-ww', '-o', 'lstart=', '-o', 'command=', '-p', String(pid)], undefined, 5_000,
    { ...process.env, LC_ALL: 'C', LANG: 'C', TZ: 'UTC' });
  if (r.spawnError || r.timedOut) return undefined;
  const out = r.stdout.trim();
  // ps exits 1 with no output when the pid does not exist.
  if (!out) return r.code === 1 ? 'gone' : undefined;
  const m = /^\s*\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})\s+(.*)$/s.exec(out);
  const month = m ? MONTHS.indexOf(m[1]) : -1;
  if (!m || month < 0) return undefined;
  return { start: Date.UTC(+m[6], month, +m[2], +m[3], +m[4], +m[5]), command: m[7] };
}

/**
 * Whether `pid` is the trainer the pid file describes for `runDir` (pids are reused after the
 * trainer ends, and a stale pid file survives a window reload). Only 'ours' may be signalled.
 * Linux: the run folder must be in /proc/PID/cmdline. Other POSIX systems: the run folder must be
 * in ps's command and the process must have started when the pid file says. Windows: Node has no
 * way to read another process's command line or start time without a shell, so 'unknown'.
 */
export async function checkTrainerProcess(pid: number, content: PidFileContent, runDir: string, platform: NodeJS.Platform = process.platform): Promise<TrainerCheck> {
  // The run folder as the launcher spelled it in the trainer's arguments; a pid file that does not
  // name this folder (copied from elsewhere) describes some other run's trainer.
  const args = Array.isArray(content.args) ? content.args : [];
  const runArg = args.find((a) => typeof a === 'string' && a.length > 0 && (a === runDir || resolve(a) === resolve(runDir)));
  if (!runArg) return 'other';
  if (platform === 'win32') return 'unknown';
  if (platform === 'linux') {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return cmd.includes(runArg) ? 'ours' : 'other';
    } catch {
      return processAlive(pid) ? 'unknown' : 'other';
    }
  }
  const ps = await psStartAndCommand(pid);
  if (ps === 'gone') return 'other';
  if (!ps) return 'unknown';
  if (!ps.command.includes(runArg)) return 'other';
  const startedAt = typeof content.startedAt === 'number' ? content.startedAt : NaN;
  return ps.start >= startedAt - START_BEFORE_MS && ps.start <= startedAt + START_AFTER_MS ? 'ours' : 'other';
}

/** Removes a stale pid file, unless a new trainer has written its own meanwhile. */
function removeStalePidFile(pidPath: string, stale: PidFileContent): void {
  try {
    const now = JSON.parse(readFileSync(pidPath, 'utf8')) as PidFileContent;
    if (now.pid === stale.pid && now.startedAt === stale.startedAt) rmSync(pidPath, { force: true });
  } catch {
    /* gone or unreadable */
  }
}

/**
 * Whether the run's trainer still runs, from the pid file the launcher wrote. A pid file whose
 * process is gone or is proven to be another program is deleted, so that a later pid reuse cannot
 * make the run look alive again. Never rejects.
 */
export async function trainerLiveness(runDir: string, platform: NodeJS.Platform = process.platform): Promise<TrainerLiveness> {
  const pidPath = join(runDir, PID_FILE);
  let content: PidFileContent;
  try {
    content = JSON.parse(readFileSync(pidPath, 'utf8')) as PidFileContent;
  } catch {
    return { alive: false, reason: 'no pid file' };
  }
  if (!content || !Number.isInteger(content.pid) || content.pid <= 0) return { alive: false, reason: 'bad pid file' };
  const pid = content.pid;
  if (!processAlive(pid)) {
    removeStalePidFile(pidPath, content);
    return { alive: false, pid, content, reason: 'process gone' };
  }
  const check = await checkTrainerProcess(pid, content, runDir, platform).catch((): TrainerCheck => 'unknown');
  if (check === 'other') {
    removeStalePidFile(pidPath, content);
    return { alive: false, pid, content, reason: 'pid reused by another program' };
  }
  if (check === 'unknown') return { alive: false, pid, content, reason: `cannot tell whether process ${pid} is the trainer`, unverified: true };
  return { alive: true, pid, content };
}

/**
 * Asks a trainer found by its pid file (one this process did not start, e.g. before a window
 * reload) to stop: SIGTERM to its group, SIGKILL after `graceMs` if it is still there. Only a
 * process proven to be this run's trainer is signalled, and it is checked again before SIGKILL
 * (it may have ended and its pid been reused meanwhile). Resolves with whether it is gone.
 */
export async function stopTrainerByPid(runDir: string, graceMs = 30_000, pollMs = 200): Promise<boolean> {
  const live = await trainerLiveness(runDir);
  if (!live.alive || !live.content) return !live.unverified;
  const { pid, pgid } = live.content;
  const send = (sig: NodeJS.Signals) => {
    try {
      // The group only when the launcher made the trainer its leader (pgid === pid).
      if (pgid === pid && process.platform !== 'win32') process.kill(-pgid, sig);
      else process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  send('SIGTERM');
  const deadline = Date.now() + graceMs;
  for (;;) {
    const now = await trainerLiveness(runDir);
    if (!now.alive) return !now.unverified;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  send('SIGKILL');
  await new Promise((r) => setTimeout(r, pollMs));
  const end = await trainerLiveness(runDir);
  return !end.alive && !end.unverified;
}

/**
 * Follows a metrics.jsonl from `offset` by polling (fs.watch is unreliable on network folders and
 * in containers). Calls onEvent for each new complete line. Returns a function that stops;
 * `stop(true)` reads what was appended since the last poll first (the trainer's last lines).
 */
export function followMetrics(
  path: string,
  offset: number,
  handlers: { onEvent(e: TrainerEvent): void; onGarbage?(g: GarbageLine): void },
  intervalMs = 500,
): (drain?: boolean) => void {
  let pos = offset;
  let stopped = false;
  const parser = new LineParser(handlers);
  const poll = () => {
    if (stopped) return;
    try {
      const size = statSync(path).size;
      if (size < pos) pos = 0; // truncated or replaced: start over
      if (size > pos) {
        const fd = openSync(path, 'r');
        try {
          const buf = Buffer.alloc(size - pos);
          const n = readSync(fd, buf, 0, buf.length, pos);
          pos += n;
          parser.push(buf.subarray(0, n));
        } finally {
          closeSync(fd);
        }
      }
    } catch {
      /* not there yet */
    }
  };
  const timer = setInterval(poll, intervalMs);
  poll();
  return (drain = false) => {
    if (drain && !stopped) {
      poll();
      parser.end();
    }
    stopped = true;
    clearInterval(timer);
  };
}

export type RunStatus = 'running' | 'done' | 'cancelled' | 'failed' | 'incomplete' | 'new';

export interface RunSummary {
  id: string;
  dir: string;
  /** Unix ms, from the folder name, run.json or the start event. */
  createdAt: number;
  status: RunStatus;
  objective?: string;
  preset?: string;
  device?: string;
  params?: number;
  corpusSha256?: string;
  hasModel: boolean;
  hasCheckpoint: boolean;
  lastStep?: number;
  lastEpoch?: number;
  bestInfillExact?: number;
  lastValLoss?: number;
  done?: DoneEvent;
  errorMessage?: string;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Folder names are timestamps (runFolderName); anything parseable gives the time. */
export function runFolderName(date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

function timeFromName(name: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z/.exec(name);
  if (!m) return undefined;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]);
}

/** Summarizes one run folder from run.json, model.json, corpus/manifest.json and metrics.jsonl. */
export async function summarizeRun(dir: string, id = dir.split(/[\\/]/).pop() ?? dir): Promise<RunSummary> {
  const runJson = readJson(join(dir, 'run.json')) ?? {};
  const modelJson = readJson(join(dir, 'model.json'));
  const manifest = readJson(join(dir, 'corpus', 'manifest.json'));
  const replay = await readMetrics(join(dir, 'metrics.jsonl'));
  const start = replay.events.find((e): e is StartEvent => e.type === 'start');
  const done = [...replay.events].reverse().find((e): e is DoneEvent => e.type === 'done');
  const error = [...replay.events].reverse().find((e) => e.type === 'error');
  const evals = replay.events.filter((e): e is EvalEvent => e.type === 'eval');
  const steps = replay.events.filter((e) => e.type === 'step');
  const lastStep = steps[steps.length - 1] as { step: number; epoch: number } | undefined;
  const exacts = evals.map((e) => e.infill_exact).filter((x): x is number => typeof x === 'number');
  const live = await trainerLiveness(dir);
  let status: RunStatus;
  if (live.alive) status = 'running';
  else if (done) status = done.reason === 'cancelled' ? 'cancelled' : 'done';
  else if (error) status = 'failed';
  else if (replay.events.length) status = 'incomplete';
  else status = 'new';
  let hasCheckpoint = false;
  try {
    hasCheckpoint = (await fs.readdir(join(dir, 'checkpoints'))).length > 0;
  } catch {
    /* none */
  }
  const createdAt =
    timeFromName(id) ??
    (typeof runJson.created_at === 'number' ? (runJson.created_at as number) * 1000 : undefined) ??
    (start ? start.time * 1000 : undefined) ??
    statSafe(dir);
  const modelEval = modelJson?.eval as { infill_exact?: number } | undefined;
  return {
    id,
    dir,
    createdAt,
    status,
    objective: (start?.objective as string | undefined) ?? (runJson.objective as string | undefined) ?? (modelJson?.objective as string | undefined),
    preset: (start?.preset as string | undefined) ?? (runJson.preset as string | undefined) ?? (modelJson?.preset as string | undefined),
    device: start?.device,
    params: start?.params ?? (modelJson?.params as number | undefined),
    corpusSha256: (manifest?.corpus_sha256 as string | undefined) ?? (runJson.corpus_sha256 as string | undefined) ?? (modelJson?.corpus_sha256 as string | undefined),
    hasModel: existsSync(join(dir, 'model.onnx')) && modelJson !== undefined,
    hasCheckpoint,
    lastStep: lastStep?.step,
    lastEpoch: lastStep?.epoch,
    bestInfillExact: exacts.length ? Math.max(...exacts) : modelEval?.infill_exact,
    lastValLoss: [...evals].reverse().find((e) => typeof e.val_loss === 'number')?.val_loss,
    done,
    errorMessage: error?.type === 'error' ? error.message : undefined,
  };
}

function statSafe(dir: string): number {
  try {
    return statSync(dir).mtimeMs;
  } catch {
    return 0;
  }
}

/** Every run folder under `storageDir` (its `runs/` children), newest first. */
export async function listRuns(runsDir: string): Promise<RunSummary[]> {
  let names: string[];
  try {
    names = (await fs.readdir(runsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  const runs = await Promise.all(names.map((n) => summarizeRun(join(runsDir, n), n)));
  return runs.sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
}

/** The newest autoregressive run trained on the same corpus: the baseline to plot beside a diffusion run. */
export function findBaseline(runs: RunSummary[], run: RunSummary): RunSummary | undefined {
  if (!run.corpusSha256) return undefined;
  const wantObjective = run.objective === 'autoregressive' ? 'diffusion' : 'autoregressive';
  return runs.find((r) => r.id !== run.id && r.corpusSha256 === run.corpusSha256 && r.objective === wantObjective && r.status !== 'new');
}
