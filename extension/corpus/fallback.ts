// Chunks and infill spans for files without a tree-sitter grammar (Tcl, Erlang, Fortran, COBOL, a
// house DSL...), found from the text's own structure rather than fixed windows:
//  - line spans: the content of each non-trivial line (indentation and trailing blanks left out);
//  - block spans: the body under a header line (lines indented deeper than the line before them),
//    and the inside of brackets that span several lines;
//  - call spans: `name(...)` and Tcl/Lisp-style `[name ...]` / `(name ...)` with balanced brackets;
//  - chunks: top-level units, cut where a line at indentation 0 and bracket depth 0 follows a blank
//    line. Knows nothing of grammars or tokens.
import { TextSpan, SPAN_KIND } from './types';

const MAX_BLOCK_CHARS = 4000;
const MAX_BLOCK_LINES = 60;
const MAX_CALL_CHARS = 300;

interface LineInfo {
  start: number; // offset of the line's first character
  contentStart: number; // first non-blank character (== contentEnd for a blank line)
  contentEnd: number; // after the last non-blank character
  indent: number; // width, tabs counted as 4... only relative order matters
  blank: boolean;
}

export function lineTable(text: string): LineInfo[] {
  const lines: LineInfo[] = [];
  let start = 0;
  const n = text.length;
  while (start <= n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let cs = start;
    let indent = 0;
    while (cs < end) {
      const c = text.charCodeAt(cs);
      if (c === 32) indent++;
      else if (c === 9) indent += 4;
      else break;
      cs++;
    }
    let ce = end;
    while (ce > cs) {
      const c = text.charCodeAt(ce - 1);
      if (c === 32 || c === 9 || c === 13) ce--;
      else break;
    }
    lines.push({ start, contentStart: cs, contentEnd: ce, indent, blank: cs === ce });
    if (end === n) break;
    start = end + 1;
  }
  return lines;
}

export interface StructureResult {
  spans: TextSpan[];
  /** Offsets where a top-level unit starts (the first is 0). */
  chunkStarts: number[];
}

export function structuralSpans(text: string): StructureResult {
  const lines = lineTable(text);
  const spans: TextSpan[] = [];
  const seen = new Set<string>();
  const add = (s: number, e: number, kind: number) => {
    if (e <= s) return;
    const key = `${s}:${e}:${kind}`;
    if (seen.has(key)) return;
    seen.add(key);
    spans.push([s, e, kind]);
  };

  // Line spans: lines with some word character and at least 3 characters of content.
  for (const l of lines) {
    if (l.blank || l.contentEnd - l.contentStart < 3) continue;
    let word = false;
    for (let i = l.contentStart, lim = Math.min(l.contentEnd, l.contentStart + 200); i < lim && !word; i++) word = isIdent(text.charCodeAt(i));
    if (!word) continue;
    add(l.contentStart, l.contentEnd, SPAN_KIND.line);
  }

  // Indentation blocks: the run of lines deeper than a header line (blank lines inside allowed).
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i];
    if (head.blank) continue;
    let j = i + 1;
    while (j < lines.length && lines[j].blank) j++;
    if (j >= lines.length || lines[j].indent <= head.indent) continue;
    let last = j;
    let k = j;
    for (; k < lines.length; k++) {
      const l = lines[k];
      if (l.blank) continue;
      if (l.indent <= head.indent) break;
      last = k;
      if (k - j > MAX_BLOCK_LINES) break;
    }
    if (last - j + 1 > MAX_BLOCK_LINES) continue;
    const s = lines[j].contentStart;
    const e = lines[last].contentEnd;
    if (e - s <= MAX_BLOCK_CHARS && last > j - 1) add(s, e, SPAN_KIND.block);
  }

  // Brackets: multi-line {...} / [...] / (...) insides, and calls.
  bracketSpans(text, add);

  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1] || a[2] - b[2]);

  // Chunks: a non-blank line at indentation 0 after a blank line, outside any bracket.
  const chunkStarts = [0];
  const depthAtLine = bracketDepthAtLineStarts(text, lines);
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (l.blank || l.indent > 0 || depthAtLine[i] > 0) continue;
    if (!lines[i - 1].blank) continue;
    // Keep a comment block together with what follows it: cut before the comment run.
    chunkStarts.push(l.start);
  }
  return { spans, chunkStarts };
}

function bracketDepthAtLineStarts(text: string, lines: LineInfo[]): number[] {
  const out = new Array<number>(lines.length).fill(0);
  let depth = 0;
  let li = 0;
  for (let i = 0; i < text.length && li < lines.length; i++) {
    while (li < lines.length && lines[li].start === i) out[li++] = Math.max(0, depth);
    const c = text.charCodeAt(i);
    if (c === 123 /* { */) depth++;
    else if (c === 125 /* } */) depth = Math.max(0, depth - 1);
  }
  return out;
}

const CLOSER_OF: Record<number, number> = { 40: 41, 91: 93, 123: 125 }; // ( ) [ ] { }

function isIdent(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

function bracketSpans(text: string, add: (s: number, e: number, kind: number) => void): void {
  // One pass with a stack; quotes of the common kinds skip their content on the same line.
  const stackCh: number[] = [];
  const stackPos: number[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 39 || c === 96) {
      // A quote inside a word (Lisp 'x, English it's) is not a string.
      if (c === 39 && i > 0 && isIdent(text.charCodeAt(i - 1))) continue;
      const close = findStringEnd(text, i, c);
      if (close > 0) i = close;
      continue;
    }
    if (c === 40 || c === 91 || c === 123) {
      if (stackCh.length > 256) {
        stackCh.shift();
        stackPos.shift();
      }
      stackCh.push(c);
      stackPos.push(i);
      continue;
    }
    if (c !== 41 && c !== 93 && c !== 125) continue;
    // Pop to the matching opener; a stray closer is ignored.
    let k = stackCh.length - 1;
    while (k >= 0 && CLOSER_OF[stackCh[k]] !== c) k--;
    if (k < 0) continue;
    const s = stackPos[k];
    stackCh.length = k;
    stackPos.length = k;
    const e = i + 1;
    if (e - s <= MAX_BLOCK_CHARS) {
      const nl = text.indexOf('\n', s);
      if (nl >= 0 && nl < i) {
        // The inside, trimmed to whole lines: after the opener's line, before the closer's line.
        const innerStart = nl + 1;
        const innerEnd = text.lastIndexOf('\n', i);
        if (innerEnd > innerStart) {
          const is = skipSpaces(text, innerStart, innerEnd);
          const ie = trimEnd(text, is, innerEnd);
          if (ie > is) add(is, ie, SPAN_KIND.block);
        }
      }
    }
    if (e - s > MAX_CALL_CHARS) continue;
    const before = s > 0 ? text.charCodeAt(s - 1) : 0;
    if (c === 41 && (isIdent(before) || before === 36)) {
      // name( ... )
      let b = s;
      while (b > 0) {
        const p = text.charCodeAt(b - 1);
        if (isIdent(p) || p === 46 || p === 58 || p === 36) b--;
        else break;
      }
      const f = text.charCodeAt(b);
      if (b < s && ((f >= 65 && f <= 90) || (f >= 97 && f <= 122) || f === 95 || f === 36)) add(b, e, SPAN_KIND.call);
    } else if (c !== 125 && !isIdent(before) && before !== 36) {
      // [name args] (Tcl command substitution) or (name args) (Lisp): a bare word right after
      // the opener, then a space.
      const f = text.charCodeAt(s + 1);
      if ((f >= 65 && f <= 90) || (f >= 97 && f <= 122) || f === 95 || f === 58) {
        let j = s + 2;
        const lim = Math.min(e - 1, s + 80);
        while (j < lim && (isIdent(text.charCodeAt(j)) || WORD_EXTRA.includes(text[j]))) j++;
        const w = text.charCodeAt(j);
        if (j < lim && (w === 32 || w === 9 || w === 10)) add(s, e, SPAN_KIND.call);
      }
    }
  }
}

const WORD_EXTRA = ':.!?*+<>=/-';

function findStringEnd(text: string, start: number, quote: number): number {
  const lim = Math.min(text.length, start + 2000);
  for (let j = start + 1; j < lim; j++) {
    const ch = text.charCodeAt(j);
    if (ch === 92 /* backslash */) {
      j++;
      continue;
    }
    if (ch === quote) return j;
    if (ch === 10 && quote !== 96) return -1;
  }
  return -1;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

function skipSpaces(text: string, i: number, end: number): number {
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function trimEnd(text: string, start: number, end: number): number {
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return end;
}
