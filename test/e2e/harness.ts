// Real-VS-Code end-to-end harness (docs/e2e.md): package the extension, install it into a fresh
// code-server profile, start code-server on 127.0.0.1, drive Debian's chromium through
// playwright-core, and give tests helpers for the workbench. Facts behind the choices:
// shared/notes/vscode-offline-testing.md.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { E2E_DIR, ROOT, buildExtension, hostTarget, packageExtension, vscePath, type PackageResult } from '../../scripts/e2e/package';

export { ROOT, E2E_DIR, hostTarget };
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'e2e');
export const EXTENSION_ID = (() => {
  const m = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return `${m.publisher}.${m.name}`.toLowerCase();
})();
export const CODE_SERVER_VERSION = '4.100.3';

// ---------------------------------------------------------------------------------------------
// Tools and gating

export interface Tools { codeServer: string; vsce: string; chromium: string }

/** Reason to skip every e2e test (REPO_DIFFUSION_SKIP_E2E=1), or undefined. */
export function e2eSkipReason(): string | undefined {
  return process.env.REPO_DIFFUSION_SKIP_E2E === '1'
    ? 'REPO_DIFFUSION_SKIP_E2E=1: real-VS-Code e2e tests skipped on request'
    : undefined;
}

/** The installed tools; throws a clear error naming the fix when one is missing. */
export function tools(): Tools {
  const codeServer = process.env.REPO_DIFFUSION_CODE_SERVER || join(E2E_DIR, 'node_modules', '.bin', 'code-server');
  const chromiumPath = process.env.REPO_DIFFUSION_CHROMIUM || '/usr/bin/chromium';
  const vsce = vscePath();
  const missing = [
    [codeServer, `code-server ${CODE_SERVER_VERSION}`],
    [vsce, '@vscode/vsce 3.9'],
    [chromiumPath, 'chromium'],
  ].filter(([p]) => !existsSync(p)).map(([p, what]) => `${what} (looked for ${p})`);
  if (missing.length) {
    throw new Error(`e2e tools missing: ${missing.join('; ')}.\n` +
      `Install them with \`bash scripts/e2e/setup.sh\` (root, Debian 12; about a minute), ` +
      `or set REPO_DIFFUSION_SKIP_E2E=1 to skip the real-VS-Code tests.`);
  }
  return { codeServer, vsce, chromium: chromiumPath };
}

// ---------------------------------------------------------------------------------------------
// Packaging

let cachedVsix: PackageResult | undefined;

/**
 * The extension as a .vsix for this machine, built once per test process: builds dist/ (dev build,
 * unless REPO_DIFFUSION_E2E_NO_BUILD=1 or REPO_DIFFUSION_E2E_VSIX names a ready package).
 */
export function extensionVsix(): PackageResult | { vsix: string } {
  if (process.env.REPO_DIFFUSION_E2E_VSIX) return { vsix: resolve(process.env.REPO_DIFFUSION_E2E_VSIX) };
  if (!cachedVsix) {
    if (process.env.REPO_DIFFUSION_E2E_NO_BUILD !== '1') buildWithRetry();
    // Test files run in separate processes: reuse the package while its inputs are unchanged.
    const outDir = join(ARTIFACTS, 'vsix');
    const hash = packageInputsHash();
    const hashFile = join(outDir, `${hostTarget()}.inputs-sha256`);
    const previous = existsSync(hashFile) ? readFileSync(hashFile, 'utf8').trim().split(' ') : [];
    if (previous[0] === hash && previous[1] && existsSync(previous[1])) return { vsix: previous[1] };
    cachedVsix = packageExtension({ target: hostTarget(), outDir, build: false });
    writeFileSync(hashFile, `${hash} ${cachedVsix.vsix}\n`);
  }
  return cachedVsix;
}

/** sha256 over everything that goes into the host package. */
function packageInputsHash(): string {
  const h = createHash('sha256');
  const roots = ['package.json', '.vscodeignore', 'dist', 'trainer', 'grammars', 'scripts/e2e/package.ts',
    'node_modules/onnxruntime-node/package.json', 'node_modules/onnxruntime-common/package.json'];
  for (const r of roots) {
    const files = statSync(join(ROOT, r), { throwIfNoEntry: false })?.isDirectory()
      ? findFiles(join(ROOT, r), () => true).sort()
      : [join(ROOT, r)].filter((f) => existsSync(f));
    for (const f of files) {
      h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
    }
  }
  return h.digest('hex');
}

/**
 * Packages test/e2e/fixture-extension (a few lines that use every helper below) into a .vsix, for
 * the harness's own test.
 */
export function fixtureVsix(): string {
  const src = join(ROOT, 'test', 'e2e', 'fixture-extension');
  const out = join(ARTIFACTS, 'vsix', 'e2e-fixture.vsix');
  mkdirSync(join(ARTIFACTS, 'vsix'), { recursive: true });
  const r = spawnSync(vscePath(), ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', out],
    { cwd: src, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`vsce package of the fixture failed:\n${r.stdout}${r.stderr}`);
  return out;
}

function buildWithRetry(): void {
  // Others edit the tree while these run; a half-edited file can break one build.
  let last: unknown;
  for (let i = 0; i < 2; i++) {
    try { buildExtension('dev'); return; } catch (e) { last = e; if (i === 0) spawnSync('sleep', ['5']); }
  }
  if (existsSync(join(ROOT, 'dist', 'extension.js'))) {
    process.stderr.write(`[e2e] build failed, packaging the existing dist/: ${(last as Error).message.split('\n')[0]}\n`);
    return;
  }
  throw last;
}

// ---------------------------------------------------------------------------------------------
// code-server

export interface CodeServerOptions {
  /** Folder to open; made from `files` in the profile when not given. */
  workspace?: string;
  /** Files to write into a fresh workspace: relative path -> content. */
  files?: Record<string, string>;
  /** Workspace Trust on (code-server without --disable-workspace-trust). Default false. */
  workspaceTrust?: boolean;
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  /** Install these .vsix files before start; default the extension built by extensionVsix(); null: none. */
  vsix?: string | string[] | null;
  /** Make the fresh workspace a git repository with one commit (as a user's repo would be). */
  git?: boolean;
  /** Name for the profile folder and screenshots. */
  name?: string;
}

/**
 * Where profiles go: outside the project's git tree (a workspace inside it would be an ignored
 * path of this repository). REPO_DIFFUSION_E2E_PROFILES overrides.
 */
export const PROFILES_DIR = resolve(process.env.REPO_DIFFUSION_E2E_PROFILES || join(tmpdir(), 'repo-diffusion-e2e-profiles'));

const BASE_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'update.mode': 'none',
  'update.showReleaseNotes': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'window.commandCenter': false,
  'editor.minimap.enabled': false,
  'editor.inlineSuggest.enabled': true,
  'files.autoSave': 'off',
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'never',
  'security.workspace.trust.emptyWindow': false,
};

export class CodeServer {
  private exited = false;
  private exitCode: number | null = null;

  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
    readonly profile: string,
    readonly workspace: string,
    readonly logFile: string,
    readonly name: string,
  ) {
    proc.on('exit', (code) => { this.exited = true; this.exitCode = code; });
  }

  get url(): string { return `http://127.0.0.1:${this.port}`; }
  get pid(): number { return this.proc.pid!; }
  /** VS Code's user-data-dir (User/settings.json, logs/, User/workspaceStorage/). */
  get userDataDir(): string { return join(this.profile, 'data'); }
  get extensionsDir(): string { return join(this.profile, 'extensions'); }
  /** The installed Repo Diffusion extension's folder. */
  get extensionDir(): string | undefined { return this.extensionDirOf(EXTENSION_ID); }

  /** An installed extension's folder. */
  extensionDirOf(extensionId = EXTENSION_ID): string | undefined {
    if (!existsSync(this.extensionsDir)) return undefined;
    const d = readdirSync(this.extensionsDir).find((n) => n.toLowerCase().startsWith(`${extensionId.toLowerCase()}-`));
    return d && join(this.extensionsDir, d);
  }

  static async start(options: CodeServerOptions = {}): Promise<CodeServer> {
    const t = tools();
    const name = (options.name ?? 'run').replace(/[^\w.-]+/g, '-');
    mkdirSync(PROFILES_DIR, { recursive: true });
    removeStaleProfiles();
    const profile = mkdtempSync(join(PROFILES_DIR, `${name}-`));
    const env = profileEnv(profile);
    for (const d of [env.TMPDIR, env.XDG_CONFIG_HOME, env.XDG_DATA_HOME, env.XDG_CACHE_HOME, join(profile, 'data', 'User'), join(profile, 'extensions')]) {
      mkdirSync(d!, { recursive: true });
    }
    writeFileSync(join(profile, 'data', 'User', 'settings.json'), JSON.stringify({ ...BASE_SETTINGS, ...options.settings }, null, 2));
    writeFileSync(join(profile, 'config.yaml'), 'auth: none\ncert: false\n');

    let workspace = options.workspace;
    if (!workspace) {
      workspace = join(profile, 'workspace');
      mkdirSync(workspace, { recursive: true });
      for (const [rel, content] of Object.entries(options.files ?? { 'README.md': '# e2e workspace\n' })) {
        mkdirSync(join(workspace, rel, '..'), { recursive: true });
        writeFileSync(join(workspace, rel), content);
      }
      if (options.git) {
        for (const args of [['init', '-q'], ['add', '-A'], ['-c', 'user.name=e2e', '-c', 'user.email=e2e@localhost', 'commit', '-q', '-m', 'fixture']]) {
          const r = spawnSync('git', args, { cwd: workspace, encoding: 'utf8', env });
          if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${workspace}: ${r.stderr}`);
        }
      }
    }

    const common = ['--config', join(profile, 'config.yaml'), '--user-data-dir', join(profile, 'data'), '--extensions-dir', join(profile, 'extensions')];
    const vsixes = options.vsix === undefined ? [extensionVsix().vsix] : options.vsix === null ? [] : [options.vsix].flat();
    for (const vsix of vsixes) {
      const r = spawnSync(t.codeServer, [...common, '--install-extension', vsix], { env, encoding: 'utf8', timeout: 120_000 });
      const out = `${r.stdout}${r.stderr}`;
      if (r.status !== 0 || !/successfully installed|already installed/i.test(out)) {
        throw new Error(`code-server --install-extension ${vsix} failed (exit ${r.status}):\n${out}`);
      }
    }

    const port = await freePort();
    const logFile = join(profile, 'code-server.log');
    const log = createWriteStream(logFile);
    const args = [...common, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry',
      '--disable-update-check', '--disable-getting-started-override', '--ignore-last-opened',
      ...(options.workspaceTrust ? [] : ['--disable-workspace-trust'])];
    // detached: its own process group, so that stop() ends code-server and everything it started
    // (extension host, the trainer) by this one id.
    const proc = spawn(t.codeServer, args, { env, cwd: profile, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
    const server = new CodeServer(proc, port, profile, workspace, logFile, name);
    live.add(server);
    try {
      await server.waitHealthy(60_000);
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`code-server exited (code ${this.exitCode}) before /healthz answered:\n${this.logTail()}`);
      try {
        const r = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (r.ok) return;
      } catch { /* not up yet */ }
      await sleep(250);
    }
    throw new Error(`code-server did not answer /healthz within ${timeoutMs / 1000} s:\n${this.logTail()}`);
  }

  logTail(chars = 4000): string {
    try { return readFileSync(this.logFile, 'utf8').slice(-chars); } catch { return '(no log)'; }
  }

  /** Text of the extension host logs (all windows), e.g. to see `_doActivateExtension` lines. */
  extensionHostLog(): string {
    return findFiles(join(this.userDataDir, 'logs'), (p) => /exthost\.log$/i.test(p))
      .map((p) => readFileSync(p, 'utf8')).join('\n');
  }

  /** The extension's output channels' logs (files the log service writes for extension output). */
  outputLogs(): string {
    return findFiles(join(this.userDataDir, 'logs'), (p) => p.includes(EXTENSION_ID) || /output_logging/i.test(p))
      .filter((p) => p.endsWith('.log'))
      .map((p) => `== ${relative(this.userDataDir, p)}\n${readFileSync(p, 'utf8')}`).join('\n');
  }

  /**
   * Processes that this code-server started, directly or not (its process group, or any process
   * whose environment carries this profile's TMPDIR, e.g. a trainer started detached), whose
   * command line matches.
   */
  processes(match: RegExp = /./): { pid: number; cmd: string }[] {
    const marker = `TMPDIR=${join(this.profile, 'tmp')}\0`;
    const found: { pid: number; cmd: string }[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
        const mine = pgrp === this.proc.pid || readFileSync(`/proc/${pid}/environ`, 'latin1').includes(marker);
        if (!mine) continue;
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        if (match.test(cmd)) found.push({ pid, cmd });
      } catch { /* gone, or not ours to read */ }
    }
    return found;
  }

  /**
   * Stops code-server and its children: SIGTERM to its process group, SIGKILL after 5 s; then
   * any process it started outside the group (see processes()), by PID.
   */
  async stop(): Promise<void> {
    if (this.proc.pid === undefined) return;
    try {
      await this.stopGroup();
    } finally {
      for (const p of this.processes()) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
      live.delete(this);
    }
  }

  /** Synchronous last resort (process exit, a signal): SIGKILL to the group and its strays. */
  killNow(): void {
    if (this.proc.pid === undefined) return;
    try { process.kill(-this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
    for (const p of this.processes()) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    live.delete(this);
  }

  private async stopGroup(): Promise<void> {
    if (this.proc.pid === undefined) return;
    const group = -this.proc.pid;
    const alive = () => { try { process.kill(group, 0); return true; } catch { return false; } };
    if (!alive()) return;
    try { process.kill(group, 'SIGTERM'); } catch { /* gone */ }
    const deadline = Date.now() + 5000;
    while (alive() && Date.now() < deadline) await sleep(100);
    if (alive()) { try { process.kill(group, 'SIGKILL'); } catch { /* gone */ } }
    while (alive() && Date.now() < deadline + 3000) await sleep(100);
  }

  /** Removes the profile folder (keep it on failure to look at). */
  cleanup(): void {
    rmSync(this.profile, { recursive: true, force: true });
  }
}

/** Profiles kept from failed runs are removed after a day. */
function removeStaleProfiles(): void {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const n of readdirSync(PROFILES_DIR)) {
    const p = join(PROFILES_DIR, n);
    try { if (statSync(p).mtimeMs < dayAgo) rmSync(p, { recursive: true, force: true }); } catch { /* another run's */ }
  }
}

// code-server runs detached (its own process group): if the test process ends before a finally
// block ran (a test timeout, Ctrl+C), end what it started.
const live = new Set<CodeServer>();
process.on('exit', () => { for (const s of [...live]) s.killNow(); });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    for (const s of [...live]) s.killNow();
    process.kill(process.pid, sig);
  });
}

function profileEnv(profile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Variables of an outer VS Code would point code-server at the wrong IPC socket or profile.
  for (const k of Object.keys(env)) if (/^(VSCODE_|ELECTRON_)/.test(k)) delete env[k];
  return {
    ...env,
    TMPDIR: join(profile, 'tmp'),
    XDG_CONFIG_HOME: join(profile, 'xdg-config'),
    XDG_DATA_HOME: join(profile, 'xdg-data'),
    XDG_CACHE_HOME: join(profile, 'xdg-cache'),
    PASSWORD: undefined,
    HASHED_PASSWORD: undefined,
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

export function findFiles(dir: string, match: (path: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    let st;
    try { st = statSync(p); } catch { continue; }
    if (st.isDirectory()) out.push(...findFiles(p, match));
    else if (match(p)) out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The browser and the workbench

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export interface Notification { message: string; source: string; severity: string }
export interface StatusBarItem { id: string; text: string; ariaLabel: string }

export class Workbench {
  private constructor(readonly browser: Browser, readonly page: Page, readonly server: CodeServer, readonly consoleErrors: string[]) {}

  static async open(server: CodeServer, folder = server.workspace): Promise<Workbench> {
    // chromium's own profile, crash reports and caches go into the code-server profile too.
    const home = join(server.profile, 'browser-home');
    mkdirSync(home, { recursive: true });
    const browser = await chromium.launch({
      executablePath: tools().chromium, headless: true, args: CHROMIUM_ARGS,
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') },
    });
    try {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${server.url}/?folder=${encodeURIComponent(folder)}`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
      await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 60_000 });
      const wb = new Workbench(browser, page, server, errors);
      await wb.waitForExtensionHost();
      return wb;
    } catch (e) {
      await browser.close().catch(() => undefined);
      throw e;
    }
  }

  /** Waits until the remote extension host has started (its log says so), then a little more. */
  async waitForExtensionHost(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (/onStartupFinished|Eager extensions activated|_doActivateExtension/.test(this.server.extensionHostLog())) return;
      await sleep(250);
    }
    throw new Error(`the extension host did not start within ${timeoutMs / 1000} s:\n${this.server.logTail()}`);
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
  }

  /** Saves a PNG to test-artifacts/e2e/<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  // ---- command palette -----------------------------------------------------------------------

  private quickInput() {
    return this.page.locator('.quick-input-widget');
  }

  /** Opens the command palette with ">" + filter typed; retries when a page took focus. */
  async openPalette(filter = ''): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.page.keyboard.press('Escape');
      await this.page.locator('.monaco-workbench').click({ position: { x: 700, y: 5 }, force: true }).catch(() => undefined);
      await this.page.keyboard.press('F1');
      try {
        await this.quickInput().locator('input').waitFor({ state: 'visible', timeout: 3000 });
        await this.quickInput().locator('input').fill(`>${filter}`);
        return;
      } catch { await sleep(500); }
    }
    throw new Error('the command palette did not open');
  }

  /** The palette's entries (labels) for a filter. */
  async paletteEntries(filter: string): Promise<string[]> {
    await this.openPalette(filter);
    const rows = this.quickInput().locator('.monaco-list-row');
    await rows.first().waitFor({ state: 'visible', timeout: 10_000 }).catch(() => undefined);
    await sleep(300);
    const labels = await rows.evaluateAll((els) => els.map((e) => (e.querySelector('.label-name') as HTMLElement | null)?.innerText ?? (e as HTMLElement).innerText));
    await this.page.keyboard.press('Escape');
    return labels.map((l) => l.replace(/\s+/g, ' ').trim());
  }

  /** Runs a command by its palette title, e.g. "Repo Diffusion: Train on This Repo". */
  async runCommand(title: string): Promise<void> {
    await this.openPalette(title);
    const row = this.quickInput().locator('.monaco-list-row', { has: this.page.locator('.label-name', { hasText: title }) }).first();
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    await row.click();
    await this.quickInput().waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
  }

  // ---- notifications and dialogs -------------------------------------------------------------

  /** Notifications now showing (toasts) and in the notification center. */
  async notifications(): Promise<Notification[]> {
    return this.page.locator('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item').evaluateAll((els) =>
      els.map((e) => {
        const icon = e.querySelector('.notification-list-item-icon');
        const cls = icon?.className ?? '';
        return {
          message: (e.querySelector('.notification-list-item-message') as HTMLElement | null)?.innerText.trim() ?? '',
          source: (e.querySelector('.notification-list-item-source') as HTMLElement | null)?.innerText.trim() ?? '',
          severity: /error/.test(cls) ? 'error' : /warning/.test(cls) ? 'warning' : 'info',
        };
      }));
  }

  /** Waits for a notification whose message matches. */
  async waitForNotification(match: RegExp, timeoutMs = 20_000): Promise<Notification> {
    const deadline = Date.now() + timeoutMs;
    let seen: Notification[] = [];
    while (Date.now() < deadline) {
      seen = await this.notifications();
      const hit = seen.find((n) => match.test(n.message));
      if (hit) return hit;
      await sleep(250);
    }
    throw new Error(`no notification matching ${match} within ${timeoutMs / 1000} s; seen: ${JSON.stringify(seen)}`);
  }

  /** Text of a modal dialog now showing, or undefined. */
  async dialogText(): Promise<string | undefined> {
    const d = this.page.locator('.monaco-dialog-box');
    if (!(await d.count())) return undefined;
    return (await d.first().innerText()).trim();
  }

  /** Throws when a command failed ("Command '…' resulted in an error" dialog or notification). */
  async assertNoCommandError(): Promise<void> {
    const texts = [...(await this.notifications()).map((n) => n.message), (await this.dialogText()) ?? ''];
    const err = texts.find((t) => /resulted in an error|command '[^']+' not found/i.test(t));
    if (err) throw new Error(`a command failed: ${err.replace(/\s+/g, ' ')}`);
  }

  /** Clicks a button of the modal dialog now showing. */
  async clickDialogButton(label: RegExp): Promise<void> {
    await this.page.locator('.monaco-dialog-box .monaco-button', { hasText: label }).first().click();
  }

  /** Waits for a notification or a modal dialog whose text matches; returns the text. */
  async waitForMessage(match: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let seen = '';
    while (Date.now() < deadline) {
      const texts = [...(await this.notifications()).map((n) => n.message), (await this.dialogText()) ?? ''];
      const hit = texts.find((t) => match.test(t));
      if (hit) return hit;
      seen = JSON.stringify(texts.filter(Boolean));
      await sleep(250);
    }
    throw new Error(`no notification or dialog matching ${match} within ${timeoutMs / 1000} s; seen: ${seen}`);
  }

  // ---- status bar ----------------------------------------------------------------------------

  async statusBarItems(): Promise<StatusBarItem[]> {
    return this.page.locator('.part.statusbar .statusbar-item').evaluateAll((els) => els.map((e) => ({
      id: e.id,
      text: (e as HTMLElement).innerText.replace(/\s+/g, ' ').trim(),
      ariaLabel: e.querySelector('[aria-label]')?.getAttribute('aria-label') ?? '',
    })));
  }

  /** An extension's own status bar items (VS Code gives them ids starting with the extension id). */
  async extensionStatusBarItems(extensionId = EXTENSION_ID): Promise<StatusBarItem[]> {
    return (await this.statusBarItems()).filter((i) => i.id.toLowerCase().startsWith(extensionId.toLowerCase()));
  }

  /** Waits for a status bar item of the extension whose text or label matches. */
  async waitForStatusBar(match: RegExp, timeoutMs = 20_000, extensionId = EXTENSION_ID): Promise<StatusBarItem> {
    const deadline = Date.now() + timeoutMs;
    let seen: StatusBarItem[] = [];
    const id = extensionId.toLowerCase();
    while (Date.now() < deadline) {
      seen = await this.statusBarItems();
      const hit = seen.find((i) => (i.id.toLowerCase().startsWith(id) || (id === EXTENSION_ID && /diffusion|\bRD:/i.test(i.text + i.ariaLabel))) && (match.test(i.text) || match.test(i.ariaLabel)));
      if (hit) return hit;
      await sleep(250);
    }
    throw new Error(`no ${extensionId} status bar item matching ${match} within ${timeoutMs / 1000} s; seen: ${JSON.stringify(seen)}`);
  }

  // ---- webviews ------------------------------------------------------------------------------

  /** The inner frame (#active-frame) of the extension's webview, once its content has loaded. */
  async webviewFrame(timeoutMs = 30_000, extensionId = EXTENSION_ID): Promise<Frame> {
    // The extensionId in the iframe's URL keeps the publisher's and name's case.
    const outer = this.page.locator(`iframe.webview.ready[src*="extensionId=${extensionId}" i]`).first();
    await outer.waitFor({ state: 'attached', timeout: timeoutMs });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const handle = await outer.elementHandle();
      const outerFrame = await handle?.contentFrame();
      const inner = outerFrame?.childFrames().find((f) => f.name() === 'active-frame' || /active-frame|fake\.html|index\.html/.test(f.url()));
      if (inner) {
        await inner.waitForLoadState('domcontentloaded').catch(() => undefined);
        if (await inner.locator('body').count()) return inner;
      }
      await sleep(250);
    }
    throw new Error(`the ${extensionId} webview did not load within ${timeoutMs / 1000} s`);
  }

  // ---- editor --------------------------------------------------------------------------------

  /** Opens a workspace file through Quick Open. */
  async openFile(relPath: string): Promise<void> {
    const base = relPath.split('/').pop()!;
    const active = this.page.locator(`.tab.active[data-resource-name="${base}"], .tab.active:has-text("${base}")`).first();
    const input = this.quickInput().locator('input');
    for (let attempt = 0; ; attempt++) {
      // A tab already open for it: click it (Quick Open's Enter was seen not to switch away from a
      // webview panel in the same group).
      const tab = this.page.locator(`.tabs-container .tab[data-resource-name="${base}"], .tabs-container .tab:has-text("${base}")`).first();
      if (attempt > 0 && await tab.count()) {
        await tab.click().catch(() => undefined);
      } else {
        // A focused webview keeps Ctrl+P: click the title area first, as for the palette.
        await this.page.keyboard.press('Escape');
        await this.page.locator('.monaco-workbench').click({ position: { x: 700, y: 5 }, force: true }).catch(() => undefined);
        await this.page.keyboard.press('Control+P');
        if (await input.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) {
          await input.fill(relPath);
          const row = this.quickInput().locator('.monaco-list-row', { hasText: base }).first();
          await row.waitFor({ timeout: 10_000 });
          await sleep(200);
          await row.click();
        }
      }
      try {
        await active.waitFor({ timeout: 5000 });
        break;
      } catch (e) {
        if (attempt >= 3) throw new Error(`could not open ${relPath}: ${(e as Error).message.split('\n')[0]}`);
        await this.page.keyboard.press('Escape');
      }
    }
    await this.focusEditor();
  }

  async focusEditor(): Promise<void> {
    const focused = () => this.page.evaluate(() => Boolean(document.activeElement?.closest('.editor-group-container.active .monaco-editor')));
    if (await focused()) return;
    // A webview that was just hidden can still take the click ("<html> intercepts pointer events"):
    // then focus the editor group from the keyboard.
    const clicked = await this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first()
      .click({ position: { x: 5, y: 5 }, timeout: 3000 }).then(() => true, () => false);
    if (clicked && await focused()) return;
    await this.page.keyboard.press('Control+1');
    await sleep(300);
    if (!(await focused())) throw new Error('could not focus the active editor');
  }

  /** Moves the cursor: "end" of the document, or a 1-based line:column through Go to Line. */
  async goTo(where: 'end' | { line: number; column?: number }): Promise<void> {
    if (where === 'end') { await this.page.keyboard.press('Control+End'); return; }
    await this.page.keyboard.press('Control+G');
    const input = this.quickInput().locator('input');
    await input.waitFor({ state: 'visible', timeout: 5000 });
    await input.fill(`:${where.line}${where.column ? `:${where.column}` : ''}`);
    await this.page.keyboard.press('Enter');
  }

  /** Types into the focused editor, key by key (so that inline suggestions fire as for a person). */
  async type(text: string, delayMs = 30): Promise<void> {
    await this.page.keyboard.type(text, { delay: delayMs });
  }

  /**
   * Types `text` into the active editor and waits for ghost text. On a loaded machine the editor
   * sometimes drops the first request (seen in CI: no ghost text at all, or none until the next
   * keystroke), so when none shows, the last character is typed again, as a person would.
   */
  async typeAndWaitForGhostText(text: string, timeoutMs = 20_000, attempts = 3): Promise<string> {
    await this.focusEditor();
    await this.type(text);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.waitForGhostText(timeoutMs);
      } catch (err) {
        if (attempt >= attempts) throw err;
        await this.focusEditor();
        await this.page.keyboard.press('Backspace');
        await this.type(text.slice(-1));
      }
    }
  }

  /** Asks for an inline suggestion now (editor.action.inlineSuggest.trigger, Alt+\). */
  async triggerInlineSuggestion(): Promise<void> {
    await this.page.keyboard.press('Alt+Backslash');
  }

  /** Waits for ghost text (an inline suggestion) and returns what it shows. */
  async waitForGhostText(timeoutMs = 20_000, retrigger = true): Promise<string> {
    const ghost = this.page.locator('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview, .monaco-editor .ghost-text');
    const deadline = Date.now() + timeoutMs;
    // Each trigger cancels the provider's request in flight: back off (3, 6, 12 s ...) so that a
    // slow model on a loaded machine gets to finish one.
    let interval = 3000;
    let nextTrigger = Date.now() + interval;
    while (Date.now() < deadline) {
      if (await ghost.count()) {
        const text = await this.ghostText();
        if (text.trim()) return text;
      }
      if (retrigger && Date.now() > nextTrigger) { await this.triggerInlineSuggestion(); interval *= 2; nextTrigger = Date.now() + interval; }
      await sleep(200);
    }
    throw new Error(`no ghost text (.ghost-text-decoration) within ${timeoutMs / 1000} s`);
  }

  /**
   * The ghost text now showing in the active editor: the inline part (one decoration span per
   * token, on the cursor's line), then any further lines (a view zone, `.suggest-preview-text .view-line` holding `.ghost-text` spans).
   */
  async ghostText(): Promise<string> {
    const editor = this.page.locator('.editor-group-container.active .monaco-editor').first();
    // No named functions inside: tsx's keepNames would reference a __name helper the page lacks.
    return editor.evaluate((root) => {
      const inline = Array.from(root.querySelectorAll<HTMLElement>('.view-lines .view-line'))
        .sort((a, b) => parseFloat(a.style.top || '0') - parseFloat(b.style.top || '0'))
        .map((line) => Array.from(line.querySelectorAll('.ghost-text-decoration, .ghost-text-decoration-preview')).map((s) => s.textContent ?? '').join(''))
        .filter(Boolean);
      const block = Array.from(root.querySelectorAll<HTMLElement>('.suggest-preview-text .view-line'))
        .map((l) => Array.from(l.querySelectorAll('.ghost-text')).map((s) => s.textContent ?? '').join(''));
      return [...inline, ...block].join('\n').replace(/\u00a0/g, ' ');
    });
  }

  /** Accepts the inline suggestion with Tab. */
  async acceptWithTab(): Promise<void> {
    await this.focusEditor();
    await this.page.keyboard.press('Tab');
    await this.page.locator('.monaco-editor .ghost-text-decoration').first().waitFor({ state: 'detached', timeout: 5000 }).catch(() => undefined);
  }

  /** The lines the active editor renders (all of a short file), in order, as plain text. */
  async visibleEditorText(): Promise<string> {
    return this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first().evaluate((el) => {
      const lines = Array.from(el.querySelectorAll<HTMLElement>('.view-line'));
      lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
      return lines.map((l) => l.innerText.replace(/\u00a0/g, ' ')).join('\n');
    });
  }

  /** Saves the active editor and returns the file's text from disk (the exact document text). */
  async saveAndRead(relPath: string): Promise<string> {
    await this.page.keyboard.press('Control+S');
    const file = join(this.server.workspace, relPath);
    const deadline = Date.now() + 10_000;
    let before = '';
    while (Date.now() < deadline) {
      await sleep(300);
      const dirty = await this.page.locator('.tab.active.dirty').count();
      if (!dirty) return readFileSync(file, 'utf8');
      before = readFileSync(file, 'utf8');
    }
    return before;
  }
}

// ---------------------------------------------------------------------------------------------
// Putting it together

export interface Session { server: CodeServer; wb: Workbench }

/**
 * Starts code-server (the extension installed), opens the workspace in chromium, runs `fn`, and
 * always shuts both down; on failure it saves a screenshot and prints the logs' tails, and keeps
 * the profile folder (else removes it).
 */
export async function withVSCode<T>(options: CodeServerOptions, fn: (s: Session) => Promise<T>): Promise<T> {
  const server = await CodeServer.start(options);
  let wb: Workbench | undefined;
  let failed = true;
  try {
    wb = await Workbench.open(server);
    const result = await fn({ server, wb });
    failed = false;
    return result;
  } catch (e) {
    if (wb) {
      const shot = await wb.screenshot(`${server.name}-failure`).catch(() => undefined);
      process.stderr.write(`[e2e] failure screenshot: ${shot}\n`);
      if (wb.consoleErrors.length) process.stderr.write(`[e2e] browser console errors:\n${wb.consoleErrors.slice(-20).join('\n')}\n`);
    }
    // Keep the profile to look at, less the installed extension (a copy of the VSIX, ~90 MB).
    process.stderr.write(`[e2e] profile kept at ${server.profile} (extensions/ removed)\n[e2e] code-server log tail:\n${server.logTail(2000)}\n`);
    throw e;
  } finally {
    await wb?.close();
    await server.stop();
    if (!failed && process.env.REPO_DIFFUSION_E2E_KEEP !== '1') server.cleanup();
    else if (failed) rmSync(server.extensionsDir, { recursive: true, force: true });
  }
}
