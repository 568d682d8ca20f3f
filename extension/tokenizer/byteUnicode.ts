// GPT-2's byte-to-unicode alphabet (openai/gpt-2 encoder.py `bytes_to_unicode`): every byte gets a
// printable character, so that byte-level tokens can be stored as JSON strings in tokenizer.json.
// Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100.. in byte order. The
// trainer (trainer/data.py) builds the same table, which is why the vocab strings must stay standard.
// Knows nothing of BPE: only bytes <-> strings.

/** BYTE_TO_CHAR[b] is the one-character string standing for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildTable();

const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

function buildTable(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + next++);
  return table;
}

/** The byte-level string of a token's bytes (what model.vocab and model.merges hold). */
export function bytesToTokenString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** The bytes of a byte-level token string, or null when it holds a character outside the alphabet. */
export function tokenStringToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}
