// No import cycles between folders: every relative import (static, re-export or dynamic) of
// src/ and workers/ is an edge from the importing file's folder to the imported file's folder,
// and the folder graph must have no strongly connected component larger than one folder.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCANNED = ['src', 'workers'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

// `import x from '…'`, `import '…'`, `export … from '…'`, `import('…')`; comments stripped first.
const SPECIFIER = /(?:^|[;\s}])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2];
    if (spec !== undefined && spec.startsWith('.')) out.push(spec);
  }
  return out;
}

/** Folder → folders it imports from (self-edges dropped), with one file-level example per edge. */
export function folderGraph(files: ReadonlyArray<{ file: string; text: string }>, root: string): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const { file, text } of files) {
    const from = path.relative(root, path.dirname(file));
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    for (const spec of importsOf(text)) {
      const target = path.resolve(path.dirname(file), spec);
      const to = path.relative(root, path.dirname(target));
      if (to !== from && !edges.has(to)) edges.set(to, `${path.relative(root, file)} → ${spec}`);
    }
  }
  return graph;
}

/** Strongly connected components with more than one folder (Tarjan). */
export function folderCycles(graph: ReadonlyMap<string, ReadonlyMap<string, string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
        onStack.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

describe('folder imports', () => {
  it('finds a cycle between folders, through any import form', () => {
    const files = [
      { file: '/r/src/a/x.ts', text: "import { y } from '../b/y.js';\n" },
      { file: '/r/src/b/y.ts', text: "export { z } from '../c/z.js';\n" },
      { file: '/r/src/c/z.ts', text: "const m = await import('../a/x.js');\n// import '../d/w.js'\n" },
      { file: '/r/src/d/w.ts', text: "import type { T } from '../a/x.js';\n" },
    ];
    const graph = folderGraph(files, '/r');
    expect(folderCycles(graph)).toEqual([['src/a', 'src/b', 'src/c']]);
    expect(graph.get('src/c')?.has('src/d')).toBe(false);
  });

  it('has no cycle between the folders of src/ and workers/', () => {
    const files = SCANNED.flatMap((d) => sourceFiles(path.join(REPO, d))).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
    expect(files.length).toBeGreaterThan(50);
    const graph = folderGraph(files, REPO);
    const report = folderCycles(graph).map((scc) =>
      scc.map((f) => `${f}: ${[...(graph.get(f) ?? new Map<string, string>())].filter(([to]) => scc.includes(to)).map(([, ex]) => ex).join(', ')}`).join('\n'),
    );
    expect(report).toEqual([]);
  });
});
