// The process's own CPU time: what the benchmarks measure on cores other jobs share.

/** CPU milliseconds this process has used so far: user + system, every thread (a GPU driver's worker threads included). */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
