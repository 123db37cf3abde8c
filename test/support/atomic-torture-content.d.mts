/** Types of atomic-torture-content.mjs (see there). */

/** Bytes of the header of contents of 64 bytes or more. */
export declare const HEADER: number;
/** The largest content (256 KiB). */
export declare const MAX_SIZE: number;
/** What {@link validate} says. */
export type Validation = { readonly ok: true; readonly id: string } | { readonly ok: false; readonly reason: string };
/** The content of `length` bytes for the write named `id`. */
export declare function makeContent(id: string, length: number): Buffer;
/** A random content length from 1 to MAX_SIZE. */
export declare function randomLength(random?: () => number): number;
/** Checks bytes against the format. */
export declare function validate(bytes: Uint8Array): Validation;
