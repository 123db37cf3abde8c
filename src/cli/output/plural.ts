/** `1 sample`, `2 samples`, `0 samples`: a count with its noun (`-s` plural, or `many` when irregular). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
