/**
 * The rclone executable: one call runs the real binary in a directory, with clear errors when it is
 * missing or fails. Used by the rclone resource and by the content store's remote.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigurationError, SubprocessError } from '../../protocol/errors.js';
import type { Context } from '../context.js';

export type RcloneSyncMode = 'copy' | 'sync';

/** The rclone executable with one configuration file. */
export class Rclone {
  private constructor(
    private readonly ctx: Context,
    private readonly cwd: string,
    readonly configPath: string,
  ) {}

  /**
   * Check that rclone runs and find its configuration: `config` if given (1.6 crashed on a
   * non-null `config`; we use it as the path, as intended), else the file `rclone config file` names.
   */
  static async open(ctx: Context, cwd: string, config: string | null): Promise<Rclone> {
    await exec(ctx, cwd, ['version']);
    if (config !== null) {
      const path = resolve(cwd, config);
      if (!existsSync(path)) throw new ConfigurationError(`rclone configuration file ${path} does not exist`, { config: path });
      return new Rclone(ctx, cwd, path);
    }
    let out: string;
    try {
      out = await exec(ctx, cwd, ['config', 'file']);
    } catch {
      throw new ConfigurationError('RClone requires either a configuration file or a configuration string');
    }
    const path = out.split('\n')[1]?.trim();
    if (!path) throw new ConfigurationError('RClone requires either a configuration file or a configuration string');
    return new Rclone(ctx, cwd, path);
  }

  run(cmd: string, args: string[]): Promise<string> {
    return exec(this.ctx, this.cwd, [cmd, '--config', this.configPath, ...args]);
  }

  /** `remote` is `name:path`: its name must be a remote of the configuration. */
  async checkRemote(remote: string): Promise<void> {
    const name = remote.slice(0, remote.indexOf(':'));
    const remotes = (await this.run('listremotes', [])).split('\n').map((l) => l.trim().replace(/:$/, ''));
    if (!remotes.includes(name)) {
      throw new ConfigurationError(`Remote '${name}' not found by rclone (configuration file ${this.configPath}). Define it with 'rclone config --config ${this.configPath}'.`, {
        remote: name,
        config: this.configPath,
      });
    }
  }

  async transfer(mode: RcloneSyncMode, src: string, dest: string, sizeOnly: boolean): Promise<void> {
    await this.run(mode, [...(sizeOnly ? ['--size-only'] : []), '--verbose', src, dest]);
  }
}

/** What rclone's JSON stats lines say of a transfer so far. */
export interface RcloneStats {
  bytes: number;
  totalBytes: number;
}

/**
 * Run `rclone args...` in `cwd`; a clear error when rclone is missing or fails. With `onStats`,
 * rclone logs JSON and its transfer stats every half second are passed on (for progress); with
 * `onCopied` too (which needs `--verbose` in args), the path of each file it copied.
 */
export function exec(ctx: Context, cwd: string, args: string[], onStats?: (s: RcloneStats) => void, onCopied?: (path: string) => void): Promise<string> {
  const argv = onStats ? [...args, '--use-json-log', '--stats', '500ms'] : args;
  ctx.log.debug(`rclone ${argv.join(' ')} [run in ${cwd}]`);
  return new Promise((resolvePromise, reject) => {
    // Stopped with the command (Ctrl-C, SIGTERM, a cancelled request): left running, a copy would go on
    // writing into the store or the remote after dws has released its lock, or gone.
    const child = execFile('rclone', argv, { cwd, env: ctx.env, maxBuffer: 1 << 26, encoding: 'utf8', signal: ctx.signal }, (error, stdout, stderr) => {
      if (stderr && !onStats) ctx.log.debug(stderr.trimEnd());
      if (!error) return resolvePromise(stdout);
      if (ctx.signal?.aborted) return reject(ctx.signal.reason);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new ConfigurationError('rclone executable not found. Install rclone (Debian: apt-get install rclone) and make sure it is on the PATH.'));
      }
      const exitCode = typeof error.code === 'number' ? error.code : null;
      const said = onStats ? errorsOfJsonLog(stderr) : stderr.trim();
      reject(
        new SubprocessError(`rclone ${args[0]} raised error ${exitCode}: ${said || error.message}`, { command: ['rclone', ...argv], cwd, stderr, exitCode }),
      );
    });
    if (onStats) {
      let partial = '';
      child.stderr?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          const json = parseJsonLine(line);
          const stats = json?.stats as Partial<RcloneStats> | undefined;
          if (typeof stats?.bytes === 'number' && typeof stats.totalBytes === 'number') onStats({ bytes: stats.bytes, totalBytes: stats.totalBytes });
          // "Copied (new)", "Copied (replaced existing)", "Multi-thread Copied (new)", ...
          if (onCopied && typeof json?.object === 'string' && /\bCopied\b/.test(String(json.msg))) onCopied(json.object);
        }
      });
    }
  });
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The messages of the error lines of a JSON log (what rclone would have printed as text), each
 * once: rclone tries a failed copy three times, and said the same error six times over.
 */
function errorsOfJsonLog(stderr: string): string {
  const messages = stderr
    .split('\n')
    // A line that is not JSON (the last word of a failed rclone) as an error, without its time stamp.
    .map((line) => parseJsonLine(line) ?? (line.trim() ? { level: 'error', msg: line.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '') } : undefined))
    .filter((l) => l !== undefined && (l.level === 'error' || l.level === 'critical' || l.level === 'fatal'))
    .map((l) => String(l!.msg).trim())
    .filter((m) => !/^Attempt \d+\/\d+ failed with/.test(m));
  return [...new Set(messages)].join('\n');
}
