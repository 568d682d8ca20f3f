import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineParser, parseEvents, parseEventLine, type GarbageLine, type TrainerEvent } from '../../extension/training/protocol';

function collect() {
  const events: TrainerEvent[] = [];
  const garbage: GarbageLine[] = [];
  const parser = new LineParser({ onEvent: (e) => events.push(e), onGarbage: (g) => garbage.push(g) });
  return { parser, events, garbage };
}

test('a line split across chunks becomes one event once its newline arrives', () => {
  const { parser, events } = collect();
  const line = JSON.stringify({ type: 'step', time: 1, step: 3, epoch: 0.5, loss: 2.25 }) + '\n';
  parser.push(line.slice(0, 7));
  assert.equal(events.length, 0);
  parser.push(line.slice(7, 20));
  assert.equal(events.length, 0);
  parser.push(line.slice(20));
  assert.equal(events.length, 1);
  assert.deepEqual(events[0], { type: 'step', time: 1, step: 3, epoch: 0.5, loss: 2.25 });
});

test('a multi-byte character split between byte chunks is decoded whole', () => {
  const { parser, events } = collect();
  const bytes = new TextEncoder().encode(JSON.stringify({ type: 'error', time: 2, message: 'naïve → λ' }) + '\n');
  const cut = bytes.indexOf(0xce); // first byte of λ
  parser.push(bytes.subarray(0, cut + 1));
  parser.push(bytes.subarray(cut + 1));
  assert.equal(events.length, 1);
  assert.equal((events[0] as { message: string }).message, 'naïve → λ');
});

test('several events in one chunk with CRLF endings all arrive in order', () => {
  const { parser, events } = collect();
  parser.push('{"type":"start","time":1}\r\n{"type":"done","time":2,"reason":"budget"}\r\n');
  assert.deepEqual(events.map((e) => e.type), ['start', 'done']);
});

test('unknown event types are kept as unknown and unknown fields survive', () => {
  const { parser, events, garbage } = collect();
  parser.push('{"type":"telemetry","time":5,"gpu_util":0.9}\n{"type":"step","time":6,"step":1,"epoch":0.1,"loss":3,"grad_norm":1.5}\n');
  assert.equal(garbage.length, 0);
  assert.equal(events[0].type, 'unknown');
  assert.equal((events[0] as { originalType: string }).originalType, 'telemetry');
  assert.equal(events[0].gpu_util, 0.9);
  assert.equal(events[1].grad_norm, 1.5);
});

test('garbage lines are reported with their line number and do not stop parsing', () => {
  const { parser, events, garbage } = collect();
  parser.push('Loading model...\n[1, 2]\n{"no_type": 1}\n{"type":"step","time":1,"step":"x"}\n{"type":"done","time":2,"reason":"epochs"}\n');
  assert.deepEqual(garbage.map((g) => g.line), [1, 2, 3, 4]);
  assert.match(garbage[0].reason, /not JSON/);
  assert.match(garbage[1].reason, /not a JSON object/);
  assert.match(garbage[3].reason, /step event needs/);
  assert.deepEqual(events.map((e) => e.type), ['done']);
});

test('blank lines are neither events nor garbage', () => {
  const { parser, events, garbage } = collect();
  parser.push('\n\n   \n');
  assert.equal(events.length + garbage.length, 0);
});

test('end() parses a final line without newline, and reports a torn one', () => {
  const a = collect();
  a.parser.push('{"type":"done","time":1,"reason":"budget"}');
  assert.equal(a.parser.end(), false);
  assert.equal(a.events.length, 1);
  const b = collect();
  b.parser.push('{"type":"step","time":1,"step":1,"epo');
  assert.equal(b.parser.end(), true);
  assert.equal(b.events.length, 0);
  assert.equal(b.garbage.length, 1);
});

test('a missing time becomes 0 and checkpoint.best defaults to false', () => {
  const e = parseEventLine('{"type":"checkpoint","step":4,"path":"c.pt"}');
  assert.ok(e && 'type' in e);
  assert.equal((e as TrainerEvent).time, 0);
  assert.equal((e as { best: boolean }).best, false);
});

test('an unknown event that carries a field named garbage is still an event', () => {
  const { events, garbage } = parseEvents('{"type":"x","time":1,"garbage":"y"}\n');
  assert.equal(garbage.length, 0);
  assert.equal(events[0].type, 'unknown');
});

test('a runaway line without newline is dropped as garbage instead of growing forever', () => {
  const { parser, garbage } = collect();
  parser.push('x'.repeat(LineParser.MAX_LINE + 1));
  assert.equal(garbage.length, 1);
  assert.equal(parser.pending, '');
});
