// The extension in real VS Code (code-server 4.100.3 + Debian chromium; docs/e2e.md): the VSIX
// installs, the extension activates, its commands are in the palette; in an untrusted workspace
// "Train on This Repo" is refused with a Workspace Trust message.
// Needs scripts/e2e/setup.sh; fails with a clear message without it, unless REPO_DIFFUSION_SKIP_E2E=1.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { EXTENSION_ID, ROOT, e2eSkipReason, tools, withVSCode } from './harness';

const skip = e2eSkipReason();
if (skip) console.log(`[e2e] ${skip}`);

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const commandTitles: string[] = manifest.contributes.commands.map((c: { category?: string; title: string }) =>
  c.category ? `${c.category}: ${c.title}` : c.title);

/**
 * Set to true once extension/vscode refuses "Train on This Repo" in an untrusted workspace
 * (issue 6). Until then the untrusted-workspace test runs as a TODO: its result is printed, and a
 * failure does not fail the suite.
 */
const TRUST_CHECK_LANDED = false;

test('the VSIX installs, the extension activates and its commands are in the palette', { skip, timeout: 300_000 }, async () => {
  tools();
  await withVSCode({ name: 'activate', files: { 'src/hello.py': 'def hello(name):\n    return f"hello {name}"\n' } }, async ({ server, wb }) => {
    assert.ok(server.extensionDir, `the extension is not in ${server.extensionsDir}`);
    const installed = JSON.parse(readFileSync(join(server.extensionDir!, 'package.json'), 'utf8'));
    assert.equal(installed.version, manifest.version);

    // Activation: the extension host logs each activation; a throw in activate() logs a failure.
    const deadline = Date.now() + 30_000;
    let log = '';
    while (Date.now() < deadline) {
      log = server.extensionHostLog();
      if (log.includes(`_doActivateExtension ${EXTENSION_ID},`)) break;
      await sleep(250);
    }
    assert.ok(log.includes(`_doActivateExtension ${EXTENSION_ID},`), `no activation of ${EXTENSION_ID} in the extension host log:\n${log.slice(-3000)}`);
    await sleep(1000);
    log = server.extensionHostLog();
    const failure = log.split('\n').find((l) => l.includes(EXTENSION_ID) && /failed|error/i.test(l));
    assert.equal(failure, undefined, `activation failed: ${failure}`);

    const entries = await wb.paletteEntries('Repo Diffusion');
    for (const title of commandTitles) assert.ok(entries.includes(title), `"${title}" is not in the palette; seen: ${JSON.stringify(entries)}`);
    await wb.assertNoCommandError();
    const shot = await wb.screenshot('activated');
    console.log(`[e2e] screenshot: ${shot}`);
  });
});

test('untrusted workspace: "Train on This Repo" is refused with a Workspace Trust message', {
  skip,
  timeout: 300_000,
  todo: TRUST_CHECK_LANDED ? undefined : 'waits for extension/vscode\'s Workspace Trust check (issue 6): set TRUST_CHECK_LANDED in test/e2e/workbench.test.ts',
}, async () => {
  tools();
  await withVSCode({ name: 'untrusted', workspaceTrust: true, files: { 'main.py': 'print("hi")\n' } }, async ({ server, wb }) => {
    // code-server without --disable-workspace-trust and with the startup prompt off: Restricted Mode.
    const restricted = await wb.page.locator('.part.statusbar #status\\.workspaceTrust, .part.statusbar .statusbar-item:has-text("Restricted Mode")').count();
    assert.ok(restricted > 0, 'the workspace is not in Restricted Mode');

    await wb.runCommand('Repo Diffusion: Train on This Repo');
    const text = await wb.waitForMessage(/trust|restricted mode/i, 15_000).catch(async (e) => {
      await wb.assertNoCommandError(); // a clearer message while the command is missing
      throw e;
    });
    assert.doesNotMatch(text, /resulted in an error/i, 'the command crashed instead of refusing');
    console.log(`[e2e] refusal: ${text.replace(/\s+/g, ' ')}`);
    await wb.screenshot('untrusted-refusal');
    // Nothing was started: no trainer process, no run folder with a corpus.
    await sleep(2000);
    assert.deepEqual(server.processes(/python[\d.]*\s.*-m\s+trainer\b/), [], 'a trainer process started in an untrusted workspace');
  });
});
