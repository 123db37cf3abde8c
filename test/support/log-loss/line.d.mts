/** Types of line.mjs (see there). */

/** Bytes of every line, '\n' included. */
export declare const LINE_BYTES: number;
/** Now, in epoch milliseconds with sub-millisecond precision (the same clock in every process of the test). */
export declare function now(): number;
/** The line of sequence number `seq` emitted at `t` (epoch ms). */
export declare function formatLine(seq: number, t: number): string;
/** Calls `onLine` for every intact line in `bytes`; returns the bytes that belong to no intact line. */
export declare function scanLines(bytes: Buffer, onLine: (seq: number, t: number, offset: number) => void): number;
/** mulberry32: a seeded generator of numbers in [0, 1). */
export declare function generator(seed: number): () => number;
/** Resolves once a line `word` arrives on stdin. */
export declare function waitForLine(word: string): Promise<void>;
/** Resolves once a line `go` arrives on stdin. */
export declare function waitForGo(): Promise<void>;
