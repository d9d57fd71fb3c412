import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  buildSnapshot,
  isAlive,
  lookupProcess,
  parseProcStat,
  parseRealUid,
  readProcessDetails,
  snapshotProcesses,
  uidLookupFromPasswd,
} from '../../src/io/process-table.js';
import { killAllTracked, procStartTimeMs, startFakeRunner, startSleeper } from '../helpers/fake-runner.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

afterEach(() => killAllTracked());
afterAll(() => killAllTracked());

describe('buildSnapshot (pure)', () => {
  const snap = buildSnapshot([
    { pid: 1, ppid: 0 },
    { pid: 10, ppid: 1 },
    { pid: 11, ppid: 10 },
    { pid: 12, ppid: 10 },
    { pid: 13, ppid: 11 },
    { pid: 20, ppid: 1 },
  ]);
  it('indexes children and lists descendants parents-first', () => {
    expect(snap.children(10)).toEqual([11, 12]);
    expect(snap.descendants(10)).toEqual([11, 12, 13]);
    expect(snap.descendants(13)).toEqual([]);
    expect(snap.descendants(999)).toEqual([]);
  });
  it('survives a lying (cyclic) ppid list', () => {
    const cyclic = buildSnapshot([
      { pid: 5, ppid: 6 },
      { pid: 6, ppid: 5 },
    ]);
    expect(cyclic.descendants(5)).toEqual([6]);
  });
});

describe('/proc parsing (pure)', () => {
  it('cuts the command name at the last parenthesis', () => {
    const line = '4242 (we) (ird name) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 1000 100\n';
    expect(parseProcStat(line)).toEqual({ state: 'S', ppid: 17, pgid: 4242, startTicks: 123456 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });
  it('reads the real uid, not the effective one', () => {
    expect(parseRealUid('Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n')).toBe(1000);
  });
});

describe('snapshotProcesses (real processes)', () => {
  it('lists pid, ppid and uid, with start time, real uid and pgid for the pids asked for', async () => {
    const sleeper = await startSleeper({ uid: 65534, gid: 65534 });
    const pid = sleeper.pid as number;
    const snap = await snapshotProcesses({ detailsFor: [pid, process.pid] });

    const self = snap.get(process.pid);
    expect(self).toMatchObject({ pid: process.pid, ppid: process.ppid, uid: 0, realUid: 0 });
    // Start time from /proc agrees with Node's own idea of when this process started.
    expect(Math.abs(self!.startTimeMs! - (Date.now() - process.uptime() * 1000))).toBeLessThan(2000);

    expect(snap.get(pid)).toMatchObject({ pid, ppid: process.pid, uid: 65534, realUid: 65534, startTimeMs: procStartTimeMs(pid) });
    expect(snap.children(process.pid)).toContain(pid);
    expect(isAlive(snap.get(pid))).toBe(true);
    // Pids not asked for carry no details.
    const other = [...snap.processes.values()].find((p) => p.pid !== pid && p.pid !== process.pid);
    expect(other?.startTimeMs).toBeUndefined();
  });

  it('sees the fake runner tree as descendants', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ptable-'));
    try {
      const { pids } = await startFakeRunner(path.join(dir, 'runner'));
      const snap = await snapshotProcesses({ detailsFor: [pids.coordinator] });
      expect(snap.descendants(pids.runner)).toEqual(
        expect.arrayContaining([pids.coordinator, pids.process, pids.grandchild]),
      );
      expect(snap.descendants(pids.process)).toEqual([pids.grandchild]);
      // The coordinator runs in its own session: its group is itself.
      expect(snap.get(pids.coordinator)?.pgid).toBe(pids.coordinator);
    } finally {
      killAllTracked();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('pidusage (the portable fallback) agrees with /proc on start times', async () => {
    const a = await startSleeper();
    const b = await startSleeper();
    const pids = [a.pid as number, b.pid as number];
    const proc = await readProcessDetails(pids, 'proc');
    const viaPidusage = await readProcessDetails(pids, 'pidusage');
    for (const pid of pids) {
      // btime is whole seconds and pidusage samples uptime separately: agreement within a second or so.
      expect(Math.abs(proc.get(pid)!.startTimeMs - viaPidusage.get(pid)!.startTimeMs)).toBeLessThan(1500);
    }
  });

  it('gives no details for a pid that is gone', async () => {
    const s = await startSleeper();
    const pid = s.pid as number;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill('SIGKILL');
    await exited;
    expect((await readProcessDetails([pid], 'proc')).has(pid)).toBe(false);
    expect((await readProcessDetails([pid], 'pidusage')).has(pid)).toBe(false);
    expect(await lookupProcess(pid)).toBeUndefined();
  });

  it('lookupProcess (per-pid baseline) agrees with the snapshot', async () => {
    const s = await startSleeper({ uid: 65534, gid: 65534 });
    const pid = s.pid as number;
    const one = await lookupProcess(pid);
    const snap = await snapshotProcesses({ detailsFor: [pid] });
    expect(one).toEqual(snap.get(pid));
  });

  it('looks users up in /etc/passwd', () => {
    const lookup = uidLookupFromPasswd();
    expect(lookup('root')).toBe(0);
    expect(lookup('no-such-user-here')).toBeUndefined();
  });
});
