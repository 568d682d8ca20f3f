// Import this first in a test: it makes require('vscode') load fakeVscode.ts.
import Module from 'node:module';

const fakePath = require.resolve('./fakeVscode');
const M = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
const original = M._resolveFilename;
M._resolveFilename = function (request: string, ...rest: unknown[]): string {
  if (request === 'vscode') return fakePath;
  return original.call(this, request, ...rest);
};
