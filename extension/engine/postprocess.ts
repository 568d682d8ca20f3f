// Postprocess: turn the sampler's decoded middle into what the editor shows. Each step is a plain
// function of text (no model; only stopAtPad sees ids), tested with a table of cases
// (test/engine/postprocess.test.ts):
//   stopAtPad         ids: stop at the first PAD/EOS (the samplers already do; for other callers)
//   stopAtLineEnd     single-line requests: the rest of the current line (or the next line when
//                     the completion starts with a line break)
//   stopAtBlockEnd    block requests: indentation-based end of the block the cursor is in or opens
//   dropSuffixOverlap drop what the suffix already has (closing brackets, the next line)
//   balanceBrackets   cut at a closer the completion did not open (unless it closes an opener the
//                     prefix left open and the suffix does not close); close what it opened
//   trimTrailing      trailing blank space off; leading indentation kept as generated
// No tree-sitter: indentation and brackets work for every language, including the many with no
// grammar (platform-facts.md), and cost microseconds.
import { cursorLine, type CompletionMode } from './context';
import { confidenceOf } from './sampler';

export interface PostprocessContext {
  prefix: string;
  suffix: string;
  mode: CompletionMode;
}

export function stopAtPad(ids: readonly number[], stopIds: readonly number[] = [0, 1]): number[] {
  const i = ids.findIndex((id) => stopIds.includes(id));
  return i < 0 ? [...ids] : ids.slice(0, i);
}

function indentOf(line: string): number {
  let n = 0;
  for (const ch of /^[ \t]*/.exec(line)![0]) n += ch === '\t' ? 4 : 1;
  return n;
}

const isBlank = (s: string) => s.trim() === '';

/** Single line: up to the first line break; if the text starts with line breaks, its first non-blank line. */
export function stopAtLineEnd(text: string): string {
  const m = /^(\r?\n)+/.exec(text);
  if (m && m[0].length < text.length) {
    const rest = text.slice(m[0].length);
    const nl = rest.indexOf('\n');
    return m[0] + (nl < 0 ? rest : rest.slice(0, nl)).replace(/\r$/, '');
  }
  const nl = text.indexOf('\n');
  return (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '');
}

/**
 * Whether `text` already holds all that `stopAtLineEnd` keeps of any text that begins with it:
 * a line break after the line's first content (leading line breaks alone are not a line yet).
 */
export function endsLine(text: string): boolean {
  const m = /^(\r?\n)+/.exec(text);
  const body = m ? text.slice(m[0].length) : text;
  return body.includes('\n');
}

const OPENER_AT_END = /(?:[{([:]|=>|\bthen|\bdo|\bbegin|\belse)\s*$/;
const CLOSER_LINE = /^\s*(?:[)\]}]|end\b|fi\b|done\b|esac\b)/;

/**
 * Block: the lines of the block the cursor opens (deeper than the cursor's line; a closing line at
 * the cursor's indentation is kept and ends it), or of the block the cursor is in (lines at the
 * cursor's indentation or deeper; nested blocks with their closers). Stops before the first
 * non-blank line that dedents past that.
 */
export function stopAtBlockEnd(text: string, prefix: string): string {
  const lines = text.split('\n');
  const before = cursorLine(prefix, '').before;
  // Indentation is judged on whole lines: the first one starts with what precedes the cursor.
  const full = (i: number) => (i === 0 ? before + lines[0] : lines[i]);
  let base = indentOf(full(0));
  let opens = OPENER_AT_END.test(full(0));
  let start = 1;
  if (isBlank(before)) {
    // On an empty line the completion sets the indentation: its first non-blank line, which may
    // itself open a nested block.
    const k = lines.findIndex((_, i) => !isBlank(full(i)));
    if (k < 0) return text;
    base = indentOf(full(k));
    opens = false;
    start = k;
  }
  for (let i = start; i < lines.length; i++) {
    const line = full(i);
    if (isBlank(line)) continue;
    const ind = indentOf(line);
    if (opens) {
      if (ind > base) continue;
      if (ind === base && CLOSER_LINE.test(line)) return lines.slice(0, i + 1).join('\n');
      return lines.slice(0, i).join('\n');
    }
    if (ind < base) return lines.slice(0, i).join('\n');
    if (OPENER_AT_END.test(line)) {
      // A nested block inside the current one: skip to its end (its closer at `ind` included).
      let j = i + 1;
      while (j < lines.length && (isBlank(lines[j]) || indentOf(lines[j]) > ind)) j++;
      if (j < lines.length && indentOf(lines[j]) === ind && CLOSER_LINE.test(lines[j])) j++;
      i = j - 1;
    }
  }
  return text;
}

/**
 * Drop the end of the completion that the suffix already starts with: exactly (")" before ")"),
 * or ignoring the white space between them, or from the first line (after the first) that repeats
 * the suffix's first non-blank line.
 */
export function dropSuffixOverlap(text: string, suffix: string): string {
  if (!text || !suffix) return text;
  // An overlap that starts inside a word is a coincidence ("retur|n" vs "n + 1"), not a repeat.
  const atBoundary = (t: string, start: number) => start === 0 || !(/\w/.test(t[start]) && /\w/.test(t[start - 1]));
  for (let k = Math.min(text.length, suffix.length); k > 0; k--) {
    if (text.endsWith(suffix.slice(0, k)) && atBoundary(text, text.length - k)) return text.slice(0, text.length - k);
  }
  const t = text.trimEnd();
  const s = suffix.trimStart();
  for (let k = Math.min(t.length, s.length); k > 0; k--) {
    if (t.endsWith(s.slice(0, k)) && atBoundary(t, t.length - k)) return t.slice(0, t.length - k);
  }
  const next = suffix.split('\n').find((l) => !isBlank(l));
  if (next && /\w/.test(next)) {
    const lines = text.split('\n');
    const i = lines.findIndex((l, idx) => idx > 0 && l.trim() === next.trim());
    if (i > 0) return lines.slice(0, i).join('\n');
  }
  return text;
}

const OPEN = '([{';
const CLOSE = ')]}';

/** Calls `visit` for each bracket outside quotes and // comments; stops when it returns false. */
function scanBrackets(text: string, visit: (ch: string, at: number) => boolean): void {
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote || (ch === '\n' && quote !== '`')) quote = '';
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') { quote = ch; continue; }
    if (ch === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return;
      i = nl;
      continue;
    }
    if ((OPEN.includes(ch) || CLOSE.includes(ch)) && !visit(ch, i)) return;
  }
}

/** Openers left unclosed in `text`, innermost last. */
function unclosed(text: string): string[] {
  const stack: string[] = [];
  scanBrackets(text, (ch) => {
    if (OPEN.includes(ch)) stack.push(ch);
    else if (stack.length && OPEN[CLOSE.indexOf(ch)] === stack[stack.length - 1]) stack.pop();
    return true;
  });
  return stack;
}

/**
 * Cut at the first closer that closes a bracket the completion did not open, unless it closes a
 * bracket the prefix left open that the suffix does not close; then close the brackets the
 * completion opened and left open (on the same line, or, in a block whose opener ends a line, on
 * a line of its own at the opening line's indentation), unless the suffix starts with them.
 */
export function balanceBrackets(text: string, ctx: PostprocessContext): string {
  const prefixOpen = unclosed(ctx.prefix.slice(-4000));
  // Closers at the very start of the suffix (the ")" after "foo(|") close prefix openers.
  for (const _ of /^[\s)\]}]*/.exec(ctx.suffix)![0].replace(/\s/g, '')) prefixOpen.pop();
  const stack: Array<{ ch: string; at: number }> = [];
  let cut = -1;
  scanBrackets(text, (ch, at) => {
    if (OPEN.includes(ch)) { stack.push({ ch, at }); return true; }
    const want = OPEN[CLOSE.indexOf(ch)];
    if (stack.length) {
      if (stack[stack.length - 1].ch === want) { stack.pop(); return true; }
    } else if (prefixOpen.length && prefixOpen[prefixOpen.length - 1] === want) {
      prefixOpen.pop();
      return true;
    }
    cut = at;
    return false;
  });
  let out = text;
  if (cut >= 0) {
    out = text.slice(0, cut).trimEnd();
    while (stack.length && stack[stack.length - 1].at >= out.length) stack.pop();
  }
  let closing = '';
  for (let k = stack.length - 1; k >= 0; k--) closing += CLOSE[OPEN.indexOf(stack[k].ch)];
  if (!closing || ctx.suffix.trimStart().startsWith(closing)) return out;
  for (let k = stack.length - 1; k >= 0; k--) {
    const { ch, at } = stack[k];
    const close = CLOSE[OPEN.indexOf(ch)];
    if (ctx.mode === 'block' && /^[ \t]*\n/.test(text.slice(at + 1))) {
      const lineStart = text.lastIndexOf('\n', at) + 1;
      const line = lineStart === 0 ? cursorLine(ctx.prefix, '').before + text : text.slice(lineStart);
      out = out.trimEnd() + '\n' + /^[ \t]*/.exec(line)![0] + close;
    } else {
      out += close;
    }
  }
  return out;
}

/** Trailing white space and blank lines off; leading indentation kept exactly as generated. */
export function trimTrailing(text: string): string {
  return text.replace(/[ \t]+$/gm, '').replace(/\s+$/, '');
}

/** The stages in order; '' when nothing worth showing is left. */
export function postprocess(text: string, ctx: PostprocessContext): string {
  let out = ctx.mode === 'line' ? stopAtLineEnd(text) : stopAtBlockEnd(text, ctx.prefix);
  out = dropSuffixOverlap(out, ctx.suffix);
  out = balanceBrackets(out, ctx);
  out = trimTrailing(out);
  return out.trim() === '' ? '' : out;
}

/**
 * The confidences of the ids whose text survives postprocessing (what the editor would show):
 * `shown` is found in `raw` (it is a part of it, give or take brackets closed at its end), and an
 * id counts when its decoded span overlaps that part. All of them when `shown` is not found.
 * So that a line suggestion is not judged by unsure tokens after the line break it was cut at.
 */
export function shownConfidences(decode: (ids: number[]) => string, ids: readonly number[], confidences: readonly number[],
  raw: string, shown: string): number[] {
  if (shown.length === 0) return [];
  const start = raw.indexOf(shown.slice(0, 16));
  if (start < 0) return [...confidences];
  let end = start;
  while (end < raw.length && end - start < shown.length && raw[end] === shown[end - start]) end++;
  const kept: number[] = [];
  // ids past the shown part are never kept: stop decoding there (a line is cut early in the canvas)
  for (let k = 0, from = 0; k < ids.length && from < end; k++) {
    const to = decode(ids.slice(0, k + 1)).length;
    if (to > start) kept.push(confidences[k]);
    from = to;
  }
  return kept.length ? kept : [...confidences];
}

/** What the editor shows of a sampled completion, and the mean confidence of the ids behind it. */
export function shownCompletion(decode: (ids: number[]) => string, ctx: PostprocessContext,
  raw: { text: string; ids: readonly number[]; confidences: readonly number[] }): { text: string; confidence: number } {
  const text = postprocess(raw.text, ctx);
  return { text, confidence: confidenceOf(shownConfidences(decode, raw.ids, raw.confidences, raw.text, text)).mean };
}
