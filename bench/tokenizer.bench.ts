// Tokenizer benchmark: trains the byte-level BPE on a real source tree and prints its figures.
//   node --import tsx bench/tokenizer.bench.ts [DIR...] [--vocab N] [--target-mb MB] [--runs N]
//                                             [--ext .tcl] [--max-file-mb MB]
// DIR defaults to /tmp/tcllib (Debian's tcllib: `cd /tmp && apt-get download tcllib &&
// dpkg -x tcllib_*.deb /tmp/tcllib`). Reads every UTF-8 text file under the DIRs (or only those
// ending in --ext; none above --max-file-mb, default 1), trains on it once as it is, then, when it
// is smaller than --target-mb, on copies of it concatenated up to that size (the
// issue's 40 MB training target: copies repeat the same pieces, so this measures the counting pass
// at full size and the merge pass at the real corpus's variety), and encodes the real corpus
// several times with a cold cache (a fresh tokenizer each run) and a warm one. Medians are printed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Tokenizer, trainTokenizer } from '../extension/tokenizer';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    vocab: { type: 'string', default: '8192' },
    'target-mb': { type: 'string', default: '40' },
    runs: { type: 'string', default: '5' },
    ext: { type: 'string' },
    'max-file-mb': { type: 'string', default: '1' },
  },
});
const dirs = positionals.length ? positionals : ['/tmp/tcllib'];
const maxFileBytes = Number(values['max-file-mb']) * 1e6;
const vocabSize = Number(values.vocab);
const targetBytes = Number(values['target-mb']) * 1e6;
const runs = Number(values.runs);

function textFiles(d: string, out: string[] = []): string[] {
  for (const name of readdirSync(d).sort()) {
    const path = join(d, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) textFiles(path, out);
    else if (st.isFile() && st.size > 0 && st.size <= maxFileBytes && (!values.ext || name.endsWith(values.ext))) out.push(path);
  }
  return out;
}

const texts: string[] = [];
let bytes = 0;
for (const path of dirs.flatMap((d) => textFiles(d))) {
  const buf = readFileSync(path);
  if (buf.includes(0) || !isUtf8(buf)) continue; // binary or not UTF-8: the indexer skips these too
  texts.push(buf.toString('utf8'));
  bytes += buf.length;
}
if (!texts.length) {
  console.error(`no text files under ${dirs.join(', ')}`);
  process.exit(1);
}
const mb = (n: number) => (n / 1e6).toFixed(2);
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (f: () => void) => {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
};

console.log(`corpus: ${dirs.join(' + ')}, ${texts.length} files, ${mb(bytes)} MB; node ${process.version}`);

let tok!: Tokenizer;
const trainS = seconds(() => (tok = trainTokenizer(texts, { vocabSize })));
console.log(`train (${mb(bytes)} MB, vocab ${vocabSize}): ${trainS.toFixed(2)} s -> vocab ${tok.vocabSize}, ${tok.mergeCount} merges`);

const copies = Math.ceil(targetBytes / bytes);
if (copies > 1) {
  const big: string[] = [];
  for (let c = 0; c < copies; c++) big.push(...texts);
  const bigS = seconds(() => trainTokenizer(big, { vocabSize }));
  console.log(`train (${copies} copies = ${mb(bytes * copies)} MB, vocab ${vocabSize}): ${bigS.toFixed(2)} s`);
}

const json = JSON.stringify(tok.toJSON());
const whole = texts.join('\n');
const wholeBytes = Buffer.byteLength(whole);
let ids: number[] = [];
const cold: number[] = [];
for (let r = 0; r < runs; r++) {
  const fresh = Tokenizer.fromJSON(json);
  cold.push(wholeBytes / 1e6 / seconds(() => (ids = fresh.encode(whole))));
}
const warm: number[] = [];
for (let r = 0; r < runs; r++) warm.push(wholeBytes / 1e6 / seconds(() => (ids = tok.encode(whole))));
let decoded = '';
const dec: number[] = [];
for (let r = 0; r < runs; r++) dec.push(wholeBytes / 1e6 / seconds(() => (decoded = tok.decode(ids))));
if (decoded !== whole) throw new Error('round trip failed');
console.log(`encode ${mb(wholeBytes)} MB, median of ${runs}: ${median(cold).toFixed(1)} MB/s cold cache, ${median(warm).toFixed(1)} MB/s warm cache`);
console.log(`decode median of ${runs}: ${median(dec).toFixed(1)} MB/s; round trip exact`);
console.log(`tokens/byte ${(ids.length / wholeBytes).toFixed(3)} (${(wholeBytes / ids.length).toFixed(2)} bytes/token); tokenizer.json ${mb(json.length)} MB`);
