// Turns a run's corpus/manifest.json (docs/contracts.md "Corpus files") into the short summary the
// training view shows. Reads the manifest, not the indexer's return value, so that a replayed run
// shows the same summary as a fresh one. Unknown or missing fields are tolerated.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CorpusView } from '../../webview/protocol';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function summarizeManifest(manifest: unknown, evalTasks?: number): CorpusView {
  const m = (manifest && typeof manifest === 'object' ? manifest : {}) as Record<string, unknown>;
  const files = Array.isArray(m.files) ? (m.files as Array<Record<string, unknown>>) : [];
  const skippedByReason: Record<string, number> = {};
  const langs = new Map<string, { files: number; tokens: number }>();
  let kept = 0;
  let skipped = 0;
  let bytes = 0;
  for (const f of files) {
    if (!f || typeof f !== 'object') continue;
    if (f.status === 'kept') {
      kept++;
      bytes += num(f.bytes) ?? 0;
      const lang = typeof f.language === 'string' && f.language ? f.language : 'other';
      const entry = langs.get(lang) ?? { files: 0, tokens: 0 };
      entry.files++;
      entry.tokens += num(f.tokens) ?? 0;
      langs.set(lang, entry);
    } else {
      skipped++;
      const reason = typeof f.reason === 'string' && f.reason ? f.reason : 'skipped';
      skippedByReason[reason] = (skippedByReason[reason] ?? 0) + 1;
    }
  }
  const scrubbedObj = m.scrubbed;
  const scrubbed =
    typeof scrubbedObj === 'number'
      ? scrubbedObj
      : scrubbedObj && typeof scrubbedObj === 'object'
        ? Object.values(scrubbedObj as Record<string, unknown>).reduce<number>((a, v) => a + (num(v) ?? 0), 0)
        : 0;
  const dup = m.duplicates;
  // duplicates: a count, a list, or per kind ({exact, near}: the indexer's IndexSummary shape).
  const duplicates =
    typeof dup === 'number'
      ? dup
      : Array.isArray(dup)
        ? dup.length
        : dup && typeof dup === 'object'
          ? Object.values(dup as Record<string, unknown>).reduce<number>((a, v) => a + (num(v) ?? (Array.isArray(v) ? v.length : 0)), 0)
          : 0;
  return {
    filesKept: kept,
    filesSkipped: skipped,
    skippedByReason,
    languages: [...langs.entries()].map(([language, v]) => ({ language, ...v })).sort((a, b) => b.tokens - a.tokens || b.files - a.files),
    trainTokens: num(m.train_tokens),
    valTokens: num(m.val_tokens),
    vocabSize: num(m.vocab_size),
    evalTasks: evalTasks ?? num(m.eval_tasks),
    scrubbed,
    duplicates,
    bytes,
    notes: Array.isArray(m.notes) ? m.notes.filter((n): n is string => typeof n === 'string') : undefined,
  };
}

/** Reads <run>/corpus/manifest.json (and counts eval.jsonl lines); undefined when not indexed yet. */
export function readCorpusSummary(runDir: string): CorpusView | undefined {
  const path = join(runDir, 'corpus', 'manifest.json');
  if (!existsSync(path)) return undefined;
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  let evalTasks: number | undefined;
  try {
    evalTasks = readFileSync(join(runDir, 'corpus', 'eval.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).length;
  } catch {
    /* no eval tasks */
  }
  return summarizeManifest(manifest, evalTasks);
}
