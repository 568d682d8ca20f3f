// Reading a run's corpus back as tokens and text: train.bin in the manifest's dtype, split into
// its documents at <|eos|>, decoded with the corpus tokenizer. Shared by the retrieval baseline and
// the audit. Knows the corpus layout (docs/contracts.md "Corpus files"), nothing of models.
import { readFile } from 'node:fs/promises';
import { runLayout } from '../common/runLayout';
import { Tokenizer } from '../tokenizer/index';

export interface CorpusTokens {
  tokenizer: Tokenizer;
  manifest: Record<string, unknown>;
  ids: Uint16Array | Uint32Array;
  /** [start, end) token offsets of each document (the <|eos|> excluded). */
  documents: Array<[number, number]>;
}

export async function readCorpusTokens(runDir: string): Promise<CorpusTokens> {
  const layout = runLayout(runDir);
  const manifest = JSON.parse(await readFile(layout.manifest, 'utf8')) as Record<string, unknown>;
  const tokenizer = await Tokenizer.load(layout.tokenizer);
  const buf = await readFile(layout.trainBin);
  const wide = manifest.token_dtype === 'uint32';
  const size = wide ? 4 : 2;
  if (buf.length % size) throw new Error(`${layout.trainBin}: ${buf.length} bytes is not a whole number of ${manifest.token_dtype ?? 'uint16'} tokens`);
  // Copy into an aligned buffer (a Buffer may sit at an odd offset of its pool); little-endian hosts only.
  const aligned = new Uint8Array(buf.length);
  aligned.set(buf);
  const ids = wide ? new Uint32Array(aligned.buffer) : new Uint16Array(aligned.buffer);
  const eos = tokenizer.specialIds.eos;
  const documents: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === eos) {
      if (i > start) documents.push([start, i]);
      start = i + 1;
    }
  }
  if (start < ids.length) documents.push([start, ids.length]);
  return { tokenizer, manifest, ids, documents };
}

/** Every training document, decoded. */
export function documentTexts(c: CorpusTokens): string[] {
  return c.documents.map(([s, e]) => c.tokenizer.decode(c.ids.subarray(s, e)));
}

/** The training text: every document decoded, joined by a newline. */
export function trainingText(c: CorpusTokens): string {
  return documentTexts(c).join('\n');
}
