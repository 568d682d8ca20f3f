// Does a completion keep the file parseable? For each task whose language has a tree-sitter
// grammar (grammars/manifest.json), parse prefix + expected middle + suffix and prefix + got +
// suffix with the corpus's own parse machinery (extension/corpus/parsePool.ts: worker threads,
// a deadline per parse) and compare. A task counts only when the reference text parses without
// ERROR or MISSING nodes (eval prefixes are cut at line boundaries and may start mid-construct);
// then the completion either keeps it clean or breaks it. Languages without a grammar (Tcl, SQL,
// ...) are counted as skipped, never guessed. Knows nothing of models: it takes texts.
import { ParsePool } from '../corpus/parsePool';
import { languageById, resolveGrammar } from '../corpus/languages';

export interface SyntaxTask {
  language?: string;
  prefix: string;
  middle: string;
  suffix: string;
}

export interface SyntaxReport {
  /** Tasks whose language has a grammar and whose reference parses cleanly. */
  checked: number;
  /** Of those, completions that still parse without ERROR/MISSING nodes. */
  parses: number;
  rate: number | null;
  /** No grammar for the language (or not installed). */
  skippedNoGrammar: number;
  /** The reference text itself has errors (cut context), so the completion cannot be judged. */
  skippedReferenceErrors: number;
  /** Parse failed or ran past its deadline. */
  skippedParseFailures: number;
  byLanguage: Record<string, { checked: number; parses: number }>;
}

export async function checkSyntax(tasks: readonly SyntaxTask[], gots: readonly string[], options: { timeoutMs?: number; workers?: number } = {}): Promise<SyntaxReport> {
  const report: SyntaxReport = { checked: 0, parses: 0, rate: null, skippedNoGrammar: 0, skippedReferenceErrors: 0, skippedParseFailures: 0, byLanguage: {} };
  const jobs: Array<{ k: number; language: string; grammarPath: string }> = [];
  tasks.forEach((t, k) => {
    const lang = t.language ? languageById(t.language) : undefined;
    const grammarPath = lang ? resolveGrammar(lang) : undefined;
    if (!lang || !grammarPath) report.skippedNoGrammar++;
    else jobs.push({ k, language: lang.id, grammarPath });
  });
  if (!jobs.length) return report;
  const pool = new ParsePool({ size: options.workers ?? 1, timeoutMs: options.timeoutMs ?? 5000 });
  try {
    const parse = (language: string, grammarPath: string, text: string) =>
      pool.parse({ language, grammarPath, text, chunks: [], blocks: [], calls: [] });
    const results = await Promise.all(jobs.map(async ({ k, language, grammarPath }) => {
      const t = tasks[k];
      const [ref, got] = await Promise.all([
        parse(language, grammarPath, t.prefix + t.middle + t.suffix),
        parse(language, grammarPath, t.prefix + gots[k] + t.suffix),
      ]);
      return { language, ref, got };
    }));
    for (const { language, ref, got } of results) {
      if (!ref.ok || !got.ok) report.skippedParseFailures++;
      else if (ref.hasError) report.skippedReferenceErrors++;
      else {
        const l = (report.byLanguage[language] ??= { checked: 0, parses: 0 });
        l.checked++;
        report.checked++;
        if (!got.hasError) {
          l.parses++;
          report.parses++;
        }
      }
    }
  } finally {
    await pool.close();
  }
  report.rate = report.checked ? report.parses / report.checked : null;
  return report;
}
