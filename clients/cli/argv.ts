/** Reading argv before the CLI is loaded (bin.ts and main.ts decide what to load from it). */

/** The command word: the first argument that is not a global option or its value. */
export function commandOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--lock-timeout') i++;
    else if (!args[i]!.startsWith('-')) return args[i];
  }
  return undefined;
}

/** The value of `--workspace-dir` (`--workspace-dir DIR` or `--workspace-dir=DIR`), if given. */
export function workspaceDirOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--workspace-dir') return args[i + 1];
    if (args[i]!.startsWith('--workspace-dir=')) return args[i]!.slice('--workspace-dir='.length);
  }
  return undefined;
}
