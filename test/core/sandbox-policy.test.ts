import { describe, expect, it } from 'vitest';
import { decideSandboxes, isStrictlyInside, normaliseAbsolute } from '../../src/core/sandbox-policy.js';

const ROOTS = ['/var/lib/mesos/'];
const S = '/var/lib/mesos/slaves/a/frameworks/f/executors';

describe('decideSandboxes: one candidate', () => {
  const cases: Array<{ name: string; sandbox?: string; kept?: string[]; roots?: string[]; reason?: string }> = [
    { name: 'plain sandbox inside the root', sandbox: `${S}/thermos-t1/runs/r1` },
    { name: 'no sandbox', reason: 'no-sandbox' },
    { name: 'empty sandbox', sandbox: '', reason: 'no-sandbox' },
    { name: 'relative', sandbox: 'tests/resources/com/twitter/thermos/root/sandbox', reason: 'relative' },
    { name: 'dot-relative', sandbox: './sandbox', reason: 'relative' },
    { name: 'trailing slash', sandbox: `${S}/t1/`, reason: 'not-normalised' },
    { name: 'double slash', sandbox: `${S}//t1`, reason: 'not-normalised' },
    { name: 'dot segment', sandbox: `${S}/./t1`, reason: 'not-normalised' },
    { name: 'dot-dot escaping', sandbox: '/var/lib/mesos/../../etc', reason: 'not-normalised' },
    { name: 'dot-dot inside', sandbox: `${S}/t1/../t2`, reason: 'not-normalised' },
    { name: 'the root itself', sandbox: '/var/lib/mesos', reason: 'is-allowed-root' },
    { name: 'outside', sandbox: '/tmp/thermos.kfezsG/sandbox', reason: 'outside-allowed-roots' },
    { name: 'string prefix only', sandbox: '/var/lib/mesos2/x', reason: 'outside-allowed-roots' },
    { name: 'parent of root', sandbox: '/var/lib', reason: 'outside-allowed-roots' },
    { name: 'no roots at all', sandbox: `${S}/t1`, roots: [], reason: 'outside-allowed-roots' },
    { name: 'relative roots are ignored', sandbox: `${S}/t1`, roots: ['var/lib/mesos'], reason: 'outside-allowed-roots' },
    { name: 'root "/" allows everything below it', sandbox: '/x/y', roots: ['/'] },
    { name: 'root "/" itself', sandbox: '/', roots: ['/'], reason: 'is-allowed-root' },
    { name: 'kept names the same path', sandbox: `${S}/t1`, kept: [`${S}/t1`], reason: 'shared-with-kept-task' },
    { name: 'kept names it unnormalised', sandbox: `${S}/t1`, kept: [`${S}/./t1/`], reason: 'shared-with-kept-task' },
    { name: 'kept is inside it', sandbox: `${S}/t1`, kept: [`${S}/t1/sub/dir`], reason: 'shared-with-kept-task' },
    { name: 'kept is around it', sandbox: `${S}/t1/sub`, kept: [`${S}/t1`], reason: 'shared-with-kept-task' },
    { name: 'kept is the root (around)', sandbox: `${S}/t1`, kept: ['/var/lib/mesos'], reason: 'shared-with-kept-task' },
    { name: 'kept sibling with a longer name', sandbox: `${S}/t1`, kept: [`${S}/t1b`, `${S}/t`] },
    // '-' and '.' sort before '/', '0' after it: the kept path inside is found past both kinds of sibling.
    { name: 'kept inside, between siblings that sort around it', sandbox: `${S}/t1`, kept: [`${S}/t1-x`, `${S}/t1.y`, `${S}/t10`, `${S}/t1/sub`, `${S}/t2`], reason: 'shared-with-kept-task' },
    { name: 'only siblings that sort around it', sandbox: `${S}/t1`, kept: [`${S}/t1-x`, `${S}/t1.y`, `${S}/t10`, `${S}/t0/t1`] },
    { name: 'kept with relative or no sandbox', sandbox: `${S}/t1`, kept: ['t1', ''] },
  ];
  it.each(cases)('$name', ({ sandbox, kept = [], roots = ROOTS, reason }) => {
    const d = decideSandboxes({
      candidates: [sandbox === undefined ? { taskId: 'c' } : { taskId: 'c', sandbox }],
      kept: kept.map((k, i) => ({ taskId: `k${i}`, sandbox: k })),
      allowedRoots: roots,
    });
    if (reason === undefined) {
      expect(d.refused).toEqual([]);
      expect([...d.approved]).toEqual([['c', sandbox]]);
    } else {
      expect(d.approved.size).toBe(0);
      expect(d.refused).toEqual([reason === 'no-sandbox' ? { taskId: 'c', reason } : { taskId: 'c', path: sandbox, reason }]);
    }
    expect(d.shared).toEqual([]);
  });
});

describe('decideSandboxes: several candidates', () => {
  it('approves a shared sandbox once, for the first candidate, and notes the others', () => {
    const shared = `${S}/shared`;
    const d = decideSandboxes({
      candidates: [
        { taskId: 'a', sandbox: shared },
        { taskId: 'b', sandbox: `${S}/b` },
        { taskId: 'c', sandbox: shared },
      ],
      kept: [],
      allowedRoots: ROOTS,
    });
    expect([...d.approved]).toEqual([
      ['a', shared],
      ['b', `${S}/b`],
    ]);
    expect(d.shared).toEqual([{ taskId: 'c', path: shared, approvedFor: 'a' }]);
    expect(d.refused).toEqual([]);
  });

  it('conformance quirk: six finished tasks share one sandbox that a kept task also names', () => {
    const shared = '/tmp/thermos.kfezsG/sandbox';
    const ids = ['failure', 'failure_limit', 'hello_world', 'ordering', 'ports', 'sleep60'];
    const d = decideSandboxes({
      candidates: ids.map((taskId) => ({ taskId, sandbox: shared })),
      kept: [{ taskId: 'sleep60-lost', sandbox: 'tests/resources/com/twitter/thermos/root/sandbox' }, { taskId: 'other', sandbox: shared }],
      allowedRoots: ['/tmp'],
    });
    expect(d.approved.size).toBe(0);
    expect(d.refused.map((r) => r.reason)).toEqual(ids.map(() => 'shared-with-kept-task'));
  });

  it('keeps each refusal separate from the approvals', () => {
    const d = decideSandboxes({
      candidates: [
        { taskId: 'ok', sandbox: `${S}/ok` },
        { taskId: 'rel', sandbox: 'x' },
        { taskId: 'kept-inside', sandbox: `${S}/k` },
      ],
      kept: [{ taskId: 'k', sandbox: `${S}/k/inner` }],
      allowedRoots: ['/var/lib/mesos', '/srv/sandboxes'],
    });
    expect([...d.approved.keys()]).toEqual(['ok']);
    expect(d.refused).toEqual([
      { taskId: 'rel', path: 'x', reason: 'relative' },
      { taskId: 'kept-inside', path: `${S}/k`, reason: 'shared-with-kept-task' },
    ]);
  });
});

describe('path helpers', () => {
  it('isStrictlyInside compares whole segments', () => {
    expect(isStrictlyInside('/a/b/c', '/a/b')).toBe(true);
    expect(isStrictlyInside('/a/bc', '/a/b')).toBe(false);
    expect(isStrictlyInside('/a/b', '/a/b')).toBe(false);
    expect(isStrictlyInside('/a', '/')).toBe(true);
    expect(isStrictlyInside('/', '/')).toBe(false);
  });
  it('normaliseAbsolute', () => {
    expect(normaliseAbsolute('/a//b/./c/')).toBe('/a/b/c');
    expect(normaliseAbsolute('/')).toBe('/');
    expect(normaliseAbsolute('a/b')).toBeUndefined();
  });
});
