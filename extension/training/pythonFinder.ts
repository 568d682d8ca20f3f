// Finds a Python interpreter that can run the bundled trainer, by asking each candidate to run
// `python -m trainer doctor` (cwd = the folder holding trainer/). Knows nothing of editors: the
// caller passes the explicit path (a setting or --python) and any extra candidates (the Python
// extension's interpreter).
//
// Order (platform notes: `python3` on PATH may be a pyenv shim that cannot see Debian's packages,
// so never assume, ask): explicit path, extra candidates, python3, python, /usr/bin/python3.
// An explicit path that fails is an error on its own: the user asked for that one.
import { runProcess } from '../common/runProcess';

/** What `python -m trainer doctor` prints (one JSON object). Unknown fields are kept. */
export interface DoctorReport {
  python: string;
  torch: string | null;
  cuda: boolean;
  mps: boolean;
  gpus: Array<{ name: string; memory_gb?: number; [k: string]: unknown }>;
  bf16: boolean;
  /** Missing modules (e.g. "torch", "numpy"). */
  missing: string[];
  /** Commands a user can run to fix what is missing. */
  fix: string[];
  [extra: string]: unknown;
}

export interface PythonCandidateResult {
  python: string;
  source: CandidateSource;
  ok: boolean;
  /** Why it was not usable (spawn failure, doctor failure, torch missing). */
  reason?: string;
  doctor?: DoctorReport;
}

export type CandidateSource = 'explicit' | 'extra' | 'path' | 'system';

export interface FoundPython {
  python: string;
  source: CandidateSource;
  doctor: DoctorReport;
  tried: PythonCandidateResult[];
}

export interface FindPythonOptions {
  /** repoDiffusion.pythonPath / --python. When set and unusable, the search stops with an error. */
  explicit?: string;
  /** E.g. the Python extension's interpreter, tried after the explicit path. */
  extra?: string[];
  /** The folder that holds trainer/ (the extension root). */
  trainerRoot: string;
  /** Per-candidate limit; a first `import torch` can take a few seconds. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Replace the default PATH names (tests). */
  defaults?: string[];
}

export class PythonNotFoundError extends Error {
  constructor(readonly tried: PythonCandidateResult[], readonly fix: string[]) {
    super(describeFailure(tried, fix));
    this.name = 'PythonNotFoundError';
  }
}

export function defaultCandidates(platform = process.platform): string[] {
  return platform === 'win32' ? ['python', 'py', 'python3'] : ['python3', 'python', '/usr/bin/python3'];
}

function describeFailure(tried: PythonCandidateResult[], fix: string[]): string {
  const lines = ['No Python that can run the trainer (import torch) was found. Tried:'];
  for (const t of tried) lines.push(`  ${t.python} (${t.source}): ${t.reason ?? 'unusable'}`);
  if (tried.length === 0) lines.push('  (no candidates)');
  if (fix.length) {
    lines.push('To fix:');
    for (const f of fix) lines.push(`  ${f}`);
  } else {
    lines.push('Install PyTorch for one of these interpreters (pip install torch numpy), or set repoDiffusion.pythonPath / --python to one that has it.');
  }
  return lines.join('\n');
}

/** Coerces doctor's JSON into a DoctorReport, filling defaults for absent fields. */
export function normalizeDoctor(value: unknown): DoctorReport {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('doctor did not print a JSON object');
  const v = value as Record<string, unknown>;
  const strList = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
  // The trainer's doctor reports cuda as {available, version, devices: [{name, memory_gb}]};
  // a flat {cuda: bool, gpus: [...]} is accepted too.
  const cudaObj = v.cuda && typeof v.cuda === 'object' ? (v.cuda as Record<string, unknown>) : undefined;
  const gpuList = Array.isArray(v.gpus) ? v.gpus : Array.isArray(cudaObj?.devices) ? (cudaObj!.devices as unknown[]) : [];
  const gpus = gpuList
    .map((g) => (typeof g === 'string' ? { name: g } : (g as DoctorReport['gpus'][number])))
    .filter((g) => g && typeof g.name === 'string');
  const missing = strList(v.missing);
  const torch = typeof v.torch === 'string' && v.torch ? v.torch : null;
  if (!torch && !missing.includes('torch')) missing.unshift('torch');
  return {
    ...v,
    python: typeof v.python === 'string' ? v.python : '',
    torch,
    cuda: cudaObj ? cudaObj.available === true : v.cuda === true || (typeof v.cuda === 'string' && v.cuda !== ''),
    mps: v.mps === true,
    gpus,
    bf16: v.bf16 === true,
    missing,
    fix: strList(v.fix),
  };
}

/** A short device line for a status message: "cuda: NVIDIA H100 (80 GB), bf16", "mps", "cpu only". */
export function describeDevice(d: DoctorReport): string {
  if (d.cuda && d.gpus.length) {
    const names = d.gpus.map((g) => (g.memory_gb ? `${g.name} (${Math.round(g.memory_gb)} GB)` : g.name)).join(', ');
    return `cuda: ${names}${d.bf16 ? ', bf16' : ''}`;
  }
  if (d.cuda) return 'cuda';
  if (d.mps) return 'mps (Apple GPU)';
  return 'cpu only';
}

/**
 * The JSON document in a doctor's stdout. It is printed indented (several lines) and may follow
 * other output, so try each line that opens an object, from the first, up to the end.
 */
function lastJsonObject(stdout: string): unknown {
  const starts: number[] = [];
  const re = /^\s*\{/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(stdout))) starts.push(m.index);
  for (const i of starts) {
    try {
      return JSON.parse(stdout.slice(i));
    } catch {
      /* not from here */
    }
  }
  return undefined;
}

function tail(text: string, n = 300): string {
  const t = text.trim().split(/\r?\n/).slice(-3).join(' | ');
  return t.length > n ? '…' + t.slice(-n) : t;
}

/** Runs the doctor with one interpreter. Never throws: problems become `reason`. */
export async function probePython(python: string, source: CandidateSource, options: FindPythonOptions): Promise<PythonCandidateResult> {
  const r = await runProcess(python, ['-m', 'trainer', 'doctor'], options.trainerRoot, options.timeoutMs ?? 60_000, options.env, options.signal);
  if (r.spawnError) {
    const code = (r.spawnError as NodeJS.ErrnoException).code;
    return { python, source, ok: false, reason: code === 'ENOENT' ? 'not found' : `cannot start: ${r.spawnError.message}` };
  }
  if (r.timedOut) return { python, source, ok: false, reason: `doctor did not answer within ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s` };
  const json = lastJsonObject(r.stdout);
  if (json === undefined) {
    const why = /No module named trainer/.test(r.stderr) ? `cannot find the trainer package in ${options.trainerRoot}` : `doctor failed (exit ${r.code}): ${tail(r.stderr || r.stdout) || 'no output'}`;
    return { python, source, ok: false, reason: why };
  }
  let doctor: DoctorReport;
  try {
    doctor = normalizeDoctor(json);
  } catch (err) {
    return { python, source, ok: false, reason: (err as Error).message };
  }
  if (!doctor.torch || doctor.missing.length || doctor.ok === false) {
    return { python, source, ok: false, reason: `missing: ${doctor.missing.join(', ') || 'torch'}`, doctor };
  }
  return { python, source, ok: true, doctor };
}

/**
 * Tries the candidates in order and returns the first that can run the trainer, with its doctor
 * report. Throws PythonNotFoundError listing every interpreter tried and why it failed.
 */
export async function findPython(options: FindPythonOptions): Promise<FoundPython> {
  const tried: PythonCandidateResult[] = [];
  const seen = new Set<string>();
  const queue: Array<[string, CandidateSource]> = [];
  const explicit = options.explicit?.trim();
  if (explicit) queue.push([explicit, 'explicit']);
  for (const e of options.extra ?? []) if (e?.trim()) queue.push([e.trim(), 'extra']);
  for (const d of options.defaults ?? defaultCandidates()) queue.push([d, d.includes('/') || d.includes('\\') ? 'system' : 'path']);

  for (const [python, source] of queue) {
    if (seen.has(python)) continue;
    seen.add(python);
    if (options.signal?.aborted) throw new Error('cancelled');
    const result = await probePython(python, source, options);
    tried.push(result);
    if (result.ok && result.doctor) return { python, source, doctor: result.doctor, tried };
    if (source === 'explicit') break; // the user chose this one: say why it fails instead of picking another
  }
  const fix = [...new Set(tried.flatMap((t) => t.doctor?.fix ?? []))];
  throw new PythonNotFoundError(tried, fix);
}

/**
 * The first candidate that is a Python 3.9+ with the venv module (to create the training
 * environment with), or undefined. Each probe is an asynchronous child process with a timeout, so
 * a slow interpreter never blocks the caller's event loop. `cwd` should be a folder we control:
 * `python -c` imports from its working directory first.
 */
export async function findVenvCapablePython(candidates: string[], cwd: string, timeoutMs = 15_000): Promise<string | undefined> {
  for (const python of new Set(candidates)) {
    const r = await runProcess(python, ['-c', 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 9) else 1)'], cwd, timeoutMs);
    if (!r.spawnError && !r.timedOut && r.code === 0) return python;
  }
  return undefined;
}
