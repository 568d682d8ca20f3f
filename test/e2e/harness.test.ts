// The harness's own test: every helper against a fixture extension (test/e2e/fixture-extension)
// that shows a notification, a status bar item, a webview and inline suggestions, so that the
// helpers are known to work before the real extension's pieces land.
// Needs scripts/e2e/setup.sh; fails with a clear message without it, unless REPO_DIFFUSION_SKIP_E2E=1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { e2eSkipReason, fixtureVsix, tools, withVSCode } from './harness';

const skip = e2eSkipReason();
if (skip) console.log(`[e2e] ${skip}`);
const FIXTURE = 'repo-diffusion-tests.e2e-fixture';

test('harness helpers: palette, notification, status bar, webview, ghost text, Tab, document text', { skip, timeout: 300_000 }, async () => {
  tools();
  const vsix = fixtureVsix();
  await withVSCode({ name: 'harness', vsix, files: { 'demo.py': 'import os\n\n' } }, async ({ server, wb }) => {
    assert.ok(server.extensionDirOf(FIXTURE), 'the fixture is not installed');
    await wb.waitForStatusBar(/Fixture idle/, 20_000, FIXTURE);
    const anonymous = await wb.waitForStatusBar(/Fixture anonymous/, 20_000, FIXTURE);
    assert.equal(anonymous.text, 'Fixture anonymous'); // the codicon is not text
    console.log(`[e2e] status bar item ids: ${(await wb.extensionStatusBarItems(FIXTURE)).map((i) => i.id).join(', ')}`);

    assert.ok((await wb.paletteEntries('E2E Fixture')).includes('E2E Fixture: Hello'));
    await wb.runCommand('E2E Fixture: Hello');
    await wb.assertNoCommandError();
    const note = await wb.waitForNotification(/Hello from the fixture/);
    assert.equal(note.severity, 'info');
    const item = await wb.waitForStatusBar(/step 3\/10/, 10_000, FIXTURE);
    assert.equal(item.text, 'Fixture step 3/10');

    const frame = await wb.webviewFrame(30_000, FIXTURE);
    assert.match(await frame.locator('h1').innerText(), /Fixture webview/);
    await frame.locator('#loss', { hasText: 'loss 0.5' }).waitFor({ timeout: 10_000 }); // a message from the extension host
    await wb.screenshot('harness-webview');

    await wb.openFile('demo.py');
    await wb.goTo('end');
    const ghost = await wb.typeAndWaitForGhostText('x = fixture');
    assert.equal(ghost.trim(), '_completion(1, 2)');
    await wb.screenshot('harness-ghost-text');
    await wb.acceptWithTab();
    assert.match(await wb.visibleEditorText(), /x = fixture_completion\(1, 2\)/);
    assert.equal(await wb.saveAndRead('demo.py'), 'import os\n\nx = fixture_completion(1, 2)');

    // A suggestion of several lines: the first inline, the rest in a view zone.
    assert.equal(await wb.typeAndWaitForGhostText('\n\ndef multi'), '_line(a):\n    return a + 1');
    await wb.acceptWithTab();
    assert.equal(await wb.saveAndRead('demo.py'), 'import os\n\nx = fixture_completion(1, 2)\n\ndef multi_line(a):\n    return a + 1');
  });
});
