// The training webview panel (the shape of vscode-extension-samples' webview-sample): one panel,
// createOrShow / revive / dispose, strict CSP with a nonce, resources only from dist/.
// The panel holds no state: when its page loads (first show, re-show after being hidden, restore
// after a reload) the page says `ready` and the host replays the whole state.
import * as vscode from 'vscode';
import { WEBVIEW_VIEW_TYPE, type HostMessage, type WebviewMessage } from '../../webview/protocol';
import { makeNonce, renderWebviewHtml } from './webviewHtml';

export interface PanelHost {
  /** Sends the whole state now, and every change after, to `post`; returns detach. */
  attach(post: (m: HostMessage) => void): () => void;
  /** The page (re)loaded and asks for everything. */
  replay(post: (m: HostMessage) => void): void;
  onMessage(message: WebviewMessage): void;
}

export class TrainingPanel {
  static current: TrainingPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private detach: (() => void) | undefined;

  static createOrShow(extensionUri: vscode.Uri, host: PanelHost): TrainingPanel {
    if (TrainingPanel.current) {
      TrainingPanel.current.panel.reveal(undefined, true);
      return TrainingPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(WEBVIEW_VIEW_TYPE, 'Repo Diffusion Training', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, TrainingPanel.options(extensionUri));
    TrainingPanel.current = new TrainingPanel(panel, extensionUri, host);
    return TrainingPanel.current;
  }

  /** Restores a panel VS Code kept across a reload (WebviewPanelSerializer). */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, host: PanelHost): TrainingPanel {
    TrainingPanel.current?.dispose();
    panel.webview.options = TrainingPanel.options(extensionUri);
    TrainingPanel.current = new TrainingPanel(panel, extensionUri, host);
    return TrainingPanel.current;
  }

  static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')], retainContextWhenHidden: false };
  }

  private constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, host: PanelHost) {
    const webview = panel.webview;
    const dist = vscode.Uri.joinPath(extensionUri, 'dist');
    webview.html = renderWebviewHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
    });
    const post = (m: HostMessage) => void webview.postMessage(m);
    this.detach = host.attach(post);
    this.disposables.push(
      webview.onDidReceiveMessage((m: WebviewMessage) => {
        if (m?.type === 'ready') host.replay(post);
        else if (m && typeof m.type === 'string') host.onMessage(m);
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  post(message: HostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (TrainingPanel.current === this) TrainingPanel.current = undefined;
    this.detach?.();
    this.detach = undefined;
    const ds = this.disposables.splice(0);
    this.panel.dispose();
    for (const d of ds) d.dispose();
  }
}
