// The fixed head of every vocabulary (docs/contracts.md "Special tokens"): six special tokens at ids
// 0..5, then the 256 byte tokens at ids 6..261 in byte order, then the learned merges.

/** The special tokens, in id order: `<|pad|>` is id 0 ... `<|fim_middle|>` is id 5. */
export const SPECIAL_TOKENS: readonly string[] = Object.freeze([
  '<|pad|>',
  '<|eos|>',
  '<|mask|>',
  '<|fim_prefix|>',
  '<|fim_suffix|>',
  '<|fim_middle|>',
]);

export interface SpecialIds {
  pad: number;
  eos: number;
  mask: number;
  fimPrefix: number;
  fimSuffix: number;
  fimMiddle: number;
}

export const SPECIAL_IDS: Readonly<SpecialIds> = Object.freeze({ pad: 0, eos: 1, mask: 2, fimPrefix: 3, fimSuffix: 4, fimMiddle: 5 });

/** Id of byte 0; byte b is id BYTE_BASE + b. */
export const BYTE_BASE = SPECIAL_TOKENS.length;

/** The first id a merge can produce. */
export const FIRST_MERGE_ID = BYTE_BASE + 256;
