// Minimal types for the parts of fs-ext (CommonJS, no bundled types) that we use.
declare module 'fs-ext' {
  export type FlockFlag = 'sh' | 'ex' | 'shnb' | 'exnb' | 'un';
  export function flock(fd: number, flags: FlockFlag, callback: (err: NodeJS.ErrnoException | null) => void): void;
  export function flockSync(fd: number, flags: FlockFlag): void;
  const fsExt: {
    flock: typeof flock;
    flockSync: typeof flockSync;
  };
  export default fsExt;
}
