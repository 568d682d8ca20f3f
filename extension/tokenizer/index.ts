// The tokenizer's public entry (docs/contracts.md "TypeScript APIs the parts share"): byte-level BPE
// with a code-aware pre-tokenizer, trained on the corpus, saved as Hugging Face tokenizer.json.
// Editor-independent: never imports `vscode`. Modules: specials (the fixed ids), byteUnicode (GPT-2
// byte alphabet), pretokenize (the split), bpe (applying merges), train (learning them), format
// (tokenizer.json), tokenizer (the Tokenizer class). docs/tokenizer.md describes the design.
export { SPECIAL_TOKENS, SPECIAL_IDS, BYTE_BASE, FIRST_MERGE_ID } from './specials';
export type { SpecialIds } from './specials';
export { Tokenizer } from './tokenizer';
export { TokenizerFormatError } from './format';
export { trainTokenizer, trainTokenizerAsync, chooseVocabSize, DEFAULT_VOCAB_SIZE, MAX_VOCAB_SIZE } from './train';
export type { TrainOptions } from './train';
export { PRE_TOKENIZE_PATTERN, preTokenize } from './pretokenize';
export { BYTE_TO_CHAR } from './byteUnicode';

/** Version of this implementation, for run.json (changes when the same input would encode differently). */
export const TOKENIZER_VERSION = 'repo-diffusion-bpe/1';
