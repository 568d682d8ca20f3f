// Every message between the extension host and the training webview, declared once (the way
// Continue's core/protocol/webview.ts does it), plus the view state they carry.
// The host owns the state: on (re)show it sends `state` with everything; after that it streams
// `events` (trainer progress, reduced on both sides by webview/state.ts) and `patch` for the rest.
// Types only, so both the Node host and the browser bundle can import it.
import type { TrainerEvent, InfillSample } from '../extension/training/protocol';

export type { TrainerEvent, InfillSample };

/** One point on the shared epoch axis. */
export interface Point {
  x: number;
  y: number;
}

export interface RunSeries {
  trainLoss: Point[];
  valLoss: Point[];
  infillExact: Point[];
  tokensPerS: Point[];
}

export type RunPhase = 'indexing' | 'starting' | 'training' | 'exporting' | 'done' | 'cancelled' | 'failed' | 'crashed' | 'killed' | 'hung' | 'replay';

export interface BestCheckpoint {
  step: number;
  epoch?: number;
  infillExact?: number;
  /** Why it is the best: the trainer's reason, or the measure it won on. */
  why: string;
}

/** What the header and charts show for one run; built by reducing TrainerEvents (webview/state.ts). */
export interface RunView {
  runId: string;
  objective?: string;
  phase: RunPhase;
  device?: string;
  preset?: string;
  params?: number;
  tokensPerEpoch?: number;
  plannedEpochs?: number;
  plannedSteps?: number;
  plannedMinutes?: number;
  step?: number;
  epoch?: number;
  loss?: number;
  tokensPerS?: number;
  etaS?: number;
  /** Unix seconds of the last event: the ETA is counted down from here. */
  lastTime?: number;
  valLoss?: number;
  infillExact?: number;
  infillEditSim?: number;
  byKind?: Record<string, { infill_exact?: number; infill_edit_sim?: number; n?: number }>;
  best?: BestCheckpoint;
  /** Step and epoch of the last evaluation (a best checkpoint follows its evaluation). */
  lastEval?: { step: number; epoch: number };
  samples: InfillSample[];
  exportPath?: string;
  /** Outcome or error text for the user. */
  message?: string;
  hint?: string;
  series: RunSeries;
  /** Step points kept 1 in `stride` after decimation (long runs would otherwise flood the chart). */
  stride: number;
  /** Step events seen since the last kept point. */
  strideCount: number;
}

export interface CorpusView {
  filesKept: number;
  filesSkipped: number;
  skippedByReason: Record<string, number>;
  /** Language -> files and tokens (kept files only), largest first. */
  languages: Array<{ language: string; files: number; tokens: number }>;
  trainTokens?: number;
  valTokens?: number;
  vocabSize?: number;
  evalTasks?: number;
  scrubbed: number;
  duplicates: number;
  bytes?: number;
  /** The indexer's remarks (tiny corpus, no validation material...). */
  notes?: string[];
}

export interface RunListItem {
  id: string;
  createdAt: number;
  status: string;
  objective?: string;
  preset?: string;
  hasModel: boolean;
  bestInfillExact?: number;
  lastEpoch?: number;
}

export interface IndexingView {
  phase: string;
  done?: number;
  total?: number;
  message?: string;
}

export interface ViewState {
  current?: RunView;
  /** The same corpus trained with the other objective (the AR baseline for a diffusion run). */
  comparison?: RunView;
  corpus?: CorpusView;
  indexing?: IndexingView;
  runs: RunListItem[];
  activeModelRunId?: string;
  /** Whether a trainer is running now (enables Cancel). */
  training: boolean;
}

// ---- host -> webview
export type HostMessage =
  | { type: 'state'; state: ViewState }
  | { type: 'events'; target: 'current' | 'comparison'; events: TrainerEvent[] }
  | { type: 'patch'; patch: Partial<ViewState> };

// ---- webview -> host
export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'activateRun'; runId: string }
  | { type: 'showRun'; runId: string }
  | { type: 'train' }
  | { type: 'cancel' }
  | { type: 'resume'; runId?: string }
  | { type: 'showLog' };

/** What the webview persists with setState (for a fast first paint before the host replays). */
export interface PersistedState {
  state: ViewState;
}

export const WEBVIEW_VIEW_TYPE = 'repoDiffusion.training';
