// What the status-bar item says, as a pure function of the extension's state (no vscode import,
// so it is tested with plain data). One item: training progress, the active model and its
// held-out accuracy, or the single hint that there is no model yet.
export interface StatusInput {
  trusted: boolean;
  enabled: boolean;
  training?: { epoch?: number; plannedEpochs?: number; infillExact?: number; phase: string };
  indexing?: boolean;
  model?: { label: string; infillExact?: number; suggestions?: { shown: number; hidden: number }; minConfidence?: number };
  loadError?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  command: string;
}

const pct = (x: number | undefined) => (x === undefined ? undefined : `${(x * 100).toFixed(1)}%`);

export function statusView(s: StatusInput): StatusView {
  if (!s.trusted) return { text: '$(shield) Repo Diffusion', tooltip: 'Repo Diffusion is off in untrusted workspaces (indexing, training and models run code).', command: 'workbench.trust.manage' };
  if (s.indexing) return { text: '$(sync~spin) RD: indexing', tooltip: 'Indexing the workspace for training. Click to show training.', command: 'repoDiffusion.showTraining' };
  if (s.training) {
    const t = s.training;
    const ep = t.epoch !== undefined ? (t.plannedEpochs ? ` epoch ${t.epoch.toFixed(1)}/${t.plannedEpochs}` : ` epoch ${t.epoch.toFixed(1)}`) : '';
    const acc = pct(t.infillExact);
    return {
      text: `$(sync~spin) RD: training${ep}${acc ? ` · ${acc}` : ''}`,
      tooltip: `Training (${t.phase})${acc ? `; held-out infill exact match ${acc}` : ''}. Click to show training.`,
      command: 'repoDiffusion.showTraining',
    };
  }
  if (s.loadError) return { text: '$(warning) RD: model error', tooltip: `The model could not be loaded: ${s.loadError}. Click to pick another.`, command: 'repoDiffusion.selectModel' };
  if (!s.model) return { text: '$(circle-outline) RD: no model', tooltip: 'No model yet: click to train one on this repo (Repo Diffusion: Train on This Repo).', command: 'repoDiffusion.train' };
  const acc = pct(s.model.infillExact);
  const { shown = 0, hidden = 0 } = s.model.suggestions ?? {};
  // Say so when the confidence gate has hidden suggestions: otherwise a model that is never sure
  // looks like a broken extension.
  const gate = hidden > 0
    ? `; ${hidden} of ${shown + hidden} suggestions hidden as unsure (mean confidence below ${s.model.minConfidence ?? '?'}, setting repoDiffusion.suggestions.minConfidence)`
    : '';
  const unsure = hidden > 0 && shown === 0 ? ' · unsure' : '';
  if (!s.enabled) return { text: '$(circle-slash) RD: off', tooltip: `Suggestions are off (model ${s.model.label}). Click to turn them on.`, command: 'repoDiffusion.toggleSuggestions' };
  return {
    text: `$(sparkle) RD: ${s.model.label}${acc ? ` · ${acc}` : ''}${unsure}`,
    tooltip: `Active model ${s.model.label}${acc ? `; held-out infill exact match ${acc}` : ''}${gate}. Click to show training.`,
    command: 'repoDiffusion.showTraining',
  };
}
