/**
 * Workspace folders are workspaces: the folders the editor opened (initialize, then
 * didChangeWorkspaceFolders) decide which workspace a document or a request belongs to.
 */
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findWorkspaceDir, META_DIR } from '../../workspace/workspace.js';

export class Workspaces {
  private folders: string[] = [];

  constructor(private readonly cwd: string) {}

  add(uris: string[]): void {
    for (const u of uris) if (u.startsWith('file:')) this.folders.push(fileURLToPath(u));
  }

  remove(uris: string[]): void {
    const gone = new Set(uris.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u)));
    this.folders = this.folders.filter((f) => !gone.has(f));
  }

  /** Where requests without a document resolve their workspace: the first folder, else the server's cwd. */
  defaultDir(): string {
    return this.folders[0] ?? this.cwd;
  }

  /** The workspace of a file: the innermost folder holding it that is a workspace, else the nearest enclosing workspace. */
  forFile(file: string): string | null {
    const folder = this.folders
      .filter((f) => (file === f || file.startsWith(f.endsWith(sep) ? f : f + sep)) && existsSync(join(f, META_DIR)))
      .sort((a, b) => b.length - a.length)[0];
    return folder ?? findWorkspaceDir(dirname(file));
  }
}
