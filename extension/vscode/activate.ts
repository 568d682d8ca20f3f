// The VS Code adapter: commands, the inline provider, the status bar, the training panel and the
// output channel, each owned by a disposable. The work itself lives elsewhere: finding Python and
// launching the trainer (extension/training), the run state the webview shows
// (training/controller.ts), indexing (extension/corpus) and completions (extension/engine), reached
// through `Services` so that tests can pass fakes.
import * as vscode from 'vscode';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TrainingController } from '../training/controller';
import { buildTrainArgs, setupVenv, VenvSetupError, type TrainerOutcome } from '../training/launcher';
import { describeDevice, findPython, findVenvCapablePython, PythonNotFoundError, type FoundPython } from '../training/pythonFinder';
import { readCorpusSummary } from '../training/corpusSummary';
import { listRuns } from '../training/runState';
import type { TrainerEvent } from '../training/protocol';
import { WEBVIEW_VIEW_TYPE, type WebviewMessage } from '../../webview/protocol';
import { RepoDiffusionInlineProvider } from './inlineProvider';
import { TrainingPanel } from './trainingPanel';
import { pythonExtensionInterpreter } from './python';
import { statusView } from './status';
import type { EngineLike, Services } from './services';
import { DEFAULT_MAX_POSITIONS, DEFAULT_MIN_CONFIDENCE, describeServing } from '../engine/index';

const SECTION = 'repoDiffusion';
const ACTIVE_RUN_KEY = 'repoDiffusion.activeRun';
const DISMISSED_RESUME_KEY = 'repoDiffusion.dismissedResume';

export interface ActivateOptions {
  /** Candidates after the Python extension's (tests); default python3, python, /usr/bin/python3. */
  pythonDefaults?: string[];
  /** Folder holding trainer/; default the extension folder. */
  trainerRoot?: string;
  /** Launch override for tests (a fake trainer). */
  launch?: ConstructorParameters<typeof TrainingController>[0]['launch'];
}

export class RepoDiffusion implements vscode.Disposable {
  readonly disposables: vscode.Disposable[] = [];
  readonly output: vscode.OutputChannel;
  readonly status: vscode.StatusBarItem;
  controller: TrainingController | undefined;
  engine: EngineLike | undefined;
  activeRunId: string | undefined;
  private modelInfo: { label: string; infillExact?: number } | undefined;
  /** Suggestions of the active model shown and hidden by the confidence gate (the status bar says so). */
  private suggestions = { shown: 0, hidden: 0 };
  private loadError: string | undefined;
  private indexing = false;
  /** Aborts the indexing in progress: Cancel (palette, view) stops indexing as well as training. */
  private indexAbort: AbortController | undefined;
  private starting = false;
  /** The environment setup in progress: a second one would build the same venv concurrently. */
  private settingUp: Promise<string | undefined> | undefined;
  private readonly shownErrors = new Set<string>();
  private readonly trainerRoot: string;

  constructor(
    readonly context: vscode.ExtensionContext,
    readonly services: Services,
    private readonly options: ActivateOptions = {},
  ) {
    this.trainerRoot = options.trainerRoot ?? context.extensionUri.fsPath;
    this.output = vscode.window.createOutputChannel('Repo Diffusion');
    this.status = vscode.window.createStatusBarItem('repoDiffusion.status', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'Repo Diffusion';
    this.disposables.push(this.output, this.status);
    const storage = context.storageUri?.fsPath;
    if (storage) {
      this.controller = new TrainingController({
        runsDir: join(storage, 'runs'),
        trainerRoot: this.trainerRoot,
        launch: options.launch,
        onEvent: (runDir, e) => this.onTrainerEvent(runDir, e),
        onLog: (line) => this.output.appendLine(line),
        onGarbage: (g) => this.output.appendLine(`[protocol] line ${g.line} ignored (${g.reason}): ${g.text}`),
        // Its Resume button can fail (a trainer already running, a spawn error): say so.
        onOutcome: (runDir, o) => void this.onOutcome(runDir, o).catch((err) => this.showErrorOnce(err)),
      });
      this.disposables.push({ dispose: () => this.controller?.dispose() });
    }
  }

  // ---- registration

  register(): void {
    const cmd = (id: string, fn: (...args: unknown[]) => unknown) =>
      this.disposables.push(
        vscode.commands.registerCommand(id, async (...args: unknown[]) => {
          try {
            return await fn(...args);
          } catch (err) {
            this.showErrorOnce(err);
          }
        }),
      );
    cmd('repoDiffusion.train', () => this.train());
    cmd('repoDiffusion.cancelTraining', () => this.cancel());
    cmd('repoDiffusion.resumeTraining', (runId) => this.resume(typeof runId === 'string' ? runId : undefined));
    cmd('repoDiffusion.showTraining', () => this.showTraining());
    cmd('repoDiffusion.setupEnvironment', () => this.setupEnvironment());
    cmd('repoDiffusion.selectModel', () => this.selectModel());
    cmd('repoDiffusion.toggleSuggestions', () => this.toggleSuggestions());

    const provider = new RepoDiffusionInlineProvider({
      engine: () => (vscode.workspace.isTrusted ? this.engine : undefined),
      enabled: () => this.config().get<boolean>('suggestions.enabled', true),
      disabledLanguages: () => this.config().get<string[]>('suggestions.disabledLanguages', []),
      debounceMs: () => this.config().get<number>('suggestions.debounceMs', 150),
      minConfidence: () => this.minConfidence(),
      trusted: () => vscode.workspace.isTrusted,
      noModel: () => this.updateStatus(),
      suggestionOutcome: (shown) => {
        this.suggestions[shown ? 'shown' : 'hidden']++;
        // the status bar shows the counts only once something was hidden; before that, nothing changes
        if (this.suggestions.hidden > 0) this.updateStatus();
      },
      reportError: (err) => this.showErrorOnce(err, 'Suggestion failed'),
    });
    this.disposables.push(
      vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, provider),
      provider,
      vscode.window.registerWebviewPanelSerializer(WEBVIEW_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => {
          TrainingPanel.revive(panel, this.context.extensionUri, this.panelHost());
          await this.showLatestRun();
        },
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) this.updateStatus();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.restore().catch((err) => this.showErrorOnce(err))),
      { dispose: () => TrainingPanel.current?.dispose() },
    );
    this.updateStatus();
    this.status.show();
  }

  /** After activation: the active model back, a trainer still running found, or a resume offered. */
  async restore(): Promise<void> {
    if (!vscode.workspace.isTrusted || !this.controller) return;
    const runId = this.context.workspaceState.get<string>(ACTIVE_RUN_KEY);
    if (runId && existsSync(join(this.controller.runsDir, runId, 'model.onnx'))) {
      await this.activateModel(join(this.controller.runsDir, runId)).catch((err) => this.showErrorOnce(err, 'Could not load the model'));
    }
    const live = await this.controller.findLiveRun();
    if (live) {
      await this.controller.showRun(live.dir);
      this.output.appendLine(`Found a trainer still running for ${live.id}; following its progress.`);
      this.updateStatus();
      return;
    }
    const runs = await listRuns(this.controller.runsDir);
    const dismissed = this.context.workspaceState.get<string[]>(DISMISSED_RESUME_KEY, []);
    const stopped = runs.find((r) => r.status === 'incomplete' && r.hasCheckpoint && !dismissed.includes(r.id));
    if (stopped) {
      const pick = await vscode.window.showInformationMessage(
        `Repo Diffusion: a training run (${stopped.id}) stopped before it finished. Resume it from its last checkpoint?`,
        'Resume',
        'Show',
        'Dismiss',
      );
      if (pick === 'Resume') await this.resume(stopped.id);
      else if (pick === 'Show') await this.showTraining(stopped.dir);
      else if (pick === 'Dismiss') await this.context.workspaceState.update(DISMISSED_RESUME_KEY, [...dismissed, stopped.id]);
    }
  }

  // ---- commands

  async train(): Promise<boolean> {
    if (!this.requireTrust('train a model')) return false;
    const controller = this.requireStorage();
    if (!controller) return false;
    if (controller.state.training || this.indexing || this.starting) {
      void vscode.window.showInformationMessage('Repo Diffusion: a training run is already in progress.', 'Show Training').then((p) => p && this.showTraining());
      return false;
    }
    // Finding Python takes seconds: a second click meanwhile must not start a second run.
    this.starting = true;
    try {
      return await this.startTraining(controller);
    } finally {
      this.starting = false;
    }
  }

  private async startTraining(controller: TrainingController): Promise<boolean> {
    const folder = await this.pickFolder();
    if (!folder) return false;
    const python = await this.findPythonOrExplain();
    if (!python) return false;
    const device = describeDevice(python.doctor);
    this.output.appendLine(`Python: ${python.python} (torch ${python.doctor.torch}); device: ${device}`);
    void vscode.window.showInformationMessage(`Repo Diffusion: training with ${python.python} on ${device}.`);

    const runDir = controller.newRunDir();
    this.openPanel();
    const cfg = this.config();
    const settings = {
      objective: cfg.get<string>('objective', 'diffusion'),
      preset: cfg.get<string>('preset', 'auto'),
      minutes: cfg.get<number>('budgetMinutes', 30),
      device: cfg.get<string>('device', 'auto'),
    };
    const runInfo = { ...settings, budget_minutes: settings.minutes, python: python.python, torch: python.doctor.torch, device_found: device, workspace: folder.uri.fsPath, extension_version: this.extensionVersion() };
    if (!(await this.index(folder, runDir, runInfo))) return false;

    await controller.startRun({ runDir, python: python.python, args: buildTrainArgs(settings), runInfo });
    this.updateStatus();
    return true;
  }

  /** Indexes with a cancellable notification; returns false (and removes the run folder) on cancel or failure. */
  private async index(folder: vscode.WorkspaceFolder, runDir: string, runInfo: Record<string, unknown>): Promise<boolean> {
    const controller = this.controller!;
    const cfg = this.config();
    this.indexing = true;
    controller.setIndexing({ phase: 'scan' });
    this.updateStatus();
    try {
      const summary = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Repo Diffusion: indexing the workspace', cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          this.indexAbort = abort;
          const sub = token.onCancellationRequested(() => abort.abort());
          let lastFraction = 0;
          try {
            return await this.services.indexWorkspace(
              folder.uri.fsPath,
              runDir,
              { include: cfg.get<string[]>('include', []), exclude: cfg.get<string[]>('exclude', []), maxFileBytes: cfg.get<number>('maxFileBytes', 1048576), runInfo },
              {
                signal: abort.signal,
                onProgress: (p) => {
                  const fraction = p.filesTotal ? p.filesDone / p.filesTotal : lastFraction;
                  const increment = Math.max(0, (fraction - lastFraction) * 100);
                  lastFraction = Math.max(lastFraction, fraction);
                  progress.report({ message: `${p.phase}${p.filesTotal ? ` ${p.filesDone}/${p.filesTotal} files` : ''}${p.message ? ` — ${p.message}` : ''}`, increment });
                  controller.setIndexing({ phase: p.phase, done: p.filesDone, total: p.filesTotal, message: p.message });
                },
              },
            );
          } finally {
            sub.dispose();
          }
        },
      );
      const corpus = readCorpusSummary(runDir);
      controller.setCorpus(corpus ? { ...corpus, notes: summary.notes } : undefined, runDir);
      this.output.appendLine(`Indexed ${summary.filesKept} of ${summary.filesSeen} files: ${summary.trainTokens} train tokens, ${summary.valTokens} val tokens, ${summary.evalTasks} eval tasks.`);
      for (const n of summary.notes ?? []) this.output.appendLine(`  ${n}`);
      return true;
    } catch (err) {
      rmSync(runDir, { recursive: true, force: true });
      const cancelled = (err as Error)?.name === 'AbortError' || /cancel|abort/i.test(String((err as Error)?.message));
      if (cancelled) void vscode.window.showInformationMessage('Repo Diffusion: indexing cancelled.');
      else this.showErrorOnce(err, 'Indexing failed');
      return false;
    } finally {
      this.indexing = false;
      this.indexAbort = undefined;
      controller.setIndexing(undefined);
      this.updateStatus();
    }
  }

  async cancel(): Promise<void> {
    const controller = this.controller;
    if (this.indexAbort) {
      // index() sees the abort, removes the run folder and launches nothing.
      this.indexAbort.abort();
      return;
    }
    if (!controller || !controller.state.training) {
      void vscode.window.showInformationMessage('Repo Diffusion: no training is running.');
      return;
    }
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Repo Diffusion: stopping training (writing a checkpoint)…' }, () => controller.cancel());
  }

  async resume(runId?: string): Promise<boolean> {
    if (!this.requireTrust('resume training')) return false;
    const controller = this.requireStorage();
    if (!controller) return false;
    if (controller.state.training || this.indexing || this.starting) {
      void vscode.window.showInformationMessage('Repo Diffusion: a training run is already in progress.');
      return false;
    }
    this.starting = true;
    try {
      return await this.resumeRun(controller, runId);
    } finally {
      this.starting = false;
    }
  }

  private async resumeRun(controller: TrainingController, runId?: string): Promise<boolean> {
    const run = runId ? (await listRuns(controller.runsDir)).find((r) => r.id === runId) : await controller.findResumable();
    if (!run || !run.hasCheckpoint) {
      void vscode.window.showInformationMessage(runId ? `Repo Diffusion: run ${runId} has no checkpoint to resume from.` : 'Repo Diffusion: no stopped run with a checkpoint to resume.');
      return false;
    }
    const python = await this.findPythonOrExplain();
    if (!python) return false;
    const cfg = this.config();
    const args = buildTrainArgs({
      objective: run.objective ?? cfg.get<string>('objective', 'diffusion'),
      preset: run.preset ?? cfg.get<string>('preset', 'auto'),
      minutes: cfg.get<number>('budgetMinutes', 30),
      device: cfg.get<string>('device', 'auto'),
      resume: true,
    });
    this.openPanel();
    await controller.startRun({ runDir: run.dir, python: python.python, args, resume: true });
    this.updateStatus();
    return true;
  }

  async showTraining(runDir?: string): Promise<void> {
    this.openPanel();
    if (runDir && this.controller) await this.controller.showRun(runDir);
    else await this.showLatestRun();
  }

  private async showLatestRun(): Promise<void> {
    const controller = this.controller;
    if (!controller) return;
    if (controller.currentRunDir) {
      await controller.refreshRuns();
      return;
    }
    const runs = await controller.refreshRuns();
    const latest = runs.find((r) => r.status === 'running') ?? runs[0];
    if (latest) await controller.showRun(latest.dir);
  }

  async setupEnvironment(): Promise<string | undefined> {
    if (!this.requireTrust('set up the training environment')) return undefined;
    if (this.settingUp) {
      void vscode.window.showInformationMessage('Repo Diffusion: the training environment is already being set up.');
      return this.settingUp;
    }
    this.settingUp = this.setupEnvironmentOnce();
    try {
      return await this.settingUp;
    } finally {
      this.settingUp = undefined;
    }
  }

  private async setupEnvironmentOnce(): Promise<string | undefined> {
    const base = await this.baseInterpreter();
    if (!base) {
      void vscode.window.showErrorMessage('Repo Diffusion: no Python 3 found to create the environment with. Install Python 3.9+ (and on Debian/Ubuntu python3-venv), then try again.');
      return undefined;
    }
    const venvDir = join(this.context.globalStorageUri.fsPath, 'venv');
    const requirementsFile = join(this.trainerRoot, 'trainer', 'requirements.txt');
    this.output.show(true);
    try {
      const py = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Repo Diffusion: setting up the training environment', cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          const sub = token.onCancellationRequested(() => abort.abort());
          try {
            return await setupVenv({
              basePython: base,
              venvDir,
              requirementsFile,
              signal: abort.signal,
              onOutput: (line) => {
                this.output.appendLine(line);
                progress.report({ message: line.slice(0, 80) });
              },
            });
          } finally {
            sub.dispose();
          }
        },
      );
      await this.config().update('pythonPath', py, vscode.ConfigurationTarget.Global);
      const found = await findPython({ explicit: py, trainerRoot: this.trainerRoot }).catch(() => undefined);
      void vscode.window.showInformationMessage(`Repo Diffusion: training environment ready (${py}${found ? `, torch ${found.doctor.torch}, ${describeDevice(found.doctor)}` : ''}).`);
      return py;
    } catch (err) {
      const message = err instanceof VenvSetupError ? err.message : String((err as Error)?.message ?? err);
      this.output.appendLine(message);
      if ((err as VenvSetupError).step === 'cancelled') return undefined;
      const pick = await vscode.window.showErrorMessage(`Repo Diffusion: ${message.split('\n')[0]}`, { detail: message }, 'Show Log', 'Pick Interpreter…');
      if (pick === 'Show Log') this.output.show();
      else if (pick === 'Pick Interpreter…') await this.pickInterpreter();
      return undefined;
    }
  }

  async selectModel(): Promise<void> {
    if (!this.requireTrust('load a model')) return;
    const controller = this.requireStorage();
    if (!controller) return;
    const runs = (await listRuns(controller.runsDir)).filter((r) => r.hasModel);
    if (!runs.length) {
      const pick = await vscode.window.showInformationMessage('Repo Diffusion: no trained model yet.', 'Train on This Repo');
      if (pick) await this.train();
      return;
    }
    const pick = await vscode.window.showQuickPick(
      runs.map((r) => ({
        label: `${r.id === this.activeRunId ? '$(check) ' : ''}${new Date(r.createdAt).toLocaleString()}`,
        description: [r.objective, r.preset, r.bestInfillExact !== undefined ? `${(r.bestInfillExact * 100).toFixed(1)}% infill exact` : undefined].filter(Boolean).join(' · '),
        detail: r.dir,
        runDir: r.dir,
      })),
      { placeHolder: 'Model to use for suggestions' },
    );
    if (pick) await this.activateModel(pick.runDir);
  }

  async toggleSuggestions(): Promise<boolean> {
    const enabled = !this.config().get<boolean>('suggestions.enabled', true);
    await this.config().update('suggestions.enabled', enabled, vscode.ConfigurationTarget.Global);
    this.updateStatus();
    vscode.window.setStatusBarMessage(`Repo Diffusion suggestions ${enabled ? 'on' : 'off'}`, 2000);
    return enabled;
  }

  // ---- model

  /** Loads a run's exported model, or swaps the loaded engine over to it. */
  async activateModel(runDir: string): Promise<void> {
    if (!vscode.workspace.isTrusted) return;
    try {
      if (this.engine?.swap) await this.engine.swap(runDir);
      else {
        const engine = await this.services.loadEngine(runDir, {
          threads: this.config().get<number>('inference.threads', 0) || undefined,
          maxPositions: this.config().get<number>('inference.maxPositions', DEFAULT_MAX_POSITIONS),
        });
        const old = this.engine;
        this.engine = engine;
        await old?.dispose?.();
      }
      this.loadError = undefined;
    } catch (err) {
      this.loadError = String((err as Error)?.message ?? err);
      this.updateStatus();
      throw err;
    }
    const id = runDir.split(/[\\/]/).pop()!;
    this.activeRunId = id;
    this.modelInfo = readModelInfo(runDir);
    this.suggestions = { shown: 0, hidden: 0 };
    await this.context.workspaceState.update(ACTIVE_RUN_KEY, id);
    this.controller?.setActiveModel(id);
    const info = this.engine?.info;
    const serving = info ? describeServing(info, runDir) : { text: 'unknown', warning: undefined };
    this.output.appendLine(`Model active: ${id} (${this.modelInfo.label}); serving: ${serving.text}`);
    if (serving.warning) void vscode.window.showWarningMessage(serving.warning);
    this.updateStatus();
  }

  // ---- trainer events

  private onTrainerEvent(runDir: string, e: TrainerEvent): void {
    if (e.type === 'export') {
      // The trainer exported its best checkpoint: serve it now.
      void this.activateModel(runDir).catch((err) => this.showErrorOnce(err, 'Could not load the exported model'));
    }
    if (e.type === 'start' || e.type === 'eval' || e.type === 'step' || e.type === 'done') this.updateStatus();
  }

  private async onOutcome(runDir: string, o: TrainerOutcome | { kind: 'ended'; message: string }): Promise<void> {
    this.updateStatus();
    const id = runDir.split(/[\\/]/).pop();
    if (o.kind === 'done' || o.kind === 'cancelled' || o.kind === 'ended') {
      const exact = this.controller?.state.current?.best?.infillExact ?? this.controller?.state.current?.infillExact;
      void vscode.window.showInformationMessage(
        `Repo Diffusion: ${o.message}${exact !== undefined ? ` Held-out infill exact match ${(exact * 100).toFixed(1)}%.` : ''}${this.activeRunId === id ? ' Its model is active.' : ''}`,
      );
      return;
    }
    this.output.appendLine(`[training ${o.kind}] ${o.message}`);
    const pick = await vscode.window.showErrorMessage(`Repo Diffusion: training ${o.kind}: ${o.message}`, 'Show Log', 'Resume');
    if (pick === 'Show Log') this.output.show();
    else if (pick === 'Resume' && id) await this.resume(id);
  }

  // ---- panel

  openPanel(): TrainingPanel {
    return TrainingPanel.createOrShow(this.context.extensionUri, this.panelHost());
  }

  private panelHost() {
    return {
      attach: (post: Parameters<TrainingController['attach']>[0]) => this.controller?.attach(post) ?? (() => {}),
      replay: (post: Parameters<TrainingController['attach']>[0]) => this.controller?.replayTo(post),
      onMessage: (m: WebviewMessage) => void this.onWebviewMessage(m).catch((err) => this.showErrorOnce(err)),
    };
  }

  private async onWebviewMessage(m: WebviewMessage): Promise<void> {
    const runsDir = this.controller?.runsDir;
    switch (m.type) {
      case 'train':
        await this.train();
        break;
      case 'cancel':
        await this.cancel();
        break;
      case 'resume':
        await this.resume(m.runId);
        break;
      case 'showLog':
        this.output.show();
        break;
      case 'activateRun':
        if (runsDir && isRunId(m.runId)) await this.activateModel(join(runsDir, m.runId));
        break;
      case 'showRun':
        if (runsDir && isRunId(m.runId) && !this.controller!.state.training) await this.controller!.showRun(join(runsDir, m.runId));
        break;
      default:
        break;
    }
  }

  // ---- helpers

  config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  private requireTrust(what: string): boolean {
    if (vscode.workspace.isTrusted) return true;
    void vscode.window
      .showErrorMessage(`Repo Diffusion cannot ${what} in an untrusted workspace: training and models run code from this folder. Trust the workspace first.`, 'Manage Workspace Trust')
      .then((pick) => pick && vscode.commands.executeCommand('workbench.trust.manage'));
    return false;
  }

  private requireStorage(): TrainingController | undefined {
    if (!this.controller) void vscode.window.showErrorMessage('Repo Diffusion: open a folder or workspace first; runs are stored with the workspace.');
    return this.controller;
  }

  private async pickFolder(): Promise<vscode.WorkspaceFolder | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length <= 1) {
      if (!folders.length) void vscode.window.showErrorMessage('Repo Diffusion: open a folder to train on.');
      return folders[0];
    }
    return vscode.window.showWorkspaceFolderPick({ placeHolder: 'Folder to train on' });
  }

  private async findPythonOrExplain(): Promise<FoundPython | undefined> {
    const explicit = this.config().get<string>('pythonPath', '');
    const fromExtension = explicit ? undefined : await pythonExtensionInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri);
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Repo Diffusion: looking for Python with PyTorch' }, () =>
        findPython({ explicit, extra: fromExtension ? [fromExtension] : [], trainerRoot: this.trainerRoot, defaults: this.options.pythonDefaults }),
      );
    } catch (err) {
      const message = String((err as Error)?.message ?? err);
      this.output.appendLine(message);
      const tried = err instanceof PythonNotFoundError ? err.tried.map((t) => t.python).join(', ') : '';
      const pick = await vscode.window.showErrorMessage(
        `Repo Diffusion: no Python with PyTorch found${tried ? ` (tried ${tried})` : ''}.`,
        { detail: message },
        'Pick Interpreter…',
        'Set Up Training Environment',
        'Show Log',
      );
      if (pick === 'Pick Interpreter…') await this.pickInterpreter();
      else if (pick === 'Set Up Training Environment') await vscode.commands.executeCommand('repoDiffusion.setupEnvironment');
      else if (pick === 'Show Log') this.output.show();
      return undefined;
    }
  }

  private async pickInterpreter(): Promise<void> {
    if (vscode.extensions.getExtension('ms-python.python')) {
      await vscode.commands.executeCommand('python.setInterpreter');
      return;
    }
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use this Python', title: 'Python interpreter with PyTorch' });
    if (picked?.[0]) await this.config().update('pythonPath', picked[0].fsPath, vscode.ConfigurationTarget.Global);
  }

  /** Any Python 3 to create a venv with: the setting, the Python extension's, then PATH. */
  private async baseInterpreter(): Promise<string | undefined> {
    const candidates = [this.config().get<string>('pythonPath', ''), await pythonExtensionInterpreter(), ...(this.options.pythonDefaults ?? ['python3', 'python', '/usr/bin/python3'])].filter(
      (p): p is string => Boolean(p),
    );
    // Asynchronous: a slow or hanging candidate must not freeze the extension host.
    return findVenvCapablePython(candidates, this.trainerRoot);
  }

  private extensionVersion(): string | undefined {
    try {
      return JSON.parse(readFileSync(join(this.context.extensionUri.fsPath, 'package.json'), 'utf8')).version;
    } catch {
      return undefined;
    }
  }

  /** Each distinct error is shown once (STYLE.md), always logged. */
  showErrorOnce(err: unknown, prefix?: string): void {
    const message = String((err as Error)?.message ?? err);
    this.output.appendLine(`${prefix ? prefix + ': ' : ''}${message}`);
    if (this.shownErrors.has(message)) return;
    this.shownErrors.add(message);
    void vscode.window.showErrorMessage(`Repo Diffusion: ${prefix ? prefix + ': ' : ''}${message.split('\n')[0]}`, 'Show Log').then((p) => p && this.output.show());
  }

  private minConfidence(): number {
    return this.config().get<number>('suggestions.minConfidence', DEFAULT_MIN_CONFIDENCE);
  }

  updateStatus(): void {
    const cur = this.controller?.state.current;
    const view = statusView({
      trusted: vscode.workspace.isTrusted,
      enabled: this.config().get<boolean>('suggestions.enabled', true),
      indexing: this.indexing,
      training: this.controller?.state.training && cur ? { epoch: cur.epoch, plannedEpochs: cur.plannedEpochs, infillExact: cur.infillExact, phase: cur.phase } : undefined,
      model: this.engine && this.modelInfo ? { ...this.modelInfo, suggestions: { ...this.suggestions }, minConfidence: this.minConfidence() } : undefined,
      loadError: this.loadError,
    });
    this.status.text = view.text;
    this.status.tooltip = view.tooltip;
    this.status.command = view.command;
    // Context keys for the manifest's `when` clauses (Cancel only while training, ...).
    this.setContext('repoDiffusion.training', Boolean(this.controller?.state.training || this.indexing));
    this.setContext('repoDiffusion.hasModel', Boolean(this.engine));
  }

  private readonly contextKeys = new Map<string, boolean>();
  private setContext(key: string, value: boolean): void {
    if (this.contextKeys.get(key) === value) return;
    this.contextKeys.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0).reverse()) {
      try {
        d.dispose();
      } catch {
        /* keep disposing */
      }
    }
    void this.engine?.dispose?.();
    this.engine = undefined;
  }
}

/** Run ids come from the webview: only plain folder names, never paths. */
function isRunId(id: unknown): id is string {
  return typeof id === 'string' && /^[\w.-]+$/.test(id) && id !== '.' && id !== '..';
}

/** A short label and the held-out accuracy from a run's model.json. */
export function readModelInfo(runDir: string): { label: string; infillExact?: number } {
  try {
    const m = JSON.parse(readFileSync(join(runDir, 'model.json'), 'utf8')) as { preset?: string; objective?: string; params?: number; eval?: { infill_exact?: number } };
    const size = typeof m.params === 'number' ? `${(m.params / 1e6).toFixed(m.params < 1e7 ? 1 : 0)}M` : undefined;
    return { label: [m.preset, m.objective === 'autoregressive' ? 'AR' : undefined, size].filter(Boolean).join(' ') || 'model', infillExact: m.eval?.infill_exact };
  } catch {
    return { label: 'model' };
  }
}

/** Creates, registers and restores everything; returns the instance (tests use it). */
export function activateWith(context: vscode.ExtensionContext, services: Services, options?: ActivateOptions): RepoDiffusion {
  const ext = new RepoDiffusion(context, services, options);
  context.subscriptions.push(ext);
  ext.register();
  void ext.restore().catch((err) => ext.showErrorOnce(err));
  return ext;
}
