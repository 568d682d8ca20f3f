// Entry point bundled to dist/extension.js. Everything is in activate.ts; the real indexer and
// engine come from wiring.ts.
import type * as vscode from 'vscode';
import { activateWith } from './activate';
import { services } from './wiring';

export function activate(context: vscode.ExtensionContext): void {
  activateWith(context, services);
}

export function deactivate(): void {
  // Disposables in context.subscriptions are disposed by VS Code. A running trainer is left running
  // on purpose: after a reload it is found again by its pid file.
}
