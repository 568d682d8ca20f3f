// The launcher with the real bundled trainer (python -m trainer, cwd = the repository root) on a
// tiny byte-level corpus written the way the indexer writes it: the seam between the two sides.
// Needs a Python with torch and numpy (CI: Debian's /usr/bin/python3 with python3-torch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchTrainer, buildTrainArgs } from '../../extension/training/launcher';
import { readMetrics } from '../../extension/training/runState';
import type { TrainerEvent } from '../../extension/training/protocol';

const REPO = join(__dirname, '..', '..');
const CANDIDATES = [process.env.REPO_DIFFUSION_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => Boolean(p));
const PY = CANDIDATES.find((p) => spawnSync(p, ['-c', 'import torch, numpy']).status === 0);
const SPECIALS = ['<|pad|>', '<|eos|>', '<|mask|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>'];

/** GPT-2's byte-to-unicode table (the tokenizer.json alphabet). */
function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let c = 33; c <= 126; c++) bs.push(c);
  for (let c = 161; c <= 172; c++) bs.push(c);
  for (let c = 174; c <= 255; c++) bs.push(c);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i])]));
}

const encode = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => 6 + b);

function writeCorpus(runDir: string): void {
  const dir = join(runDir, 'corpus');
  mkdirSync(dir, { recursive: true });
  const docs = Array.from({ length: 6 }, (_, k) => `def add_${k}(a, b):\n    return a + b\n\nclass Box${k}:\n    def __init__(self, v):\n        self.v = v\n`);
  const ids = (list: string[]) => list.flatMap((d) => [...encode(d), 1]);
  const bin = (a: number[]) => Buffer.from(new Uint16Array(a).buffer);
  const train = ids(docs);
  const val = ids(docs.slice(0, 2));
  writeFileSync(join(dir, 'train.bin'), bin(train));
  writeFileSync(join(dir, 'val.bin'), bin(val));
  const b2u = bytesToUnicode();
  const vocab: Record<string, number> = Object.fromEntries(SPECIALS.map((t, i) => [t, i]));
  for (let b = 0; b < 256; b++) vocab[b2u.get(b)!] = 6 + b;
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab, merges: [] }, added_tokens: SPECIALS.map((content, id) => ({ id, content, special: true })), decoder: { type: 'ByteLevel' } }));
  const tasks = docs.map((d, i) => {
    const [pre, mid, suf] = [d.slice(0, d.indexOf('    return')), '    return a + b\n', d.slice(d.indexOf('\n\nclass') + 1)];
    return { id: String(i), path: `f${i}.py`, language: 'python', kind: 'line', prefix: pre, middle: mid, suffix: suf, prefix_ids: encode(pre), middle_ids: encode(mid), suffix_ids: encode(suf) };
  });
  writeFileSync(join(dir, 'eval.jsonl'), tasks.map((t) => JSON.stringify(t)).join('\n') + '\n');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ vocab_size: 262, token_dtype: 'uint16', train_tokens: train.length, val_tokens: val.length, files: [], corpus_sha256: 'test', tokenizer_sha256: 'test' }));
}

test('a Python with torch is available for the real trainer', () => {
  assert.ok(PY, `no Python with torch and numpy among ${CANDIDATES.join(', ')} (Debian: apt-get install -y python3-torch python3-numpy libopenblas0-pthread)`);
});

test('the real trainer runs to done: its events parse, metrics.jsonl replays the same, the pid file is gone', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'rd-real-'));
  writeCorpus(runDir);
  const events: TrainerEvent[] = [];
  const garbage: string[] = [];
  const proc = await launchTrainer({
    python: PY!,
    trainerRoot: REPO,
    runDir,
    args: [...buildTrainArgs({ preset: 'nano', device: 'cpu', seed: 1 }), '--max-steps', '6', '--eval-every', '3', '--eval-tasks', '2', '--seq-len', '64', '--batch-size', '2', '--no-export'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    onEvent: (e) => events.push(e),
    onGarbage: (g) => garbage.push(g.text),
  });
  const outcome = await proc.outcome;
  assert.equal(outcome.kind, 'done', `${outcome.message}\n${outcome.stderrTail.join('\n')}`);
  assert.deepEqual(garbage, [], 'stdout carries only protocol lines');
  const types = new Set(events.map((e) => e.type));
  for (const t of ['start', 'step', 'eval', 'checkpoint', 'done']) assert.ok(types.has(t as TrainerEvent['type']), `no ${t} event in ${[...types]}`);
  assert.equal(events.filter((e) => e.type === 'unknown').length, 0, 'every event type is one this side knows');
  const replay = await readMetrics(join(runDir, 'metrics.jsonl'));
  assert.deepEqual(replay.events, events);
  assert.equal(existsSync(join(runDir, 'trainer.pid')), false);
});

test('cancelling the real trainer checkpoints and ends with done cancelled', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'rd-real-'));
  writeCorpus(runDir);
  let firstStep!: () => void;
  const stepped = new Promise<void>((r) => (firstStep = r));
  const proc = await launchTrainer({
    python: PY!,
    trainerRoot: REPO,
    runDir,
    args: [...buildTrainArgs({ preset: 'nano', device: 'cpu', minutes: 5 }), '--seq-len', '64', '--batch-size', '2', '--eval-tasks', '0', '--no-export'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    onEvent: (e) => e.type === 'step' && firstStep(),
    killGraceMs: 20_000,
  });
  await stepped;
  const outcome = await proc.cancel();
  assert.equal(outcome.kind, 'cancelled', `${outcome.message}\n${outcome.stderrTail.join('\n')}`);
  assert.equal(outcome.done?.reason, 'cancelled');
  assert.equal(outcome.exitCode, 0);
  assert.ok(existsSync(join(runDir, 'checkpoints', 'last.pt')), 'a checkpoint to resume from');
});
