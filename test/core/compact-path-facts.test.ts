import { describe, expect, it } from 'vitest';
import { PathFactsCompactor } from '../../src/core/compact-path-facts.js';
import type { TaskFacts } from '../../src/core/facts.js';

function facts(taskId: string, sandbox: string | undefined, logDir: string | undefined): TaskFacts {
  const f: TaskFacts = { taskId, root: '/var/run/thermos', state: 'finished', statuses: [], processRuns: { a: 1 } };
  if (sandbox !== undefined) f.sandbox = sandbox;
  if (logDir !== undefined) f.logDir = logDir;
  return f;
}

describe('PathFactsCompactor: the paths a GC run keeps of every task', () => {
  const MESOS = '/var/lib/mesos/slaves/S0/frameworks/F0/executors';
  const cases: Array<[string, string, string | undefined, string | undefined]> = [
    ['plain', 't-1', '/sb/t-1', '/logs/t-1'],
    ['Mesos sandbox, logs inside it', 'www-data-prod-hello-0-5f1e', `${MESOS}/thermos-www-data-prod-hello-0-5f1e/runs/0b0c2f9e-1d3a-4c5e-9f00-1b2c3d4e5f60/sandbox`, `${MESOS}/thermos-www-data-prod-hello-0-5f1e/runs/0b0c2f9e-1d3a-4c5e-9f00-1b2c3d4e5f60/sandbox/.logs`],
    ['id twice in the path', 'ab', '/x/ab/y/ab/z', '/ab/ab'],
    ['id absent', 't-2', '/sb/other', '/logs'],
    ['no paths', 't-3', undefined, undefined],
    ['empty paths', 't-4', '', ''],
    ['non-ASCII', 'tâche-7', '/sb/tâche-7/données', '/journaux/tâche-7'],
    ['a lone surrogate', 't-5', '/sb/\ud800/t-5', '/logs/t-5/\udfff'],
  ];
  it.each(cases)('%s: reads back exactly what the facts said', (_name, taskId, sandbox, logDir) => {
    const c = new PathFactsCompactor();
    const f = facts(taskId, sandbox, logDir);
    const p = c.of(f);
    expect(p.sandbox).toBe(sandbox);
    expect(p.logDir).toBe(logDir);
    expect(p.taskId).toBe(taskId);
    expect(p.root).toBe(f.root);
    expect(p.state).toBe('finished');
    expect(p.processRuns).toBe(f.processRuns);
    p.state = 'active';
    expect(p.state).toBe('active');
  });

  it('every task of an agent reads back its own paths', () => {
    const c = new PathFactsCompactor();
    const all = Array.from({ length: 5000 }, (_, i) => facts(`task-${i}`, `/sb/task-${i}`, i % 3 === 0 ? `/sb/task-${i}/.logs` : `/logs/task-${i}`));
    const kept = all.map((f) => c.of(f));
    kept.forEach((p, i) => {
      expect(p.sandbox).toBe(all[i]?.sandbox);
      expect(p.logDir).toBe(all[i]?.logDir);
    });
  });
});
