// bin/thermos-gc.js runs the bundled CLI (scripts/bundle-cli.mjs): every command main.ts knows
// must be in it, and start from it. (The commands' behaviour through the bin is tested with them.)
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES } from '../../src/cli/main.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/thermos-gc.js', import.meta.url));
const BUNDLE = new URL('../../dist/bundle/cli/', import.meta.url);

describe('the bundled CLI', () => {
  const names = COMMAND_MODULES.map((m) => m.replace(/^\.\//, '').replace(/\.js$/, ''));

  it('has an entry point for main, every command and the tune trial', () => {
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const file of ['main', ...names, 'tune-trial']) expect(existsSync(fileURLToPath(new URL(`${file}.js`, BUNDLE))), file).toBe(true);
  });

  it.each(names)('starts `%s --help` from it', { timeout: 30_000 }, async (name) => {
    const { stdout } = await run(process.execPath, [BIN, name, '--help']);
    expect(stdout.startsWith(`usage: thermos-gc ${name}`)).toBe(true);
  });
});
