// The training webview's HTML: a strict Content-Security-Policy with a per-load nonce (scripts run
// only with the nonce; styles, fonts and images only from the extension's dist/ through cspSource,
// plus style elements carrying the nonce).
// No vscode import, so tests can load the same page in a plain browser.
import { randomBytes } from 'node:crypto';

export interface WebviewHtmlOptions {
  /** webview.cspSource */
  cspSource: string;
  nonce: string;
  /** webview.asWebviewUri(dist/webview.js) */
  scriptUri: string;
  /** webview.asWebviewUri(dist/webview.css) */
  styleUri: string;
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    // The nonce lets FAST (under the webview UI toolkit) add its one probe <style> element, which
    // it tags with the nonce from <meta property="csp-nonce">; no 'unsafe-inline'.
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function renderWebviewHtml(o: WebviewHtmlOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta property="csp-nonce" content="${escapeAttr(o.nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(o.styleUri)}">
<title>Repo Diffusion training</title>
</head>
<body>
<script nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>`;
}
