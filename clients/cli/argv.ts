/** Reading argv before the CLI is loaded (bin.ts and main.ts decide what to load from it). */

/** The command word: the first argument that is not a global option or its value. */
export function commandOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--lock-timeout') i++;
    else if (!args[i]!.startsWith('-')) return args[i];
  }
  return undefined;
}
