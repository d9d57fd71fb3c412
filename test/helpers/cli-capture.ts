// Runs a command in-process with captured stdout/stderr.
import { PassThrough, Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(chunks: string[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
}

export async function runCli(argv: string[], env: Record<string, string | undefined> = {}, stdinText = ''): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough();
  stdin.end(stdinText);
  const io: CliIo = { stdout: sink(out), stderr: sink(err), stdin, env };
  const code = await main(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}
