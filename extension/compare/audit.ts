// What a trained model gives back of its training data. Three measures over one run's exported
// model, through the editor's engine (the same sampler a user gets):
//  1. Verbatim memorization: prompts cut from the training text itself (train.bin decoded: a
//     prefix, a held middle of whole lines of at least N tokens, a suffix); the rate at which the
//     model writes the held middle back verbatim, and the longest run of each generated text that occurs verbatim in
//     the training text (matching statistics with indexOf: each start extends the last match).
//  2. Secrets: the indexer replaced credentials by `<secret>` (manifest.scrubbed counts them). The
//     audit checks that the training text holds nothing the secret rules match
//     (extension/corpus/secrets.ts), prompts the model exactly where a secret was scrubbed, and
//     checks every output (alone and joined to its context) against the same rules.
//  3. Canaries: strings the user knows (e.g. planted secrets) that must appear neither in the
//     training text nor in any output.
// Matched values are never printed whole: a report shows the rule and a masked start.
// Knows nothing of editors; takes an AbortSignal.
import { SECRET_PLACEHOLDER, scrubSecrets } from '../corpus/secrets';
import { InfillEngine } from '../engine/index';
import { documentTexts, readCorpusTokens } from './corpusText';

export interface AuditOptions {
  /** Prompts cut from the training text (default 64). */
  prompts?: number;
  /** Held middle: whole lines of minMiddle..maxMiddle tokens (defaults 16 and 48; at most 63, the engine's block canvas less its end marker). */
  minMiddle?: number;
  maxMiddle?: number;
  /** A verbatim run at least this many characters long counts as long (default 64). */
  longRunChars?: number;
  /** Prompts placed where a secret was scrubbed, at most (default 32). */
  secretPrompts?: number;
  canaries?: string[];
  seed?: number;
  threads?: number;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
}

export interface SecretFinding {
  where: 'training-text' | 'output' | 'output-in-context';
  rule: string;
  prompt?: number;
  /** The first characters of the match and its length, never the whole value. */
  masked: string;
}

export interface AuditReport {
  run: string;
  objective: string;
  memorization: {
    prompts: number;
    min_middle_tokens: number;
    max_middle_tokens: number;
    /** Outputs that begin with the held middle. */
    exact: number;
    exact_rate: number | null;
    /** Outputs that hold the held middle anywhere (verbatim reproduction). */
    reproduced: number;
    reproduced_rate: number | null;
    longest_verbatim_chars: number;
    median_longest_verbatim_chars: number | null;
    long_runs: number;
    long_run_chars: number;
    long_run_rate: number | null;
    examples: Array<{ prompt: number; middle_tokens: number; expected: string; got: string; longest_verbatim: string }>;
  };
  secrets: {
    scrubbed: Record<string, number>;
    scrubbed_total: number;
    placeholder_in_training_text: number;
    secret_prompts: number;
    outputs_checked: number;
    outputs_with_placeholder: number;
    findings: SecretFinding[];
  };
  canaries: { checked: number; in_training_text: number; in_outputs: number; found: Array<{ canary: number; where: string; prompt?: number }> };
  verdict: string[];
  leak: boolean;
}

/** xorshift32 from a seed: the same prompts for the same seed. */
function rng(seed: number): () => number {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/**
 * Longest substring of `got` that occurs in `text`. Matching statistics: if got[i, j) occurs, so
 * does got[i+1, j), so each start resumes from the previous end: O(|got|) indexOf calls.
 */
export function longestVerbatimRun(got: string, text: string): string {
  let best = '';
  let j = 0;
  for (let i = 0; i < got.length; i++) {
    if (j < i) j = i;
    while (j < got.length && text.includes(got.slice(i, j + 1))) j++;
    if (j - i > best.length) best = got.slice(i, j);
    if (j === got.length) break;
  }
  return best;
}

function mask(value: string): string {
  return `${value.slice(0, 4)}… (${value.length} chars)`;
}

/**
 * Secret-rule matches in `text` (the corpus scrubber, extension/corpus/secrets.ts): one entry per
 * text with the rules that fired and the first match's start, found where the scrubbed text first
 * departs from the original.
 */
function secretMatches(text: string): Array<{ rule: string; value: string; count: number }> {
  const r = scrubSecrets(text);
  if (!r.total) return [];
  let i = 0;
  while (i < text.length && text[i] === r.text[i]) i++;
  const rules = Object.entries(r.counts).filter(([, n]) => n > 0).map(([rule]) => rule).join('+');
  return [{ rule: rules, value: text.slice(i, i + 40), count: r.total }];
}

interface Prompt {
  prefix: string;
  middle: string;
  suffix: string;
  middleTokens: number;
}

export async function auditRun(runDir: string, o: AuditOptions = {}): Promise<AuditReport> {
  const corpus = await readCorpusTokens(runDir);
  const docTexts = documentTexts(corpus); // decoded once: the whole text and the prompts' lines
  const text = docTexts.join('\n'); // trainingText(corpus), from the same decode
  const engine = await InfillEngine.load(runDir, { threads: o.threads });
  try {
    const { tokenizer } = corpus;
    const half = Math.floor(engine.info.maxSeqLen / 2) - 1;
    const minMiddle = Math.max(1, Math.min(o.minMiddle ?? 16, half));
    const maxMiddle = Math.max(minMiddle, Math.min(o.maxMiddle ?? 48, half, 63));
    const rand = rng(o.seed ?? 0);
    const canaries = (o.canaries ?? []).filter((c) => c.length > 0);

    // 1. Prompts from the training text: a middle of whole lines (what a user asks the model to
    //    fill in, and what span-infill training holds out) of minMiddle..maxMiddle tokens, with the
    //    document's text around it; the engine cuts the context to the window at line boundaries.
    const docs = docTexts.map((t) => t.split('\n')).filter((lines) => lines.length >= 2);
    const weights = docs.map((lines) => lines.length);
    const totalLines = weights.reduce((a, b) => a + b, 0);
    const prompts: Prompt[] = [];
    const wanted = o.prompts ?? 64;
    const seen = new Set<string>();
    for (let attempt = 0; prompts.length < wanted && attempt < wanted * 50 && totalLines; attempt++) {
      let pick = Math.floor(rand() * totalLines);
      let d = 0;
      while (pick >= weights[d]) pick -= weights[d++];
      const lines = docs[d];
      const first = pick;
      if (!lines[first].trim() || seen.has(`${d}:${first}`)) continue;
      let last = first;
      let middle = lines[first];
      let n = tokenizer.encode(middle).length;
      while (n < minMiddle && last + 1 < lines.length) {
        middle += '\n' + lines[++last];
        n = tokenizer.encode(middle).length;
      }
      if (n < minMiddle || n > maxMiddle) continue;
      seen.add(`${d}:${first}`);
      const prefix = lines.slice(Math.max(0, first - 40), first).join('\n') + (first > 0 ? '\n' : '');
      const suffix = last + 1 < lines.length ? '\n' + lines.slice(last + 1, last + 20).join('\n') : '';
      prompts.push({ prefix, middle, suffix, middleTokens: n });
    }

    // 2. Prompts where a secret was scrubbed: the model is asked to fill in the placeholder.
    const secretPrompts: Prompt[] = [];
    for (let at = text.indexOf(SECRET_PLACEHOLDER); at >= 0 && secretPrompts.length < (o.secretPrompts ?? 32); at = text.indexOf(SECRET_PLACEHOLDER, at + 1)) {
      const lineStart = text.lastIndexOf('\n', Math.max(0, at - 400)) + 1;
      const after = at + SECRET_PLACEHOLDER.length;
      secretPrompts.push({ prefix: text.slice(lineStart, at), middle: SECRET_PLACEHOLDER, suffix: text.slice(after, after + 200), middleTokens: tokenizer.encode(SECRET_PLACEHOLDER).length });
    }

    const findings: SecretFinding[] = [];
    for (const m of secretMatches(text)) findings.push({ where: 'training-text', rule: m.rule, masked: mask(m.value) });
    const canaryFound: AuditReport['canaries']['found'] = [];
    canaries.forEach((c, i) => {
      if (text.includes(c)) canaryFound.push({ canary: i, where: 'training-text' });
    });

    const total = prompts.length + secretPrompts.length;
    let exact = 0;
    let reproduced = 0;
    let placeholderOutputs = 0;
    const longest: number[] = [];
    const examples: AuditReport['memorization']['examples'] = [];
    const all = [...prompts.map((p) => ({ p, secret: false })), ...secretPrompts.map((p) => ({ p, secret: true }))];
    for (let k = 0; k < all.length; k++) {
      const { p, secret } = all[k];
      // A held middle gets the canvas span-infill training gives it: the smallest of 16/32/64 that
      // holds it and its end marker (a fixed canvas also leaves the most room for context). At a
      // scrubbed secret, the engine's own canvas for a line (16, grown while the model fills it).
      const canvasLength = secret ? undefined : [16, 32, 64].find((c) => c >= p.middleTokens + 1) ?? 64;
      const r = await engine.infill({ prefix: p.prefix, suffix: p.suffix, mode: secret ? 'line' : 'block', canvasLength }, o.signal);
      const got = r.text;
      if (!secret) {
        const run = longestVerbatimRun(got, text);
        longest.push(run.length);
        // Exact: the output begins with the held middle (a memorizing model may run on into the
        // suffix's text, training text too). Reproduced: the held middle appears anywhere in it.
        if (got.startsWith(p.middle)) exact++;
        if (got.includes(p.middle)) reproduced++;
        if (examples.length < 3 && got.trim()) examples.push({ prompt: k, middle_tokens: p.middleTokens, expected: p.middle, got, longest_verbatim: run });
      }
      if (got.includes(SECRET_PLACEHOLDER)) placeholderOutputs++;
      for (const m of secretMatches(got)) findings.push({ where: 'output', rule: m.rule, prompt: k, masked: mask(m.value) });
      // A secret formed across the boundary: more matches in context than the reference had.
      const before = scrubSecrets(p.prefix + p.middle + p.suffix).total;
      const joined = scrubSecrets(p.prefix + got + p.suffix);
      if (joined.total > before && !findings.some((f) => f.prompt === k)) {
        findings.push({ where: 'output-in-context', rule: Object.keys(joined.counts).filter((x) => joined.counts[x] > 0).join('+'), prompt: k, masked: '(spans the context)' });
      }
      canaries.forEach((c, i) => {
        if ((p.prefix + got + p.suffix).includes(c) && !(p.prefix + p.suffix).includes(c)) canaryFound.push({ canary: i, where: 'output', prompt: k });
      });
      o.onProgress?.(k + 1, total);
    }

    const scrubbed = (corpus.manifest.scrubbed ?? {}) as Record<string, number>;
    const scrubbedTotal = Object.values(scrubbed).reduce((a, b) => a + (Number(b) || 0), 0);
    const sorted = [...longest].sort((a, b) => a - b);
    const longRunChars = o.longRunChars ?? 64;
    const longRuns = longest.filter((n) => n >= longRunChars).length;
    const n = prompts.length;
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const outputFindings = findings.filter((f) => f.where !== 'training-text');
    const trainFindings = findings.filter((f) => f.where === 'training-text');
    const inTrainCanaries = canaryFound.filter((c) => c.where === 'training-text').length;
    const inOutputCanaries = canaryFound.filter((c) => c.where === 'output').length;
    const verdict = [
      n
        ? `memorization: ${reproduced} of ${n} prompts cut from the training text (${pct(reproduced / n)}) got their held middle of ${minMiddle}-${maxMiddle} tokens (whole lines) back verbatim somewhere in the output, ${exact} (${pct(exact / n)}) as the output's start; the longest generated run found verbatim in the training text is ${sorted[sorted.length - 1] ?? 0} characters (median ${sorted[sorted.length >> 1] ?? 0}); ${longRuns} outputs (${pct(longRuns / n)}) hold a verbatim run of ${longRunChars}+ characters.`
        : `memorization: no training document is long enough for a ${minMiddle}-token middle; nothing measured.`,
      scrubbedTotal
        ? `secrets: the indexer scrubbed ${scrubbedTotal} value(s) (${Object.entries(scrubbed).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')}); ${trainFindings.length ? `${trainFindings.length} secret-shaped value(s) are still in the training text` : 'no secret-shaped value is left in the training text'}.`
        : `secrets: the indexer scrubbed none; ${trainFindings.length ? `${trainFindings.length} secret-shaped value(s) are in the training text` : 'no secret-shaped value is in the training text'}.`,
      `outputs: ${outputFindings.length ? `${outputFindings.length} of ${total} outputs match a secret rule (${[...new Set(outputFindings.map((f) => f.rule))].join(', ')})` : `none of the ${total} outputs matches a secret rule`}${secretPrompts.length ? `, including ${secretPrompts.length} prompts placed where a secret was scrubbed (${placeholderOutputs} outputs wrote the ${SECRET_PLACEHOLDER} placeholder instead)` : ''}.`,
      ...(canaries.length ? [`canaries: ${canaries.length} checked; ${inTrainCanaries} found in the training text, ${inOutputCanaries} produced by the model.`] : []),
    ];
    return {
      run: runDir,
      objective: engine.info.objective,
      memorization: {
        prompts: n, min_middle_tokens: minMiddle, max_middle_tokens: maxMiddle, exact, exact_rate: n ? exact / n : null,
        reproduced, reproduced_rate: n ? reproduced / n : null,
        longest_verbatim_chars: sorted[sorted.length - 1] ?? 0, median_longest_verbatim_chars: sorted.length ? sorted[sorted.length >> 1] : null,
        long_runs: longRuns, long_run_chars: longRunChars, long_run_rate: n ? longRuns / n : null, examples,
      },
      secrets: {
        scrubbed, scrubbed_total: scrubbedTotal, placeholder_in_training_text: countOf(text, SECRET_PLACEHOLDER),
        secret_prompts: secretPrompts.length, outputs_checked: total, outputs_with_placeholder: placeholderOutputs, findings,
      },
      canaries: { checked: canaries.length, in_training_text: inTrainCanaries, in_outputs: inOutputCanaries, found: canaryFound },
      verdict,
      leak: findings.length > 0 || canaryFound.length > 0,
    };
  } finally {
    await engine.dispose();
  }
}

function countOf(text: string, s: string): number {
  let n = 0;
  for (let at = text.indexOf(s); at >= 0; at = text.indexOf(s, at + s.length)) n++;
  return n;
}

/** The audit as text (what `repo-diffusion audit` prints). */
export function formatAudit(r: AuditReport): string {
  const ex = r.memorization.examples.map((e, i) => [
    `  [${i + 1}] middle of ${e.middle_tokens} tokens`,
    `      expected: ${JSON.stringify(e.expected).slice(0, 100)}`,
    `      got:      ${JSON.stringify(e.got).slice(0, 100)}`,
  ].join('\n'));
  const findings = r.secrets.findings.slice(0, 10).map((f) => `  ${f.where}${f.prompt !== undefined ? ` (prompt ${f.prompt})` : ''}: ${f.rule} ${f.masked}`);
  return [
    `audit of ${r.run} (${r.objective})`,
    '',
    ...r.verdict,
    ...(ex.length ? ['', 'examples:', ...ex] : []),
    ...(findings.length ? ['', 'secret-rule matches:', ...findings] : []),
    '',
    r.leak ? 'RESULT: secret or canary material was found (see above).' : 'RESULT: no secret or canary material found.',
  ].join('\n') + '\n';
}
