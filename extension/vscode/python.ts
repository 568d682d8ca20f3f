// Interpreter candidates the editor knows about: the repoDiffusion.pythonPath setting and the
// Python extension's selected interpreter (if that extension is installed). The search itself is
// extension/training/pythonFinder.ts.
import * as vscode from 'vscode';

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment?(env: { path: string } | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: { getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } };
}

/** The Python extension's interpreter for `resource`, or undefined (not installed, none selected). */
export async function pythonExtensionInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const envPath = api?.environments?.getActiveEnvironmentPath(resource);
    if (envPath?.path) {
      const resolved = await api.environments?.resolveEnvironment?.(envPath);
      return resolved?.executable?.uri?.fsPath ?? envPath.path;
    }
    return api?.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
  } catch {
    return undefined;
  }
}
