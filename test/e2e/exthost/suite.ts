// Runs inside code-server's real extension host (bundled by runner.ts; `vscode` is the real API).
// Checks the installed Repo Diffusion extension through the public API: activation, every command
// of the manifest registered, the settings' defaults, Toggle Suggestions writing the user setting,
// Show Training opening the webview panel, Cancel Training with nothing running, and the inline
// provider staying quiet without a model (an explicit trigger + commit leaves the document as is),
// Select Model loading a planted run (plant.ts: a deterministic ONNX model through the real engine)
// and the provider then inserting exactly its suggestion, and not for a disabled language or with
// suggestions toggled off.
// Each check's outcome goes to __RESULTS_FILE__ (read by exthost.test.ts).
import * as vscode from 'vscode';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

declare const __RESULTS_FILE__: string;
declare const __WORKSPACE__: string;
declare const __USER_DATA__: string;
declare const __PLANTED__: string;

const ID = 'repo-diffusion.repo-diffusion';
const results: Array<{ name: string; ok: boolean; ms: number; error?: string }> = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function check(name: string, fn: () => Promise<void>): Promise<void> {
  const t = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t });
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t, error: String((e as Error)?.stack ?? e) });
  }
  writeFileSync(__RESULTS_FILE__, JSON.stringify(results, null, 2));
}

async function until<T>(what: string, ms: number, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function run(): Promise<void> {
  const ext = vscode.extensions.getExtension(ID);
  const manifest = ext?.packageJSON as { contributes: { commands: Array<{ command: string }>; configuration: { properties: Record<string, { default: unknown }> } } } | undefined;

  await check('the extension is installed and activates', async () => {
    assert.ok(ext, `${ID} is not installed`);
    await ext.activate();
    assert.equal(ext.isActive, true);
    assert.equal(vscode.workspace.isTrusted, true);
  });

  await check('every command of the manifest is registered', async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = manifest!.contributes.commands.map((c) => c.command).filter((c) => !all.has(c));
    assert.deepEqual(missing, []);
  });

  await check('the settings have the manifest defaults', async () => {
    const cfg = vscode.workspace.getConfiguration();
    for (const [key, schema] of Object.entries(manifest!.contributes.configuration.properties)) {
      assert.deepEqual(cfg.inspect(key)?.defaultValue, schema.default, key);
    }
  });

  await check('Toggle Suggestions turns the user setting off and on again', async () => {
    const get = () => vscode.workspace.getConfiguration('repoDiffusion').inspect<boolean>('suggestions.enabled')?.globalValue;
    await vscode.commands.executeCommand('repoDiffusion.toggleSuggestions');
    await until('suggestions.enabled = false', 5000, () => get() === false);
    await vscode.commands.executeCommand('repoDiffusion.toggleSuggestions');
    await until('suggestions.enabled = true', 5000, () => get() === true);
  });

  await check('Show Training opens the training webview panel', async () => {
    await vscode.commands.executeCommand('repoDiffusion.showTraining');
    const tab = await until('a webview tab', 10_000, () => vscode.window.tabGroups.all.flatMap((g) => g.tabs)
      .find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('repoDiffusion.training')));
    assert.equal(tab.label, 'Repo Diffusion Training');
    await vscode.commands.executeCommand('repoDiffusion.showTraining'); // again: the same panel, not a second
    await sleep(500);
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('repoDiffusion.training'));
    assert.equal(tabs.length, 1);
    await vscode.window.tabGroups.close(tabs);
  });

  await check('Cancel Training with nothing running resolves without starting anything', async () => {
    await vscode.commands.executeCommand('repoDiffusion.cancelTraining');
  });

  await check('without a model the inline provider suggests nothing', async () => {
    assert.equal(await suggestAndCommit('def ad'), '');
  });

  await check('Select Model loads a run and the provider inserts exactly its suggestion', async () => {
    // The extension's runs folder: <workspaceStorage>/<this workspace's id>/<extension id>/runs.
    const storageHome = join(__USER_DATA__, 'User', 'workspaceStorage');
    // (The server's storage folders hold meta.json {id, name: the folder's base name}; a fresh
    // profile has opened only this workspace.)
    const ids = readdirSync(storageHome).filter((d) => {
      try { return JSON.parse(readFileSync(join(storageHome, d, 'meta.json'), 'utf8')).name === basename(__WORKSPACE__); } catch { return false; }
    });
    assert.equal(ids.length, 1, `workspace storage for ${__WORKSPACE__} in ${storageHome}: ${JSON.stringify(readdirSync(storageHome))}`);
    const wsId = ids[0];
    const runs = join(storageHome, wsId, ID, 'runs');
    for (const id of readdirSync(__PLANTED__)) cpSync(join(__PLANTED__, id), join(runs, id), { recursive: true });
    // Newest first in the quick pick: the "z" run (plant.ts).
    const picked = vscode.commands.executeCommand('repoDiffusion.selectModel');
    await sleep(1500);
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await picked;
    assert.ok(existsSync(join(runs, readdirSync(__PLANTED__).sort().pop()!, 'model.onnx')));
    const inserted = await until('a suggestion from the model', 20_000, async () => (await suggestAndCommit('def ad')) || undefined);
    assert.match(inserted, /^z{8,}$/, 'the suggestion is not the planted model\'s');
  });

  await check('no suggestion for a language in suggestions.disabledLanguages', async () => {
    const cfg = () => vscode.workspace.getConfiguration('repoDiffusion');
    await cfg().update('suggestions.disabledLanguages', ['python'], vscode.ConfigurationTarget.Workspace);
    try {
      assert.equal(await suggestAndCommit('def ad'), '');
    } finally {
      await cfg().update('suggestions.disabledLanguages', undefined, vscode.ConfigurationTarget.Workspace);
    }
    assert.match(await suggestAndCommit('def ad'), /^z+$/, 'no suggestion once python is enabled again');
  });

  await check('no suggestion while suggestions are toggled off', async () => {
    await vscode.commands.executeCommand('repoDiffusion.toggleSuggestions');
    try {
      assert.equal(await suggestAndCommit('def ad'), '');
    } finally {
      await vscode.commands.executeCommand('repoDiffusion.toggleSuggestions');
    }
    assert.match(await suggestAndCommit('def ad'), /^z+$/, 'no suggestion once suggestions are on again');
  });
}

/**
 * In main.py: types `typed` at the end, asks for an inline suggestion (explicit trigger), accepts
 * it (commit), and returns what got inserted after `typed`; then reverts the file.
 */
async function suggestAndCommit(typed: string): Promise<string> {
  const uri = vscode.Uri.file(join(__WORKSPACE__, 'main.py'));
  const before = readFileSync(uri.fsPath, 'utf8');
  const editor = await vscode.window.showTextDocument(uri);
  try {
    const end = editor.document.lineAt(editor.document.lineCount - 1).range.end;
    await editor.edit((e) => e.insert(end, typed));
    const after = editor.document.lineAt(editor.document.lineCount - 1).range.end;
    editor.selection = new vscode.Selection(after, after);
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    await sleep(1500);
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    const text = editor.document.getText();
    assert.ok(text.startsWith(before + typed), `the document changed before the cursor: ${JSON.stringify(text.slice(-80))}`);
    return text.slice(before.length + typed.length);
  } finally {
    await vscode.commands.executeCommand('workbench.action.files.revert');
  }
}
