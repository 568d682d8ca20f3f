import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusView, type StatusInput } from '../../extension/vscode/status';

const cases: Array<[string, StatusInput, RegExp, string]> = [
  ['untrusted', { trusted: false, enabled: true }, /shield/, 'workbench.trust.manage'],
  ['no model: the one hint', { trusted: true, enabled: true }, /no model/, 'repoDiffusion.train'],
  ['indexing', { trusted: true, enabled: true, indexing: true }, /indexing/, 'repoDiffusion.showTraining'],
  ['training with accuracy', { trusted: true, enabled: true, training: { epoch: 2.34, plannedEpochs: 10, infillExact: 0.312, phase: 'training' } }, /training epoch 2\.3\/10 · 31\.2%/, 'repoDiffusion.showTraining'],
  ['model active', { trusted: true, enabled: true, model: { label: 'small 21M', infillExact: 0.456 } }, /sparkle\) RD: small 21M · 45\.6%/, 'repoDiffusion.showTraining'],
  ['suggestions off', { trusted: true, enabled: false, model: { label: 'small' } }, /RD: off/, 'repoDiffusion.toggleSuggestions'],
  ['load error', { trusted: true, enabled: true, loadError: 'format 2' }, /model error/, 'repoDiffusion.selectModel'],
];

for (const [name, input, text, command] of cases) {
  test(`status bar: ${name}`, () => {
    const v = statusView(input);
    assert.match(v.text, text);
    assert.equal(v.command, command);
    assert.ok(v.tooltip.length > 10);
  });
}

test('status bar: suggestions hidden by the confidence gate are counted in the tooltip; "unsure" while none was shown', () => {
  const model = (shown: number, hidden: number) => statusView({ trusted: true, enabled: true, model: { label: 'tiny 3M', suggestions: { shown, hidden }, minConfidence: 0.6 } });
  assert.equal(model(0, 0).text, '$(sparkle) RD: tiny 3M');
  assert.doesNotMatch(model(0, 0).tooltip, /hidden/);
  assert.equal(model(0, 3).text, '$(sparkle) RD: tiny 3M · unsure');
  assert.match(model(0, 3).tooltip, /3 of 3 suggestions hidden as unsure \(mean confidence below 0\.6, setting repoDiffusion\.suggestions\.minConfidence\)/);
  assert.equal(model(2, 3).text, '$(sparkle) RD: tiny 3M');
  assert.match(model(2, 3).tooltip, /3 of 5 suggestions hidden/);
});
