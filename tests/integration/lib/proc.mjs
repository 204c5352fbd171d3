// What /proc says about a process (wsgate under test): bytes it has read, its resident memory,
// its CPU time and its open descriptors.
import { readdirSync, readFileSync } from 'node:fs';

// utime + stime, in clock ticks.
export function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export function openFds(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function rchar(pid) {
  return Number(/rchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);
}

export function vmRssKiB(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

// Samples process `pid` until it stops reading (its read counter stands still over 20 samples
// of 50 ms) or has read `limit` bytes, at most 600 samples. No event says "stopped reading", so
// this polls; the samples observe a state and synchronise nothing: the callers' assertions hold
// at every sample. `baseline` ({readBefore, rssBefore}) defaults to the values at the call.
// Returns the bytes read since the baseline, the peak RSS growth in MiB and the samples taken.
export async function untilReadingStops(pid, limit, baseline = {}) {
  const readBefore = baseline.readBefore ?? rchar(pid);
  const rssBefore = baseline.rssBefore ?? vmRssKiB(pid);
  let peak = rssBefore;
  let last = -1;
  let still = 0;
  let samples = 0;
  for (; samples < 600 && still < 20; ++samples) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    peak = Math.max(peak, vmRssKiB(pid));
    const read = rchar(pid) - readBefore;
    still = read === last ? still + 1 : 0;
    last = read;
    if (read >= limit) break;
  }
  return { read: last, growthMiB: (peak - rssBefore) / 1024, samples };
}
