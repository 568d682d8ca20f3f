// Runs a test suite inside the real extension host of code-server (docs/e2e.md "Extension-host
// tests"): the suite is bundled with esbuild (vscode external) into the profile, and the workbench
// is opened with VS Code's test payload, extensionDevelopmentPath = the installed extension's
// folder, extensionTestsPath = the bundle. VS Code loads the bundle in the extension host, calls its
// `run()`, and reports the exit code to the page through `codeAutomationExit`. The suite writes
// each check's result to a JSON file (REPO_DIFFUSION_EXTHOST_RESULTS is not visible there, so the
// path is baked into the bundle with esbuild's `define`).
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CodeServer, tools, type CodeServerOptions } from '../harness';

export interface CheckResult { name: string; ok: boolean; ms: number; error?: string }
export interface SuiteResult { exitCode: number; checks: CheckResult[]; logs: string[]; server: CodeServer }

export async function runInExtensionHost(
  options: CodeServerOptions & { suite: string; timeoutMs?: number; define?: Record<string, string> },
  inspect?: (r: SuiteResult) => void | Promise<void>,
): Promise<SuiteResult> {
  const server = await CodeServer.start(options);
  let failed = true;
  try {
    const dir = join(server.profile, 'exthost-suite');
    mkdirSync(dir, { recursive: true });
    const resultsFile = join(dir, 'results.json');
    await build({
      entryPoints: [options.suite], bundle: true, platform: 'node', format: 'cjs', target: 'node20',
      external: ['vscode'], outfile: join(dir, 'index.js'), logLevel: 'silent',
      define: { __RESULTS_FILE__: JSON.stringify(resultsFile), __WORKSPACE__: JSON.stringify(server.workspace), __USER_DATA__: JSON.stringify(server.userDataDir),
        ...Object.fromEntries(Object.entries(options.define ?? {}).map(([k, v]) => [k, JSON.stringify(v)])) },
    });
    const remote = (p: string) => `vscode-remote://127.0.0.1:${server.port}${p}`;
    const payload = JSON.stringify([['extensionDevelopmentPath', remote(server.extensionDir!)], ['extensionTestsPath', remote(join(dir, 'index.js'))]]);
    const home = join(server.profile, 'browser-home');
    mkdirSync(home, { recursive: true });
    const browser = await chromium.launch({ executablePath: tools().chromium, headless: true, args: CHROMIUM_ARGS,
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') } });
    const logs: string[] = [];
    let exitCode: number;
    try {
      const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
      let resolveExit!: (code: number) => void;
      const exited = new Promise<number>((r) => { resolveExit = r; });
      await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => { logs.push(`${type}: ${JSON.stringify(args)}`); });
      await page.exposeFunction('codeAutomationExit', (code: number) => { resolveExit(code); });
      await page.goto(`${server.url}/?folder=${encodeURIComponent(server.workspace)}&payload=${encodeURIComponent(payload)}`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
      const timeoutMs = options.timeoutMs ?? 120_000;
      let timer: NodeJS.Timeout | undefined;
      exitCode = await Promise.race([exited, new Promise<number>((_, reject) => { timer = setTimeout(() => reject(new Error(
        `the extension-host suite did not finish within ${timeoutMs / 1000} s; results so far: ${existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '(none)'}\n${server.extensionHostLog().slice(-3000)}`)), timeoutMs); })])
        .finally(() => clearTimeout(timer));
    } finally {
      await browser.close().catch(() => undefined);
    }
    const checks: CheckResult[] = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];
    const result = { exitCode, checks, logs, server };
    await inspect?.(result);
    failed = exitCode !== 0 || checks.some((c) => !c.ok);
    if (failed) process.stderr.write(`[e2e] a check failed: profile kept at ${server.profile}\n`);
    return result;
  } catch (e) {
    failed = true;
    process.stderr.write(`[e2e] profile kept at ${server.profile}\n[e2e] extension host log tail:\n${server.extensionHostLog().slice(-3000)}\n`);
    throw e;
  } finally {
    await server.stop();
    if (!failed && process.env.REPO_DIFFUSION_E2E_KEEP !== '1') server.cleanup();
  }
}
