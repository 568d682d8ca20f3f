// Fixture for test/e2e/harness.test.ts: a notification, a status bar item, a webview and inline
// suggestions, the four things the harness reads.
const vscode = require('vscode');

exports.activate = function activate(context) {
  const status = vscode.window.createStatusBarItem('fixture', vscode.StatusBarAlignment.Left, 100);
  status.text = 'Fixture idle';
  status.show();
  // And one without an id, as most extensions make them.
  const anonymous = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  anonymous.text = '$(sparkle) Fixture anonymous';
  anonymous.show();
  context.subscriptions.push(status, anonymous);

  context.subscriptions.push(vscode.commands.registerCommand('e2eFixture.hello', () => {
    status.text = 'Fixture step 3/10';
    const panel = vscode.window.createWebviewPanel('e2eFixture', 'Fixture Panel', vscode.ViewColumn.Beside, { enableScripts: true });
    panel.webview.html = '<!DOCTYPE html><html><body><h1>Fixture webview</h1><p id="loss">loss 1.25</p>' +
      '<script>const v = acquireVsCodeApi(); window.addEventListener("message", (e) => { document.getElementById("loss").textContent = e.data; });</script></body></html>';
    setTimeout(() => panel.webview.postMessage('loss 0.5'), 500);
    vscode.window.showInformationMessage('Hello from the fixture');
  }));

  context.subscriptions.push(vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, {
    provideInlineCompletionItems(document, position) {
      const before = document.lineAt(position.line).text.slice(0, position.character);
      if (before.endsWith('def multi')) {
        return [new vscode.InlineCompletionItem('_line(a):\n    return a + 1', new vscode.Range(position, position))];
      }
      if (!before.endsWith('fixture')) return [];
      return [new vscode.InlineCompletionItem('_completion(1, 2)', new vscode.Range(position, position))];
    },
  }));
};

exports.deactivate = function deactivate() {};
