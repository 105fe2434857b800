/**
 * The answer to a request for a method this server does not serve: MethodNotFound (-32601, as
 * JSON-RPC and LSP ask, `$/` requests included) naming the method and the nearest dws method. The
 * nearest is found by the code that makes the CLI's "(Did you mean snapshot?)": commander's
 * suggestion after an unknown command, asked here with the method names as the commands, so the
 * server and the CLI never disagree on what is close.
 */
import { Command, CommanderError } from 'commander';
import { ErrorCodes, ResponseError } from 'vscode-languageserver/node.js';
import { METHODS } from '../../protocol/index.js';
import { shown } from './framing.js';

export interface UnknownMethodData {
  method: string;
  /** The nearest dws methods (equally near), or none when no method is close. */
  suggestions: string[];
}

export function unknownMethod(method: string): ResponseError<UnknownMethodData> {
  const names = Object.keys(METHODS);
  // A method named by its CLI words ('report/history', 'status') is matched with the prefix too.
  let near = similar(method, names);
  if (near.length === 0 && !method.startsWith('dws/')) near = similar(`dws/${method}`, names);
  const guess = near.length === 0 ? '' : `did you mean ${near.length === 1 ? `'${near[0]}'` : `one of ${near.map((n) => `'${n}'`).join(', ')}`}? `;
  return new ResponseError(ErrorCodes.MethodNotFound, `Unknown method '${shown(method, 80)}': ${guess}dws/methods lists every dws method.`, { method: shown(method, 80), suggestions: near });
}

/** The candidates nearest `word` as commander judges them for an unknown command (none when none is close). */
export function similar(word: string, candidates: string[]): string[] {
  if (candidates.includes(word)) return [word];
  const probe = new Command().helpCommand(false).showSuggestionAfterError().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  for (const c of new Set(candidates)) probe.command(c);
  try {
    probe.parse([word], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError) || e.code !== 'commander.unknownCommand') return [];
    const m = /\(Did you mean (?:one of )?(.+)\?\)$/.exec(e.message);
    return m ? m[1]!.split(', ') : [];
  }
  return [];
}
