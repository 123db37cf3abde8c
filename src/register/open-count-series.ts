/** One bucket of an `OpenCountSeries`: the highest count seen in it and the count it ended on. */
export interface OpenCountPoint {
  /** Milliseconds since tracking started (the bucket's first change). */
  readonly t: number;
  /** The most descriptors open at once during the bucket. */
  readonly max: number;
  /** How many were open when the bucket ended. */
  readonly last: number;
}

/** How many buckets a series keeps before it halves its resolution. */
const MAX_POINTS = 2000;

/**
 * The number of tracked descriptors open over time, for the HTML report's chart. Every open and close
 * records the new count, but the memory stays bounded however long the app runs: changes closer together
 * than the current resolution share a bucket, and when there are too many buckets the resolution doubles
 * and neighbours merge. A bucket keeps its peak as well as its final count, so a burst of opens that is
 * closed again within one bucket still shows on the chart.
 */
export class OpenCountSeries {
  private readonly start = performance.now();
  /** Bucket width in milliseconds. */
  private resolution = 1;
  private times: number[] = [0];
  private maxes: number[] = [0];
  private lasts: number[] = [0];

  /** Records that `count` descriptors are now open. */
  record(count: number): void {
    const t = performance.now() - this.start;
    const i = this.times.length - 1;
    if (Math.floor(t / this.resolution) === Math.floor((this.times[i] ?? 0) / this.resolution)) {
      if (count > (this.maxes[i] ?? 0)) this.maxes[i] = count;
      this.lasts[i] = count;
      return;
    }
    this.times.push(t);
    this.maxes.push(count);
    this.lasts.push(count);
    // Halve until there is room again, so the O(n) merge runs rarely rather than on every change.
    if (this.times.length > MAX_POINTS) {
      do this.coarsen();
      while (this.times.length > MAX_POINTS / 2);
    }
  }

  /** The buckets so far, plus a final point at `now` holding the current count. */
  points(): OpenCountPoint[] {
    const out: OpenCountPoint[] = this.times.map((t, i) => ({ t, max: this.maxes[i] ?? 0, last: this.lasts[i] ?? 0 }));
    const current = this.lasts[this.lasts.length - 1] ?? 0;
    out.push({ t: performance.now() - this.start, max: current, last: current });
    return out;
  }

  private coarsen(): void {
    this.resolution *= 2;
    const times: number[] = [];
    const maxes: number[] = [];
    const lasts: number[] = [];
    for (let i = 0; i < this.times.length; i++) {
      const t = this.times[i] ?? 0;
      const j = times.length - 1;
      if (j >= 0 && Math.floor(t / this.resolution) === Math.floor((times[j] ?? 0) / this.resolution)) {
        maxes[j] = Math.max(maxes[j] ?? 0, this.maxes[i] ?? 0);
        lasts[j] = this.lasts[i] ?? 0;
      } else {
        times.push(t);
        maxes.push(this.maxes[i] ?? 0);
        lasts.push(this.lasts[i] ?? 0);
      }
    }
    this.times = times;
    this.maxes = maxes;
    this.lasts = lasts;
  }
}
