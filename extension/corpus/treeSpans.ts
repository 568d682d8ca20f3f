// Infill spans and chunk starts from a tree-sitter syntax tree, driven by the node type lists in
// grammars/manifest.json. Runs inside the parse worker. Offsets are UTF-16 code units, which is
// what web-tree-sitter reports for a JavaScript string input.
//  - line: the outermost named node that covers exactly the content of one line;
//  - block: nodes of the manifest's `blocks` types spanning 2..60 lines;
//  - call: nodes of the `calls` types, at most 300 characters;
//  - chunk starts: the line starts of top-level nodes of the `chunks` types.
import type { Node, Tree } from 'web-tree-sitter';
import { lineTable } from './fallback';
import { SPAN_KIND, TextSpan } from './types';

export interface SpanTypes {
  chunks: readonly string[];
  blocks: readonly string[];
  calls: readonly string[];
}

const MAX_BLOCK_LINES = 60;
const MAX_BLOCK_CHARS = 4000;
const MAX_CALL_CHARS = 300;

export function treeSpans(tree: Tree, text: string, types: SpanTypes): { spans: TextSpan[]; chunkStarts: number[]; nodes: number } {
  const blocks = new Set(types.blocks);
  const calls = new Set(types.calls);
  const chunks = new Set(types.chunks);
  const lines = lineTable(text);
  const lineTaken = new Uint8Array(lines.length);
  const spans: TextSpan[] = [];
  const chunkStarts = [0];
  let nodes = 0;

  const root = tree.rootNode;
  const cursor = root.walk();
  let depth = 0;
  for (;;) {
    nodes++;
    if (cursor.nodeIsNamed && depth > 0) {
      const type = cursor.nodeType;
      const s = cursor.startIndex;
      const e = cursor.endIndex;
      const sRow = cursor.startPosition.row;
      const eRow = cursor.endPosition.row;
      if (sRow === eRow && !lineTaken[sRow]) {
        const l = lines[sRow];
        if (l && s === l.contentStart && e === l.contentEnd && e - s >= 3) {
          lineTaken[sRow] = 1;
          spans.push([s, e, SPAN_KIND.line]);
        }
      }
      if (blocks.has(type) && eRow > sRow && eRow - sRow <= MAX_BLOCK_LINES && e - s <= MAX_BLOCK_CHARS) {
        spans.push([s, trimEnd(text, s, e), SPAN_KIND.block]);
      }
      if (calls.has(type) && e - s <= MAX_CALL_CHARS && e > s) {
        spans.push([s, e, SPAN_KIND.call]);
      }
      if (depth === 1 && chunks.has(type) && sRow > 0) {
        chunkStarts.push(lines[sRow]?.start ?? s);
      }
    }
    if (cursor.gotoFirstChild()) {
      depth++;
      continue;
    }
    let moved = false;
    while (!moved) {
      if (cursor.gotoNextSibling()) {
        moved = true;
        break;
      }
      if (!cursor.gotoParent()) break;
      depth--;
    }
    if (!moved) break;
  }
  cursor.delete();
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1] || a[2] - b[2]);
  const dedup: TextSpan[] = [];
  for (const sp of spans) {
    const prev = dedup[dedup.length - 1];
    if (prev && prev[0] === sp[0] && prev[1] === sp[1] && prev[2] === sp[2]) continue;
    if (sp[1] > sp[0]) dedup.push(sp);
  }
  return { spans: dedup, chunkStarts: [...new Set(chunkStarts)].sort((a, b) => a - b), nodes };
}

function trimEnd(text: string, s: number, e: number): number {
  while (e > s && /\s/.test(text[e - 1])) e--;
  return e;
}

export type { Node };
