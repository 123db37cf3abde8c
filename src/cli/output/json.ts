/** `value` as the CLI prints JSON for scripts: two-space indented, one trailing newline. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** `value` as one line of NDJSON (newline-delimited JSON, one object per line for streaming readers). */
export function formatJsonLine(value: unknown): string {
  return JSON.stringify(value) + '\n';
}
