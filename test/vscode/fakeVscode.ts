// A small fake of the `vscode` module: just what extension/vscode uses, with hooks for tests to
// see what was shown and to answer prompts. Swapped in for require('vscode') by useFakeVscode.ts.
import { join } from 'node:path';

type Listener<T> = (e: T) => unknown;

export class Disposable {
  constructor(private readonly fn: () => void = () => {}) {}
  static from(...ds: Array<{ dispose(): unknown }>): Disposable {
    return new Disposable(() => ds.forEach((d) => d.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return new Disposable(() => this.listeners.delete(listener));
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  private cancelled = false;
  disposed = false;
  readonly token: { readonly isCancellationRequested: boolean; onCancellationRequested(l: Listener<void>): Disposable };
  constructor() {
    const src = this;
    this.token = {
      get isCancellationRequested() {
        return src.cancelled;
      },
      onCancellationRequested: (l: Listener<void>) => src.emitter.event(l),
    };
  }
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emitter.fire();
  }
  dispose(): void {
    this.disposed = true;
    this.emitter.dispose();
  }
}

export class Uri {
  private constructor(readonly fsPath: string, readonly scheme = 'file') {}
  static file(path: string): Uri {
    return new Uri(path);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(join(base.fsPath, ...parts), base.scheme);
  }
  get path(): string {
    return this.fsPath;
  }
  toString(): string {
    return `${this.scheme}://${this.fsPath}`;
  }
}

export class Position {
  constructor(readonly line: number, readonly character: number) {}
}

export class Range {
  constructor(readonly start: Position, readonly end: Position) {}
}

export class InlineCompletionItem {
  constructor(readonly insertText: string, readonly range?: Range) {}
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}
export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}
export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}
export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}
export enum InlineCompletionTriggerKind {
  Invoke = 0,
  Automatic = 1,
}

// ---------------------------------------------------------------------------------------------
// Recorded interactions and test controls

export interface Shown {
  kind: 'info' | 'warning' | 'error';
  message: string;
  items: string[];
}

export const fake = {
  shown: [] as Shown[],
  /** Answers for the next prompts, in order (undefined = dismissed). */
  answers: [] as Array<string | undefined>,
  commands: new Map<string, (...args: any[]) => any>(),
  executed: [] as Array<{ id: string; args: unknown[] }>,
  providers: [] as any[],
  serializers: new Map<string, any>(),
  panels: [] as FakePanel[],
  outputs: [] as FakeOutput[],
  statusItems: [] as any[],
  config: new Map<string, unknown>(),
  configEmitter: new EventEmitter<{ affectsConfiguration(s: string): boolean }>(),
  trustEmitter: new EventEmitter<void>(),
  /** When set, withProgress cancels its token right away (a user pressing Cancel). */
  cancelProgress: false,
  reset(): void {
    this.shown.length = 0;
    this.answers.length = 0;
    this.commands.clear();
    this.executed.length = 0;
    this.providers.length = 0;
    this.serializers.clear();
    this.panels.length = 0;
    this.outputs.length = 0;
    this.statusItems.length = 0;
    this.config.clear();
    this.cancelProgress = false;
    workspace.isTrusted = true;
    workspace.workspaceFolders = undefined;
  },
};

function show(kind: Shown['kind']) {
  return (message: string, ...rest: any[]): Promise<string | undefined> => {
    const items = rest.filter((r) => typeof r === 'string');
    fake.shown.push({ kind, message, items });
    const answer = fake.answers.shift();
    return Promise.resolve(answer !== undefined && items.includes(answer) ? answer : undefined);
  };
}

export class FakeOutput {
  lines: string[] = [];
  shownCount = 0;
  constructor(readonly name: string) {}
  appendLine(line: string): void {
    this.lines.push(line);
  }
  append(text: string): void {
    this.lines.push(text);
  }
  show(): void {
    this.shownCount++;
  }
  clear(): void {
    this.lines = [];
  }
  dispose(): void {}
}

export class FakePanel {
  readonly received = new EventEmitter<any>();
  readonly disposeEmitter = new EventEmitter<void>();
  readonly posted: any[] = [];
  disposed = false;
  revealed = 0;
  webview: any;
  constructor(readonly viewType: string, readonly title: string, public options: any) {
    const panel = this;
    this.webview = {
      html: '',
      options,
      cspSource: 'https://fake.vscode-cdn.net',
      asWebviewUri: (u: Uri) => ({ toString: () => `https://fake.vscode-cdn.net${u.fsPath}` }),
      postMessage: (m: any) => {
        panel.posted.push(structuredClone(m));
        return Promise.resolve(true);
      },
      onDidReceiveMessage: this.received.event,
    };
  }
  reveal(): void {
    this.revealed++;
  }
  onDidDispose = (l: Listener<void>) => this.disposeEmitter.event(l);
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeEmitter.fire();
  }
  /** The webview page sends a message to the host. */
  send(message: any): void {
    this.received.fire(message);
  }
}

export const window = {
  showInformationMessage: show('info'),
  showWarningMessage: show('warning'),
  showErrorMessage: show('error'),
  setStatusBarMessage: (_text: string, _ms?: number) => new Disposable(),
  createOutputChannel: (name: string) => {
    const o = new FakeOutput(name);
    fake.outputs.push(o);
    return o;
  },
  createStatusBarItem: (id?: unknown) => {
    const item = { id: typeof id === 'string' ? id : undefined, name: '', text: '', tooltip: '', command: '', visible: false, show() { item.visible = true; }, hide() { item.visible = false; }, dispose() {} };
    fake.statusItems.push(item);
    return item;
  },
  async withProgress<R>(_options: any, task: (progress: { report(v: unknown): void }, token: any) => Promise<R>): Promise<R> {
    const cts = new CancellationTokenSource();
    if (fake.cancelProgress) setTimeout(() => cts.cancel(), 0);
    try {
      return await task({ report: () => {} }, cts.token);
    } finally {
      cts.dispose();
    }
  },
  createWebviewPanel: (viewType: string, title: string, _column: unknown, options: any) => {
    const p = new FakePanel(viewType, title, options);
    fake.panels.push(p);
    return p;
  },
  registerWebviewPanelSerializer: (viewType: string, serializer: any) => {
    fake.serializers.set(viewType, serializer);
    return new Disposable(() => fake.serializers.delete(viewType));
  },
  showQuickPick: async (items: any[]) => {
    const answer = fake.answers.shift();
    return items.find((i) => i.label === answer || i.detail === answer);
  },
  showWorkspaceFolderPick: async () => workspace.workspaceFolders?.[0],
  showOpenDialog: async () => undefined,
};

export const workspace = {
  isTrusted: true,
  workspaceFolders: undefined as undefined | Array<{ uri: Uri; name: string; index: number }>,
  getConfiguration: (section: string) => ({
    get<T>(key: string, defaultValue?: T): T {
      const k = `${section}.${key}`;
      return (fake.config.has(k) ? fake.config.get(k) : defaultValue) as T;
    },
    async update(key: string, value: unknown): Promise<void> {
      const k = `${section}.${key}`;
      fake.config.set(k, value);
      fake.configEmitter.fire({ affectsConfiguration: (s: string) => k === s || k.startsWith(s + '.') });
    },
  }),
  onDidChangeConfiguration: fake.configEmitter.event,
  onDidGrantWorkspaceTrust: fake.trustEmitter.event,
};

export const commands = {
  registerCommand: (id: string, fn: (...args: any[]) => any) => {
    if (fake.commands.has(id)) throw new Error(`command ${id} already registered`);
    fake.commands.set(id, fn);
    return new Disposable(() => fake.commands.delete(id));
  },
  executeCommand: async (id: string, ...args: unknown[]) => {
    fake.executed.push({ id, args });
    return fake.commands.get(id)?.(...args);
  },
};

export const languages = {
  registerInlineCompletionItemProvider: (selector: unknown, provider: unknown) => {
    fake.providers.push({ selector, provider });
    return new Disposable(() => {
      const i = fake.providers.findIndex((p) => p.provider === provider);
      if (i >= 0) fake.providers.splice(i, 1);
    });
  },
};

export const extensions = {
  getExtension: (_id: string) => undefined,
};

/** A TextDocument over a string. */
export function fakeDocument(text: string, languageId = 'python') {
  const offsetAt = (p: Position) => {
    const lines = text.split('\n');
    let off = 0;
    for (let i = 0; i < p.line; i++) off += lines[i].length + 1;
    return off + p.character;
  };
  return { languageId, getText: () => text, offsetAt, uri: Uri.file('/ws/doc') };
}

/** An ExtensionContext over real folders. */
export function fakeContext(extensionPath: string, storagePath: string | undefined, globalStoragePath: string) {
  const state = new Map<string, unknown>();
  return {
    subscriptions: [] as Array<{ dispose(): unknown }>,
    extensionUri: Uri.file(extensionPath),
    extensionPath,
    storageUri: storagePath ? Uri.file(storagePath) : undefined,
    globalStorageUri: Uri.file(globalStoragePath),
    workspaceState: {
      get: <T>(k: string, d?: T) => (state.has(k) ? state.get(k) : d) as T,
      update: async (k: string, v: unknown) => void state.set(k, v),
      keys: () => [...state.keys()],
    },
  };
}
