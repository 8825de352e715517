/**
 * Side-by-side measurement for the benchmarks (DESIGN.md "Performance": compare in one run,
 * report ratios). An anchor (the floor the work cannot beat: openssl, an empty `deno run`, bare
 * WebCrypto, bare `fetch`) and dcosign's run are timed in interleaved pairs, the order flipped
 * every round, so load from other processes on this shared 2-core machine hits both alike; the
 * ratio is the median of the per-round ratios. Every benchmark ends with one line per row:
 *
 *   RESULT <measure> | anchor <label> <value> | dcosign <value> | ratio <r> | target <t> | met yes
 *
 * @module
 */

/** Times of one paired run, in milliseconds. */
export interface PairedSamples {
  readonly anchor: number[];
  readonly dcosign: number[];
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Run `anchor` and `dcosign` alternately `rounds` times (after `warmup` unrecorded rounds),
 * each call timed alone.
 */
export async function pairedRuns(
  anchor: () => Promise<unknown>,
  dcosign: () => Promise<unknown>,
  options: { rounds: number; warmup?: number },
): Promise<PairedSamples> {
  const samples: PairedSamples = { anchor: [], dcosign: [] };
  const time = async (fn: () => Promise<unknown>) => {
    const start = performance.now();
    await fn();
    return performance.now() - start;
  };
  for (let round = -(options.warmup ?? 1); round < options.rounds; round++) {
    const anchorFirst = round % 2 === 0;
    const first = await time(anchorFirst ? anchor : dcosign);
    const second = await time(anchorFirst ? dcosign : anchor);
    if (round < 0) continue;
    samples.anchor.push(anchorFirst ? first : second);
    samples.dcosign.push(anchorFirst ? second : first);
  }
  return samples;
}

/** Median of the per-round ratios dcosign / anchor (robust to drift between rounds). */
export function pairedRatio(samples: PairedSamples): number {
  return median(samples.dcosign.map((d, i) => d / samples.anchor[i]!));
}

/** One result row. */
export interface ResultRow {
  /** What is measured. */
  readonly measure: string;
  /** What the anchor is. */
  readonly anchor: string;
  /** The anchor's figure, with its unit. */
  readonly anchorValue: string;
  /** dcosign's figure, with its unit. */
  readonly dcosignValue: string;
  /** dcosign relative to the anchor (time ratio, or share of throughput). */
  readonly ratio: string;
  /** The target, as the issue states it. */
  readonly target: string;
  /** Whether the target is met in this run. */
  readonly met: boolean;
}

/** Print a result row in the one format every benchmark uses. */
export function printResult(row: ResultRow): void {
  console.log(
    `RESULT ${row.measure} | anchor ${row.anchor} ${row.anchorValue} | dcosign ${row.dcosignValue}` +
      ` | ratio ${row.ratio} | target ${row.target} | met ${row.met ? "yes" : "no"}`,
  );
}

/** A time-ratio row: dcosign's median time over the anchor's, met when within `maxRatio`. */
export function timeRatioRow(
  measure: string,
  anchor: string,
  samples: PairedSamples,
  maxRatio: number,
): ResultRow {
  const ratio = pairedRatio(samples);
  return {
    measure,
    anchor,
    anchorValue: `${median(samples.anchor).toFixed(2)} ms`,
    dcosignValue: `${median(samples.dcosign).toFixed(2)} ms`,
    ratio: `${ratio.toFixed(2)}x`,
    target: `<= ${maxRatio}x`,
    met: ratio <= maxRatio,
  };
}
