// The training session's state, editor-independent: which run is shown, its history replayed from
// metrics.jsonl, live events from the launcher (or from following metrics.jsonl when the trainer
// was started before a window reload), the corpus summary, the run list and the comparison run
// (the same corpus with the other objective). The host owns this state and pushes it to any
// attached view: everything on attach, then batched events and patches.
// It knows nothing of VS Code: the adapter passes callbacks for UI.
import { join } from 'node:path';
import { mkdirSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../common/atomicWrite';
import { launchTrainer, PID_FILE, type LaunchOptions, type TrainerOutcome, type TrainerProcess } from './launcher';
import type { GarbageLine, TrainerEvent } from './protocol';
import { findBaseline, followMetrics, listRuns, readMetrics, runFolderName, stopTrainerByPid, trainerLiveness, type RunSummary } from './runState';
import { readCorpusSummary } from './corpusSummary';
import { applyEvent, emptyRun, replayRun } from '../../webview/state';
import type { CorpusView, HostMessage, IndexingView, RunListItem, RunView, ViewState } from '../../webview/protocol';

export interface ControllerOptions {
  /** <storage>/runs */
  runsDir: string;
  /** Folder holding trainer/ (cwd of the trainer). */
  trainerRoot: string;
  /** Batch events to views every this many ms. */
  flushMs?: number;
  /** Follow a reattached trainer's metrics.jsonl this often, and check it is alive. */
  followMs?: number;
  /** Injected for tests; defaults to the real launcher. */
  launch?: (o: LaunchOptions) => Promise<TrainerProcess>;
  onEvent?(runDir: string, event: TrainerEvent): void;
  onLog?(line: string): void;
  onGarbage?(g: GarbageLine): void;
  /** A run ended (launched here or reattached). */
  onOutcome?(runDir: string, outcome: TrainerOutcome | { kind: 'ended'; message: string }): void;
}

export interface StartRunOptions {
  runDir: string;
  python: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  hangTimeoutMs?: number;
  killGraceMs?: number;
  /** Recorded in run.json (written once, when the run folder has none). */
  runInfo?: Record<string, unknown>;
  resume?: boolean;
}

type Sink = (message: HostMessage) => void;

export class TrainingController {
  state: ViewState = { runs: [], training: false };
  private currentDir: string | undefined;
  private corpusDir: string | undefined;
  private process: TrainerProcess | undefined;
  private stopFollow: ((drain?: boolean) => void) | undefined;
  private liveTimer: NodeJS.Timeout | undefined;
  private readonly sinks = new Set<Sink>();
  private queue: TrainerEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(private readonly o: ControllerOptions) {
    mkdirSync(o.runsDir, { recursive: true });
  }

  get runsDir(): string {
    return this.o.runsDir;
  }

  get currentRunDir(): string | undefined {
    return this.currentDir;
  }

  get trainerProcess(): TrainerProcess | undefined {
    return this.process;
  }

  /** A view attaches: it gets the whole state now and every change after. Returns detach. */
  attach(sink: Sink): () => void {
    this.sinks.add(sink);
    sink({ type: 'state', state: this.state });
    return () => this.sinks.delete(sink);
  }

  /** Sends the whole state again (a view that was hidden comes back, or asks with `ready`). */
  replayTo(sink: Sink): void {
    this.flush();
    sink({ type: 'state', state: this.state });
  }

  private post(message: HostMessage): void {
    for (const s of this.sinks) s(message);
  }

  private patch(patch: Partial<ViewState>): void {
    Object.assign(this.state, patch);
    this.post({ type: 'patch', patch });
  }

  private enqueue(event: TrainerEvent): void {
    if (!this.state.current) return;
    applyEvent(this.state.current, event);
    this.queue.push(event);
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.o.flushMs ?? 200);
  }

  /** Sends queued events now. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.queue.length) return;
    const events = this.queue;
    this.queue = [];
    this.post({ type: 'events', target: 'current', events });
  }

  newRunDir(date = new Date()): string {
    const dir = join(this.o.runsDir, runFolderName(date));
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  setIndexing(indexing: IndexingView | undefined): void {
    this.patch({ indexing });
  }

  /** The corpus summary of `runDir` (the indexer's notes, which the manifest lacks, may be in it). */
  setCorpus(corpus: CorpusView | undefined, runDir?: string): void {
    this.corpusDir = runDir;
    this.patch({ corpus });
  }

  private useCorpusOf(runDir: string): void {
    if (this.corpusDir === runDir && this.state.corpus) return;
    this.corpusDir = runDir;
    this.state.corpus = readCorpusSummary(runDir);
  }

  setActiveModel(runId: string | undefined): void {
    this.patch({ activeModelRunId: runId });
  }

  /** Re-reads the run folders: the history list and the comparison run for the current one. */
  async refreshRuns(): Promise<RunSummary[]> {
    const runs = await listRuns(this.o.runsDir);
    const items: RunListItem[] = runs.map((r) => ({
      id: r.id,
      createdAt: r.createdAt,
      status: r.status,
      objective: r.objective,
      preset: r.preset,
      hasModel: r.hasModel,
      bestInfillExact: r.bestInfillExact,
      lastEpoch: r.lastEpoch,
    }));
    const patch: Partial<ViewState> = { runs: items };
    const current = this.currentDir ? runs.find((r) => r.dir === this.currentDir) : undefined;
    const other = current ? findBaseline(runs, current) : undefined;
    if (current) {
      patch.comparison = other ? replayRun(other.id, (await readMetrics(join(other.dir, 'metrics.jsonl'))).events, other.status === 'running' ? 'training' : undefined) : undefined;
    }
    this.patch(patch);
    return runs;
  }

  /**
   * Shows a run: replays its metrics.jsonl. When its trainer is alive (started before a reload),
   * follows the file for new events until the process ends.
   */
  async showRun(runDir: string): Promise<{ live: boolean }> {
    this.stopFollowing();
    this.currentDir = runDir;
    const id = runDir.split(/[\\/]/).pop()!;
    const replay = await readMetrics(join(runDir, 'metrics.jsonl'));
    const live = this.process?.runDir === runDir && this.process.running ? true : (await trainerLiveness(runDir)).alive;
    const view = replayRun(id, replay.events, live ? 'training' : undefined);
    if (!replay.events.length) view.phase = live ? 'starting' : view.phase;
    this.queue = [];
    this.state.current = view;
    this.useCorpusOf(runDir);
    this.state.training = live;
    if (live && !(this.process?.runDir === runDir)) this.follow(runDir, replay.offset);
    await this.refreshRuns();
    this.flush();
    this.post({ type: 'state', state: this.state });
    return { live };
  }

  /** Follows a trainer this process did not start (found by its pid file). */
  private follow(runDir: string, offset: number): void {
    this.stopFollow = followMetrics(
      join(runDir, 'metrics.jsonl'),
      offset,
      {
        onEvent: (e) => {
          this.enqueue(e);
          this.o.onEvent?.(runDir, e);
        },
        onGarbage: (g) => this.o.onGarbage?.(g),
      },
      this.o.followMs ?? 500,
    );
    // The liveness check is asynchronous (off Linux it asks `ps`): one at a time, and its answer
    // is dropped when following stopped meanwhile.
    let checking = false;
    const timer = setInterval(async () => {
      if (checking) return;
      checking = true;
      const alive = (await trainerLiveness(runDir)).alive;
      checking = false;
      if (alive || this.liveTimer !== timer) return;
      this.stopFollowing(true);
      this.flush();
      const cur = this.state.current;
      if (cur && !['done', 'cancelled', 'failed'].includes(cur.phase)) cur.phase = 'crashed';
      this.patch({ training: false, current: cur });
      this.o.onOutcome?.(runDir, { kind: 'ended', message: cur?.message ?? 'The trainer is no longer running.' });
      void this.refreshRuns();
    }, Math.max(250, (this.o.followMs ?? 500) * 2));
    this.liveTimer = timer;
  }

  private stopFollowing(drain = false): void {
    this.stopFollow?.(drain);
    this.stopFollow = undefined;
    if (this.liveTimer) clearInterval(this.liveTimer);
    this.liveTimer = undefined;
  }

  /** Launches the trainer for a run folder whose corpus is ready, and streams its events. */
  async startRun(s: StartRunOptions): Promise<TrainerProcess> {
    if (this.process?.running) throw new Error('A training run is already in progress. Cancel it first.');
    const live = await trainerLiveness(s.runDir);
    if (live.alive) throw new Error('A trainer is already running for this run folder.');
    // Unprovable either way (Windows): two trainers writing one run folder would be worse than a refusal.
    if (live.unverified) {
      throw new Error(`A trainer may still be running for this run folder (process ${live.pid}, which cannot be checked here). ` +
        `If it is not, delete ${join(s.runDir, PID_FILE)} and start again.`);
    }
    this.stopFollowing();
    const id = s.runDir.split(/[\\/]/).pop()!;
    if (s.runInfo && !existsSync(join(s.runDir, 'run.json'))) {
      await writeFileAtomic(join(s.runDir, 'run.json'), JSON.stringify({ created_at: Date.now() / 1000, ...s.runInfo }, null, 2) + '\n');
    }
    // A resumed run keeps its history; a fresh one starts empty.
    const history = s.resume ? (await readMetrics(join(s.runDir, 'metrics.jsonl'))).events : [];
    this.currentDir = s.runDir;
    this.queue = [];
    const view = history.length ? replayRun(id, history, 'starting') : emptyRun(id, 'starting');
    view.message = undefined;
    this.state.current = view;
    this.useCorpusOf(s.runDir);
    this.state.training = true;
    this.state.indexing = undefined;
    this.post({ type: 'state', state: this.state });

    const launch = this.o.launch ?? launchTrainer;
    const proc = await launch({
      python: s.python,
      trainerRoot: this.o.trainerRoot,
      runDir: s.runDir,
      args: s.args,
      env: s.env,
      hangTimeoutMs: s.hangTimeoutMs,
      killGraceMs: s.killGraceMs,
      onEvent: (e) => {
        if (this.currentDir === s.runDir) this.enqueue(e);
        this.o.onEvent?.(s.runDir, e);
      },
      onLog: (l) => this.o.onLog?.(l),
      onGarbage: (g) => this.o.onGarbage?.(g),
    }).catch((err) => {
      this.patch({ training: false });
      if (this.state.current) {
        this.state.current.phase = 'failed';
        this.state.current.message = (err as Error).message;
        this.post({ type: 'state', state: this.state });
      }
      throw err;
    });
    this.process = proc;
    void proc.outcome.then((outcome) => {
      if (this.disposed) return;
      this.flush();
      const cur = this.state.current;
      if (cur && this.currentDir === s.runDir) {
        if (outcome.kind !== 'done' && outcome.kind !== 'cancelled') {
          cur.phase = outcome.kind;
          cur.message = outcome.message;
        } else if (cur.phase !== 'done' && cur.phase !== 'cancelled') {
          cur.phase = outcome.kind;
        }
      }
      this.state.training = false;
      this.post({ type: 'state', state: this.state });
      this.o.onOutcome?.(s.runDir, outcome);
      void this.refreshRuns();
    });
    return proc;
  }

  /** Cancels the running trainer (launched here, or found by pid after a reload). */
  async cancel(graceMs?: number): Promise<boolean> {
    if (this.process?.running) {
      await this.process.cancel();
      return true;
    }
    if (this.currentDir && (await trainerLiveness(this.currentDir)).alive) {
      await stopTrainerByPid(this.currentDir, graceMs);
      return true;
    }
    return false;
  }

  /** Runs whose trainer is alive (e.g. after a reload), newest first. */
  async findLiveRun(): Promise<RunSummary | undefined> {
    return (await listRuns(this.o.runsDir)).find((r) => r.status === 'running');
  }

  /** The newest run that stopped before it was done and has a checkpoint to resume from. */
  async findResumable(): Promise<RunSummary | undefined> {
    return (await listRuns(this.o.runsDir)).find((r) => r.hasCheckpoint && (r.status === 'incomplete' || r.status === 'cancelled' || r.status === 'failed'));
  }

  dispose(): void {
    this.disposed = true;
    this.stopFollowing();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.sinks.clear();
    // A running trainer is deliberately left running: after a reload it is found by its pid file.
  }
}

export type { RunView };
